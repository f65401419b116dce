"""Benchmark of `osmosis-local check`: how long a pre-push check takes, against the run it replaces.

Before `check`, the only local way to learn what the platform will reject was a `test` run over the
dataset against a model. The baseline here is the cheapest such run: `osmosis-local test` over every row of
test_data.jsonl against the scripted-policy TEST DOUBLE (no model latency at all), measured in the same run.

Figures (whole process, spawn to exit, median of ``--repeats``):

- ``check``: the real repository, every check on (the served server included);
- ``check --no-serve``;
- ``check`` on a broken repository (tests/check_fixtures/tool_no_description), which must exit 1;
- the baseline ``test`` run, and the ratios check / baseline and (serving's share) 1 - no-serve / check.

The baseline is deliberately the fastest possible run (a zero-latency test double): against a hosted model
the same run takes minutes and costs money, and it still catches none of the faults `check` reports.

Usage: ``python benchmarks/check_bench.py [--repeats 3]``. The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import osmosis_local  # noqa: F401  (offline env defaults)
from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent / "osmosis-local")
FIXTURES = REPO / "tests" / "check_fixtures"
TARGET_S = 5.0


def timed(argv: list[str], *, expect: int, cwd: Path = REPO) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env={**os.environ})
    elapsed = time.perf_counter() - started
    if done.returncode != expect:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}, expected {expect}:\n{done.stdout[-2000:]}")
    return elapsed


def broken_repo(into: Path) -> Path:
    repo = into / "broken"
    shutil.copytree(FIXTURES / "base", repo)
    shutil.copy(FIXTURES / "tool_no_description" / "mcp" / "tools" / "arithmetic.py", repo / "mcp" / "tools")
    return repo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (default 3)")
    args = parser.parse_args()
    figures: dict[str, float] = {"load_average": os.getloadavg()[0]}
    print(f"check_bench: load average {figures['load_average']:.2f}, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        broken = broken_repo(Path(tmp))
        runs = {
            "check_s": ([CLI, "check"], 0),
            "check_no_serve_s": ([CLI, "check", "--no-serve"], 0),
            "check_broken_s": ([CLI, "check", str(broken)], 1),
        }
        for key, (argv, expect) in runs.items():
            figures[key] = statistics.median(timed(argv, expect=expect) for _ in range(args.repeats))
            print(f"{' '.join(['osmosis-local', *argv[1:]])}: {figures[key]:.2f} s", flush=True)
        policy = ScriptedPolicy(load_rows(REPO / "test_data.jsonl"))
        with ScriptedOpenAIServer(policy).start() as server:

            def test_argv() -> list[str]:  # each run its own log (a log belongs to one run)
                return [CLI, "test", "--mcp", "./mcp", "-d", "test_data.jsonl", "--model", "scripted", "--base-url",
                        server.base_url, "-q", "--log", str(Path(tmp) / f"test-{time.monotonic_ns()}.jsonl")]

            figures["baseline_test_s"] = statistics.median(timed(test_argv(), expect=0) for _ in range(args.repeats))
    print(f"baseline: osmosis-local test, all 240 rows, scripted policy at 0 ms: {figures['baseline_test_s']:.2f} s")
    figures["ratio_check_over_baseline"] = figures["check_s"] / figures["baseline_test_s"]
    figures["ratio_serve_share"] = 1 - figures["check_no_serve_s"] / figures["check_s"]
    worst = max(figures["check_s"], figures["check_broken_s"])
    print(f"check / baseline test run: {figures['ratio_check_over_baseline']:.2f}; serving mcp/main.py is "
          f"{figures['ratio_serve_share']:.0%} of check; target check < {TARGET_S:.0f} s: "
          f"{'PASS' if worst < TARGET_S else 'MISS'}")  # fmt: skip
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
