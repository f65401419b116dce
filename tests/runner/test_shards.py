"""One eval spread over processes: `eval --shard K/N` runs a share, `merge` puts the shares back together and
gives the result and the log one process would have. The model is the scripted-policy TEST DOUBLE behind a real
HTTP endpoint (its wrong answers are drawn per (row, seed), so every process sees the same ones).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import NUMBERS, eval_argv, jsonl

from osmosis_local.cli import main
from osmosis_local.testing.scripted_policy import ScriptedPolicy
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer

ROWS, N = 9, 2
FLAGS = ("--n", str(N), "--seed", "0", "--batch-size", "3")


@pytest.fixture(scope="module")
def policy_server() -> Any:
    from helpers import dataset_rows

    with ScriptedOpenAIServer(ScriptedPolicy(dataset_rows(), wrong_answer_rate=0.4, seed=7)) as server:
        yield server


@pytest.fixture(scope="module")
def evals(policy_server: ScriptedOpenAIServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The eval in one process (single.*), and in three shards (shard-K.*)."""
    tmp = tmp_path_factory.mktemp("shards")
    assert main(eval_argv(policy_server.base_url, tmp, *FLAGS, limit=ROWS, name="single", output="single")) == 0
    for k in range(3):
        argv = eval_argv(policy_server.base_url, tmp, *FLAGS, "--shard", f"{k}/3", limit=ROWS, name=f"shard-{k}",
                         output=f"shard-{k}")  # fmt: skip
        assert main(argv) == 0
    return tmp


def _runs(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(row["row_index"], run["run_index"], run["model_tag"], run["end_state"], run["scores"], run["tokens"],
             run["answer"], run["seed"]) for row in result["rows"] for run in row["runs"]]  # fmt: skip


def test_shards_split_the_pairs_and_three_merged_equal_one_process(evals: Path) -> None:
    shards = [json.loads((evals / f"shard-{k}.json").read_text()) for k in range(3)]
    assert [s["summary"]["total_runs"] for s in shards] == [6, 6, 6]  # 18 (row, run) pairs, every 3rd from K
    keys = [{r["key"] for r in jsonl(evals / f"shard-{k}.jsonl")[1:]} for k in range(3)]
    assert not (keys[0] & keys[1]) and not (keys[1] & keys[2]) and len(keys[0] | keys[1] | keys[2]) == ROWS * N
    code = main(["merge", *(str(evals / f"shard-{k}.jsonl") for k in range(3)), "-o", str(evals / "merged.json"),
                 "--log", str(evals / "merged.jsonl"), "-q"])  # fmt: skip
    assert code == 0
    single, merged = json.loads((evals / "single.json").read_text()), json.loads((evals / "merged.json").read_text())
    assert _runs(merged) == _runs(single)
    for key in ("total_rows", "total_runs", "expected_runs", "failed_runs", "end_states", "eval_fns", "total_tokens"):
        assert merged["summary"][key] == single["summary"][key], key
    assert merged["config"]["shard"] is None and merged["exit_code"] == 0
    spans = [json.loads((evals / f"shard-{k}.json").read_text())["summary"]["total_duration_ms"] for k in range(3)]
    assert merged["summary"]["total_duration_ms"] >= max(spans) * 0.5  # the span of the runs (here the shards ran
    # one after another, so it also holds the gaps between them), never 0
    header = jsonl(evals / "merged.jsonl")[0]
    assert header["settings"]["shard"] is None and len(jsonl(evals / "merged.jsonl")) == 1 + ROWS * N
    # the merged log is one eval's log: rescore, view and export take it
    assert main(["rescore", str(evals / "merged.jsonl"), "--eval-fn", NUMBERS, "-q", "-o", str(evals / "re.json"),
                 "--log", str(evals / "re.jsonl")]) == 0  # fmt: skip
    assert json.loads((evals / "re.json").read_text())["summary"]["eval_fns"][NUMBERS]["mean"] == pytest.approx(
        single["summary"]["eval_fns"][NUMBERS]["mean"]
    )
    assert main(["view", str(evals / "merged.jsonl"), "-o", str(evals / "merged.html")]) == 0


