"""Benchmark of the tool loop: what running the in-process server's ``async`` tools on a loop of their own
(`osmosis_local.tools.tool_loop`, so a tool that blocks cannot stall the run) costs per call.

The repository's real tools (``mcp/``), loaded in process, called through `ToolRunner` N times (``add``, valid
arguments), sequentially and 16 at a time, two ways in the same run:

- **tool loop** (the default): each async tool call hops to the tool loop's thread and back;
- **baseline**: the same call on the run's own event loop (the pre-issue-19 path, ``_async_tools`` emptied).

Figures: wall and process CPU (all threads) per call, and the ratio tool loop / baseline; median of
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


async def _calls(server: object, n: int, concurrency: int, tool_loop: bool) -> tuple[float, float]:
    async with ToolRunner(server) as runner:
        if not tool_loop:
            runner._async_tools = set()  # the baseline: async tools on the run's own loop
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
        for mode in ("baseline", "tool_loop"):
            runs = [asyncio.run(_calls(server, args.calls, concurrency, mode == "tool_loop"))
                    for _ in range(args.repeats)]  # fmt: skip
            figures[f"{mode}_c{concurrency}_wall_us"] = round(statistics.median(r[0] for r in runs), 1)
            figures[f"{mode}_c{concurrency}_cpu_us"] = round(statistics.median(r[1] for r in runs), 1)
        for kind in ("wall", "cpu"):
            base, loop = figures[f"baseline_c{concurrency}_{kind}_us"], figures[f"tool_loop_c{concurrency}_{kind}_us"]
            figures[f"ratio_c{concurrency}_{kind}"] = round(loop / base, 2)
            print(f"{concurrency:>2} at a time, {kind:>4} per call: baseline {base:7.1f} us, tool loop {loop:7.1f} us"
                  f"  (x{loop / base:.2f}, +{loop - base:.1f} us)")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
