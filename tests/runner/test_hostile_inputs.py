"""What bad input, flaky networks and hostile text do to the harness: each class of fault ends as a clear
message and a finished run, never a traceback, a crashed rollout, a lost results file or a printed key.

Real parts throughout: the real `mcp/` tools, real HTTP servers on 127.0.0.1 (the scripted-policy TEST
DOUBLE and scripted fault responders), real files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import helpers
import pytest
from helpers import DATASET, MCP_DIR, NUMBERS
from mcp_servers import load_tool_server, serve_tool_server

from osmosis_local.cli import main
from osmosis_local.content.dataset import DatasetError, load_dataset
from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply, chat_completion, tool_call
from osmosis_local.tools.runner import MAX_ERROR_CHARS, ToolRunner

KEY = "sk-hostile-test-key-0123456789abcdef"
ROWS = load_rows(DATASET)


def eval_argv(base_url: str, tmp_path: Path, *extra: str, limit: int = 2) -> list[str]:
    """The common eval (`helpers.eval_argv`), printing, with a key to redact and 2 retries."""
    return helpers.eval_argv(base_url, tmp_path, "--api-key", KEY, "--max-retries", "2", *extra, limit=limit,
                             quiet=False)  # fmt: skip


def everything_written(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())


# -- 1. user- and provider-supplied text is never rich markup -----------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "--mcp", str(MCP_DIR), "-d", "missing[/bold].jsonl", "--eval-fn", NUMBERS, "--model", "m"],
        ["eval", "--mcp", "no[/x]dir", "-d", str(DATASET), "--eval-fn", NUMBERS, "--model", "m"],
        ["eval", "--mcp", str(MCP_DIR), "-d", str(DATASET), "--eval-fn", "nope[/x]:fn", "--model", "m"],
        ["test", "--mcp", str(MCP_DIR), "-d", "gone[/red].csv", "--model", "m"],
    ],
)
def test_markup_like_text_in_arguments_is_printed_as_written(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--base-url", "http://127.0.0.1:9/v1"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "MarkupError" not in err
    assert any(marker in err for marker in ("[/bold]", "[/x]", "[/red]"))


def test_a_provider_error_with_markup_after_the_preflight_keeps_the_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[int] = []

    def responder(_body: dict[str, Any]) -> ScriptedReply:
        calls.append(1)
        if len(calls) == 1:
            return ScriptedReply(body=chat_completion(content="hi"))
        return ScriptedReply(status=401, body={"error": {"message": "key revoked [/v1] [bold]now[/bold]"}})

    with ScriptedOpenAIServer(responder) as server:
        code = main(eval_argv(server.base_url, tmp_path))
    captured = capsys.readouterr()
    assert code == 1
    out = json.loads((tmp_path / "out.json").read_text())
    assert "[/v1]" in out["summary"]["stop_reason"]
    assert "[/v1]" in captured.err + captured.out and "MarkupError" not in captured.err


# -- 2. model-supplied tool arguments that used to crash the rollout -----------------------------------

HOSTILE_ARGUMENTS = [
    ("add", '{"a": ' + "9" * 5000 + ', "b": 1}', "too many digits"),
    ("add", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("add", '{"a": ' + "[" * 50_000 + "]" * 50_000 + ', "b": 1}', "nested too deeply"),
    ("add", '{"a": NaN, "b": 1}', "NaN is not a JSON number"),
    ("add", '{"a": Infinity, "b": 1}', "Infinity is not a JSON number"),
    ("add", '{"a": "12", "b": 1}', "got the string '12'"),
    ("add", '{"a": "' + "1" * 1_000_000 + '", "b": 1}', "got the string"),
    ("add", '{"a": null, "b": 1}', "got null"),
    ("x" * 100_000, "{}", "unknown tool"),
    ("add", '{"a": 1, "b": 1, "' + "k" * 100_000 + '": 1}', "add"),
]


@pytest.mark.parametrize(("name", "arguments", "expected"), HOSTILE_ARGUMENTS, ids=range(len(HOSTILE_ARGUMENTS)))
def test_hostile_tool_arguments_become_a_bounded_error_and_the_next_call_works(
    name: str, arguments: str, expected: str
) -> None:
    async def run() -> tuple[Any, Any]:
        async with ToolRunner(load_tool_server()) as runner:
            bad = await runner.call(name, arguments, call_id="c0")
            good = await runner.call("add", '{"a": 1, "b": 2}', call_id="c1")
            return bad, good

    bad, good = asyncio.run(run())
    assert bad.is_error and bad.content.startswith("Error:")
    assert expected in bad.content
    assert len(bad.content) <= MAX_ERROR_CHARS + 40 and len(bad.name) <= 120
    assert "Traceback" not in bad.content
    assert (good.content, good.is_error) == ("3", False)


@pytest.mark.parametrize("where", ["--mcp", "--mcp-url"])
def test_a_5000_digit_argument_from_the_model_is_a_tool_error_the_rollout_survives(tmp_path: Path, where: str) -> None:
    def responder(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("max_tokens") == 1:
            return chat_completion(content="hi")
        tool_messages = [m for m in body["messages"] if m["role"] == "tool"]
        if not tool_messages:
            return chat_completion(tool_calls=[tool_call("add", '{"a": ' + "7" * 5000 + ', "b": 1}')])
        return chat_completion(content=f"The tool said: {tool_messages[0]['content'][:60]}\n#### 0")

    with contextlib.ExitStack() as stack:
        server = stack.enter_context(ScriptedOpenAIServer(responder))
        if where == "--mcp":
            argv = eval_argv(server.base_url, tmp_path, "-q", limit=1)
        else:  # the real tool server over HTTP: a number its JSON parser refuses must not kill the session
            tools = stack.enter_context(serve_tool_server())
            argv = helpers.eval_argv(server.base_url, tmp_path, "--mcp-url", tools.mcp_url, limit=1, mcp=None)
        assert main(argv) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    run = out["rows"][0]["runs"][0]
    assert run["success"] is True and run["finish_reason"] == "stop"
    record = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()][-1]
    assert "too many digits" in record["tool_calls"][0]["content"]
    written = everything_written(tmp_path)
    assert "Traceback" not in written and "site-packages" not in written and "HTTP 500" not in written


# -- 3-5. transient faults retried, deadlines kept, malformed answers named --------------------------


class FlakyPolicy:
    """The scripted policy, with one fault injected on a chosen request (after the preflight)."""

    def __init__(self, fault: ScriptedReply, on_request: int = 2) -> None:
        self.policy = ScriptedPolicy(ROWS)
        self.fault = fault
        self.on_request = on_request
        self.count = 0

    def __call__(self, body: dict[str, Any]) -> ScriptedReply:
        self.count += 1
        if self.count == self.on_request:
            return self.fault
        return self.policy(body)


FAULTS = {
    "reset mid-body": ScriptedReply(body=chat_completion(content="x" * 400), cut_body_after=50),
    "dropped connection": ScriptedReply(drop_connection=True),
    "empty choices": ScriptedReply(body={"id": "c", "object": "chat.completion", "choices": []}),
    "body not JSON": ScriptedReply(body="<html>502 from a proxy</html>"),
}


@pytest.mark.parametrize("llm_client", ["auto", "litellm"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_one_transient_fault_is_retried_and_the_eval_finishes_with_true_counts(
    tmp_path: Path, fault: str, llm_client: str
) -> None:
    with ScriptedOpenAIServer(FlakyPolicy(FAULTS[fault])) as server:
        code = main(eval_argv(server.base_url, tmp_path, "-q", "--llm-client", llm_client, limit=3))
    out = json.loads((tmp_path / "out.json").read_text())
    assert code == 0, out["summary"]
    summary = out["summary"]
    assert summary["stopped_early"] is False and summary["failed_runs"] == 0
    assert summary["eval_fns"][NUMBERS]["scored"] == 3 and summary["eval_fns"][NUMBERS]["mean"] == 1.0


@pytest.mark.parametrize("llm_client", ["auto", "litellm"])
@pytest.mark.parametrize(("fault", "message"), [("empty choices", "no choices"), ("body not JSON", "not JSON")])
def test_a_persistent_malformed_answer_fails_the_run_saying_what_the_endpoint_did(
    tmp_path: Path, fault: str, message: str, llm_client: str
) -> None:
    def responder(body: dict[str, Any]) -> ScriptedReply:
        return ScriptedReply(body=chat_completion(content="hi")) if body.get("max_tokens") == 1 else FAULTS[fault]

    with ScriptedOpenAIServer(responder) as server:
        code = main(
            eval_argv(server.base_url, tmp_path, "-q", "--llm-client", llm_client, "--max-retries", "1", limit=1)
        )
    out = json.loads((tmp_path / "out.json").read_text())
    run = out["rows"][0]["runs"][0]
    assert code == 0 and run["success"] is False and run["scores"] == {}
    assert message in run["error"]
    assert "IndexError" not in run["error"] and "HTTP 500" not in run["error"]
    assert out["summary"]["eval_fns"][NUMBERS]["unscored"] == 1


@pytest.mark.parametrize("llm_client", ["auto", "litellm"])
def test_request_timeout_bounds_a_response_that_trickles_in(tmp_path: Path, llm_client: str) -> None:
    slow = ScriptedReply(body=chat_completion(content="z" * 500), drip_s=0.02)  # ~12 s if waited for

    def responder(body: dict[str, Any]) -> ScriptedReply:
        return ScriptedReply(body=chat_completion(content="hi")) if body.get("max_tokens") == 1 else slow

    with ScriptedOpenAIServer(responder) as server:
        started = time.monotonic()
        main(eval_argv(server.base_url, tmp_path, "-q", "--llm-client", llm_client, "--request-timeout", "1",
                       "--max-retries", "0", limit=1))  # fmt: skip
        elapsed = time.monotonic() - started
    run = json.loads((tmp_path / "out.json").read_text())["rows"][0]["runs"][0]
    assert run["success"] is False and "timed out" in run["error"]
    assert elapsed < 9, elapsed  # set-up plus one 1-second deadline, not the 12 s trickle


# -- 6. no key in anything printed or written, --debug included ---------------------------------------


@pytest.mark.parametrize("command", ["test", "eval"])
def test_a_key_echoed_by_the_server_is_redacted_everywhere_even_with_debug(
    tmp_path: Path, command: str, capfd: pytest.CaptureFixture[str]
) -> None:
    def echo_key(body: dict[str, Any]) -> ScriptedReply:
        auth = server.auth_headers[-1] or ""
        return ScriptedReply(status=401, body={"error": {"message": f"invalid header: {auth}"}})

    with ScriptedOpenAIServer(echo_key) as server:
        argv = eval_argv(server.base_url, tmp_path, "--debug", limit=1)
        if command == "test":
            argv = ["test", *[a for a in argv[1:] if a not in ("--eval-fn", NUMBERS)]]
        assert main(argv) == 1
    captured = capfd.readouterr()
    assert "invalid header" in captured.err  # the server's message is shown...
    for text in (captured.out, captured.err, everything_written(tmp_path)):
        assert KEY not in text  # ...without the key
    assert "Traceback" in captured.err  # --debug did print the chain behind the error


# -- 7. dataset errors name their place ----------------------------------------------------------------


def test_a_csv_that_is_not_utf8_names_the_line_and_row(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"system_prompt,user_prompt,ground_truth\ns,u,1\ns,caf\xe9,2\n")
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    assert "Line 3 (row 1, column 6): byte 0xe9 is not UTF-8" in str(info.value)


# -- 9. argument errors name the flag and what it accepts -----------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "accepts"),
    [("--limit", "abc", "a whole number >= 1"), ("--offset", "-1", "a whole number >= 0"),
     ("--request-timeout", "soon", "a number of seconds > 0"), ("--temperature", "hot", "between 0 and 2"),
     ("--n", "1.5", "a whole number >= 1"), ("--fail-under", "x=y", "X or MOD:FN=X")],
)  # fmt: skip
def test_argument_errors_name_the_flag_and_what_it_accepts(
    flag: str, value: str, accepts: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["eval", "--mcp", "mcp", "-d", "x.jsonl", "--eval-fn", NUMBERS, "--model", "m", flag, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and accepts in err and value in err and "_positive_int" not in err


def test_python_int_limit_is_the_one_named() -> None:
    assert sys.get_int_max_str_digits() < 5000  # the 5000-digit cases above really cross the limit
