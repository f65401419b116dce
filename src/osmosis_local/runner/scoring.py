"""One finished run scored by the eval functions: the one code path of `eval` (after each rollout) and `rescore`."""

from __future__ import annotations

from collections.abc import Sequence

from osmosis_local.content.dataset import DatasetRow
from osmosis_local.content.eval_fns import EvalFn, EvalFnCallError
from osmosis_local.types import Message


async def score_run(
    fns: Sequence[EvalFn], row: DatasetRow, *, answer: str, messages: list[Message]
) -> tuple[dict[str, float], dict[str, str]]:
    """``(scores, score_errors)``: each eval function's score, or why it has none (it raised or returned a
    non-number), in order."""
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    for fn in fns:
        try:
            scores[fn.name] = await fn.score(
                solution_str=answer, messages=messages, ground_truth=row.ground_truth, row=row.as_row_dict()
            )
        except EvalFnCallError as exc:
            errors[fn.name] = str(exc)
    return scores, errors
