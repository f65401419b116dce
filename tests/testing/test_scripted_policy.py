"""The scripted policy (test double) over real HTTP: plans are replayed exactly, faults fire as configured."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import REPO

from osmosis_local.testing.scripted_policy import (
    FAULT_CALL_PREFIX,
    MALFORMED_ARGUMENTS,
    UNKNOWN_TOOL_NAME,
    Faults,
    ScriptedPolicy,
    load_rows,
    parse_number,
)
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer

SYSTEM = "You are a careful math assistant."

ROWS: list[dict[str, Any]] = [
    {"id": "one", "user_prompt": "What is 0.1 + 0.2?", "ground_truth": "0.3",
     "steps": [{"tool": "add", "arguments": {"a": Decimal("0.1"), "b": Decimal("0.2")}}]},
    {"id": "chain", "user_prompt": "Multiply 123456789012 by 100000000, then add 0.5, then round.",
     "ground_truth": "12345678901200000001",
     "steps": [{"tool": "multiply", "arguments": {"a": 123456789012, "b": 100000000}},
               {"tool": "add", "arguments": {"a": {"$ref": 0}, "b": 0.5}},
               {"tool": "round_number", "arguments": {"x": {"$ref": 1}, "decimals": 0}}]},
    {"id": "fan-in", "user_prompt": "Compute 2.5*4 and 7/8, then add them.", "ground_truth": "10.875",
     "steps": [{"tool": "multiply", "arguments": {"a": 2.5, "b": 4}},
               {"tool": "divide", "arguments": {"a": 7, "b": 8}},
               {"tool": "add", "arguments": {"a": {"$ref": 0}, "b": {"$ref": 1}}}]},
]


# ----------------------------------------------------------------------------- an exact "tool" side


def _fmt(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def exact_tool(name: str, args: dict[str, Any]) -> str:
    """Reference calculator with the tools' semantics (exact decimals, round half up)."""
    d = {k: Decimal(v) if isinstance(v, int) else v for k, v in args.items()}
    with localcontext() as ctx:
        ctx.prec = 120
        if name == "add":
            return _fmt(d["a"] + d["b"])
        if name == "subtract":
            return _fmt(d["a"] - d["b"])
        if name == "multiply":
            return _fmt(d["a"] * d["b"])
        if name == "divide":
            return _fmt(d["a"] / d["b"])
        if name == "power":
            return _fmt(d["base"] ** int(d["exponent"]))
        if name == "square_root":
            ctx.prec = 40
            return _fmt(d["x"].sqrt())
        if name == "modulo":
            return _fmt(d["a"] % d["b"])
        if name == "round_number":
            return _fmt(d["x"].quantize(Decimal(1).scaleb(-int(d.get("decimals", 0))), rounding=ROUND_HALF_UP))
    raise ValueError(f"Unknown tool: {name}")


Tool = Callable[[str, dict[str, Any]], str]


Send = Callable[[dict[str, Any]], dict[str, Any]]


def http_send(client: httpx.Client, server: ScriptedOpenAIServer) -> Send:
    return http_send_url(client, server.base_url)


def http_send_url(client: httpx.Client, base_url: str) -> Send:
    def send(body: dict[str, Any]) -> dict[str, Any]:
        reply = client.post(f"{base_url}/chat/completions", json=body)
        assert reply.status_code == 200, reply.text
        return reply.json()

    return send


