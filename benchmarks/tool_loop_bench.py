"""Benchmark of the deadlines of blocking ``async`` tools: what each way of honouring them costs per call.

The repository's real tools (``mcp/``), loaded in process, called through `ToolRunner` N times (``add``, valid
arguments), sequentially and 16 at a time, three ways in the same run:

- **guard** (the default on the main thread, i.e. the command line): the call runs on the run's own loop under
  `osmosis_local.tools.loop_guard.LoopGuard` (a watchdog thread; a signal only when a call is overdue);
- **tool loop** (the default elsewhere): each call hops to `osmosis_local.tools.tool_loop.ToolLoop`'s thread
  and back;
- **baseline**: the same call on the run's own loop with no guard (the path before issue 19, which a blocking
  tool could stall).

Figures: wall and process CPU (all threads) per call, and the ratios to the baseline; median of
``--repeats``. The last stdout line is one JSON object with every figure.

Usage::

    python benchmarks/tool_loop_bench.py          # about 20 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from mcp_servers import load_tool_server  # noqa: E402

from osmosis_local.tools.runner import ToolRunner  # noqa: E402


async def _calls(server: object, n: int, concurrency: int, mode: str) -> tuple[float, float]:
    async with ToolRunner(server) as runner:
        if mode == "baseline":
            runner._async_tools = {}  # async tools on the run's own loop, unguarded
        elif mode == "tool_loop" and runner._guarding:
            runner._guard.stop()  # as off the main thread: every async tool call goes to the tool loop
            runner._guarding = False
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                outcome = await runner.call("add", f'{{"a": {i}, "b": 1}}', call_id=f"c{i}")
                assert not outcome.is_error, outcome.content

        await one(-1)  # warm: the loop thread started, caches filled
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(i) for i in range(n)))
        return (time.perf_counter() - wall) / n * 1e6, (time.process_time() - cpu) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    server = load_tool_server(REPO / "mcp")
    figures: dict[str, float] = {}
    for concurrency in (1, 16):
        for mode in ("baseline", "guard", "tool_loop"):
            runs = [asyncio.run(_calls(server, args.calls, concurrency, mode)) for _ in range(args.repeats)]
            figures[f"{mode}_c{concurrency}_wall_us"] = round(statistics.median(r[0] for r in runs), 1)
            figures[f"{mode}_c{concurrency}_cpu_us"] = round(statistics.median(r[1] for r in runs), 1)
        for kind in ("wall", "cpu"):
            base = figures[f"baseline_c{concurrency}_{kind}_us"]
            line = f"{concurrency:>2} at a time, {kind:>4} per call: baseline {base:6.1f} us"
            for mode in ("guard", "tool_loop"):
                value = figures[f"{mode}_c{concurrency}_{kind}_us"]
                figures[f"ratio_{mode}_c{concurrency}_{kind}"] = round(value / base, 2)
                line += f", {mode} {value:6.1f} us (x{value / base:.2f})"
            print(line)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
