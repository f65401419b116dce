"""What every rubric scorer here does around `evaluate_rubric`: one place, four thin scorers.

Builds the judge inputs from the runner's / platform's `extra_info` (the row's user prompt as the
original input, its extra columns as metadata) and short-circuits an empty answer to the minimum score
instead of paying for a judge call. No `from __future__ import annotations`, as in every content file.
"""

try:
    from osmosis_ai import evaluate_rubric as _sdk_evaluate_rubric
except ImportError:
    _sdk_evaluate_rubric = None

NUMERIC_MATCH_RUBRIC = (
    "Award the maximum score if the final numeric answer in the candidate output (the number after "
    "'####', or else the last number the candidate states as its answer) is numerically equal to the "
    "ground truth, ignoring formatting such as thousands separators, a currency sign or trailing zeros. "
    "Award the minimum score if it differs, is missing, or several conflicting answers are given."
)

def judge_metadata(extra_info: dict) -> dict | None:
    """Only an explicit `metadata` dict (the platform's convention) is quoted to the judge.

    The row's other columns are deliberately left out: a dataset's bookkeeping (ids, the `steps` plan with
    its operands) distracts a judge - the embedded 1.5B model scored correct answers 0.0 when shown them.
    """
    metadata = extra_info.get("metadata")
    return metadata if isinstance(metadata, dict) and metadata else None


def score_with_judge(
    solution_str: str,
    ground_truth: "str | None",
    extra_info: dict,
    *,
    rubric: str,
    model_info: dict,
    score_min: float,
    score_max: float,
    harness_only: bool = False,
) -> float:
    """Ask the judge; an empty answer scores `score_min` without a call.

    `harness_only` judges (a `base_url` or the embedded model) need osmosis_local's `evaluate_rubric`;
    the hosted ones use the platform SDK's when it is installed.
    """
    if not solution_str.strip():
        return score_min
    evaluate = None if harness_only else _sdk_evaluate_rubric
    if evaluate is None:
        try:
            from osmosis_local import evaluate_rubric as evaluate
        except ImportError as exc:
            raise ImportError(
                "this rubric needs the osmosis-local harness (pip install -e . in this repository); on the "
                "platform use reward_rubric_openai, reward_rubric_anthropic or reward_rubric_xai."
            ) from exc
    extra_info = extra_info or {}
    user_prompt = extra_info.get("user_prompt")
    score = evaluate(
        rubric=rubric,
        solution_str=solution_str,
        model_info=model_info,
        ground_truth=ground_truth,
        original_input=user_prompt if isinstance(user_prompt, str) else None,
        metadata=judge_metadata(extra_info),
        score_min=score_min,
        score_max=score_max,
    )
    return float(score)
