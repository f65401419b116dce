"""How each run ended, told the same way everywhere: answered, out of turns, cut off, or failed.

`test` and `eval` agree on what success means (the run ended with an answer), and every place a person reads
(the per-run console line, the summary, `-o`, the report) shows the end state with counts. The model is the
scripted-policy TEST DOUBLE behind a real HTTP endpoint; one row of each kind of ending is scripted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import DATASET, MCP_DIR, NUMBERS, dataset_rows, eval_argv

from osmosis_local.cli import main
from osmosis_local.testing.scripted_policy import ScriptedPolicy
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply, chat_completion

ROWS = dataset_rows()[:4]
EXPECTED = ["answered", "cut_off", "out_of_turns", "error"]  # one row of each, in row order
ADD = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}


class EndingPolicy:
    """Row 0 is replayed (an answer); row 1 is cut off; row 2 calls a tool forever; row 3 gets an HTTP 400."""

    def __init__(self) -> None:
        self.policy = ScriptedPolicy(dataset_rows())

    def __call__(self, body: dict[str, Any]) -> Any:
        prompt = next((str(m["content"]) for m in body["messages"] if m["role"] == "user"), "")
        if prompt == ROWS[1]["user_prompt"]:
            return ScriptedReply(body=chat_completion(content="The answer is", finish_reason="length"))
        if prompt == ROWS[2]["user_prompt"]:
            return ScriptedReply(body=chat_completion(tool_calls=[ADD]))
        if prompt == ROWS[3]["user_prompt"]:
            return ScriptedReply(status=400, body={"error": {"message": "this row's request is malformed"}})
        return self.policy(body)


@pytest.fixture(scope="module")
def endings() -> Any:
    with ScriptedOpenAIServer(EndingPolicy()) as server:
        yield server


def test_eval_shows_every_end_state_in_its_lines_summary_and_results(
    endings: ScriptedOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = eval_argv(endings.base_url, tmp_path, "--max-turns", "3", "--max-retries", "0", limit=4, quiet=False)
    assert main(argv) == 0
    out = capsys.readouterr()
    lines = [line for line in (out.out + out.err).splitlines() if line.startswith("[")]
    by_row = {int(line.split("[row ")[1].split()[0]): line for line in lines}
    for row, label in enumerate(["] OK (", "] CUT OFF (", "] OUT OF TURNS (", "] FAILED ("]):
        assert label in by_row[row], by_row[row]
    assert "this row's request is malformed" in by_row[3]
    assert "Answered: 1  Out of turns: 1  Cut off: 1  Failed: 1" in out.out
    result = json.loads((tmp_path / "out.json").read_text())
    runs = [row["runs"][0] for row in result["rows"]]
    assert [r["end_state"] for r in runs] == EXPECTED
    assert [r["success"] for r in runs] == [True, False, False, False]
    assert [r["finish_reason"] for r in runs] == ["stop", "length", "max_turns", "error"]
    assert runs[0]["error"] is None
    assert "ran out of turns while still calling tools after 3 LLM calls" in runs[2]["error"]
    assert "cut off" in runs[1]["error"] and "--max-tokens" in runs[1]["error"]
    summary = result["summary"]
    assert summary["end_states"] == {"answered": 1, "out_of_turns": 1, "cut_off": 1, "error": 1}
    assert summary["failed_runs"] == 3
    assert runs[2]["scores"] == {NUMBERS: 0.0}  # a run that ran out of turns is still scored (its answer: "")
    log = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()[1:]]
    assert sorted(r["end_state"] for r in log) == sorted(EXPECTED)  # the log says it too


def test_test_and_eval_agree_on_success_and_end_state(endings: ScriptedOpenAIServer, tmp_path: Path) -> None:
    out = tmp_path / "test.json"
    argv = ["test", "--mcp", str(MCP_DIR), "-d", str(DATASET), "--model", "scripted", "--base-url",
            endings.base_url, "--limit", "4", "--max-turns", "3", "--max-retries", "0", "-q", "-o", str(out),
            "--log", str(tmp_path / "test.jsonl")]  # fmt: skip
    assert main(argv) == 1  # three rows did not answer
    result = json.loads(out.read_text())
    assert [r["end_state"] for r in result["results"]] == EXPECTED
    assert [r["success"] for r in result["results"]] == [True, False, False, False]
    assert result["summary"]["end_states"] == {"answered": 1, "out_of_turns": 1, "cut_off": 1, "error": 1}
    assert (result["summary"]["passed"], result["summary"]["failed"]) == (1, 3)


def test_a_resumed_eval_does_not_rerun_runs_that_ended_without_an_answer(
    endings: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    """Out of turns and cut off are how those runs ended (rerunning them would pay for the same ending); only
    a failed run is run again."""
    argv = eval_argv(endings.base_url, tmp_path, "--max-turns", "3", "--max-retries", "0", limit=4)
    assert main(argv) == 0
    before = len(endings.requests)
    resumed = eval_argv(endings.base_url, tmp_path, "--max-turns", "3", "--max-retries", "0", limit=4,
                        output="again")  # fmt: skip
    resumed = [a for a in resumed if a not in ("--log", str(tmp_path / "runs.jsonl"))]
    assert main([*resumed, "--resume", str(tmp_path / "runs.jsonl")]) == 0
    rows_asked = {next(str(m["content"]) for m in b["messages"] if m["role"] == "user")
                  for b in endings.requests[before:] if b.get("max_tokens") != 1}  # fmt: skip
    assert rows_asked <= {ROWS[3]["user_prompt"], "hi"}
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["summary"]["end_states"] == {"answered": 1, "out_of_turns": 1, "cut_off": 1, "error": 1}
