"""The typed eval core end to end: figures computed through the runner for runs with scorer errors and
failures, exit codes, `--resume` refusing other settings, the results file, and the Python API.

The model is the scripted-policy TEST DOUBLE behind a real HTTP endpoint; the tools are the real `mcp/`.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import helpers
import pytest
from helpers import DATASET, MCP_DIR, NUMBERS, REPO

from osmosis_local import EvalResult, evaluate
from osmosis_local.cli import main
from osmosis_local.log.results import EvalResult as ResultModel
from osmosis_local.log.results import RolloutTestResult, schema_fields, schema_markdown
from osmosis_local.log.stats import pass_at_k
from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply

ROWS = load_rows(DATASET)
FAILING_ROW = 2  # every request of this row's conversation gets HTTP 500
RAISING_ROW_ID = ROWS[1]["id"]  # the scorer below raises on this row


class PolicyWithAFailingRow:
    """The scripted policy, except that every request about row FAILING_ROW fails with HTTP 500."""

    def __init__(self) -> None:
        self.policy = ScriptedPolicy(ROWS)
        self.bad_prompt = ROWS[FAILING_ROW]["user_prompt"]

    def __call__(self, body: dict[str, Any]) -> ScriptedReply:
        if any(m.get("content") == self.bad_prompt for m in body.get("messages") or []):
            return ScriptedReply(status=500)
        return self.policy(body)


@pytest.fixture
def scorers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "core_scorers.py").write_text(
        "def raises_on_row_1(solution_str, ground_truth, extra_info=None, **kwargs):\n"
        f"    if extra_info['id'] == {RAISING_ROW_ID!r}:\n"
        "        raise RuntimeError('scorer bug on purpose')\n"
        "    return 1.0\n"
        "def always_raises(solution_str, ground_truth, extra_info=None, **kwargs):\n"
        "    raise ValueError('broken scorer')\n"
        "def half(solution_str, ground_truth, extra_info=None, **kwargs):\n"
        "    return 0.5\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


_RUNS = itertools.count()


def run_eval(tmp_path: Path, server: ScriptedOpenAIServer, *extra: str, limit: int = 4) -> tuple[int, dict[str, Any]]:
    """The common eval (`helpers.run_eval`), no retries, the eval functions given in ``extra``; each call its own
    transcript log (a log belongs to one run)."""
    outcome = helpers.run_eval(
        server.base_url, tmp_path, "--max-retries", "0", *extra, limit=limit, eval_fns=(), model="scripted-policy",
        name=f"runs-{next(_RUNS)}",
    )  # fmt: skip
    return outcome.code, outcome.out


def test_scorer_errors_and_failed_runs_never_pass_even_at_threshold_zero(tmp_path: Path, scorers: Path) -> None:
    # 4 rows x 2 runs: row 1's scorer raises, row 2's rollouts fail; rows 0 and 3 score 1.0.
    with ScriptedOpenAIServer(PolicyWithAFailingRow()) as server:
        code, out = run_eval(
            tmp_path, server, "--eval-fn", "core_scorers:raises_on_row_1", "--n", "2", "--pass-threshold", "0"
        )
    stats = out["summary"]["eval_fns"]["core_scorers:raises_on_row_1"]
    assert (stats["scored"], stats["errors"], stats["unscored"]) == (4, 2, 2)
    assert stats["pass_at_1"] == pytest.approx(0.5)  # only rows 0 and 3 pass, whatever the threshold
    assert stats["mean"] == 1.0  # over scored runs
    assert stats["mean_all_runs"] == pytest.approx(0.5)  # errors and failed runs count as 0
    assert out["summary"]["failed_runs"] == 2
    assert code == 0  # some runs were scored: not every run errored


def test_means_side_by_side_and_pass_at_k_from_per_row_counts(
    tmp_path: Path, scorers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedOpenAIServer(PolicyWithAFailingRow()) as server:
        code = main(
            [
                "eval",
                "--mcp",
                str(MCP_DIR),
                "-d",
                str(DATASET),
                "--model",
                "scripted-policy",
                "--base-url",
                server.base_url,
                "--limit",
                "4",
                "--max-retries",
                "0",
                "--n",
                "3",
                "--eval-fn",
                NUMBERS,
                "--log",
                str(tmp_path / "runs.jsonl"),
                "-o",
                str(tmp_path / "out.json"),
            ]
        )
    out = json.loads((tmp_path / "out.json").read_text())
    stats = out["summary"]["eval_fns"][NUMBERS]
    assert stats["mean"] == 1.0 and stats["mean_all_runs"] == pytest.approx(9 / 12)
    per_row_c = [sum(run["scores"].get(NUMBERS, 0) >= 1.0 for run in row["runs"]) for row in out["rows"]]
    assert per_row_c == [3, 3, 0, 3]
    for k in (1, 3):
        assert stats[f"pass_at_{k}"] == pytest.approx(sum(pass_at_k(3, c, k) for c in per_row_c) / 4)
    printed = capsys.readouterr().out
    assert "Mean (all runs)" in printed and "0.750" in printed and "1.000" in printed
    assert code == 0


def test_an_eval_fn_that_raised_on_every_run_exits_1_with_the_reason(
    tmp_path: Path, scorers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedOpenAIServer(ScriptedPolicy(ROWS)) as server:
        code, out = run_eval(tmp_path, server, "--eval-fn", NUMBERS, "--eval-fn", "core_scorers:always_raises", limit=2)
    assert code == 1 and out["exit_code"] == 1
    assert out["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0
    (problem,) = out["summary"]["problems"]
    assert "core_scorers:always_raises raised on every run" in problem and "broken scorer" in problem
    assert "raised on every run" in capsys.readouterr().err


def test_fail_under_applies_to_every_eval_fn_or_one(tmp_path: Path, scorers: Path) -> None:
    fns = ("--eval-fn", NUMBERS, "--eval-fn", "core_scorers:half")
    with ScriptedOpenAIServer(ScriptedPolicy(ROWS)) as server:
        code, out = run_eval(tmp_path, server, *fns, "--fail-under", "0.9", limit=2)
        assert code == 3
        assert [p for p in out["summary"]["problems"] if "core_scorers:half" in p]
        assert not [p for p in out["summary"]["problems"] if NUMBERS in p]
        code, out = run_eval(
            tmp_path, server, *fns, "--fail-under", "0.9", "--fail-under", "core_scorers:half=0.4", limit=2
        )
        assert code == 0 and out["summary"]["problems"] == []
        code, _ = run_eval(tmp_path, server, *fns, "--fail-under", f"{NUMBERS}=1.0", limit=2)
        assert code == 0


def test_fail_under_counts_failed_runs_as_zero(tmp_path: Path, scorers: Path) -> None:
    with ScriptedOpenAIServer(PolicyWithAFailingRow()) as server:
        code, out = run_eval(tmp_path, server, "--eval-fn", NUMBERS, "--fail-under", "0.9", limit=4)
    assert out["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0
    assert code == 3


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        (["--temperature", "0.5"], "temperature"),
        (["--max-turns", "3"], "max_turns"),
        (["--seed", "4"], "seed"),
        (["--max-tokens", "99"], "max_tokens"),
        (["--eval-fn", "core_scorers:half"], "eval_fns"),
        (["--model", "another-model"], "model"),
    ],
)
def test_resume_refuses_a_log_made_with_other_settings(
    tmp_path: Path, scorers: Path, change: list[str], setting: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedOpenAIServer(ScriptedPolicy(ROWS)) as server:

        def argv(*extra: str) -> list[str]:
            model = change[1] if setting == "model" else "scripted-policy"
            more = [] if setting == "model" else list(extra)
            return [
                "eval",
                "--mcp",
                str(MCP_DIR),
                "-d",
                str(DATASET),
                "--base-url",
                server.base_url,
                "--limit",
                "2",
                "-q",
                "--eval-fn",
                NUMBERS,
                "--model",
                model,
                *more,
            ]

        assert main([*argv(), "--model", "scripted-policy", "--log", str(tmp_path / "runs.jsonl")]) == 0
        before = (tmp_path / "runs.jsonl").read_bytes()
        requests = len(server.requests)
        assert main([*argv(*change), "--resume", str(tmp_path / "runs.jsonl")]) == 2
        assert len(server.requests) == requests  # refused before any request
    err = capsys.readouterr().err
    assert "made with other settings" in err and f"{setting}:" in err
    assert (tmp_path / "runs.jsonl").read_bytes() == before  # nothing appended


def test_resume_refuses_a_log_of_another_dataset(
    tmp_path: Path, scorers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.jsonl"
    other.write_text("".join(DATASET.read_text().splitlines(keepends=True)[:6]))
    with ScriptedOpenAIServer(ScriptedPolicy(ROWS)) as server:
        base = [
            "eval",
            "--mcp",
            str(MCP_DIR),
            "--model",
            "scripted-policy",
            "--base-url",
            server.base_url,
            "--limit",
            "2",
            "-q",
            "--eval-fn",
            NUMBERS,
        ]
        assert main([*base, "-d", str(other), "--log", str(tmp_path / "runs.jsonl")]) == 0
        assert main([*base, "-d", str(DATASET), "--resume", str(tmp_path / "runs.jsonl")]) == 2
    assert "dataset_sha256:" in capsys.readouterr().err


def test_resume_refuses_a_log_without_a_header_and_tolerates_a_torn_last_line(
    tmp_path: Path, scorers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "runs.jsonl"
    with ScriptedOpenAIServer(ScriptedPolicy(ROWS)) as server:
        base = [
            "eval",
            "--mcp",
            str(MCP_DIR),
            "-d",
            str(DATASET),
            "--model",
            "scripted-policy",
            "--base-url",
            server.base_url,
            "-q",
            "--eval-fn",
            NUMBERS,
            "-o",
            str(tmp_path / "out.json"),
        ]
        assert main([*base, "--limit", "2", "--log", str(log)]) == 0
        lines = log.read_bytes().splitlines(keepends=True)
        log.write_bytes(b"".join(lines[:-1]) + lines[-1][:40])  # the last run's line is torn
        assert main([*base, "--limit", "3", "--resume", str(log)]) == 0
        out = json.loads((tmp_path / "out.json").read_text())
        assert out["summary"]["total_runs"] == 3 and out["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0
        headerless = tmp_path / "old.jsonl"
        headerless.write_text("".join(line.decode() for line in log.read_bytes().splitlines(keepends=True)[1:]))
        assert main([*base, "--limit", "3", "--resume", str(headerless)]) == 2
    assert "has no settings header" in capsys.readouterr().err


def test_results_file_carries_answer_finish_reason_and_seed(tmp_path: Path, scorers: Path) -> None:
    with ScriptedOpenAIServer(ScriptedPolicy(ROWS)) as server:
        code, out = run_eval(tmp_path, server, "--eval-fn", NUMBERS, "--seed", "7", "--n", "2", limit=1)
    assert code == 0
    runs = out["rows"][0]["runs"]
    assert [r["seed"] for r in runs] == [7, 8]
    assert all(r["finish_reason"] == "stop" for r in runs)
    assert all(r["answer"].endswith(f"#### {ROWS[0]['ground_truth']}") for r in runs)
    ResultModel.model_validate(out)  # the file is the model


def test_the_python_api_returns_the_typed_result_without_printing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedOpenAIServer(ScriptedPolicy(ROWS)) as server:
        result = evaluate(
            mcp=MCP_DIR,
            dataset=DATASET,
            eval_fn=[NUMBERS],
            model="scripted",
            base_url=server.base_url,
            limit=3,
            n=2,
            batch_size=2,
            log=tmp_path / "api.jsonl",
        )
    assert isinstance(result, EvalResult)
    assert result.summary.eval_fns[NUMBERS].mean == 1.0 and result.summary.eval_fns[NUMBERS].pass_at_1 == 1.0
    assert result.exit_code == 0 and result.summary.total_runs == 6
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_the_results_file_written_row_by_row_is_the_models_json_to_the_byte(tmp_path: Path) -> None:
    """`eval` writes `-o` one row at a time from the runs' figures (`keep_rows=False`): the same text as the
    whole model dumped at once, baseline, comparison and redaction included."""
    import io

    from osmosis_local.redaction import Redactor

    with ScriptedOpenAIServer(ScriptedPolicy(ROWS)) as server:
        result = evaluate(mcp=MCP_DIR, dataset=DATASET, eval_fn=[NUMBERS], model="scripted", base_url=server.base_url,
                          baseline_model="scripted", baseline_base_url=[server.base_url], limit=3, n=2,
                          log=tmp_path / "api.jsonl")  # fmt: skip
    assert result.model_summaries and result.comparison and len(result.rows) == 3
    redact = Redactor.of(["scripted"])  # a "secret" that occurs in the config, the summary and every row
    bare = result.model_copy(update={"rows": []})
    for rows, whole in ((result.rows, result), ([], bare)):
        streamed = io.StringIO()
        bare.write_json(streamed, iter(rows), redact)
        assert streamed.getvalue() == whole.to_json(redact)
    with pytest.raises(ValueError, match="without its rows"):
        result.write_json(io.StringIO(), [])


def test_the_python_api_rejects_bad_options_by_name() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(mcp=MCP_DIR, dataset=DATASET, eval_fn=[NUMBERS], model="m", batch_size=0)


def _readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(title)
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_readme_api_example_runs_an_eval_on_the_scripted_policy() -> None:
    section = _readme_section("## Python API")
    (example,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert "from osmosis_local import evaluate" in example
    done = subprocess.run([sys.executable, "-"], input=example, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "mean 1.0" in done.stdout


@pytest.mark.parametrize(("model", "marker"), [(ResultModel, "eval"), (RolloutTestResult, "test")])
def test_the_readme_documents_every_results_field_from_the_model(model: type, marker: str) -> None:
    text = (REPO / "README.md").read_text()
    start = text.index(f"<!-- results-schema:{marker}:start -->")
    end = text.index(f"<!-- results-schema:{marker}:end -->")
    block = text[start:end].split("\n", 1)[1].strip()
    assert block == schema_markdown(model), "run: python scripts/update_readme_schema.py"
    documented = set(re.findall(r"^\| `([^`]+)` \|", block, flags=re.M))
    assert documented == {path for path, _, _ in schema_fields(model)}
    assert all(description for _, _, description in schema_fields(model))  # every field says what it is
