"""One finished run scored by the eval functions: the one code path of `eval` (after each rollout) and `rescore`."""

from __future__ import annotations

from collections.abc import Sequence

from osmosis_local.content.dataset import DatasetRow
from osmosis_local.content.eval_fns import EvalFn, EvalFnCallError
from osmosis_local.types import Message, copy_tree


async def score_run(
    fns: Sequence[EvalFn],
    row: DatasetRow,
    *,
    answer: str,
    messages: list[Message],
    timeout_s: float | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """``(scores, score_errors)``: each eval function's score, or why it has none (it raised, missed its
    ``timeout_s`` deadline or returned a non-number), in order.

    Each function gets its own deep copy of ``messages`` and of the row (`DatasetRow.as_row_dict` makes a fresh
    one per call): one that mutates them changes neither the transcript nor what the next function scores.
    """
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    for fn in fns:
        mine = copy_tree(messages) if fn.mode == "full" else messages
        try:
            scores[fn.name] = await fn.score(
                solution_str=answer, messages=mine, ground_truth=row.ground_truth, row=row.as_row_dict(),
                timeout_s=timeout_s,
            )  # fmt: skip
        except EvalFnCallError as exc:
            errors[fn.name] = str(exc)
    return scores, errors
