"""Owns the FastMCP instance ("OsmosisTools") and its ``GET /health`` route.

Why a module of its own: tool modules import ``mcp`` from here to register themselves, and
``main.py`` imports it to serve; neither has to know about the other. Only FastMCP's public API is
used, so the same code loads under FastMCP 2.14 (pinned by the Osmosis SDK) and 4.x.
"""

from __future__ import annotations

import os

# FastMCP may check for updates at import time; this content must work offline.
os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")

from fastmcp import FastMCP  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402

SERVER_NAME = "OsmosisTools"

mcp = FastMCP(
    SERVER_NAME,
    instructions=(
        "Exact arithmetic tools. Pass numbers as JSON numbers; use one call per operation and feed "
        "a result into the next call. Errors explain what to change."
    ),
)


@mcp.custom_route("/health", methods=["GET"])
async def health(request: Request) -> JSONResponse:
    """Liveness probe for containers and tests: 200 with the server name once HTTP is up."""
    return JSONResponse({"status": "ok", "server": SERVER_NAME})
