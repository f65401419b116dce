"""Hostile user code and hostile model output (issue classes: text that is not valid Unicode, rewards that
return what ``float()`` cannot take, ``BaseException`` inside a tool or a reward, deadlines, rewards that mutate
what they are given, the shapes OpenAI allows, terminal control sequences, unbounded text).

Each class is a table: every row is one member of the class, and the whole table runs through a real eval (the
scripted-policy TEST DOUBLE behind a real HTTP endpoint on 127.0.0.1, a real FastMCP tool server loaded from a
real ``mcp/`` folder, real files). The run must end as a finished eval: exit code 0 or 1, the ``-o`` results
and the transcript log written and readable, ``view`` and ``--resume`` working afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import NUMBERS, jsonl

from osmosis_local.cli import main
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply, chat_completion, tool_call

TOOLS = '''
import argparse
import os
import sys

from fastmcp import FastMCP

mcp = FastMCP("hostile")


@mcp.tool
def listing() -> str:
    """File names as os.listdir gives them: undecodable bytes become lone surrogates."""
    return "files: " + os.fsdecode(b"caf\\xe9.txt") + " 42"


@mcp.tool
def leave(code: int) -> str:
    sys.exit(code)


@mcp.tool
def parse(text: str) -> str:
    argparse.ArgumentParser(prog="parse").parse_args(text.split())
    return "parsed"


@mcp.tool
def interrupt() -> str:
    raise KeyboardInterrupt


@mcp.tool
async def async_leave() -> str:
    sys.exit(4)


@mcp.tool
def terminal() -> str:
    return "\\x1b[2J\\x1b]0;pwned\\x07\\x1b]8;;http://evil.example\\x1b\\\\click\\x1b]8;;\\x1b\\\\ 42"


@mcp.tool
def huge() -> str:
    return "42 " + "x" * 5_000_000
'''

REWARDS = '''
import sys
import time


def exact(solution_str, ground_truth, extra_info=None):
    return float(solution_str.strip().endswith(ground_truth))


def exits(solution_str, ground_truth, extra_info=None):
    sys.exit(5)


async def async_exits(solution_str, ground_truth, extra_info=None):
    sys.exit(7)


def interrupts(solution_str, ground_truth, extra_info=None):
    raise KeyboardInterrupt


def too_big(solution_str, ground_truth, extra_info=None):
    return 10**400


class BadFloat(float):
    def __float__(self):
        raise RuntimeError("no float for you")


def bad_float(solution_str, ground_truth, extra_info=None):
    return BadFloat(1.0)


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no str either")


def unprintable(solution_str, ground_truth, extra_info=None):
    raise Unprintable()


def huge_error(solution_str, ground_truth, extra_info=None):
    raise ValueError("E" * 20_000_000)


def terminal_error(solution_str, ground_truth, extra_info=None):
    raise ValueError("\\x1b[2J\\x1b]0;pwned\\x07 cleared")


def largest(solution_str, ground_truth, extra_info=None):
    return 1e308


def hangs(solution_str, ground_truth, extra_info=None):
    time.sleep(3600)


def hangs_on_slow(solution_str, ground_truth, extra_info=None):
    if extra_info["user_prompt"] == "slow":
        time.sleep(3600)
    return 1.0


def mutates(messages, ground_truth, metadata=None):
    messages[-1]["content"] = "nothing here"
    messages.append({"role": "user", "content": "injected"})
    metadata["ground_truth"] = "0"
    return 0.5
'''


def _row(prompt: str, ground_truth: str = "42") -> str:
    return json.dumps({"system_prompt": "Answer with a number.", "user_prompt": prompt, "ground_truth": ground_truth})


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A content repository whose tools and rewards misbehave in every way of the tables below."""
    (tmp_path / "mcp").mkdir()
    (tmp_path / "mcp" / "main.py").write_text(TOOLS)
    (tmp_path / "hostile_rewards.py").write_text(REWARDS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("hostile_rewards", None)
    return tmp_path


def _prompt_of(body: dict[str, Any]) -> str:
    return next(str(m["content"]) for m in body["messages"] if m["role"] == "user")


def _policy(final: dict[str, Any] | str | None = None) -> Any:
    """A scripted policy: a prompt ``tool:NAME:ARGS`` calls that tool once, then answers ``final`` (default: a
    completion whose content is ``#### 42``); any other prompt is answered with ``final`` at once."""

    def respond(body: dict[str, Any]) -> ScriptedReply:
        prompt = _prompt_of(body)
        if prompt.startswith("tool:") and body["messages"][-1]["role"] != "tool":
            _, name, args = prompt.split(":", 2)
            return ScriptedReply(body=chat_completion(tool_calls=[tool_call(name, args or "{}")]))
        return ScriptedReply(body=final if final is not None else chat_completion(content="#### 42"))

    return respond


def _eval(root: Path, url: str, rows: list[str], *extra: str, fns: tuple[str, ...] = ("hostile_rewards:exact",),
          name: str = "runs") -> tuple[int, Path, Path]:  # fmt: skip
    data = root / f"{name}.data.jsonl"
    data.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    out, log = root / f"{name}.json", root / f"{name}.jsonl"
    fn_args = [a for fn in fns for a in ("--eval-fn", fn)]
    code = main(["eval", "--mcp", str(root / "mcp"), "-d", str(data), *fn_args, "--model", "scripted",
                 "--base-url", url, "-o", str(out), "--log", str(log), *extra])  # fmt: skip
    return code, out, log


def _still_usable(root: Path, log: Path, url: str, rows: int,
                  fns: tuple[str, ...] = ("hostile_rewards:exact",)) -> None:  # fmt: skip
    """The log reads back whole: ``view`` renders it, ``--resume`` finds nothing left to do."""
    records = [r for r in jsonl(log) if r.get("kind") == "run"]
    assert len(records) == rows
    assert main(["view", str(log), "-o", str(root / "report.html")]) == 0
    assert (root / "report.html").stat().st_size > 0
    data = root / f"{log.stem}.data.jsonl"
    fn_args = [a for fn in fns for a in ("--eval-fn", fn)]
    assert main(["eval", "--mcp", str(root / "mcp"), "-d", str(data), *fn_args,
                 "--model", "scripted", "--base-url", url, "--resume", str(log), "-q"]) in (0, 1)  # fmt: skip
    assert len([r for r in jsonl(log) if r.get("kind") == "run"]) == rows


# -- text that is not valid Unicode ------------------------------------------------------------------------

SURROGATE_REPLY = json.dumps(chat_completion(content="half an emoji \ud83d then 42"))  # valid JSON: "\ud83d"


@pytest.mark.parametrize(
    ("source", "row", "final"),
    [
        ("the model's reply", _row("plain"), SURROGATE_REPLY),
        ("a tool result (os.listdir-style)", _row("tool:listing:{}"), None),
        ("a dataset row", '{"system_prompt": "s \\udc80", "user_prompt": "u \\ud800", "ground_truth": "42"}', None),
        ("a tool-call argument", _row('tool:parse:{"text": "\\udcff"}'), None),
    ],
)
def test_text_that_is_not_valid_unicode_is_written_shown_and_scored(
    hostile: Path, source: str, row: str, final: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedOpenAIServer(_policy(final)) as server:
        code, out, log = _eval(hostile, server.base_url, [row, _row("plain")], "--n", "2")
        assert code == 0, source
        assert "Traceback" not in capsys.readouterr().err
        results = json.loads(out.read_text(encoding="utf-8"))
        assert results["summary"]["failed_runs"] == 0
        records = [r for r in jsonl(log) if r.get("kind") == "run"]
        assert all(r["success"] for r in records) and len(records) == 4
        assert all(r["scores"]["hostile_rewards:exact"] == 1.0 for r in records), source
        text = log.read_text(encoding="utf-8")  # strict UTF-8: no surrogate was written
        assert "\ufffd" in text or source == "a tool-call argument"
        _still_usable(hostile, log, server.base_url, rows=4)
        assert main(["test", "--mcp", str(hostile / "mcp"), "-d", str(hostile / "runs.data.jsonl"),
                     "--model", "scripted", "--base-url", server.base_url, "-q"]) == 0  # fmt: skip


# -- rewards that return what float() cannot take, or raise anything -----------------------------------------

REWARD_FAULTS = [
    ("exits", "raised SystemExit(5)"),
    ("async_exits", "raised SystemExit(7)"),
    ("interrupts", "raised KeyboardInterrupt"),
    ("too_big", "too large for a float"),
    ("bad_float", "whose float() raised RuntimeError: no float for you"),
    ("unprintable", "Unprintable whose str() raised"),
    ("huge_error", "more characters)"),
]


@pytest.mark.parametrize(("fn", "expected"), REWARD_FAULTS, ids=[f for f, _ in REWARD_FAULTS])
def test_a_reward_that_fails_in_any_way_is_that_runs_error_and_the_eval_finishes(
    hostile: Path, fn: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = f"hostile_rewards:{fn}"
    with ScriptedOpenAIServer(_policy()) as server:
        code, out, log = _eval(hostile, server.base_url, [_row("a"), _row("b")],
                               fns=("hostile_rewards:exact", spec))  # fmt: skip
        err = capsys.readouterr().err
        assert code == 1  # the function raised on every run it scored: said, and exit 1 - never its own code
        assert "Traceback" not in err
        results = json.loads(out.read_text())
        assert results["summary"]["eval_fns"][spec]["errors"] == 2
        assert results["summary"]["eval_fns"]["hostile_rewards:exact"]["mean"] == 1.0
        for record in (r for r in jsonl(log) if r.get("kind") == "run"):
            assert expected in record["score_errors"][spec]
            assert len(record["score_errors"][spec]) < 2_500  # a 20 MB error text is cut, and says so
        _still_usable(hostile, log, server.base_url, rows=2, fns=("hostile_rewards:exact", spec))
        rescored = hostile / "rescored.jsonl"
        assert main(["rescore", str(log), "--eval-fn", spec, "--log", str(rescored), "-q"]) == 1
        assert all(expected in r["score_errors"][spec] for r in jsonl(rescored) if r.get("kind") == "run")


def test_finite_scores_whose_sum_overflows_give_finite_statistics(hostile: Path) -> None:
    spec = "hostile_rewards:largest"
    with ScriptedOpenAIServer(_policy()) as server:
        code, out, log = _eval(hostile, server.base_url, [_row("a"), _row("b")], "--n", "2", fns=(spec,))
        assert code == 0
        stats = json.loads(out.read_text())["summary"]["eval_fns"][spec]
        assert stats["mean"] == 1e308 and stats["std"] == 0.0 and stats["mean_all_runs"] == 1e308
        _still_usable(hostile, log, server.base_url, rows=4, fns=(spec,))


def test_a_full_mode_reward_that_mutates_its_input_changes_neither_the_transcript_nor_the_next_score(
    hostile: Path,
) -> None:
    with ScriptedOpenAIServer(_policy()) as server:
        code, out, log = _eval(hostile, server.base_url, [_row("a")], fns=("hostile_rewards:mutates", NUMBERS))
        assert code == 0
        (record,) = [r for r in jsonl(log) if r.get("kind") == "run"]
        assert record["scores"] == {"hostile_rewards:mutates": 0.5, NUMBERS: 1.0}
        assert record["messages"][-1] == {"role": "assistant", "content": "#### 42"}
        assert record["ground_truth"] == "42"


def test_a_reward_that_never_returns_is_cut_at_its_deadline(hostile: Path) -> None:
    with ScriptedOpenAIServer(_policy()) as server:
        started = time.perf_counter()
        code, out, log = _eval(hostile, server.base_url, [_row("a"), _row("b")], "--reward-timeout", "0.5",
                               "--batch-size", "2", fns=("hostile_rewards:exact", "hostile_rewards:hangs"))  # fmt: skip
        assert time.perf_counter() - started < 30
    assert code == 1
    for record in (r for r in jsonl(log) if r.get("kind") == "run"):
        assert record["scores"] == {"hostile_rewards:exact": 1.0}
        assert "did not return within 0.5s" in record["score_errors"]["hostile_rewards:hangs"]


# -- BaseException inside a tool ---------------------------------------------------------------------------

TOOL_FAULTS = [
    ("tool:leave:" + json.dumps({"code": 6}), "raised SystemExit(6)"),
    ("tool:parse:" + json.dumps({"text": "--bogus"}), "raised SystemExit(2)"),
    ("tool:interrupt:{}", "raised KeyboardInterrupt"),
    ("tool:async_leave:{}", "raised SystemExit(4)"),
    ("tool:huge:{}", "more characters)"),
]


@pytest.mark.parametrize(("prompt", "expected"), TOOL_FAULTS, ids=[p.split(":")[1] for p, _ in TOOL_FAULTS])
def test_a_tool_that_exits_interrupts_or_floods_is_that_calls_error(
    hostile: Path, prompt: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedOpenAIServer(_policy()) as server:
        code, out, log = _eval(hostile, server.base_url, [_row(prompt), _row("plain")])
    assert code == 0 and "Traceback" not in capsys.readouterr().err
    first, second = [r for r in jsonl(log) if r.get("kind") == "run"]
    tool_message = next(m for m in first["messages"] if m["role"] == "tool")
    assert expected in tool_message["content"]
    assert len(tool_message["content"]) < 110_000
    assert max(len(line) for line in log.read_text().splitlines()) < 300_000
    assert first["success"] and second["success"]
    assert first["scores"]["hostile_rewards:exact"] == 1.0


# -- the shapes OpenAI allows, normalised once at the model-client seam ------------------------------------


def _raw(message: dict[str, Any], usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "x", "object": "chat.completion", "model": "scripted",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage or {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("final", "check"),
    [
        (_raw({"role": "assistant", "content": [{"type": "text", "text": "the answer is #### "},
                                                {"type": "text", "text": "42"}]}), "parts"),
        (_raw({"role": "assistant", "content": "42", "tool_calls": "functions.add"}), "string calls"),
        (_raw({"role": "assistant", "content": "42"}, {"prompt_tokens": -5, "completion_tokens": -7}), "negative"),
    ],
    ids=["content-parts", "tool-calls-as-a-string", "negative-token-counts"],
)  # fmt: skip
def test_model_output_in_shapes_openai_allows_is_normalised(hostile: Path, final: dict[str, Any], check: str) -> None:
    with ScriptedOpenAIServer(_policy(final)) as server:
        code, out, log = _eval(hostile, server.base_url, [_row("plain")])
    assert code == 0
    (record,) = [r for r in jsonl(log) if r.get("kind") == "run"]
    assert record["success"] and record["scores"]["hostile_rewards:exact"] == 1.0
    assert record["token_usage"]["prompt_tokens"] >= 0 and record["token_usage"]["completion_tokens"] >= 0
    assert all(m["role"] != "tool" for m in record["messages"])
    assert main(["export", str(log), "-o", str(hostile / "runs.eval")]) == 0


def test_tool_call_arguments_sent_as_an_object_run_the_tool_and_export(hostile: Path) -> None:
    def respond(body: dict[str, Any]) -> ScriptedReply:
        if body["messages"][-1]["role"] == "tool":
            return ScriptedReply(body=chat_completion(content="42"))
        call = {"id": "c1", "type": "function", "function": {"name": "listing", "arguments": {}}}
        return ScriptedReply(body=_raw({"role": "assistant", "content": None, "tool_calls": [call]}))

    with ScriptedOpenAIServer(respond) as server:
        code, out, log = _eval(hostile, server.base_url, [_row("plain")])
    assert code == 0
    (record,) = [r for r in jsonl(log) if r.get("kind") == "run"]
    assert record["messages"][2]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert "files: caf" in record["messages"][3]["content"]
    for suffix in ("eval", "json"):  # inspect_ai's two log formats
        assert main(["export", str(log), "-o", str(hostile / f"runs.{suffix}")]) == 0


# -- terminal control sequences never reach the console ----------------------------------------------------


def test_terminal_control_sequences_from_outside_are_not_printed(
    hostile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def respond(body: dict[str, Any]) -> ScriptedReply:
        if _prompt_of(body) == "broken":
            return ScriptedReply(status=400, body={"error": {"message": "bad \x1b[2J\x1b]0;title\x07 request"}})
        return _policy()(body)

    with ScriptedOpenAIServer(respond) as server:
        _eval(hostile, server.base_url, [_row("tool:terminal:{}"), _row("broken")], "--max-retries", "0",
              fns=("hostile_rewards:exact", "hostile_rewards:terminal_error"))  # fmt: skip
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "cleared" in printed or "terminal_error" in printed
    assert "\x1b" not in printed and "\x07" not in printed


# -- a real Ctrl-C stops the eval promptly, whatever user code is doing ------------------------------------


def _eval_then_ctrl_c(hostile: Path, rows: list[str], fn: str, ready: Callable[[ScriptedOpenAIServer], bool],
                      *flags: str) -> tuple[int, str, str]:  # fmt: skip
    """`osmosis-local eval` on ``rows`` in its own process, SIGINT once ``ready`` (then 0.5 s more, so the run in
    flight is in its hung reward); (exit code, stdout, stderr). Fails the test if it does not exit within 20 s."""
    data = hostile / "data.jsonl"
    data.write_text("\n".join(rows) + "\n")
    exe = Path(sys.executable).with_name("osmosis-local")
    with ScriptedOpenAIServer(_policy()) as server:
        process = subprocess.Popen(
            [str(exe), "eval", "--mcp", "mcp", "-d", str(data), "--eval-fn", fn, "--model", "s", "--base-url",
             server.base_url, *flags],
            cwd=hostile, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(hostile)},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not ready(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the eval did not exit within 20 s of Ctrl-C")
    return process.returncode, out, err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_a_hung_reward_exits_promptly_and_says_what_the_log_holds(hostile: Path) -> None:
    code, _, err = _eval_then_ctrl_c(
        hostile, [_row("a")], "hostile_rewards:hangs",
        lambda server: len(server.requests) >= 2,  # the preflight and the rollout's turn
        "--log", "runs.jsonl", "--fail-under", "0.5",
    )  # fmt: skip
    assert code == 130, err
    assert "Interrupted before any run finished" in err and "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_writes_the_partial_results_names_the_log_and_exits_130(hostile: Path) -> None:
    log = hostile / "runs.jsonl"
    code, out, err = _eval_then_ctrl_c(
        hostile, [_row("a"), _row("b"), _row("slow")], "hostile_rewards:hangs_on_slow",
        lambda _: log.exists() and log.read_text().count('"kind":"run"') >= 2,  # the third run is in its reward
        "--log", str(log), "-o", "out.json",
    )  # fmt: skip
    assert code == 130, err
    assert f"2 finished runs are in {log}" in err and f"--resume {log}" in err and "Traceback" not in err
    assert "Results written to" in out + err
    partial = json.loads((hostile / "out.json").read_text())
    assert partial["summary"]["interrupted"] is True and partial["exit_code"] == 130
    assert partial["summary"]["total_runs"] == 2 and partial["summary"]["expected_runs"] == 3
    assert partial["summary"]["eval_fns"]["hostile_rewards:hangs_on_slow"]["mean"] == 1.0
    assert "partial" in partial["summary"]["problems"][0] and f"--resume {log}" in partial["summary"]["problems"][0]


STUCK_TOOLS = """
import time
from fastmcp import FastMCP
mcp = FastMCP("stuck")


@mcp.tool
def sleeps() -> str:
    time.sleep(3600)
    return "never"


@mcp.tool
async def blocks() -> str:
    time.sleep(3600)  # blocks whatever event loop it runs on
    return "never"


@mcp.tool
async def spins() -> str:
    while True:
        pass
"""


@pytest.mark.parametrize("tool", ["sleeps", "blocks", "spins"])
def test_a_tool_that_never_returns_holds_neither_the_other_rollouts_nor_the_exit(tmp_path: Path, tool: str) -> None:
    """Run as the command, in its own process: the stuck call cannot be stopped, so the process must end anyway."""
    (tmp_path / "mcp").mkdir()
    (tmp_path / "mcp" / "main.py").write_text(STUCK_TOOLS)
    data = tmp_path / "data.jsonl"
    data.write_text("".join(_row(p) + "\n" for p in (f"tool:{tool}:{{}}", "a", "b", f"tool:{tool}:{{}}")))
    exe = Path(sys.executable).with_name("osmosis-local")
    with ScriptedOpenAIServer(_policy()) as server:
        started = time.monotonic()
        done = subprocess.run(
            [str(exe), "eval", "--mcp", "mcp", "-d", str(data), "--eval-fn", NUMBERS, "--model", "s",
             "--base-url", server.base_url, "--tool-timeout", "1", "--batch-size", "4", "-o", "out.json",
             "--log", "runs.jsonl", "-q"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )  # fmt: skip
    assert time.monotonic() - started < 60
    assert done.returncode == 0, done.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0  # every rollout finished, answered and scored
    records = [r for r in jsonl(tmp_path / "runs.jsonl") if r.get("kind") == "run"]
    stuck = [r for r in records if r["tool_calls"]]
    assert len(stuck) == 2
    assert all("timed out after 1s" in r["tool_calls"][0]["content"] for r in stuck)
    assert max(r["duration_ms"] for r in records if not r["tool_calls"]) < 5_000  # not held by the stuck call
    if tool == "sleeps":
        assert "still running" in done.stderr  # a non-daemon worker thread: said, and not waited for
