"""A strict reward: the number after the single #### equals the ground truth."""

from osmosis_local import osmosis_reward
from reward_fn._answer import final_number, same_number


@osmosis_reward
def exact_reward(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
    """1.0 when the final answer equals the ground truth, else 0.0."""
    return 1.0 if same_number(final_number(solution_str), ground_truth) else 0.0
