"""Benchmark of Remote Rollout: the same rows through the protocol (`osmosis-local serve` + trainer mode) against
the in-process `eval --mcp`, measured in the same run.

The model is the scripted-policy TEST DOUBLE (``osmosis_local.testing.scripted_policy``) behind a real HTTP
server with a fixed latency per call, in a child process. The RolloutServer is ``rollout_server/server.py``
under ``osmosis-local serve`` in another child process; trainer mode runs in this process.

Figures:

- **protocol CPU per LLM turn**: (this process's CPU + the server process's CPU for the protocol run − this
  process's CPU for the in-process run of the same rows) / LLM turns, on 4-step rows (5 LLM turns and 4 tool
  calls each), latency 0, 8 in flight; median of ``--repeats``. Target: at most 2 ms for both sides together;
- **efficiency** = ideal / median wall time of the eval phase, ideal = ceil(R / B) x 2 x L, for B rollouts in
  flight (1, 16, 100) at L per call (0.5 s, 50 ms), R = 4B one-step rollouts (2 LLM turns each), for the
  protocol and for in-process ``eval --mcp``. Target: at least 0.9 at 100 rollouts and 0.5 s per call.

Usage::

    python benchmarks/rollout_bench.py            # about 4 minutes on 2 cores
    python benchmarks/rollout_bench.py --quick    # 1 repeat

The last stdout line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runner_bench import EVAL_FN, MCP_DIR, REPO, Timing, model_server, rows_file

import osmosis_local  # noqa: F401  (offline env defaults)
from osmosis_local.config.settings import EvalConfig
from osmosis_local.runner.evaluation import aevaluate

CLI = str(Path(sys.executable).parent / "osmosis-local")
TARGETS = {"protocol_cpu_per_turn_ms": 2.0, "efficiency_b100_500ms": 0.9}
_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


@contextlib.contextmanager
def rollout_server(workdir: Path) -> Iterator[tuple[str, int]]:
    """``osmosis-local serve -m server:agent_loop --local`` from rollout_server/: (url, pid)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (workdir / "serve.log").open("wb")
    child = subprocess.Popen(
        [CLI, "serve", "-m", "server:agent_loop", "--local", "-p", str(port), "--log-level", "warning",
         "--max-concurrent", "256"],
        cwd=REPO / "rollout_server", stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the rollout server did not start: {(workdir / 'serve.log').read_text()}")
            time.sleep(0.1)
        yield url, child.pid
    finally:
        child.terminate()
        child.wait(timeout=20)
        log.close()


def run(base_url: str, dataset: Path, workdir: Path, *, server: str | None, limit: int, n: int, batch: int) -> Timing:
    source: dict[str, Any] = {"rollout_server": server} if server else {"mcp": MCP_DIR}
    config = EvalConfig(
        dataset=dataset, eval_fn=[EVAL_FN], model="scripted", base_url=base_url, limit=limit, n=n, batch_size=batch,
        log=workdir / f"runs-{time.monotonic_ns()}.jsonl", max_retries=0, **source,
    )  # fmt: skip
    timing = Timing()
    result = asyncio.run(aevaluate(config, timing))
    assert result.summary.failed_runs == 0, result.summary.stop_reason or result.rows[0].runs[0].error
    assert result.summary.eval_fns[EVAL_FN].mean == 1.0
    return timing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", default="1,16,100")
    parser.add_argument("--latencies", default="0.5,0.05")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    batches = [int(b) for b in args.batch_sizes.split(",")]
    latencies = [float(x) for x in args.latencies.split(",")]
    figures: dict[str, Any] = {"load_average": os.getloadavg()[0], "cpus": os.cpu_count()}
    workdir = Path(tempfile.mkdtemp(prefix="rollout-bench-"))
    four_steps, one_step = rows_file(workdir, 4), rows_file(workdir, 1)
    print(f"rollout_bench: load average {figures['load_average']:.2f}, {figures['cpus']} CPUs", flush=True)

    with model_server(0.0, workdir) as (base_url, _), rollout_server(workdir) as (server, pid):
        run(base_url, four_steps, workdir, server=server, limit=8, n=1, batch=8)  # warm-up, untimed
        run(base_url, four_steps, workdir, server=None, limit=8, n=1, batch=8)
        turns = 64 * 5
        costs, protocol, local = [], [], []
        for _ in range(repeats):
            before = process_cpu_s(pid)
            remote = run(base_url, four_steps, workdir, server=server, limit=32, n=2, batch=8)
            server_cpu = process_cpu_s(pid) - before
            in_process = run(base_url, four_steps, workdir, server=None, limit=32, n=2, batch=8)
            protocol.append((remote.cpu_s + server_cpu) / turns * 1000)
            local.append(in_process.cpu_s / turns * 1000)
            costs.append(protocol[-1] - local[-1])
        figures["protocol_cpu_per_turn_ms"] = statistics.median(costs)
        figures["both_sides_cpu_per_turn_ms"] = statistics.median(protocol)
        figures["in_process_cpu_per_turn_ms"] = statistics.median(local)
        print(f"CPU per LLM turn: protocol, both sides {statistics.median(protocol):.2f} ms; in-process eval --mcp "
              f"{statistics.median(local):.2f} ms; the protocol's cost {statistics.median(costs):.2f} ms "
              f"(runs: {', '.join(f'{c:.2f}' for c in costs)})", flush=True)  # fmt: skip

    for latency in latencies:
        with model_server(latency, workdir) as (base_url, _), rollout_server(workdir) as (server, _pid):
            for batch in batches:
                rollouts = max(4, 4 * batch)
                limit = min(rollouts, 64)
                n = math.ceil(rollouts / limit)
                ideal = math.ceil(limit * n / batch) * 2 * latency
                for name, via in (("protocol", server), ("in-process", None)):
                    walls = [run(base_url, one_step, workdir, server=via, limit=limit, n=n, batch=batch).wall_s
                             for _ in range(repeats)]  # fmt: skip
                    efficiency = ideal / statistics.median(walls)
                    figures[f"efficiency[{name}][B={batch}][L={latency}]"] = efficiency
                    shown = ", ".join(f"{w:.2f}" for w in walls)
                    print(f"efficiency [{name}] {batch:>3} in flight at {latency * 1000:.0f} ms/call: {efficiency:.3f} "
                          f"(ideal {ideal:.2f} s; runs {shown} s)", flush=True)  # fmt: skip

    checks = {"protocol_cpu_per_turn_ms": figures["protocol_cpu_per_turn_ms"] <= TARGETS["protocol_cpu_per_turn_ms"]}
    value = figures.get("efficiency[protocol][B=100][L=0.5]")
    if value is not None:
        checks["efficiency_b100_500ms"] = value >= TARGETS["efficiency_b100_500ms"]
    print("\nTargets: " + ", ".join(f"{k} {'PASS' if ok else 'MISS'}" for k, ok in checks.items()))
    figures["targets"] = checks
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
