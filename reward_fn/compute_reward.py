"""`numbers_match_reward`: 1.0 when the final `#### <number>` answer equals the ground truth exactly, else 0.0.

Kept SDK-strict on purpose (no `from __future__ import annotations`, annotations `str`/`str`/`dict = None`,
a real float returned) so the platform's own `@osmosis_reward` accepts it unchanged. Parsing rules live in
`reward_fn/answer_parsing.py`; this module only adapts them to the reward signature and never raises.
"""

try:
    from osmosis_ai import osmosis_reward
except ImportError:
    from osmosis_local import osmosis_reward

from reward_fn.answer_parsing import answers_match


@osmosis_reward
def numbers_match_reward(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
    """Exact numeric match of the answer after the last `####`; hedges, no marker or bad input score 0.0."""
    try:
        return 1.0 if answers_match(solution_str, ground_truth) else 0.0
    except Exception:  # noqa: BLE001 - a reward must never crash a training step
        return 0.0
