"""Score one built-in sample with a `reward_rubric/` judge and print ``score: <float>``.

    python scripts/score_rubric_sample.py --provider {openai,anthropic,xai,local}

CI runs it per hosted provider (keys from repository secrets) whenever ``reward_rubric/`` changes, so a
broken rubric, model name or key shows up before the platform syncs it. ``local`` uses
``$OSMOSIS_JUDGE_BASE_URL`` or the embedded model. Exit status 1, with the reason on stderr, on any error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = ("openai", "anthropic", "xai", "local")

# A dataset-shaped row (docs/contract.md §5: the runner passes the whole row as extra_info).
SAMPLE_ROW = {
    "id": "sample-0001",
    "system_prompt": "You are a careful math assistant. End with #### followed by the numeric result.",
    "user_prompt": "A box holds 6 rows of 7 eggs. How many eggs are in the box?",
    "ground_truth": "42",
    "num_steps": 1,
    "steps": [{"tool": "multiply", "arguments": {"a": 6, "b": 7}}],
}
SAMPLE_ANSWER = "6 rows times 7 eggs per row is 42 eggs.\n#### 42"


def score_sample(provider: str) -> float:
    """Import ``reward_rubric.reward_rubric_<provider>`` and score the sample with it."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    module = importlib.import_module(f"reward_rubric.reward_rubric_{provider}")
    scorer = getattr(module, f"compute_rubric_score_{provider}")
    return scorer(solution_str=SAMPLE_ANSWER, ground_truth=SAMPLE_ROW["ground_truth"], extra_info=dict(SAMPLE_ROW))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", required=True, choices=PROVIDERS, help="which reward_rubric judge to use")
    args = parser.parse_args(argv)
    try:
        import osmosis_local  # noqa: F401  (offline litellm defaults before anything imports litellm)
    except ImportError:
        pass  # the platform SDK alone is enough for the hosted judges

    try:
        score = score_sample(args.provider)
    except Exception as exc:  # noqa: BLE001 - one clear line, not a traceback, for CI logs
        print(f"Error: {args.provider} rubric judge failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"score: {score}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
