"""Call a reward once, in simple or full mode, with a time limit; never raises."""

from __future__ import annotations

import asyncio
import inspect
import math
import numbers
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ScoreCall", "call_scorer", "messages_for"]

CALL_TIMEOUT_S = 5.0


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
) -> ScoreCall:
    """Score `answer` (the final message in full mode) in a daemon thread, so a hung scorer cannot hang us."""
    if mode == "full":
        kwargs = {"messages": messages_for(row, answer), "ground_truth": ground_truth, "metadata": dict(row)}
    else:
        kwargs = {"solution_str": answer, "ground_truth": ground_truth, "extra_info": dict(row)}
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = _invoke(fn, kwargs)
        except BaseException as exc:  # noqa: BLE001 - the scorer's failure is the outcome
            box["error"] = f"raised {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"

    thread = threading.Thread(target=target, daemon=True, name="check-scorer")
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return ScoreCall(None, f"did not return within {timeout_s:.0f} s")
    if "error" in box:
        return ScoreCall(None, box["error"])
    result = box.get("result")
    if isinstance(result, bool) or not isinstance(result, numbers.Real):
        return ScoreCall(None, f"returned {type(result).__name__}, not a float")
    value = float(result)
    if not math.isfinite(value):
        return ScoreCall(None, f"returned {value}")
    return ScoreCall(value)
