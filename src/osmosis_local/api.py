"""The Python API: run an eval or a test from a notebook or a CI script, no subprocess.

    from osmosis_local import evaluate

    result = evaluate(mcp="./mcp", dataset="test_data.jsonl",
                      eval_fn=["reward_fn.compute_reward:numbers_match_reward"],
                      model="scripted", base_url="http://127.0.0.1:8001/v1", n=3, batch_size=8)
    result.summary.eval_fns["reward_fn.compute_reward:numbers_match_reward"].mean

The options are the command's flags with ``_`` for ``-`` (``--eval-fn`` is ``eval_fn``), and the result
is the typed `EvalResult` / `TestResult` that ``-o`` writes. Nothing is printed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from osmosis_local.config import EvalConfig, TestConfig, eval_config, test_config
from osmosis_local.log.results import EvalResult, TestResult
from osmosis_local.runner.evaluation import EvalHooks, aevaluate
from osmosis_local.runner.rollout_test import TestHooks, arun_test

__all__ = ["aevaluate", "evaluate", "run_test", "arun_test"]


def evaluate(config: EvalConfig | None = None, *, hooks: EvalHooks | None = None, **options: Any) -> EvalResult:
    """Run an eval and return its `EvalResult`; pass an `EvalConfig` or the `eval` flags as keywords.

    Raises `osmosis_local.SetupError` for a problem found before the first rollout (dataset, eval
    functions, tools, model, key), and ValueError for bad options. Must not be called from a running
    event loop: use ``await aevaluate(config)`` there.
    """
    return asyncio.run(aevaluate(config or eval_config(**options), hooks))


def run_test(config: TestConfig | None = None, *, hooks: TestHooks | None = None, **options: Any) -> TestResult:
    """Run every row once (the `test` command) and return its `TestResult`."""
    return asyncio.run(arun_test(config or test_config(**options), hooks))


run_test.__test__ = False  # type: ignore[attr-defined]  (not a pytest test)
