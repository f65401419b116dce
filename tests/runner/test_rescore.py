"""`osmosis-local rescore`: the saved runs of an eval scored again with the endpoint switched off.

The eval runs against the scripted-policy TEST DOUBLE over real HTTP; the server is stopped before the
rescore, so any model call would fail.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import DATASET, NUMBERS, TOOL_USE, run_eval

from osmosis_local.cli import main
from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply

ROWS = load_rows(DATASET)


def write_scorer(path: Path, value: str) -> None:
    path.write_text(f"def score(solution_str, ground_truth, extra_info=None, **kwargs):\n    return {value}\n")


@pytest.fixture
def evaluated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An eval of 4 rows x 2 runs (some answers wrong, one row failing) with NUMBERS and a local scorer."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    write_scorer(tmp_path / "myscore.py", "1.0 if solution_str.strip().endswith('#### ' + ground_truth) else 0.0")
    policy = ScriptedPolicy(ROWS, wrong_answer_rate=0.5, seed=3)
    failing = ROWS[3]["user_prompt"]

    def responder(body):
        if any(m.get("content") == failing for m in body["messages"]):
            return ScriptedReply(status=500)
        return policy(body)

    with ScriptedOpenAIServer(responder) as server:
        outcome = run_eval(server.base_url, tmp_path, "--n", "2", "--max-retries", "0",
                           eval_fns=(NUMBERS, "myscore:score"), name="eval", output="eval")  # fmt: skip
    assert outcome.code == 0
    return tmp_path


def rescore(tmp: Path, *fns: str, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    code = main(["rescore", str(tmp / "eval.jsonl"), *(a for fn in fns for a in ("--eval-fn", fn)), "-q",
                 "-o", str(tmp / "rescore.json"), "--log", str(tmp / "rescore.jsonl"), *extra])  # fmt: skip
    return code, json.loads((tmp / "rescore.json").read_text())


def test_rescore_without_the_endpoint_gives_the_same_figures_as_the_eval(evaluated: Path) -> None:
    code, out = rescore(evaluated, NUMBERS, "myscore:score")
    ev = json.loads((evaluated / "eval.json").read_text())
    assert code == 0 and out["command"] == "rescore" and out["config"]["rescore_of"] == str(evaluated / "eval.jsonl")
    for fn in (NUMBERS, "myscore:score"):
        assert out["summary"]["eval_fns"][fn] == ev["summary"]["eval_fns"][fn]
        assert out["changes"][fn]["changed_runs"] == 0
    assert out["summary"]["failed_runs"] == ev["summary"]["failed_runs"] == 2  # failed runs stay failed
    assert out["summary"]["eval_fns"][NUMBERS]["pass_at_1"] == ev["summary"]["eval_fns"][NUMBERS]["pass_at_1"]


def test_a_changed_reward_shows_the_right_before_and_after(evaluated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_scorer(evaluated / "myscore.py", "0.5")
    monkeypatch.delitem(sys.modules, "myscore", raising=False)
    _, out = rescore(evaluated, "myscore:score", TOOL_USE)
    before = json.loads((evaluated / "eval.json").read_text())["summary"]["eval_fns"]["myscore:score"]
    change = out["changes"]["myscore:score"]
    assert change["mean_before"] == before["mean"] and change["mean_after"] == 0.5
    scored = before["scored"]
    runs = [run for row in json.loads((evaluated / "eval.json").read_text())["rows"] for run in row["runs"]]
    changed_expected = sum(1 for run in runs if run["success"] and run["scores"]["myscore:score"] != 0.5)
    assert change["changed_runs"] == changed_expected > 0 and scored == 6
    assert TOOL_USE not in out["changes"]  # not scored in the log: nothing to compare
    assert out["summary"]["eval_fns"][TOOL_USE]["scored"] == 6


def test_a_rescore_log_can_be_rescored_again(evaluated: Path) -> None:
    rescore(evaluated, NUMBERS)
    code = main(["rescore", str(evaluated / "rescore.jsonl"), "--eval-fn", NUMBERS, "-q", "-o",
                 str(evaluated / "again.json"), "--log", str(evaluated / "again.jsonl")])  # fmt: skip
    again = json.loads((evaluated / "again.json").read_text())
    first = json.loads((evaluated / "rescore.json").read_text())
    assert code == 0 and again["summary"]["eval_fns"] == first["summary"]["eval_fns"]


def test_a_scorer_that_raises_is_an_error_and_bad_inputs_are_refused(
    evaluated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_scorer(evaluated / "broken.py", "1 / 0")
    code, out = rescore(evaluated, "broken:score")
    assert code == 1 and out["summary"]["eval_fns"]["broken:score"]["errors"] == 6
    assert main(["rescore", str(evaluated / "nope.jsonl"), "--eval-fn", NUMBERS, "-q"]) == 1
    assert "Transcript log not found" in capsys.readouterr().err
    assert main(["rescore", str(evaluated / "eval.jsonl"), "--eval-fn", NUMBERS, "--eval-fn", NUMBERS]) == 2
