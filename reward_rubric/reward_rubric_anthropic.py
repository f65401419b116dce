"""`compute_rubric_score_anthropic`: an Anthropic model judges whether the final number matches the truth.

Usable on the platform (original `osmosis_ai` SDK) and locally with
`--eval-fn reward_rubric.reward_rubric_anthropic:compute_rubric_score_anthropic`.
The key is read from ANTHROPIC_API_KEY when the judge is called; without it the call fails with a
MissingAPIKeyError saying what to export. No `from __future__ import annotations`: the platform's
decorator checks annotations as written.
"""

try:
    from osmosis_ai import osmosis_rubric
except ImportError:
    from osmosis_local import osmosis_rubric

from reward_rubric.judge_call import NUMERIC_MATCH_RUBRIC, score_with_judge

RUBRIC = NUMERIC_MATCH_RUBRIC
SCORE_MIN = 0.0
SCORE_MAX = 1.0
PROVIDER = "anthropic"
MODEL = "claude-sonnet-4-5-20250929"
API_KEY_ENV = "ANTHROPIC_API_KEY"


@osmosis_rubric
def compute_rubric_score_anthropic(solution_str: str, ground_truth: str | None, extra_info: dict, **kwargs) -> float:
    """Judge `solution_str` with Anthropic; an empty answer scores SCORE_MIN without a judge call."""
    return score_with_judge(
        solution_str, ground_truth, extra_info,
        rubric=RUBRIC,
        model_info={"provider": PROVIDER, "model": MODEL, "api_key_env": API_KEY_ENV},
        score_min=SCORE_MIN,
        score_max=SCORE_MAX,
    )
