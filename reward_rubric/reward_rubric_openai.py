"""`compute_rubric_score_openai`: an OpenAI model judges whether the final number matches the truth.

Usable on the platform (original `osmosis_ai` SDK) and locally with
`--eval-fn reward_rubric.reward_rubric_openai:compute_rubric_score_openai`.
The key is read from OPENAI_API_KEY when the judge is called; without it the call fails with a
MissingAPIKeyError saying what to export. No `from __future__ import annotations`: the platform's
decorator checks annotations as written.
"""

try:
    from osmosis_ai import evaluate_rubric, osmosis_rubric
except ImportError:
    from osmosis_local import evaluate_rubric, osmosis_rubric

RUBRIC = (
    "Award the maximum score if the final numeric answer in the candidate output (the number after "
    "'####', or else the last number the candidate states as its answer) is numerically equal to the "
    "ground truth, ignoring formatting such as thousands separators, a currency sign or trailing zeros. "
    "Award the minimum score if it differs, is missing, or several conflicting answers are given."
)
SCORE_MIN = 0.0
SCORE_MAX = 1.0
PROVIDER = "openai"
MODEL = "gpt-5-mini"
API_KEY_ENV = "OPENAI_API_KEY"

# Row columns that are prompts, the answer key or judge configuration, never quoted as metadata.
_NOT_METADATA = {"system_prompt", "user_prompt", "ground_truth", "metadata", "api_key", "api_key_env",
                 "provider", "model", "rubric", "score_min", "score_max", "model_info_overrides"}


def _judge_metadata(extra_info: dict) -> dict | None:
    """The platform's `metadata` dict if given, else the row's extra columns (id, steps, ...)."""
    if isinstance(extra_info.get("metadata"), dict):
        return extra_info["metadata"]
    extra = {k: v for k, v in extra_info.items() if k not in _NOT_METADATA}
    return extra or None


@osmosis_rubric
def compute_rubric_score_openai(solution_str: str, ground_truth: str | None, extra_info: dict, **kwargs) -> float:
    """Judge `solution_str` with OpenAI; an empty answer scores SCORE_MIN without a judge call."""
    if not solution_str.strip():
        return SCORE_MIN
    extra_info = extra_info or {}
    user_prompt = extra_info.get("user_prompt")
    score = evaluate_rubric(
        rubric=RUBRIC,
        solution_str=solution_str,
        model_info={"provider": PROVIDER, "model": MODEL, "api_key_env": API_KEY_ENV},
        ground_truth=ground_truth,
        original_input=user_prompt if isinstance(user_prompt, str) else None,
        metadata=_judge_metadata(extra_info),
        score_min=SCORE_MIN,
        score_max=SCORE_MAX,
    )
    return float(score)
