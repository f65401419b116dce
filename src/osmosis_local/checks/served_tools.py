"""Serve `python mcp/main.py` on a free loopback port and list its tools over streamable HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ServedTools", "serving"]

START_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class ServedTools:
    """What the served server listed (``tools``: name -> (description, input schema)), or why it did not."""

    tools: dict[str, tuple[str | None, dict[str, Any]]] | None
    problem: str | None = None
    exited_early: bool = False  # the process ended on its own (e.g. no `__main__` block)
    skipped: bool = False  # not started: main.py's own port is taken


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _schema(tool: Any) -> Any:
    """The listed tool's input schema (MCP SDK 2 names it ``input_schema``, 1.x ``inputSchema``)."""
    schema = getattr(tool, "input_schema", None)
    return schema if schema is not None else tool.inputSchema


async def _list(url: str) -> dict[str, tuple[str | None, dict[str, Any]]]:
    from fastmcp import Client

    async with Client(url, timeout=10) as client:
        listed = await client.list_tools()
    return {tool.name: (tool.description, dict(_schema(tool))) for tool in listed}


@contextlib.contextmanager
def serving(
    mcp_dir: Path, *, fixed_port: int | None = None, python: str = sys.executable
) -> Iterator[Callable[[], ServedTools]]:
    """Start ``python main.py`` now (FASTMCP_HOST/PORT set, and ``--host/--port`` when main.py parses them);
    the yielded function waits for it and lists its tools. The process is stopped on exit.

    A port main.py writes into its run call (`fixed_port`) is used as it is, if it is free."""
    main = mcp_dir / "main.py"
    if fixed_port is not None and _port_open(fixed_port):
        yield lambda: ServedTools(None, f"main.py serves on port {fixed_port}, which is in use here", skipped=True)
        return
    port = fixed_port or _free_port()
    argv = [python, str(main)]
    if "--port" in main.read_text(encoding="utf-8", errors="replace"):
        argv += ["--host", "127.0.0.1", "--port", str(port)]
    env = {
        **os.environ,
        "FASTMCP_HOST": "127.0.0.1",
        "FASTMCP_PORT": str(port),
        "FASTMCP_CHECK_FOR_UPDATES": "off",
        "PYTHONUNBUFFERED": "1",
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, cwd=mcp_dir, env=env, stdout=log, stderr=subprocess.STDOUT)

        def collect() -> ServedTools:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _port_open(port):
                if process.poll() is not None:
                    log.seek(0)
                    tail = log.read().decode("utf-8", "replace").strip().splitlines()[-3:]
                    return ServedTools(
                        None,
                        f"`python {main.name}` exited with code {process.returncode} without "
                        f"serving{': ' + ' | '.join(tail) if tail else ''}",
                        exited_early=True,
                    )
                if time.monotonic() > deadline:
                    return ServedTools(
                        None,
                        f"`python {main.name}` did not listen on 127.0.0.1:{port} within "
                        f"{START_TIMEOUT_S:.0f} s (is the port hard-coded?)",
                    )
                time.sleep(0.05)
            try:
                return ServedTools(asyncio.run(_list(f"http://127.0.0.1:{port}/mcp")))
            except Exception as exc:  # noqa: BLE001 - any client failure is the finding
                return ServedTools(
                    None,
                    f"listing the tools at http://127.0.0.1:{port}/mcp failed: {type(exc).__name__}: {str(exc)[:200]}",
                )

        try:
            yield collect
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
