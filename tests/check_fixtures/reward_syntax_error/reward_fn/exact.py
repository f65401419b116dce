"""A reward with a syntax error."""

from osmosis_local import osmosis_reward


@osmosis_reward
def exact_reward(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
    """1.0 when the answer matches."""
    return 1.0 if solution_str.strip() == ground_truth.strip() else 0.0)
