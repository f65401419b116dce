"""Call a reward once, in simple or full mode, with a time limit; never raises.

Each call runs in a daemon thread (`call_guarded`): a reward that raises anything (``sys.exit`` included) or
returns what ``float()`` cannot take is that call's error, one that hangs is given up after `CALL_TIMEOUT_S`, and
a reward that hung once is not called again (a hung reward must not cost the time limit once per row).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import numbers
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from osmosis_local.safe_text import bounded, safe_str

__all__ = ["ScoreCall", "call_guarded", "call_scorer", "messages_for"]

CALL_TIMEOUT_S = 5.0
_hung: set[int] = set()  # id() of the functions that did not return in time once


@dataclass(frozen=True)
class ScoreCall:
    """A score, or why there is none."""

    score: float | None
    error: str | None = None


def messages_for(row: dict[str, Any], answer: str) -> list[dict[str, Any]]:
    """The conversation a full-mode scorer gets: the row's prompts and the answer as the last message."""
    return [
        {"role": "system", "content": str(row.get("system_prompt", ""))},
        {"role": "user", "content": str(row.get("user_prompt", ""))},
        {"role": "assistant", "content": answer},
    ]


def _invoke(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    result = fn(**kwargs)
    if inspect.isawaitable(result):

        async def wait() -> Any:
            return await result

        result = asyncio.run(wait())
    return result


def call_scorer(
    fn: Callable[..., Any],
    mode: str,
    answer: str,
    ground_truth: str,
    row: dict[str, Any],
    *,
    timeout_s: float = CALL_TIMEOUT_S,
    messages: list[dict[str, Any]] | None = None,
) -> ScoreCall:
    """Score `answer` (the final message in full mode; or the whole ``messages`` given) in a daemon thread, so a
    hung scorer cannot hang us."""
    if mode == "full":
        conversation = messages if messages is not None else messages_for(row, answer)
        kwargs = {"messages": conversation, "ground_truth": ground_truth, "metadata": dict(row)}
    else:
        kwargs = {"solution_str": answer, "ground_truth": ground_truth, "extra_info": dict(row)}
    ok, result = call_guarded(fn, kwargs, timeout_s=timeout_s)
    if not ok:
        return ScoreCall(None, str(result))
    if isinstance(result, bool) or not isinstance(result, numbers.Real):
        return ScoreCall(None, f"returned {type(result).__name__}, not a float")
    try:
        value = float(result)
    except BaseException as exc:  # noqa: BLE001 - an int above 1e308, a float subclass whose __float__ raises
        return ScoreCall(None, f"returned a {type(result).__name__} float() cannot take ({type(exc).__name__})")
    if not math.isfinite(value):
        return ScoreCall(None, f"returned {value}")
    return ScoreCall(value)


def call_guarded(fn: Callable[..., Any], kwargs: dict[str, Any], *, timeout_s: float = CALL_TIMEOUT_S
                 ) -> tuple[bool, Any]:  # fmt: skip
    """``(True, result)`` or ``(False, why)``: ``fn(**kwargs)`` in a daemon thread, within ``timeout_s``."""
    if id(fn) in _hung:
        return False, f"not called: an earlier call did not return within {timeout_s:.0f} s"
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = _invoke(fn, kwargs)
        except BaseException as exc:  # noqa: BLE001 - the scorer's failure is the outcome
            box["error"] = f"raised {type(exc).__name__}: {bounded(' '.join(safe_str(exc).split()), 200)}"

    thread = threading.Thread(target=target, daemon=True, name="check-scorer")
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        _hung.add(id(fn))
        return False, f"did not return within {timeout_s:.0f} s"
    if "error" in box:
        return False, box["error"]
    return True, box.get("result")
