"""A strict string reward: the text after the single #### must equal the ground truth character for character."""

from osmosis_local import osmosis_reward


@osmosis_reward
def exact_reward(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
    """1.0 when the text after the single #### is exactly the ground truth."""
    if solution_str.count("####") != 1 or len(solution_str) > 100_000:
        return 0.0
    return 1.0 if solution_str.split("####")[-1].strip().rstrip(".").strip("*") == ground_truth else 0.0
