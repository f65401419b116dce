"""Benchmark of memory and of the work after the rollouts, as an eval grows.

- **RSS growth per 1,000 rollouts** (target <= 1 MB): the peak RSS of a whole ``osmosis-local eval`` process at
  1,000 rollouts (the baseline, measured in the same run) and at 10,000 (``--full``: also 50,000), against the
  scripted-policy TEST DOUBLE (no latency) in a child process; the growth is (peak(N) - peak(1,000)) per
  1,000 extra rollouts. The runner keeps each finished run's figures (`RunFigures`, ~0.5 KB), never its transcript
  (the log has it), and `eval` writes `-o` one row at a time.
- **Building the result** from run records (what the end of an eval, ``rescore``, ``view`` and ``merge`` do)
  at 2,500 and 20,000 runs: seconds, and the ratio of the two per run (1.0 = linear).
- **``rescore`` and ``export --format inspect`` of a big log** (2,500 and 20,000 runs of the dataset's rows):
  whole-process seconds and peak RSS; both read the log slim and each conversation when its turn comes.
- **The report of a big log**: ``osmosis-local view`` of a 2,500- and a 20,000-run log (5 messages a run):
  whole-process seconds and peak RSS, the page's size, and how long headless Chromium takes until the page's
  script has run (``data-ready``), less Chromium's own start on an empty page (the baseline, same run; target
  for 20,000 runs: under 3 s).

Usage::

    python benchmarks/memory_bench.py           # about 2 minutes on 2 cores
    python benchmarks/memory_bench.py --full    # adds 50,000 rollouts (several more minutes)

The last stdout line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO / "test_data.jsonl"
ROWS = sum(1 for line in DATASET.read_text().splitlines() if line.strip())
TARGET_MB_PER_1000 = 1.0

_SERVER = """
import socketserver, sys
socketserver.TCPServer.request_queue_size = 1024
from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer
policy = ScriptedPolicy(load_rows(sys.argv[1]))
class Forgetful(ScriptedOpenAIServer):
    def _record(self, body, auth):  # the double keeps no request bodies: its memory is not what is measured
        pass
server = Forgetful(policy)
print(server.base_url, flush=True)
server.serve_forever()
"""

_EVAL = """
import resource, sys
from osmosis_local.cli import main
code = main(sys.argv[1:])
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
sys.exit(code)
"""


def peak_rss_mb(base_url: str, workdir: Path, rollouts: int) -> tuple[float, float]:
    """Peak RSS (MB) and wall seconds of an eval of about ``rollouts`` rollouts (every row, ``--n`` as needed)."""
    n = max(1, round(rollouts / ROWS))
    tag = f"{rollouts}-{time.monotonic_ns()}"
    argv = [sys.executable, "-c", _EVAL, "eval", "--mcp", str(REPO / "mcp"), "-d", str(DATASET), "--eval-fn",
            "reward_fn.compute_reward:numbers_match_reward", "--model", "scripted", "--base-url", base_url,
            "--n", str(n), "--batch-size", "16", "-q", "-o", str(workdir / f"out-{tag}.json"),
            "--log", str(workdir / f"runs-{tag}.jsonl")]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=3600)
    wall = time.perf_counter() - started
    line = next((x for x in done.stdout.splitlines() if x.startswith("MAXRSS_KB")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"the eval of {rollouts} rollouts failed: {done.stderr[-2000:]}")
    return int(line.split()[1]) / 1024, wall


def build_seconds(runs: int) -> float:
    """Seconds to build an eval's result from ``runs`` synthetic run records (4 per row, 2 eval functions)."""
    from osmosis_local.config.settings import EvalConfig
    from osmosis_local.log.records import RunRecord, TokenUsage
    from osmosis_local.log.summary import build_eval_result

    fns = ["a:one", "b:two"]
    rows = runs // 4
    records = [
        RunRecord(key=f"row-{i}/run-{k}/primary", command="eval", row_index=i, run_index=k, model="m", success=True,
                  finish_reason="stop", scores={fns[0]: float((i + k) % 2), fns[1]: 0.5},
                  token_usage=TokenUsage(prompt_tokens=100, completion_tokens=20, total_tokens=120),
                  columns={"num_steps": i % 4})
        for i in range(rows) for k in range(4)
    ]  # fmt: skip
    config = EvalConfig(mcp=REPO / "mcp", dataset=DATASET, model="m", eval_fns=fns, n_runs=4)
    started = time.perf_counter()
    build_eval_result(config=config, row_indices=list(range(rows)), models=[("primary", "m")], records=records,
                      expected_items=runs, wall_ms=0.0, log_path=Path("x.jsonl"), stop_reason=None,
                      judge=None)  # fmt: skip
    return time.perf_counter() - started


