"""The strict reward with ground_truth: Optional[str]: fine locally, rejected by the platform's SDK."""

from typing import Optional

from osmosis_local import osmosis_reward


def _final(text: str) -> str | None:
    if text.count("####") != 1 or len(text) > 100_000:
        return None
    answer = text.split("####")[-1].strip().rstrip(".").replace("**", "").replace("$", "").replace(",", "")
    try:
        return str(float(answer))
    except ValueError:
        return None


@osmosis_reward
def exact_reward(solution_str: str, ground_truth: Optional[str], extra_info: dict = None, **kwargs) -> float:
    """1.0 when the final answer equals the ground truth, else 0.0."""
    final = _final(solution_str)
    try:
        return 1.0 if final is not None and final == str(float((ground_truth or "").replace(",", ""))) else 0.0
    except ValueError:
        return 0.0
