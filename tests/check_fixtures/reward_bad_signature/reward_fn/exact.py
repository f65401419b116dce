"""The strict reward with its third parameter misnamed: both decorators refuse it, so the import fails."""

from osmosis_local import osmosis_reward


@osmosis_reward
def exact_reward(solution_str: str, ground_truth: str, metadata: dict = None, **kwargs) -> float:
    """1.0 when the text after the single #### equals the ground truth."""
    if solution_str.count("####") != 1:
        return 0.0
    return 1.0 if solution_str.split("####")[-1].strip() == ground_truth.strip() else 0.0
