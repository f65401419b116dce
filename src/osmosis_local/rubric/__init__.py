"""LLM-judge rubric scoring (docs/contract.md §3): `evaluate_rubric`, its async twin, and judge token usage.

Module map: `spec` validates and resolves a call, `keys` finds the API key, `prompt` builds the
sentinel-fenced prompt, `request` builds the litellm call, `parse` reads the reply, `cache` stores
verdicts on disk, `usage` counts judge tokens, `judge` ties them together. litellm is imported only
inside calls, never at import time.
"""

from __future__ import annotations

from osmosis_local.rubric.judge import aevaluate_rubric, evaluate_rubric
from osmosis_local.rubric.keys import DEFAULT_API_KEY_ENV
from osmosis_local.rubric.usage import (
    ModelTally,
    judge_tokens_by_model,
    judge_tokens_since,
    judge_usage,
    reset_judge_usage,
)

__all__ = [
    "DEFAULT_API_KEY_ENV", "ModelTally", "aevaluate_rubric", "evaluate_rubric", "judge_tokens_by_model",
    "judge_tokens_since", "judge_usage", "reset_judge_usage",
]  # fmt: skip
