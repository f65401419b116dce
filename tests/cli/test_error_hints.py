"""Set-up errors that guess what was meant: each names the likely slip and the fix, in one line, exit 1.

The model is the scripted-policy TEST DOUBLE behind a real HTTP endpoint; the tools are the real `mcp/`.
"""

from __future__ import annotations

import socket

import pytest
from helpers import DATASET, MCP_DIR, NUMBERS

from osmosis_local.cli import main


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _eval(*args: str) -> list[str]:
    return ["eval", "-d", str(DATASET), "--eval-fn", NUMBERS, "--limit", "1", "-q", *args]


def test_mcp_given_the_main_py_file_says_pass_the_folder(policy, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(_eval("--mcp", str(MCP_DIR / "main.py"), "--model", "scripted", "--base-url", policy.base_url))
    assert code == 1
    assert f"--mcp takes the folder that holds main.py, not a file: pass {MCP_DIR}" in capsys.readouterr().err


def test_an_mcp_url_without_the_mcp_path_suggests_it(policy, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{_closed_port()}"
    code = main(_eval("--mcp-url", url, "--model", "scripted", "--base-url", policy.base_url,
                      "--request-timeout", "5"))  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert f"Cannot use the MCP server at {url}" in err and f"did you mean {url}/mcp?" in err


def test_an_unknown_model_without_a_base_url_suggests_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("OPENAI_API_KEY", "LITELLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    assert main(_eval("--mcp", str(MCP_DIR), "--model", "scripted")) == 1
    err = capsys.readouterr().err
    assert "Missing API key for provider 'openai'" in err
    assert "'scripted' is not a model OpenAI serves" in err and "a --base-url is probably missing" in err
    assert main(_eval("--mcp", str(MCP_DIR), "--model", "gpt-4o-mini")) == 1
    assert "--base-url is probably missing" not in capsys.readouterr().err  # a real OpenAI model: the key is it
