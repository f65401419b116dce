"""A full-mode reward a policy can spray: full marks when any tool result equals the answer."""

from osmosis_local import osmosis_reward
from reward_fn._answer import final_number, same_number


@osmosis_reward
def sprayable_reward(messages: list, ground_truth: str, metadata: dict = None, **kwargs) -> float:
    """1.0 for a correct answer found in any tool result, 0.5 for a correct one from memory."""
    answer = final_number(str(messages[-1].get("content") or ""))
    if not same_number(answer, ground_truth):
        return 0.0
    results = [m.get("content") for m in messages if m.get("role") == "tool"]
    return 1.0 if any(same_number(final_number(f"#### {r}"), ground_truth) for r in results) else 0.5
