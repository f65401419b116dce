"""`osmosis-local test -i` driven through its stdin, as a person at the keyboard would."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers import DATASET, REPO

from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer


def run_session(keys: str, *extra: str) -> subprocess.CompletedProcess[str]:
    import sys

    cli = str(Path(sys.executable).parent / "osmosis-local")
    with ScriptedOpenAIServer(ScriptedPolicy(load_rows(DATASET))) as server:
        return subprocess.run(
            [cli, "test", "-i", "--mcp", str(REPO / "mcp"), "-d", str(DATASET), "--model", "scripted-policy",
             "--base-url", server.base_url, "--limit", "20", *extra],
            input=keys, capture_output=True, text=True, timeout=180, cwd=REPO,
        )


def test_step_inspect_and_finish_a_row_then_quit() -> None:
    # Row 4 (one tool step): step once, list tools, show messages, ask for help, then continue to the end.
    done = run_session("n\nt\nm\n?\nbogus\nc\nm\n\nq\n", "--row", "4")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "=== Row 4 ===" in out
    assert "Turn 1: LLM Response" in out and "Turn 2: LLM Response" in out
    assert "Tool call:" in out and "Tool result" in out
    assert "square_root(x)" in out or "add(a, b)" in out  # the t command listed tools
    assert "Commands: [n]ext" in out  # ? printed help
    assert "Unknown command 'bogus'" in out
    assert "=== Row 4 finished: OK (answered) ===" in out and "Status: OK" in out and "Finish reason: stop" in out
    assert "[2] assistant: (tool calls only)" in out  # m showed the call-only message as its calls, never None
    assert "None" not in out
    assert "[ground truth] " in out and "Ground truth: " in out


def test_row_jump_abort_and_invalid_rows() -> None:
    done = run_session("row 77\nrow 7\nq\n\n999\nq\n", "--row", "3")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "There is no row 77 in this run (rows 0-19)." in out
    assert "Row 3 abandoned; jumping to row 7." in out
    assert "=== Row 7 ===" in out
    assert "Status: FAILED (Aborted by user)" in out
    assert "Invalid row index '999'. Valid range: 0-19" in out


def test_out_of_range_start_row_and_eof_quits_cleanly() -> None:
    done = run_session("", "--row", "500")
    assert done.returncode == 0
    assert "Invalid row index 500. Valid range: 0-19" in done.stdout


def test_tool_descriptions_are_wrapped_not_cut() -> None:
    import contextlib
    import io

    from osmosis_local.cli.interactive import _print_tools

    long = "Round a number half away from zero. " * 6
    tool = {"type": "function", "function": {"name": "round_number", "description": long,
                                              "parameters": {"properties": {"x": {}, "decimals": {}}}}}  # fmt: skip
    screen = io.StringIO()
    with contextlib.redirect_stdout(screen):
        _print_tools([tool])  # type: ignore[list-item]
    text = screen.getvalue()
    assert len(text.splitlines()) > 1 and " ".join(text.split()).endswith(long.strip())
