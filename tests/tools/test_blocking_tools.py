"""Async tools that block: the deadline holds and the other calls go on, on both paths - the `LoopGuard` on the
main thread's loop (the command line) and the `ToolLoop` elsewhere (a loop on another thread)."""

from __future__ import annotations

import asyncio
import threading
import time

import fastmcp
import pytest

from osmosis_local.tools.runner import ToolRunner


def _server() -> fastmcp.FastMCP:
    server = fastmcp.FastMCP("blocking")

    @server.tool
    async def sleeps(seconds: float) -> str:
        time.sleep(seconds)  # blocks whatever loop it runs on
        return "slept"

    @server.tool
    async def spins(seconds: float) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
        return "spun"

    @server.tool
    async def swallows(seconds: float) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                time.sleep(0.01)
            except Exception:  # noqa: BLE001, S110 - a tool that swallows errors must still be stopped
                pass
        return "swallowed"

    @server.tool
    async def quick(x: int) -> int:
        await asyncio.sleep(0.01)
        return x + 1

    return server


async def _race(tool: str) -> tuple[str, float, list[float]]:
    """The blocking call (3 s of work, a 0.5 s deadline) and five quick calls started just after it."""
    async with ToolRunner(_server(), timeout_s=0.5) as runner:
        started = time.monotonic()
        quick_done: list[float] = []

        async def quick(i: int) -> None:
            await asyncio.sleep(0.05)
            outcome = await runner.call("quick", f'{{"x": {i}}}', call_id=f"q{i}")
            assert not outcome.is_error, outcome.content
            quick_done.append(time.monotonic() - started)

        blocked, *_ = await asyncio.gather(
            runner.call(tool, '{"seconds": 3}', call_id="b"), *(quick(i) for i in range(5))
        )
        return blocked.content, time.monotonic() - started, quick_done


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("tool", ["sleeps", "spins", "swallows"])
def test_on_the_main_thread_a_blocking_tool_is_interrupted_at_its_deadline(tool: str, loop: str, monkeypatch) -> None:
    """On both loops the runner may use (`runner.event_loop`): the guard's signal reaches the blocked tool."""
    from osmosis_local.runner.event_loop import EVENT_LOOP_ENV, loop_name, run

    monkeypatch.setenv(EVENT_LOOP_ENV, loop)
    assert loop_name() == loop
    content, elapsed, quick_done = run(_race(tool))
    assert content.startswith(f"Error: tool '{tool}' timed out after 0.5s")
    assert elapsed < 2.5  # not the 3 s of work
    assert len(quick_done) == 5


@pytest.mark.parametrize("tool", ["sleeps", "spins"])
def test_off_the_main_thread_a_blocking_tool_holds_only_the_tool_loop(tool: str) -> None:
    box: dict[str, object] = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", asyncio.run(_race(tool))))
    thread.start()
    thread.join(timeout=30)
    content, elapsed, quick_done = box["result"]  # type: ignore[misc]
    assert str(content).startswith(f"Error: tool '{tool}' timed out after 0.5s")
    assert float(elapsed) < 2.5  # type: ignore[arg-type]
    assert len(quick_done) == 5  # type: ignore[arg-type]
    assert max(quick_done) < 2.5  # type: ignore[type-var]  # the quick calls were not held by the stuck one
