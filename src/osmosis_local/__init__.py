"""osmosis_local: the Osmosis git-sync contract (decorators, evaluate_rubric), a local runner and its Python API.

`evaluate(...)` / `run_test(...)` run what `osmosis-local eval` / `test` run and return the typed result;
`check_repository(CheckConfig(...))` is `osmosis-local check`.
Heavy modules (litellm, fastmcp) load lazily so that `osmosis-local --help` stays fast.
"""

from __future__ import annotations

from osmosis_local import _env  # noqa: F401  (must run before litellm/fastmcp imports)

__version__ = "0.2.0"

_LAZY = {
    "osmosis_reward": "osmosis_local.content.decorators",
    "osmosis_rubric": "osmosis_local.content.decorators",
    "evaluate_rubric": "osmosis_local.rubric",
    "aevaluate_rubric": "osmosis_local.rubric",
    "MissingAPIKeyError": "osmosis_local.errors",
    "ProviderRequestError": "osmosis_local.errors",
    "ModelNotFoundError": "osmosis_local.errors",
    "SetupError": "osmosis_local.errors",
    "LogReadError": "osmosis_local.errors",
    "evaluate": "osmosis_local.api",
    "aevaluate": "osmosis_local.api",
    "run_test": "osmosis_local.api",
    "arun_test": "osmosis_local.api",
    "EvalConfig": "osmosis_local.config.settings",
    "RolloutTestConfig": "osmosis_local.config.settings",
    "GenerateConfig": "osmosis_local.config.settings",
    "EvalOptions": "osmosis_local.config.options",
    "RolloutTestOptions": "osmosis_local.config.options",
    "EvalResult": "osmosis_local.log.results",
    "RolloutTestResult": "osmosis_local.log.results",
    "RunRecord": "osmosis_local.log.records",
    "load_mcp_server": "osmosis_local.content.mcp_loader",
    "check_repository": "osmosis_local.checks",
    "CheckConfig": "osmosis_local.checks",
    "CheckReport": "osmosis_local.checks",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'osmosis_local' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
