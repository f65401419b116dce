"""A deadline on the steps of `check` that run user code on the main thread (importing ``mcp/``, the rewards,
the rubrics, ``rollout_server/``): code that never returns there (an endless loop at import time) cannot be
interrupted, so a daemon thread watches the step and, when it overruns, hands the caller the step, the place in
the repository the main thread is stuck at (file and line, read from its live stack), and how long it waited.

The caller (the CLI) then prints the report so far with that as an error finding, and ends the process. Calls of
rewards run in daemon threads with their own limit (`scorer_call`), so they never need this.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_STEP_TIMEOUT_S", "Stuck", "Watchdog"]

DEFAULT_STEP_TIMEOUT_S = 60.0  # importing 10,000 tools takes about 20 s here; an endless loop is stopped at 60
NOTE_AFTER_S = 2.0  # a step still running after this long is announced (a silent check looks hung)


@dataclass(frozen=True)
class Stuck:
    """A step that overran: what it was, where the main thread is (inside the repository, if anywhere)."""

    step: str
    area: str
    waited_s: float
    file: str | None
    line: int | None


class Watchdog:
    """Watch one step at a time; call ``on_stuck(Stuck)`` (from the watchdog's thread) when a step overruns."""

    def __init__(self, repo: Path, on_stuck: Callable[[Stuck], None], *, timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
                 on_slow: Callable[[str], None] | None = None) -> None:  # fmt: skip
        self.repo = repo.resolve()
        self.on_stuck = on_stuck
        self.on_slow = on_slow
        self.timeout_s = timeout_s
        self._main = threading.get_ident()
        self._current: tuple[str, str, float, bool] | None = None
        self._announced: object = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="osmosis-check-watchdog", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def step(self, what: str, area: str, *, deadline: bool = True) -> Iterator[None]:
        """The block is one step: of at most ``timeout_s`` seconds when ``deadline`` (user code on this thread),
        announced through ``on_slow`` when it lasts longer than `NOTE_AFTER_S` either way."""
        with self._lock:
            outer, self._current = self._current, (what, area, time.monotonic(), deadline)
        self._wake.set()
        try:
            yield
        finally:
            with self._lock:
                self._current = outer  # a step inside another: the outer one is watched again

    def _watch(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                current = self._current
            if current is None:
                self._wake.clear()
                continue
            what, area, started, deadline = current
            elapsed = time.monotonic() - started
            if elapsed > NOTE_AFTER_S and self.on_slow is not None and self._announced is not current:
                self._announced = current
                self.on_slow(what)
            left = started + self.timeout_s - time.monotonic() if deadline else float("inf")
            if left > 0:
                time.sleep(min(left, 0.25))
                continue
            with self._lock:
                still = self._current is current
            if still:
                file, line = self._place()
                self.on_stuck(Stuck(what, area, round(time.monotonic() - started, 1), file, line))
                return

    def _place(self) -> tuple[str | None, int | None]:
        """The innermost frame of the main thread that is a file of the repository (relative), else None."""
        frame = sys._current_frames().get(self._main)
        while frame is not None:
            path = Path(frame.f_code.co_filename)
            if "site-packages" not in path.parts:
                with contextlib.suppress(ValueError, OSError):
                    return str(path.resolve().relative_to(self.repo)), frame.f_lineno
            frame = frame.f_back
        return None, None
