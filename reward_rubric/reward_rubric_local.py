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

from reward_rubric.judge_call import NUMERIC_MATCH_RUBRIC, score_with_judge

RUBRIC = NUMERIC_MATCH_RUBRIC
SCORE_MIN = 0.0
SCORE_MAX = 1.0
PROVIDER = "local"
MODEL = "local/qwen2.5-1.5b"
API_KEY_ENV = "OSMOSIS_JUDGE_API_KEY"
BASE_URL_ENV = "OSMOSIS_JUDGE_BASE_URL"
MODEL_ENV = "OSMOSIS_JUDGE_MODEL"


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
    return score_with_judge(
        solution_str, ground_truth, extra_info,
        rubric=RUBRIC,
        model_info=_model_info(),
        score_min=SCORE_MIN,
        score_max=SCORE_MAX,
        harness_only=True,
    )
