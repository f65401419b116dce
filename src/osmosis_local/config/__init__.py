"""The settings of a run: one typed model per command, built once from the CLI or the Python API."""

from __future__ import annotations

from osmosis_local.config.settings import (
    EvalConfig,
    FailUnder,
    ModelEndpoint,
    RolloutConfig,
    TestConfig,
    eval_config,
    test_config,
)

__all__ = ["EvalConfig", "FailUnder", "ModelEndpoint", "RolloutConfig", "TestConfig", "eval_config", "test_config"]
