"""The keyword options of the Python API, typed for type checkers (``**options: Unpack[EvalOptions]``).

They are the command's flags with ``_`` for ``-`` (``--eval-fn`` is ``eval_fn``), and validate into the
settings models of `osmosis_local.config.settings` (where each option is described and checked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Required

from osmosis_local.types import SamplingParams


class RunOptions(SamplingParams, total=False):
    """What `test` and `eval` share (with the sampling parameters: ``max_tokens``, ``temperature``, ``top_p``)."""

    mcp: str | Path
    mcp_url: str
    module: str
    rollout_server: str
    rollout_server_key: str
    rollout_timeout: float
    dataset: Required[str | Path]
    limit: int
    offset: int
    base_url: str | list[str]  # several: replicas of one model
    api_key: str
    max_turns: int
    seed: int
    request_timeout: float
    max_retries: int
    tool_timeout: float
    llm_client: Literal["auto", "litellm"]
    output: str | Path
    log: str | Path


class RolloutTestOptions(RunOptions, total=False):
    """`run_test(...)`: the `test` command's flags."""

    model: str


class EvalOptions(RunOptions, total=False):
    """`evaluate(...)`: the `eval` command's flags."""

    model: Required[str]
    eval_fn: Required[list[str] | str]
    n: int
    pass_threshold: float
    batch_size: int
    baseline_model: str
    baseline_base_url: str | list[str]
    baseline_api_key: str
    resume: str | Path
    fail_under: float | dict[str, float] | list[str]
    reward_timeout: float
    max_cost: float
    shard: str
