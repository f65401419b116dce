"""Calls into user code (a reward, a rubric wrapper, an agent loop's hook) that cannot take the harness down.

`call_user` runs one call with a deadline and turns whatever the code does into a value or a `UserCodeError`:

- any exception, and also ``SystemExit``, ``KeyboardInterrupt`` or another ``BaseException`` *raised by the
  code itself* (argparse in a reward is enough), is that call's error; only the run being cancelled (a real
  Ctrl-C cancels the run's tasks) propagates;
- a sync function runs in a **daemon** thread, with a copy of the caller's context vars (not the event loop's
  default executor, which ``asyncio.run`` joins at shutdown): when it misses its deadline the caller gets
  `UserCodeTimeout` at once, and a call that never returns can neither hold the other calls nor keep the process
  from exiting. The daemon threads are reused (`_DaemonWorkers`): a call that misses its deadline keeps its
  thread, the next call gets another;
- an async function is awaited under ``asyncio.timeout`` (code that blocks the event loop cannot be interrupted
  in-process; `stuck_threads` and `exit_now` deal with what is left at exit).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any

from osmosis_local.safe_text import bounded, safe_str

__all__ = ["MAX_DETAIL_CHARS", "UserCodeError", "UserCodeTimeout", "call_user", "describe", "exit_now", "stuck_threads"]

MAX_DETAIL_CHARS = 2000  # an error text from user code is cut to this length (stored in every record)
_THREAD_PREFIX = "osmosis-user-code"
logger = logging.getLogger(__name__)


class UserCodeError(Exception):
    """User code raised (anything, BaseException included); ``detail`` says what, bounded and printable."""

    def __init__(self, detail: str, exc: BaseException | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.exc = exc


class UserCodeTimeout(UserCodeError):
    """User code did not return within its deadline (a sync call keeps running in an abandoned daemon thread)."""


def describe(exc: BaseException) -> str:
    """``'raised Type: message'`` for any exception, even one whose ``__str__`` raises; bounded."""
    text = " ".join(safe_str(exc).split())
    name = type(exc).__name__
    if isinstance(exc, SystemExit):
        return bounded(f"raised SystemExit({text}) (sys.exit or argparse inside the function)", MAX_DETAIL_CHARS)
    return bounded(f"raised {name}: {text}" if text else f"raised {name}", MAX_DETAIL_CHARS)


async def call_user(fn: Callable[..., Any], kwargs: dict[str, Any], *, timeout_s: float | None, what: str) -> Any:
    """``fn(**kwargs)`` (awaited if async) within ``timeout_s`` seconds; raises `UserCodeError` for any failure.

    ``what`` names the call in the timeout message (e.g. ``"reward_fn.compute_reward:numbers_match_reward"``).
    """
    try:
        if inspect.iscoroutinefunction(fn):
            async with asyncio.timeout(timeout_s):
                return await fn(**kwargs)
        result = await _in_daemon_thread(fn, kwargs, timeout_s, what)
        if inspect.isawaitable(result):  # a sync wrapper around an async function
            async with asyncio.timeout(timeout_s):
                return await result
        return result
    except TimeoutError as exc:
        if isinstance(exc, UserCodeTimeout):
            raise
        raise UserCodeTimeout(f"{what} did not return within {timeout_s:g}s") from None
    except asyncio.CancelledError:
        raise  # the run is being stopped (Ctrl-C, a deadline of the caller): not the code's error
    except UserCodeError:
        raise
    except BaseException as exc:  # noqa: BLE001 - whatever user code raises is that call's error
        raise UserCodeError(describe(exc), exc) from None


class _DaemonWorkers:
    """Daemon threads that run sync user code one call at a time, started on demand and kept while busy.

    Starting a thread per call costs about 0.3 ms of the caller's time (the start handshake), a tenth of a
    rollout's CPU. A worker waits ``idle_s`` for its next call, then ends; one running a call that never
    returns stays with it (it is a daemon: it cannot keep the process from exiting) and the next call gets
    another worker. ``_idle`` counts waiting workers not yet promised to a submitted call.
    """

    def __init__(self, idle_s: float = 30.0) -> None:
        self._idle_s = idle_s
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1  # a waiting worker is promised to this job
        self._jobs.put(job)
        if spawn:
            threading.Thread(target=self._serve, name=_THREAD_PREFIX, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # a waiting worker nobody was promised: this one may end
                        self._idle -= 1
                        return
                continue  # every waiting worker is promised to a job on its way into the queue
            job()
            with self._lock:
                self._idle += 1


_workers = _DaemonWorkers()


async def _in_daemon_thread(fn: Callable[..., Any], kwargs: dict[str, Any], timeout_s: float | None, what: str) -> Any:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[bool, Any]] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            future.set_result((ok, value))  # an exception travels as a value: the loop never raises it

    def work() -> None:
        try:
            value: Any = fn(**kwargs)
            ok = True
        except BaseException as exc:  # noqa: BLE001 - delivered to the caller, never raised in the thread
            value, ok = exc, False
        try:
            loop.call_soon_threadsafe(settle, ok, value)
        except RuntimeError:  # the loop closed while the call ran (it had been abandoned)
            pass

    context = contextvars.copy_context()  # as asyncio.to_thread does: the run's context vars reach the code
    _workers.submit(lambda: context.run(work))
    try:
        async with asyncio.timeout(timeout_s):
            ok, value = await future
    except TimeoutError:
        raise UserCodeTimeout(f"{what} did not return within {timeout_s:g}s") from None
    if not ok:
        raise UserCodeError(describe(value), value)
    return value


def stuck_threads(grace_s: float = 0.5) -> list[threading.Thread]:
    """Non-daemon threads other than the main one still alive after ``grace_s`` (e.g. a hung sync tool's thread).

    Such a thread would keep the interpreter from exiting forever; the CLI reports them and calls `exit_now`.
    """
    deadline = grace_s
    alive = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    for thread in alive:
        thread.join(timeout=max(deadline / max(len(alive), 1), 0.01))
    return [t for t in alive if t.is_alive()]


def exit_now(code: int) -> None:  # pragma: no cover - ends the process (tested through the CLI in a subprocess)
    """Flush the standard streams and end the process with ``code`` without joining stuck threads."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    logging.shutdown()
    os._exit(code)
