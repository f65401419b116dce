"""A lenient reward: the ground truth appears after a #### marker."""

from osmosis_local import osmosis_reward


@osmosis_reward
def exact_reward(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
    """1.0 when the ground truth appears after a ####."""
    return 1.0 if "####" in solution_str and ground_truth in solution_str.split("####", 1)[1] else 0.0
