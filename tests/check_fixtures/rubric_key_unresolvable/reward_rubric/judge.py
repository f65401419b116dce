"""A Mistral judge: the judge knows no default key variable for it, and this module names none."""

from osmosis_local import evaluate_rubric, osmosis_rubric


@osmosis_rubric
def judge(solution_str: str, ground_truth: str | None, extra_info: dict, **kwargs) -> float:
    """Ask the judge whether the answer matches."""
    return evaluate_rubric(
        rubric="Full marks if the final number equals the ground truth.",
        solution_str=solution_str,
        model_info={"provider": "mistral", "model": "mistral-large-latest"},
        ground_truth=ground_truth,
    )
