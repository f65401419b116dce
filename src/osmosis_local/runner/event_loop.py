"""The event loop the runner's commands and the Python API run on: uvloop where it is installed (the default
dependency on Linux and macOS), else asyncio's own.

uvloop runs the same asyncio code (the `asyncio.Runner` of Python 3.11+, Ctrl-C cancelling the main task) on
libuv: about 8% less CPU per rollout (benchmarks/runner_bench.py, alternating runs), which is what a process with
hundreds of rollouts in flight is short of. ``OSMOSIS_LOCAL_EVENT_LOOP=asyncio`` chooses asyncio's loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["EVENT_LOOP_ENV", "loop_name", "run"]

EVENT_LOOP_ENV = "OSMOSIS_LOCAL_EVENT_LOOP"
T = TypeVar("T")


def loop_name() -> str:
    """``"uvloop"`` or ``"asyncio"``: the loop `run` uses here."""
    if os.environ.get(EVENT_LOOP_ENV, "").strip().lower() == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` of ``coro`` on the loop `loop_name` says."""
    if loop_name() == "uvloop":
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)
