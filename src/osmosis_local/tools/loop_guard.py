"""A deadline for ``async`` tools run on the run's own event loop, when that loop runs on the main thread.

Running an in-process ``async`` tool right on the run's loop costs nothing, but a tool that blocks (``time.sleep``,
a CPU loop) would hold the loop, and so every rollout in flight and its own deadline, for as long as it blocks.
The guard keeps the fast path and still honours the deadline: a watchdog thread notices a guarded call that is
past its deadline and sends the main thread a signal; the handler raises `ToolBlocked` only if that call's code
is what the thread is running right now (its frame is on the interrupted stack), so nothing else is ever
interrupted. ``time.sleep`` and blocking system calls are interrupted by the signal, a Python loop at its next
instruction. `ToolBlocked` is a ``BaseException``: a tool's own ``except Exception`` does not swallow it (if the
tool catches it anyway, it is signalled again).

Signals reach only the main thread, so the guard is `available` only there (the command line); elsewhere
`tools.tool_loop.ToolLoop` isolates async tools on a thread of their own instead.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import threading
import time
from collections.abc import Iterator
from types import CodeType, FrameType
from typing import Any

__all__ = ["LoopGuard", "ToolBlocked", "shared_guard"]

_SIGNAL = getattr(signal, "SIGURG", None)  # ignored by default and unused by Python and asyncio
_RESIGNAL_S = 0.5  # a call still blocking after the signal is signalled again this often


class ToolBlocked(BaseException):  # noqa: N818 - it is raised into the tool, like KeyboardInterrupt
    """Raised inside an ``async`` tool that blocked the run's event loop past its deadline."""


class LoopGuard:
    """Deadlines for blocking ``async`` tools on the main thread's loop (see the module doc)."""

    def __init__(self) -> None:
        self._calls: dict[int, tuple[float, frozenset[CodeType]]] = {}  # id -> (deadline, the tool's code)
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._main = threading.main_thread().ident
        self._previous: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._users = 0

    @property
    def available(self) -> bool:
        """Whether the guard can work for code running on this thread (the main thread, on POSIX)."""
        return _SIGNAL is not None and hasattr(signal, "pthread_kill") and (
            threading.current_thread() is threading.main_thread()
        )

    def start(self) -> None:
        """Install the signal handler and start the watchdog (no-op when not `available`); counted, so each
        `start` needs its `stop`."""
        with self._lock:
            self._users += 1
            if not self.available or self._thread is not None:
                return
        assert _SIGNAL is not None
        self._previous = signal.signal(_SIGNAL, self._handle)
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="osmosis-loop-guard", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the watchdog and restore the previous handler, once the last user has stopped."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users or self._thread is None:
                return
        self._stop.set()
        self._thread = None
        assert _SIGNAL is not None
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(_SIGNAL, self._previous if self._previous is not None else signal.SIG_DFL)

    @contextlib.contextmanager
    def guard(self, code: frozenset[CodeType], timeout_s: float) -> Iterator[None]:
        """The block runs a tool whose functions' code is ``code``; past ``timeout_s`` it is interrupted if it
        is blocking the thread."""
        key = next(self._ids)
        with self._lock:
            self._calls[key] = (time.monotonic() + timeout_s, code)
        try:
            yield
        finally:
            with self._lock:
                self._calls.pop(key, None)

    def _overdue(self) -> list[frozenset[CodeType]]:
        now = time.monotonic()
        with self._lock:
            return [code for deadline, code in self._calls.values() if now > deadline]

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            if self._overdue() and self._main is not None:
                with contextlib.suppress(OSError, ValueError):
                    signal.pthread_kill(self._main, _SIGNAL)  # type: ignore[arg-type]
                self._stop.wait(_RESIGNAL_S)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        overdue = self._overdue()
        if not overdue:
            return
        codes = frozenset().union(*overdue)
        while frame is not None:
            if frame.f_code in codes:
                raise ToolBlocked()
            frame = frame.f_back


_shared: LoopGuard | None = None


def shared_guard() -> LoopGuard:
    """The process's one guard (one signal handler), made on first use."""
    global _shared
    if _shared is None:
        _shared = LoopGuard()
    return _shared
