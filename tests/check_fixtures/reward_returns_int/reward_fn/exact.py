"""The strict reward, returning 1 or 0 (ints): the local decorator converts them, the SDK raises."""

from osmosis_local import osmosis_reward
from reward_fn._answer import final_number, same_number


@osmosis_reward
def exact_reward(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
    """1 when the final answer equals the ground truth, else 0."""
    return 1 if same_number(final_number(solution_str), ground_truth) else 0
