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
        """``await make()`` on the tool loop within ``timeout_s``; raises `TimeoutError` when it is late.

        A call the loop has not even started after `PROBE_S` (the loop is stuck in another tool) is taken back
        and sent to a fresh loop, so one stuck tool holds no other call.
        """
        caller = asyncio.get_running_loop()
        deadline = caller.time() + timeout_s
        waiter: asyncio.Future[tuple[bool, Any]] = caller.create_future()

        def deliver(outcome: tuple[bool, Any]) -> None:
            if not waiter.done():
                waiter.set_result(outcome)

        while True:
            loop = self._running_loop()
            attempt = _Attempt()

            async def run() -> None:
                outcome = await _settled(make)
                with contextlib.suppress(RuntimeError):  # the caller's loop closed meanwhile
                    caller.call_soon_threadsafe(deliver, outcome)

            def start(attempt: _Attempt = attempt, loop: asyncio.AbstractEventLoop = loop) -> None:
                with attempt.lock:
                    if not attempt.taken_back:
                        attempt.task = loop.create_task(run())

            # Plain thread-safe callbacks (start there, deliver back): about half the cost of
            # run_coroutine_threadsafe + wrap_future, which chain two futures across the threads.
            loop.call_soon_threadsafe(start)
            try:
                await asyncio.wait({waiter}, timeout=max(0.0, min(PROBE_S, deadline - caller.time())))
                if waiter.done():
                    break
                with attempt.lock:
                    if attempt.task is None:
                        attempt.taken_back = True
                if attempt.taken_back and caller.time() < deadline:
                    self._abandon(loop)  # stuck on another call: this one goes to a fresh loop
                    continue
                async with asyncio.timeout_at(deadline):
                    await waiter
                break
            except TimeoutError:
                attempt.stop(loop)
                if not await self._answers(loop):
                    self._abandon(loop)
                raise
            except asyncio.CancelledError:
                attempt.stop(loop)
                raise
        ok, value = waiter.result()
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


class _Attempt:
    """One dispatch of a call to a loop: started there, or taken back before it started."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.task: asyncio.Task[None] | None = None
        self.taken_back = False

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        with self.lock:
            self.taken_back = True
            task = self.task
        if task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)


async def _settled(make: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[bool, Any]:
    """``(True, result)`` or ``(False, exception)``: a ``SystemExit`` raised by a tool must not escape into the
    loop's machinery, which would stop the loop and never settle the caller's future."""
    try:
        return True, await make()
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # noqa: BLE001 - delivered to the caller as a value
        return False, exc
