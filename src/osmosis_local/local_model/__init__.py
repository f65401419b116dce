"""The embedded offline default model (`local/qwen2.5-1.5b`): weights, engine, HTTP server.

Only the registry is imported eagerly; the engine (llama.cpp) and the server (starlette/uvicorn)
load on first use so that `osmosis-local --help` and cloud-model runs stay fast.
"""

from __future__ import annotations

from osmosis_local.local_model.registry import (
    DEFAULT_LOCAL_MODEL,
    LOCAL_MODELS,
    LocalModelSpec,
    get_local_model,
    is_local_model,
)

_LAZY = {
    "ensure_weights": "osmosis_local.local_model.weights",
    "LocalEngine": "osmosis_local.local_model.engine",
    "start_local_endpoint": "osmosis_local.local_model.server",
    "serve_model": "osmosis_local.local_model.server",
    "run_serve_model": "osmosis_local.local_model.server",
    "LocalModelError": "osmosis_local.local_model.errors",
}

__all__ = ["DEFAULT_LOCAL_MODEL", "LOCAL_MODELS", "LocalModelSpec", "get_local_model", "is_local_model", *_LAZY]


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'osmosis_local.local_model' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
