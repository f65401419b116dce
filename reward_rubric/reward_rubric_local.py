"""`compute_rubric_score_local`: a self-hosted or embedded judge, no hosted API key needed.

The judge is the OpenAI-compatible server at ``$OSMOSIS_JUDGE_BASE_URL`` (vLLM, LM Studio, llama.cpp,
...; model name from ``$OSMOSIS_JUDGE_MODEL``, key from ``$OSMOSIS_JUDGE_API_KEY`` if the server wants
one), else the embedded model ``local/qwen2.5-1.5b`` started on first use. Run it with
``--eval-fn reward_rubric.reward_rubric_local:compute_rubric_score_local``.

Judging through a ``base_url`` or the embedded model needs the harness's `evaluate_rubric`
(`osmosis_local`); the platform SDK only reaches hosted providers, so there use the hosted scorers.
The decorator still comes from the platform SDK when it is installed, so the signature is held to the
platform's rules.
"""

import os

try:
    from osmosis_ai import osmosis_rubric
except ImportError:
    from osmosis_local import osmosis_rubric

RUBRIC = (
    "Award the maximum score if the final numeric answer in the candidate output (the number after "
    "'####', or else the last number the candidate states as its answer) is numerically equal to the "
    "ground truth, ignoring formatting such as thousands separators, a currency sign or trailing zeros. "
    "Award the minimum score if it differs, is missing, or several conflicting answers are given."
)
SCORE_MIN = 0.0
SCORE_MAX = 1.0
PROVIDER = "local"
MODEL = "local/qwen2.5-1.5b"
API_KEY_ENV = "OSMOSIS_JUDGE_API_KEY"
BASE_URL_ENV = "OSMOSIS_JUDGE_BASE_URL"
MODEL_ENV = "OSMOSIS_JUDGE_MODEL"

# Row columns that are prompts, the answer key or judge configuration, never quoted as metadata.
_NOT_METADATA = {"system_prompt", "user_prompt", "ground_truth", "metadata", "api_key", "api_key_env",
                 "provider", "model", "rubric", "score_min", "score_max", "model_info_overrides"}


def _judge_metadata(extra_info: dict) -> dict | None:
    """The platform's `metadata` dict if given, else the row's extra columns (id, steps, ...)."""
    if isinstance(extra_info.get("metadata"), dict):
        return extra_info["metadata"]
    extra = {k: v for k, v in extra_info.items() if k not in _NOT_METADATA}
    return extra or None


def _model_info() -> dict:
    """A base_url judge when the env names one, else the embedded model (read per call, not at import)."""
    base_url = os.getenv(BASE_URL_ENV, "").strip()
    if not base_url:
        return {"provider": PROVIDER, "model": MODEL}
    return {
        "provider": PROVIDER,
        "model": os.getenv(MODEL_ENV, "").strip() or MODEL,
        "base_url": base_url,
        "api_key": os.getenv(API_KEY_ENV) or None,
    }


@osmosis_rubric
def compute_rubric_score_local(solution_str: str, ground_truth: str | None, extra_info: dict, **kwargs) -> float:
    """Judge `solution_str` locally; an empty answer scores SCORE_MIN without a judge call."""
    try:
        from osmosis_local import evaluate_rubric
    except ImportError as exc:
        raise ImportError(
            "reward_rubric_local needs the osmosis-local harness (pip install -e . in this repository); "
            "on the platform use reward_rubric_openai, reward_rubric_anthropic or reward_rubric_xai."
        ) from exc
    if not solution_str.strip():
        return SCORE_MIN
    extra_info = extra_info or {}
    user_prompt = extra_info.get("user_prompt")
    score = evaluate_rubric(
        rubric=RUBRIC,
        solution_str=solution_str,
        model_info=_model_info(),
        ground_truth=ground_truth,
        original_input=user_prompt if isinstance(user_prompt, str) else None,
        metadata=_judge_metadata(extra_info),
        score_min=SCORE_MIN,
        score_max=SCORE_MAX,
    )
    return float(score)
