"""`--mcp-url`: the agent loop against a tool server that is already running (`python mcp/main.py` over
streamable HTTP), with the same tool schemas as importing `--mcp ./mcp`; the model is the scripted-policy
TEST DOUBLE over real HTTP."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path

import pytest
from helpers import DATASET, NUMBERS, REPO, run_eval
from mcp_servers import free_port, serve_tool_server

from osmosis_local.cli import main
from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer


def run(tmp_path: Path, name: str, base_url: str, *source: str) -> tuple[int, dict]:
    """The common eval (`helpers.run_eval`) with the tool source given."""
    outcome = run_eval(base_url, tmp_path, *source, "--batch-size", "2", "--tool-timeout", "10", mcp=None, name=name,
                       output=name)  # fmt: skip
    return outcome.code, outcome.out


def header(tmp_path: Path, name: str) -> dict:
    return json.loads((tmp_path / f"{name}.jsonl").read_text().splitlines()[0])


def test_an_eval_against_the_served_tools_matches_the_imported_tools(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(ScriptedPolicy(load_rows(DATASET))) as policy, serve_tool_server() as tools:
        code, served = run(tmp_path, "served", policy.base_url, "--mcp-url", tools.mcp_url)
        assert code == 0
        _, imported = run(tmp_path, "imported", policy.base_url, "--mcp", str(REPO / "mcp"))
    assert served["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0 == imported["summary"]["eval_fns"][NUMBERS]["mean"]
    assert served["config"]["mcp_url"] == tools.mcp_url and served["config"]["mcp"] is None
    assert (
        header(tmp_path, "served")["settings"]["tools_sha256"]
        == header(tmp_path, "imported")["settings"]["tools_sha256"]
    )
    record = json.loads((tmp_path / "served.jsonl").read_text().splitlines()[1])
    assert record["tool_calls"] and not record["tool_calls"][0]["is_error"]


def test_an_unreachable_tool_server_is_one_clear_setup_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with ScriptedOpenAIServer(ScriptedPolicy(load_rows(DATASET))) as policy:
        argv = ["eval", "--mcp-url", url, "-d", str(DATASET), "--eval-fn", NUMBERS, "--model", "scripted"]
        code = main([*argv, "--base-url", policy.base_url, "--limit", "1", "-q", "--log", str(tmp_path / "x.jsonl")])
    assert code == 1
    err = capsys.readouterr().err
    assert f"Cannot use the MCP server at {url}" in err and "Traceback" not in err


def test_a_tool_server_that_accepts_and_never_answers_fails_at_the_request_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real socket that accepts connections and reads them, and never writes a byte back."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                connection, _ = listener.accept()
                held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
    try:
        with ScriptedOpenAIServer(ScriptedPolicy(load_rows(DATASET))) as policy:
            argv = ["eval", "--mcp-url", url, "-d", str(DATASET), "--eval-fn", NUMBERS, "--model", "scripted",
                    "--base-url", policy.base_url, "--limit", "1", "-q", "--log", str(tmp_path / "x.jsonl"),
                    "--request-timeout", "1"]  # fmt: skip
            started = time.monotonic()
            code = main(argv)
            elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()
    assert code == 1
    assert elapsed < 15  # not the ~300 s the MCP client would wait by itself
    err = capsys.readouterr().err
    assert f"Cannot use the MCP server at {url}: no answer within 1s" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["--mcp", "mcp", "--mcp-url", "http://127.0.0.1:9/mcp"], []])
def test_exactly_one_tool_source(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["test", *argv, "-d", "x.jsonl"])
    assert info.value.code == 2
