"""The Python API: run an eval or a test from a notebook or a CI script, no subprocess.

    from osmosis_local import evaluate

    result = evaluate(mcp="./mcp", dataset="test_data.jsonl",
                      eval_fn=["reward_fn.compute_reward:numbers_match_reward"],
                      model="scripted", base_url="http://127.0.0.1:8001/v1", n=3, batch_size=8)
    result.summary.eval_fns["reward_fn.compute_reward:numbers_match_reward"].mean

The options are the command's flags with ``_`` for ``-`` (``--eval-fn`` is ``eval_fn``), typed for type
checkers (`EvalOptions`, `RolloutTestOptions`); they validate into the same settings models the command line
builds. The result is the typed `EvalResult` / `RolloutTestResult` that ``-o`` writes. Nothing is printed.
"""

from __future__ import annotations

from typing import Unpack

from osmosis_local.config.options import EvalOptions, RolloutTestOptions
from osmosis_local.config.settings import EvalConfig, RolloutTestConfig
from osmosis_local.log.results import EvalResult, RolloutTestResult
from osmosis_local.runner import evaluation, rollout_test
from osmosis_local.runner.evaluation import EvalHooks
from osmosis_local.runner.event_loop import run as run_loop
from osmosis_local.runner.rollout_test import RolloutTestHooks

__all__ = ["aevaluate", "arun_test", "evaluate", "run_test"]


def evaluate(
    config: EvalConfig | None = None, *, hooks: EvalHooks | None = None, **options: Unpack[EvalOptions]
) -> EvalResult:
    """Run an eval and return its `EvalResult`; pass an `EvalConfig` or the `eval` flags as keywords.

    Raises `osmosis_local.SetupError` for a problem found before the first rollout (dataset, eval
    functions, tools, model, key), and ValueError (pydantic's `ValidationError`) for bad options. Must not
    be called from a running event loop: use ``await aevaluate(...)`` there.
    """
    return run_loop(aevaluate(config, hooks=hooks, **options))


async def aevaluate(
    config: EvalConfig | None = None, *, hooks: EvalHooks | None = None, **options: Unpack[EvalOptions]
) -> EvalResult:
    """`evaluate` inside a running event loop."""
    return await evaluation.aevaluate(config or EvalConfig.model_validate(options), hooks)


def run_test(
    config: RolloutTestConfig | None = None,
    *,
    hooks: RolloutTestHooks | None = None,
    **options: Unpack[RolloutTestOptions],
) -> RolloutTestResult:
    """Run every row once (the `test` command) and return its `RolloutTestResult`."""
    return run_loop(arun_test(config, hooks=hooks, **options))


async def arun_test(
    config: RolloutTestConfig | None = None,
    *,
    hooks: RolloutTestHooks | None = None,
    **options: Unpack[RolloutTestOptions],
) -> RolloutTestResult:
    """`run_test` inside a running event loop."""
    return await rollout_test.arun_test(config or RolloutTestConfig.model_validate(options), hooks)