def synthetic_log(path: Path, runs: int, *, dataset_rows: bool = False) -> None:
    """A finished eval's log of ``runs`` runs, each with a 5-message conversation and a tool call: 4 runs a row,
    or (``dataset_rows``) runs of the dataset's own rows, as many a row as it takes, with the dataset's SHA-256
    in the header (what ``rescore`` needs)."""
    from osmosis_local.config.settings import EvalConfig
    from osmosis_local.content.dataset import file_sha256
    from osmosis_local.log.records import LogHeader, RunRecord, TokenUsage, ToolCallRecord
    from osmosis_local.log.transcript import RunLog

    fn = "reward_fn.compute_reward:numbers_match_reward"
    per_row = -(-runs // ROWS) if dataset_rows else 4
    config = EvalConfig(mcp=REPO / "mcp", dataset=DATASET, model="m", eval_fns=[fn], n_runs=per_row,
                        dataset_sha256=file_sha256(DATASET) if dataset_rows else None)  # fmt: skip
    with RunLog(path) as log:
        log.write_header(LogHeader(command="eval", settings=config))
        for i in range(runs):
            k, row = divmod(i, ROWS) if dataset_rows else divmod(i, 4)[::-1]
            call = {"id": f"c{i}", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}
            messages = [{"role": "system", "content": "You are a careful math assistant. " * 8},
                        {"role": "user", "content": f"Question {row}: what is 1 + 2? " * 3},
                        {"role": "assistant", "content": None, "tool_calls": [call]},
                        {"role": "tool", "content": "3", "tool_call_id": f"c{i}"},
                        {"role": "assistant", "content": "The answer is 3.\n#### 3"}]  # fmt: skip
            log.append(RunRecord(
                key=f"row-{row}/run-{k}/primary", command="eval", row_index=row, run_index=k, model="m", success=True,
                finish_reason="stop", scores={fn: float(i % 3 == 0)}, duration_ms=1200.0, ground_truth="3",
                answer="The answer is 3.\n#### 3", columns={"num_steps": row % 4},
                token_usage=TokenUsage(prompt_tokens=300, completion_tokens=40, total_tokens=340, num_llm_calls=2),
                tool_calls=[ToolCallRecord(call_id=f"c{i}", name="add", arguments='{"a": 1, "b": 2}', content="3",
                                           is_error=False, duration_ms=0.5)],
                messages=messages,  # type: ignore[arg-type]
            ))  # fmt: skip


def page_ready_ms(page: Path) -> float:
    """Milliseconds from navigation start until the page's script has run, as the page itself measured it
    (``data-ready-ms``, ``performance.now()``): the wait a person sees, without Chromium's start or the DOM
    dump of this harness's measurement."""
    import re
    import shutil

    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    if browser is None:
        return float("nan")
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    found = re.search(r'data-ready-ms="(\d+)"', done.stdout)
    return float(found.group(1)) if found else float("nan")


def chromium_ready_s(page: Path) -> float:
    """Seconds headless Chromium takes to load ``page`` and run its script (``data-ready``), as a process."""
    import shutil

    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    if browser is None:
        return float("nan")
    started = time.perf_counter()
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    elapsed = time.perf_counter() - started
    if page.suffix == ".html" and "data-ready" not in done.stdout and page.stat().st_size > 100:
        raise SystemExit(f"Chromium did not run {page}'s script: {done.stderr[-500:]}")
    return elapsed


def report_figures(workdir: Path, figures: dict[str, float]) -> None:
    empty = workdir / "empty.html"
    empty.write_text("<!doctype html><title>x</title>")
    base = min(chromium_ready_s(empty) for _ in range(2))
    figures["chromium_empty_page_s"] = round(base, 2)
    for runs in (2500, 20000):
        log, page = workdir / f"big-{runs}.jsonl", workdir / f"big-{runs}.html"
        synthetic_log(log, runs)
        code = ("import resource, sys; from osmosis_local.cli import main; c = main(sys.argv[1:]); "
                "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(c)")  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code, "view", str(log), "-o", str(page)], capture_output=True,
                              text=True, timeout=1200)  # fmt: skip
        view_s = time.perf_counter() - started
        rss = int(next(x for x in done.stdout.splitlines() if x.startswith("MAXRSS_KB")).split()[1]) / 1024
        ready = chromium_ready_s(page) - base
        figures[f"view_s_{runs}"], figures[f"view_rss_mb_{runs}"] = round(view_s, 2), round(rss, 1)
        figures[f"page_mb_{runs}"] = round(page.stat().st_size / 2**20, 1)
        figures[f"chromium_ready_s_{runs}"] = round(ready, 2)
        inside = page_ready_ms(page) / 1000
        figures[f"page_ready_s_{runs}"] = round(inside, 2)
        print(f"view of {runs:,} runs: {view_s:.1f} s, peak RSS {rss:.0f} MB, page {figures[f'page_mb_{runs}']} MB, "
              f"Chromium process {ready:.2f} s beyond its own start ({base:.2f} s); the page ready after "
              f"{inside:.2f} s (target for 20,000 runs: < 3 s)")  # fmt: skip


