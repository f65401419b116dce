"""A second event loop, on a daemon thread, for the in-process server's ``async`` tools.

An ``async def`` tool that blocks (``time.sleep``, a CPU loop) cannot be interrupted, and on the run's own event
loop it would stall every rollout in flight and make its own deadline late. Run on this loop instead, it holds
only this loop: the caller's deadline (``asyncio.timeout`` on the run's loop) fires on time, the call is reported
as timed out, and when the loop is found stuck (it does not answer a no-op within `PROBE_S`) it is abandoned to
its daemon thread, which cannot keep the process from exiting, and the next call starts a fresh loop.

The cost is one thread hop per async tool call (tens of microseconds), measured in `benchmarks/runner_bench.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["PROBE_S", "ToolLoop"]

PROBE_S = 0.25  # a loop that does not run a no-op this fast after a timed-out call is stuck
T = TypeVar("T")


class ToolLoop:
    """Run coroutines on a private event loop thread, each with a deadline that holds (see the module doc)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self.abandoned = 0  # loops given up because a tool blocked them

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None and self._loop.is_closed():
                self._loop = None
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    try:
                        loop.run_forever()
                    finally:  # stopped: cancel what is left and release the loop
                        pending = asyncio.all_tasks(loop)
                        for task in pending:
                            task.cancel()
                        with contextlib.suppress(Exception):
                            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                        loop.close()

                threading.Thread(target=serve, name="osmosis-tool-loop", daemon=True).start()
                ready.wait()
                self._loop = loop
            return self._loop

    async def call(self, make: Callable[[], Coroutine[Any, Any, T]], timeout_s: float) -> T:
        """``await make()`` on the tool loop within ``timeout_s``; raises `TimeoutError` when it is late."""
        loop = self._running_loop()
        future = asyncio.run_coroutine_threadsafe(_settled(make), loop)
        try:
            async with asyncio.timeout(timeout_s):
                ok, value = await asyncio.wrap_future(future)
        except TimeoutError:
            future.cancel()
            if not await self._answers(loop):
                self._abandon(loop)
            raise
        if not ok:
            raise value  # a SystemExit of the tool's own is the caller's to turn into a tool error
        result: T = value
        return result

    async def _answers(self, loop: asyncio.AbstractEventLoop) -> bool:
        try:
            probe = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop)
        except RuntimeError:  # closed already
            return False
        try:
            async with asyncio.timeout(PROBE_S):
                await asyncio.wrap_future(probe)
            return True
        except TimeoutError:
            probe.cancel()
            return False

    def _abandon(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._loop is loop:
                self._loop = None
                self.abandoned += 1
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)  # stops once (if ever) the blocking tool returns

    def close(self) -> None:
        """Stop the loop (a stuck one stops if its tool ever returns; its thread is a daemon either way)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)


async def _settled(make: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[bool, Any]:
    """``(True, result)`` or ``(False, exception)``: a ``SystemExit`` raised by a tool must not escape into the
    loop's machinery, which would stop the loop and never settle the caller's future."""
    try:
        return True, await make()
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # noqa: BLE001 - delivered to the caller as a value
        return False, exc
