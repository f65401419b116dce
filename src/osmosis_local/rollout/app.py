"""`create_app(agent_loop)`: the FastAPI app of a RolloutServer (`osmosis_local.rollout.server` holds its rules).

No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at run time.
"""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from osmosis_local.rollout.base import RolloutAgentLoop
from osmosis_local.rollout.callback import CALLBACK_POLICY, COMPLETION_POLICY, CallbackPolicy
from osmosis_local.rollout.schemas import InitResponse, RolloutRequest
from osmosis_local.rollout.server import (
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_RECORD_TTL_S,
    DEFAULT_REDELIVER_INTERVAL_S,
    ERROR_CHARS,
    ConflictError,
    RolloutServer,
    ToolsError,
)

__all__ = ["create_app"]


def create_app(
    agent_loop: RolloutAgentLoop,
    *,
    api_key: str | None = None,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    debug_dir: str | Path | None = None,
    record_ttl_s: float = DEFAULT_RECORD_TTL_S,
    rollout_timeout_s: float | None = None,
    callback_policy: CallbackPolicy = CALLBACK_POLICY,
    completion_policy: CallbackPolicy = COMPLETION_POLICY,
    redeliver_interval_s: float = DEFAULT_REDELIVER_INTERVAL_S,
) -> FastAPI:
    """The FastAPI app serving ``agent_loop`` (``uvicorn`` runs it; `osmosis-local serve` does that for you)."""
    server = RolloutServer(
        agent_loop, api_key=api_key, max_concurrent=max_concurrent, debug_dir=debug_dir, record_ttl_s=record_ttl_s,
        rollout_timeout_s=rollout_timeout_s, callback_policy=callback_policy, completion_policy=completion_policy,
        redeliver_interval_s=redeliver_interval_s,
    )  # fmt: skip

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await server.start()
        try:
            yield
        finally:
            await server.stop()

    app = FastAPI(title=f"RolloutServer ({agent_loop.name})", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.rollout_server = server

    @app.post("/v1/rollout/init", status_code=202, response_model=InitResponse, response_model_exclude_none=True)
    async def init(rollout: RolloutRequest, request: Request) -> Any:
        if not server.authorised(request.headers.get("authorization")):
            return JSONResponse({"detail": "invalid or missing API key"}, status_code=401)
        try:
            return await server.init(rollout)
        except ConflictError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=409)
        except ToolsError as exc:
            return JSONResponse({"detail": str(exc)[:ERROR_CHARS]}, status_code=500)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return server.health()

    @app.get("/platform/health")
    async def platform_health(request: Request) -> Any:
        if server.api_key is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        if not server.authorised(request.headers.get("authorization")):
            return JSONResponse({"detail": "invalid or missing API key"}, status_code=401)
        return server.health()

    return app