def test_holes_are_named_and_resume_fills_them(
    evals: Path, policy_server: ScriptedOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    out, log = evals / "two.json", evals / "two.jsonl"
    assert main(["merge", str(evals / "shard-0.jsonl"), str(evals / "shard-1.jsonl"), "-o", str(out), "--log",
                 str(log), "-q"]) == 1  # fmt: skip
    problem = json.loads(out.read_text())["summary"]["problems"][0]
    assert problem.startswith("6 runs are in no log (holes): row-") and f"eval --resume {log}" in problem
    before = len(policy_server.requests)
    argv = eval_argv(policy_server.base_url, evals, *FLAGS, limit=ROWS, output="filled")
    argv = argv[: argv.index("--log")] + argv[argv.index("--log") + 2 :]
    assert main([*argv, "--resume", str(log)]) == 0
    asked = [b for b in policy_server.requests[before:] if b.get("max_tokens") != 1]
    assert {b["seed"] for b in asked} <= {0, 1} and len({json.dumps(b["messages"][:2]) for b in asked}) <= 6
    filled = json.loads((evals / "filled.json").read_text())
    assert _runs(filled) == _runs(json.loads((evals / "single.json").read_text()))


@pytest.mark.parametrize("fault", ["a run in two logs", "other settings", "another split"])
def test_merge_refuses_logs_that_are_not_shares_of_one_eval(
    evals: Path, policy_server: ScriptedOpenAIServer, capsys: pytest.CaptureFixture[str], fault: str, tmp_path: Path
) -> None:
    first = evals / "shard-0.jsonl"
    if fault == "a run in two logs":
        other = tmp_path / "copy.jsonl"
        shutil.copy(first, other)
        words = ["6 runs are in more than one log (did a shard run twice?): row-"]
    elif fault == "other settings":
        argv = eval_argv(policy_server.base_url, tmp_path, *FLAGS, "--max-turns", "3", "--shard", "1/3", limit=ROWS)
        assert main(argv) == 0
        other = tmp_path / "runs.jsonl"
        words = ["These logs are not shares of one eval", "max_turns: the log has 10, this run has 3"]
    else:
        argv = eval_argv(policy_server.base_url, tmp_path, *FLAGS, "--shard", "1/2", limit=ROWS)
        assert main(argv) == 0
        other = tmp_path / "runs.jsonl"
        words = ["the logs split the eval differently: 0/3, 1/2"]
    capsys.readouterr()
    assert main(["merge", str(first), str(other), "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert all(word in err for word in words), err
    assert not (tmp_path / "m.json").exists()


def test_a_shard_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["eval", "--mcp", "mcp", "-d", "x.jsonl", "--eval-fn", NUMBERS, "--model", "m", "--shard", "3/3"])
    assert info.value.code == 2
    assert "--shard 3/3: K counts from 0, so it must be below N" in capsys.readouterr().err


def test_a_shard_resumes_its_own_log_and_refuses_another_shards(
    evals: Path, policy_server: ScriptedOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shard killed part-way resumes exactly: its log's runs are kept, only the missing ones of its share run."""
    log = tmp_path / "shard-1.jsonl"
    lines = (evals / "shard-1.jsonl").read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:4]))  # the header and 3 of its 6 runs: as if the process was killed
    before = len(policy_server.requests)
    argv = eval_argv(policy_server.base_url, tmp_path, *FLAGS, "--shard", "1/3", limit=ROWS, output="resumed")
    argv = argv[: argv.index("--log")] + argv[argv.index("--log") + 2 :]
    assert main([*argv, "--resume", str(log)]) == 0
    rollouts = {json.dumps(b["messages"][1]) + str(b.get("seed")) for b in policy_server.requests[before:]
                if b.get("max_tokens") != 1}  # fmt: skip
    assert len(rollouts) == 3  # the three runs the killed shard had not finished, and no others
    resumed = json.loads((tmp_path / "resumed.json").read_text())
    assert _runs(resumed) == _runs(json.loads((evals / "shard-1.json").read_text()))
    other = eval_argv(policy_server.base_url, tmp_path, *FLAGS, "--shard", "2/3", limit=ROWS, output="x")
    other = other[: other.index("--log")] + other[other.index("--log") + 2 :]
    capsys.readouterr()
    assert main([*other, "--resume", str(log)]) == 2  # another share into this log would mix them
    assert "shard" in capsys.readouterr().err
