"""``python mcp/main.py`` as a real process: streamable HTTP at /mcp, /health, stdio, clean stop.

Why subprocesses: they prove the script runs standalone (sibling imports, flags, the ``__main__``
block) and that a remote MCP client can list and call the tools over each transport.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.transports import PythonStdioTransport
from mcp_servers import MCP_DIR, TOOL_NAMES, load_main_module, serve_tool_server


def test_http_server_serves_tools_and_health_then_stops_cleanly() -> None:
    with serve_tool_server() as server:
        health = httpx.get(f"{server.base_url}/health", timeout=5)
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "server": "OsmosisTools"}

        async def session() -> tuple[list[str], Any, Any, Any]:
            async with Client(server.mcp_url) as client:
                names = [tool.name for tool in await client.list_tools()]
                exact = await client.call_tool("add", {"a": 0.1, "b": 0.2})
                refused = await client.call_tool("divide", {"a": 1, "b": 0}, raise_on_error=False)
                big = await client.call_tool("power", {"base": 2, "exponent": 200})
                return names, exact, refused, big

        names, exact, refused, big = asyncio.run(session())
        assert names == TOOL_NAMES
        assert exact.data == 0.3
        assert refused.is_error and "Cannot divide by zero: b must be non-zero." in refused.content[0].text
        assert big.data == 2**200

    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -15 without needing SIGKILL.
    assert not server.killed, server.output
    assert server.process.returncode in (0, -15), server.output
    assert "Application shutdown complete" in server.output


def test_stdio_transport_serves_the_same_tools() -> None:
    transport = PythonStdioTransport(
        MCP_DIR / "main.py", args=["--transport", "stdio"], python_cmd=sys.executable,
        env={"FASTMCP_CHECK_FOR_UPDATES": "off"},
    )

    async def session() -> tuple[list[str], Any]:
        async with Client(transport) as client:
            names = [t.name for t in await client.list_tools()]
            return names, await client.call_tool("multiply", {"a": 1.1, "b": 1.1})

    names, product = asyncio.run(session())
    assert names == TOOL_NAMES
    assert product.data == 1.21


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ("127.0.0.1", 8080, "http")),
        (["--host", "0.0.0.0", "--port", "9000"], ("0.0.0.0", 9000, "http")),
        (["--transport", "stdio"], ("127.0.0.1", 8080, "stdio")),
    ],
)
def test_command_line_flags(argv: list[str], expected: tuple[str, int, str]) -> None:
    main = load_main_module()  # importing must register tools and must not start a server
    args = main.parse_args(argv)
    assert (args.host, args.port, args.transport) == expected


def test_unknown_transport_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_main_module().parse_args(["--transport", "sse"])
    assert "invalid choice" in capsys.readouterr().err