def converse(
    send: Send, row: dict[str, Any], tool: Tool = exact_tool, max_turns: int = 12, **extra: Any
) -> tuple[str, list[dict[str, Any]]]:
    """A minimal agent loop: send history, run tool calls, stop on a plain answer."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": row["user_prompt"]},
    ]
    for _ in range(max_turns):
        message = send({"model": "scripted", "messages": messages, **extra})["choices"][0]["message"]
        messages.append(message)
        if not message.get("tool_calls"):
            return message["content"], messages
        for call in message["tool_calls"]:
            try:
                content = tool(call["function"]["name"], json.loads(call["function"]["arguments"], parse_float=Decimal))
            except Exception as exc:  # the runner's contract: any tool failure becomes "Error: ..."
                content = f"Error: {exc}"
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
    raise AssertionError("policy never answered")


def final_number(content: str) -> str:
    return content.rsplit("####", 1)[-1].strip()


def tool_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [call for m in messages if m["role"] == "assistant" for call in m.get("tool_calls") or []]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def serve(rows: list[dict[str, Any]] = ROWS, **faults: Any) -> ScriptedOpenAIServer:
    return ScriptedOpenAIServer(ScriptedPolicy(rows, **faults))


@pytest.fixture(scope="module")
def plain() -> Iterator[ScriptedOpenAIServer]:
    """One fault-free server shared by the stateless tests (each server costs a shutdown poll)."""
    with serve() as server:
        yield server


# ----------------------------------------------------------------------------- solving rows


def test_every_row_of_the_repository_dataset_is_solved() -> None:
    # In-process (policy.respond) so all rows stay fast; the HTTP path is covered by the tests below.
    rows = load_rows(REPO / "test_data.jsonl")
    assert len(rows) >= 100
    policy = ScriptedPolicy(rows)
    for row in rows:
        content, messages = converse(policy.respond, row)
        assert Decimal(final_number(content)) == Decimal(row["ground_truth"]), row["id"]
        assert [c["function"]["name"] for c in tool_calls(messages)] == [s["tool"] for s in row["steps"]]


@pytest.mark.parametrize(
    ("row_id", "expected_arguments"),
    [
        ("one", ['{"a": 0.1, "b": 0.2}']),
        ("chain", ['{"a": 123456789012, "b": 100000000}', '{"a": 12345678901200000000, "b": 0.5}',
                   '{"x": 12345678901200000000.5, "decimals": 0}']),
        ("fan-in", ['{"a": 2.5, "b": 4}', '{"a": 7, "b": 8}', '{"a": 10, "b": 0.875}']),
    ],
)
def test_steps_and_refs_are_sent_exactly(
    client: httpx.Client, plain: ScriptedOpenAIServer, row_id: str, expected_arguments: list[str]
) -> None:
    row = next(r for r in ROWS if r["id"] == row_id)
    content, messages = converse(http_send(client, plain), row)
    assert [c["function"]["arguments"] for c in tool_calls(messages)] == expected_arguments
    assert content == f"The answer is {row['ground_truth']}.\n#### {row['ground_truth']}"


def test_openai_client_accepts_the_responses(plain: ScriptedOpenAIServer) -> None:
    from openai import OpenAI

    llm = OpenAI(base_url=plain.base_url, api_key="unused", max_retries=0)
    history: list[dict[str, Any]] = [{"role": "user", "content": ROWS[0]["user_prompt"]}]
    first = llm.chat.completions.create(model="scripted", messages=history)  # type: ignore[arg-type]
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert (call.function.name, first.choices[0].finish_reason) == ("add", "tool_calls")  # type: ignore[union-attr]
    history += [first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": "0.3"}]
    final = llm.chat.completions.create(model="scripted", messages=history)  # type: ignore[arg-type]
    assert final.choices[0].message.content == "The answer is 0.3.\n#### 0.3"
    assert final.usage is not None and final.usage.prompt_tokens > 0


@pytest.mark.parametrize(
    ("tool_result", "expected"),
    [("Error: division by zero", "#### error"), ("not a number", "#### error"), ("NaN", "#### error")],
)
def test_a_failed_or_garbled_tool_result_ends_with_error(
    client: httpx.Client, plain: ScriptedOpenAIServer, tool_result: str, expected: str
) -> None:
    content, _ = converse(http_send(client, plain), ROWS[2], tool=lambda _n, _a: tool_result)
    assert content.endswith(expected)


def test_unknown_question_gets_a_plain_zero_answer(client: httpx.Client, plain: ScriptedOpenAIServer) -> None:
    content, messages = converse(http_send(client, plain), {"user_prompt": "hi"})
    assert final_number(content) == "0"
    assert tool_calls(messages) == []


def test_token_usage_is_deterministic_word_counts(client: httpx.Client, plain: ScriptedOpenAIServer) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": ROWS[0]["user_prompt"]}]}
    usages = [client.post(f"{plain.base_url}/chat/completions", json=body).json()["usage"] for _ in range(2)]
    assert usages[0] == usages[1]
    assert usages[0]["prompt_tokens"] == len(ROWS[0]["user_prompt"].split())


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), ("-7", -7), ("12345678901234567890123", 12345678901234567890123), ("0.3", Decimal("0.3")),
     ("1e-05", Decimal("0.00001")), (" 2.50\n", Decimal("2.5"))],
)
def test_parse_number_is_exact_and_keeps_ints(text: str, value: int | Decimal) -> None:
    parsed = parse_number(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("text", ["Error: x", "NaN", "Infinity", "1.", "0x10", "true", ""])
def test_parse_number_rejects_non_numbers(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


# ----------------------------------------------------------------------------- faults


def _post(client: httpx.Client, server: ScriptedOpenAIServer, **extra: Any) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": ROWS[0]["user_prompt"]}], **extra}
    return client.post(f"{server.base_url}/chat/completions", json=body)


def test_fail_first_n_then_normal(client: httpx.Client) -> None:
    with serve(fail_first_n=2, fail_status=429) as server:
        replies = [_post(client, server) for _ in range(3)]
    assert [r.status_code for r in replies] == [429, 429, 200]
    assert replies[0].headers["Retry-After"] == "0"
    assert "injected" in replies[0].json()["error"]["message"]


def test_error_rate_is_seeded_and_reproducible() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": ROWS[0]["user_prompt"]}]}

    def statuses(seed: int) -> list[int]:
        policy = ScriptedPolicy(ROWS, error_rate=0.5, error_status=503, seed=seed)
        return [policy(body).status for _ in range(30)]

    first = statuses(7)
    assert set(first) == {200, 503}
    assert statuses(7) == first
    assert statuses(8) != first


def test_error_rate_one_fails_every_request_on_the_wire(client: httpx.Client) -> None:
    with serve(error_rate=1.0, error_status=502) as server:
        replies = [_post(client, server) for _ in range(3)]
    assert [r.status_code for r in replies] == [502] * 3
    assert replies[0].json()["error"]["code"] == 502


def test_latency_delays_every_request(client: httpx.Client) -> None:
    with serve(latency_s=0.15) as server:
        started = time.monotonic()
        assert all(_post(client, server).status_code == 200 for _ in range(2))
    assert time.monotonic() - started >= 0.3


def test_hang_first_n_outlasts_a_client_timeout_then_recovers() -> None:
    with serve(hang_s=1.0, hang_first_n=1) as server, httpx.Client(timeout=0.3) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            _post(impatient, server)
        started = time.monotonic()
        assert _post(impatient, server).status_code == 200
        assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    ("faults", "expected_first_calls"),
    [
        ({"unknown_tool": True}, [(UNKNOWN_TOOL_NAME, "{}")]),
        ({"malformed_tool_args": True}, [("multiply", MALFORMED_ARGUMENTS)]),
        ({"unknown_tool": True, "malformed_tool_args": True},
         [(UNKNOWN_TOOL_NAME, "{}"), ("multiply", MALFORMED_ARGUMENTS)]),
    ],
)
def test_bad_tool_calls_come_first_then_the_row_is_still_solved(
    client: httpx.Client, faults: dict[str, bool], expected_first_calls: list[tuple[str, str]]
) -> None:
    row = ROWS[1]
    with serve(**faults) as server:
        content, messages = converse(http_send(client, server), row)
    calls = tool_calls(messages)
    bad = [(c["function"]["name"], c["function"]["arguments"]) for c in calls[: len(expected_first_calls)]]
    assert bad == expected_first_calls
    assert all(c["id"].startswith(FAULT_CALL_PREFIX) for c in calls[: len(expected_first_calls)])
    tool_results = [m["content"] for m in messages if m["role"] == "tool"]
    assert all(r.startswith("Error:") for r in tool_results[: len(expected_first_calls)])
    assert len(calls) == len(row["steps"]) + len(expected_first_calls)
    assert final_number(content) == row["ground_truth"]


def _answers(send: Send, runs: int, **extra: Any) -> list[str]:
    return [final_number(converse(send, ROWS[2], **extra)[0]) for _ in range(runs)]


def in_process(policy: ScriptedPolicy) -> Send:
    """The responder without sockets (same fault logic), for the many-run statistics tests."""

    def send(body: dict[str, Any]) -> dict[str, Any]:
        reply = policy(body)
        assert reply.status == 200 and isinstance(reply.body, dict)
        return reply.body

    return send


def test_wrong_answer_rate_varies_across_runs_reproducibly() -> None:
    first = _answers(in_process(ScriptedPolicy(ROWS, wrong_answer_rate=0.5, seed=3)), 16)
    again = _answers(in_process(ScriptedPolicy(ROWS, wrong_answer_rate=0.5, seed=3)), 16)
    other_seed = _answers(in_process(ScriptedPolicy(ROWS, wrong_answer_rate=0.5, seed=4)), 16)
    assert first == again
    assert first != other_seed
    assert set(first) == {"10.875", "11.875"}  # right, and off by one


def test_wrong_answer_follows_the_request_seed_when_given() -> None:
    send = in_process(ScriptedPolicy(ROWS, wrong_answer_rate=0.5, seed=3))
    by_seed = {s: _answers(send, 2, seed=s) for s in range(8)}
    assert all(a == b for a, b in by_seed.values())  # same request seed, same outcome
    assert {a for a, _ in by_seed.values()} == {"10.875", "11.875"}


@pytest.mark.parametrize(("rate", "expected"), [(0.0, "10.875"), (1.0, "11.875")])
def test_wrong_answer_rate_extremes(client: httpx.Client, rate: float, expected: str) -> None:
    with serve(wrong_answer_rate=rate) as server:
        assert set(_answers(http_send(client, server), 3)) == {expected}


@pytest.mark.parametrize(
    "bad",
    [{"error_rate": 1.5}, {"wrong_answer_rate": -0.1}, {"latency_s": -1}, {"fail_status": 200},
     {"error_status": 600}, {"hang_first_n": -1}, {"fail_first_n": -2}],
)
def test_invalid_fault_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Faults(**bad)


def test_unknown_fault_option_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        ScriptedPolicy(ROWS, latency=1)


# ----------------------------------------------------------------------------- rows without steps


STEPLESS_ROWS: list[dict[str, Any]] = [
    ROWS[0],
    {"id": "no-plan", "user_prompt": "What is 6 * 7?", "ground_truth": "42"},
    {"user_prompt": "What is 2 + 2?", "ground_truth": "4", "steps": []},
    {"id": "null-plan", "user_prompt": "What is 10 / 4?", "ground_truth": "2.5", "steps": None},
]


def test_rows_without_steps_are_refused_by_default() -> None:
    with pytest.raises(ValueError) as refused:
        ScriptedPolicy(STEPLESS_ROWS)
    message = str(refused.value)
    assert message.startswith("row 1 (id 'no-plan') has no `steps`")  # the first such row, index and id
    assert "3 of 4 rows lack a non-empty `steps` list" in message
    assert "--answer ground-truth" in message and "without calling tools" in message


@pytest.mark.parametrize(
    ("row", "label"),
    [({"user_prompt": "q", "ground_truth": "1"}, "row 0 has no"),
     ({"id": 7, "user_prompt": "q", "ground_truth": "1", "steps": ""}, "row 0 (id 7) has no"),
     ({"id": "x", "user_prompt": "q", "ground_truth": "1", "steps": "[]"}, "row 0 (id 'x') has no")],
)
def test_the_refusal_names_a_row_without_an_id_by_index(row: dict[str, Any], label: str) -> None:
    with pytest.raises(ValueError, match=re.escape(label)):
        ScriptedPolicy([row], answer="steps")


def test_steps_given_as_json_text_are_replayed() -> None:
    row = {**ROWS[0], "steps": json.dumps([{"tool": "add", "arguments": {"a": 0.1, "b": 0.2}}])}
    content, messages = converse(ScriptedPolicy([row]).respond, row)
    assert [c["function"]["arguments"] for c in tool_calls(messages)] == ['{"a": 0.1, "b": 0.2}']
    assert final_number(content) == "0.3"


def test_ground_truth_mode_answers_every_row_without_tools(client: httpx.Client) -> None:
    with ScriptedOpenAIServer(ScriptedPolicy(STEPLESS_ROWS, answer="ground-truth")) as server:
        for row in STEPLESS_ROWS:  # rows with steps too: this mode never calls a tool
            content, messages = converse(http_send(client, server), row)
            assert content == f"The answer is {row['ground_truth']}.\n#### {row['ground_truth']}"
            assert tool_calls(messages) == []


@pytest.mark.parametrize("answer", ["ground_truth", "Steps", "", None])
def test_an_unknown_answer_mode_is_refused(answer: Any) -> None:
    with pytest.raises(ValueError, match=r"answer must be one of 'steps', 'ground-truth'"):
        ScriptedPolicy(ROWS, answer=answer)


# ----------------------------------------------------------------------------- command line


def _write_rows(path: Path) -> Path:
    rows = [{**row, "steps": [{"tool": "add", "arguments": {"a": 0.1, "b": 0.2}}]} for row in ROWS[:1]]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    return path


def test_cli_serves_until_terminated(tmp_path: Path) -> None:
    dataset = _write_rows(tmp_path / "rows.jsonl")
    proc = subprocess.Popen(
        [sys.executable, "-m", "osmosis_local.testing.scripted_policy",
         "-d", str(dataset), "--port", "0", "--fail-first-n", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "TEST DOUBLE" in banner and "1 rows" in banner
        base_url = banner.rsplit(" ", 1)[-1].strip()
        body = {"model": "m", "messages": [{"role": "user", "content": ROWS[0]["user_prompt"]}]}
        with httpx.Client(timeout=5) as c:
            statuses = [c.post(f"{base_url}/chat/completions", json=body).status_code for _ in range(2)]
        assert statuses == [429, 200]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["-d", "missing.jsonl"], "Dataset file not found"), (["-d", "{rows}", "--error-rate", "2"], "error_rate")],
)
def test_cli_reports_bad_input_with_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    from osmosis_local.testing.scripted_policy import main

    rows = str(_write_rows(tmp_path / "rows.jsonl"))
    assert main([a.replace("{rows}", rows) for a in args]) == 1
    assert message in capsys.readouterr().err


def _write_stepless_rows(path: Path) -> Path:
    rows = [{k: v for k, v in row.items() if k != "steps"} for row in ROWS[:2]]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("entry", ["serve-scripted-policy module", "osmosis-local"])
def test_cli_refuses_a_dataset_without_steps_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str
) -> None:
    from osmosis_local import cli
    from osmosis_local.testing import scripted_policy

    dataset = str(_write_stepless_rows(tmp_path / "no_steps.jsonl"))
    if entry == "osmosis-local":
        code = cli.main(["serve-scripted-policy", "-d", dataset, "--port", "0"])
    else:
        code = scripted_policy.main(["-d", dataset, "--port", "0", "--answer", "steps"])
    assert code == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("Error: row 0 (id 'one') has no `steps`")
    assert "2 of 2 rows lack" in captured.err and "--answer ground-truth" in captured.err
    assert "TEST DOUBLE" not in captured.out  # refused before listening


def test_cli_answer_ground_truth_serves_a_dataset_without_steps(tmp_path: Path) -> None:
    dataset = _write_stepless_rows(tmp_path / "no_steps.jsonl")
    proc = subprocess.Popen(
        [sys.executable, "-m", "osmosis_local.testing.scripted_policy",
         "-d", str(dataset), "--port", "0", "--answer", "ground-truth"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "TEST DOUBLE" in banner and "ground truth" in banner and "2 rows" in banner
        base_url = banner.rsplit(" ", 1)[-1].strip()
        with httpx.Client(timeout=5) as c:
            for row in ROWS[:2]:
                content, messages = converse(http_send_url(c, base_url), row)
                assert content == f"The answer is {row['ground_truth']}.\n#### {row['ground_truth']}"
                assert tool_calls(messages) == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_rejects_an_unknown_answer_mode(capsys: pytest.CaptureFixture[str]) -> None:
    from osmosis_local.testing.scripted_policy import main

    with pytest.raises(SystemExit) as exit_info:
        main(["-d", "rows.jsonl", "--answer", "truth"])
    assert exit_info.value.code == 2
    assert "argument --answer: invalid choice: 'truth'" in capsys.readouterr().err


def test_load_rows_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"user_prompt": "x"}\n{oops\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        load_rows(path)