def command_figures(workdir: Path, figures: dict[str, float]) -> None:
    """``rescore`` and ``export --format inspect`` of a 2,500- and a 20,000-run log: whole process, peak RSS."""
    import importlib.util

    code = ("import resource, sys; from osmosis_local.cli import main; c = main(sys.argv[1:]); "
            "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(c)")  # fmt: skip
    for runs in (2500, 20000):
        log = workdir / f"rows-{runs}.jsonl"
        synthetic_log(log, runs, dataset_rows=True)
        commands = {"rescore": ["rescore", str(log), "--eval-fn", "reward_fn.compute_reward:numbers_match_reward",
                                "-q", "-o", str(workdir / f"rescored-{runs}.json"),
                                "--log", str(workdir / f"rescored-{runs}.jsonl")]}  # fmt: skip
        if importlib.util.find_spec("inspect_ai") is not None:
            commands["export"] = ["export", str(log), "--format", "inspect", "-o", str(workdir / f"{runs}.eval")]
        for name, argv in commands.items():
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO,
                                  timeout=3600)  # fmt: skip
            seconds = time.perf_counter() - started
            line = next((x for x in done.stdout.splitlines() if x.startswith("MAXRSS_KB")), None)
            if done.returncode != 0 or line is None:
                raise SystemExit(f"{name} of {runs} runs failed: {done.stderr[-2000:]}")
            rss = int(line.split()[1]) / 1024
            figures[f"{name}_s_{runs}"], figures[f"{name}_rss_mb_{runs}"] = round(seconds, 2), round(rss, 1)
            print(f"{name} of {runs:,} runs (log {log.stat().st_size / 2**20:.0f} MB): {seconds:.1f} s, peak RSS "
                  f"{rss:.0f} MB", flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also 50,000 rollouts")
    args = parser.parse_args()
    sizes = [1000, 10000] + ([50000] if args.full else [])
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        child = subprocess.Popen([sys.executable, "-c", _SERVER, str(DATASET)], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            base_url = child.stdout.readline().strip()
            for size in sizes:
                rss, wall = peak_rss_mb(base_url, Path(tmp), size)
                figures[f"peak_rss_mb_{size}"] = round(rss, 1)
                figures[f"wall_s_{size}"] = round(wall, 1)
                print(f"{size:>6} rollouts: peak RSS {rss:7.1f} MB, {wall:6.1f} s", flush=True)
        finally:
            child.terminate()
            child.wait(timeout=10)
    base = figures["peak_rss_mb_1000"]
    for size in sizes[1:]:
        growth = (figures[f"peak_rss_mb_{size}"] - base) / ((size - 1000) / 1000)
        figures[f"growth_mb_per_1000_to_{size}"] = round(growth, 3)
        verdict = "met" if growth <= TARGET_MB_PER_1000 else "NOT met"
        print(f"RSS growth 1,000 -> {size:,}: {growth:.3f} MB per 1,000 rollouts (target <= {TARGET_MB_PER_1000}: "
              f"{verdict})")  # fmt: skip
    small, large = build_seconds(2500), build_seconds(20000)
    figures["build_s_2500"], figures["build_s_20000"] = round(small, 3), round(large, 3)
    figures["build_per_run_ratio_20000_vs_2500"] = round((large / 20000) / (small / 2500), 2)
    print(f"building the result: {small:.3f} s at 2,500 runs, {large:.3f} s at 20,000; per run x"
          f"{figures['build_per_run_ratio_20000_vs_2500']} (1.0 = linear)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        report_figures(Path(tmp), figures)
    with tempfile.TemporaryDirectory() as tmp:
        command_figures(Path(tmp), figures)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
