"""Test helpers for the MCP tool server in ``mcp/``: load it in-process or serve it over HTTP.

Why a helper: ``mcp/`` is not a package (a top-level ``mcp`` would shadow the installed ``mcp``
SDK), so tests cannot ``import mcp.main``. ``load_tool_server`` imports ``mcp/main.py`` by file
path the way the Osmosis SDK does (synthetic package, ``mcp/`` on ``sys.path`` only during the
import, sibling modules evicted afterwards), so tests never leave ``server``/``tools``/``calc``
behind in ``sys.modules``. ``serve_tool_server`` runs ``python mcp/main.py`` on a free port.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastmcp import FastMCP

REPO_ROOT = Path(__file__).resolve().parents[1]
MCP_DIR = REPO_ROOT / "mcp"
TOOL_NAMES = ["add", "subtract", "multiply", "divide", "power", "square_root", "modulo", "round_number"]


@contextlib.contextmanager
def _sibling_imports(directory: str) -> Iterator[None]:
    """Put ``directory`` first on ``sys.path`` for the block, then restore the path and evict every
    module newly imported from it (``server``, ``tools``, ``calc``...), as the SDK loader does."""
    saved_path, before = list(sys.path), set(sys.modules)
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            if (getattr(sys.modules[name], "__file__", None) or "").startswith(directory + os.sep):
                del sys.modules[name]


def load_main_module(mcp_dir: Path = MCP_DIR) -> types.ModuleType:
    """Import ``mcp_dir/main.py`` afresh (tools registered, ``__main__`` block not run)."""
    directory = str(Path(mcp_dir).resolve())
    package_name = f"_tests_mcp_{hashlib.sha256(directory.encode()).hexdigest()[:8]}"
    for name in [n for n in sys.modules if n == package_name or n.startswith(package_name + ".")]:
        del sys.modules[name]
    package = types.ModuleType(package_name)
    package.__path__ = [directory]  # type: ignore[attr-defined]
    sys.modules[package_name] = package
    spec = importlib.util.spec_from_file_location(f"{package_name}.main", os.path.join(directory, "main.py"))
    assert spec is not None and spec.loader is not None, f"cannot load {directory}/main.py"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    with _sibling_imports(directory):
        spec.loader.exec_module(module)
    return module


def load_tool_server(mcp_dir: Path = MCP_DIR) -> FastMCP:
    """Import ``mcp_dir/main.py`` afresh and return its FastMCP instance ``mcp`` (tools registered)."""
    server = getattr(load_main_module(mcp_dir), "mcp", None)
    assert isinstance(server, FastMCP), f"{mcp_dir}/main.py defines no FastMCP instance named 'mcp'"
    return server


def load_calc(mcp_dir: Path = MCP_DIR) -> types.ModuleType:
    """Import the pure arithmetic package ``mcp/calc`` (no MCP involved), without leaving it cached."""
    with _sibling_imports(str(Path(mcp_dir).resolve())):
        return importlib.import_module("calc")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(
    url: str, process: subprocess.Popen[bytes], log: Path | None = None, timeout: float = 90.0
) -> httpx.Response:
    """Poll ``url`` until it answers 200; fail early (showing ``log``) if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace") if log else ""
            raise RuntimeError(f"tool server exited with code {process.returncode}:\n{output}")
        with contextlib.suppress(httpx.TransportError):
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200:
                return response
        time.sleep(0.1)
    raise TimeoutError(f"tool server did not answer {url} within {timeout:.0f}s")


class ToolServerProcess:
    """A running ``python mcp/main.py`` subprocess: its URL, process handle and log file."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log
        self.base_url = f"http://127.0.0.1:{port}"
        self.mcp_url = f"{self.base_url}/mcp"
        self.output = ""  # the server's stdout+stderr, filled in by stop()
        self.killed = False  # True if SIGTERM was not enough

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, escalating to SIGKILL after ``timeout``; return the exit code.

        uvicorn shuts down gracefully on SIGTERM and then re-raises it, so a clean stop exits
        with -15 (killed by SIGTERM) after logging its shutdown.
        """
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.process.kill()
                self.process.wait(timeout=timeout)
        self.output = self.log.read_text(errors="replace") if self.log.exists() else ""
        return self.process.returncode


@contextlib.contextmanager
def serve_tool_server(mcp_dir: Path = MCP_DIR, port: int | None = None) -> Iterator[ToolServerProcess]:
    """Run ``python mcp_dir/main.py`` on 127.0.0.1 (free port), wait for /health, stop it on exit.

    Output goes to a temporary log file (not a pipe, which could fill up and block the server).
    """
    port = port or free_port()
    env = {**os.environ, "FASTMCP_CHECK_FOR_UPDATES": "off", "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory(prefix="mcp-server-") as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, str(Path(mcp_dir) / "main.py"), "--host", "127.0.0.1", "--port", str(port)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
            )
        server = ToolServerProcess(process, port, log)
        try:
            wait_for_health(f"{server.base_url}/health", process, log)
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def serve_process(
    argv: list[str], *, cwd: Path, port: int, env: dict[str, str] | None = None, health: str = "/health"
) -> Iterator[ToolServerProcess]:
    """Run any server command (``argv``) in ``cwd`` until ``http://127.0.0.1:<port><health>`` answers; stop it on
    exit. The process handle, port and log are those of `ToolServerProcess`."""
    full_env = {**os.environ, "FASTMCP_CHECK_FOR_UPDATES": "off", "PYTHONUNBUFFERED": "1", **(env or {})}
    with tempfile.TemporaryDirectory(prefix="server-") as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(argv, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT, env=full_env)
        server = ToolServerProcess(process, port, log)
        try:
            wait_for_health(f"{server.base_url}{health}", process, log)
            yield server
        finally:
            server.stop()


#: FastMCP as pinned by osmosis-ai 0.2.17, and the mcp SDK it resolves to (fastmcp 2.14.5 requires
#: mcp>=1.24,<2; 1.30.0 is pinned so the scratch venv is reproducible).
REQUIREMENTS = ["fastmcp==2.14.5", "mcp==1.30.0"]
VENV_DIR = Path(os.environ.get("OSMOSIS_FASTMCP2_VENV", REPO_ROOT / ".venv-fastmcp2"))
READY_MARKER = "osmosis-ready.txt"  # written last; its content records what was installed
LOADER = REPO_ROOT / "scripts" / "sdk_mcp_loader.py"


def find_uv() -> str:
    next_to_python = Path(sys.executable).parent / "uv"
    found = str(next_to_python) if next_to_python.exists() else shutil.which("uv")
    if not found:
        pytest.fail("uv not found next to the running Python or on PATH; install uv to run the SDK check.")
    return found


def run_checked(cmd: list[str], what: str, timeout: float = 600) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        command = " ".join(cmd)
        pytest.fail(f"Could not {what} (exit {done.returncode}): {command}\n{done.stdout}\n{done.stderr}")


def fastmcp2_python() -> Path:
    """Python of the cached FastMCP 2.14.5 venv, creating the venv first if needed."""
    python = VENV_DIR / "bin" / "python"
    marker = VENV_DIR / READY_MARKER
    wanted = "\n".join(REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    uv = find_uv()
    shutil.rmtree(VENV_DIR, ignore_errors=True)
    run_checked([uv, "venv", "--quiet", "--python", sys.executable, str(VENV_DIR)], f"create {VENV_DIR}")
    install = [uv, "pip", "install", "--quiet", "--python", str(python), *REQUIREMENTS]
    run_checked(install, "install fastmcp 2.14.5")
    marker.write_text(wanted)
    return python
