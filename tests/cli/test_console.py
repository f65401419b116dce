"""The set-up message of `test`/`eval`: a silent start of several seconds (litellm's import) looks hung."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from osmosis_local.cli import console as run_report
from osmosis_local.cli.console import EvalReporter


@pytest.mark.parametrize("reporter_class", [EvalReporter, run_report.RolloutTestReporter])
def test_a_log_gets_one_preparing_line_whatever_the_number_of_steps(
    reporter_class: type, capsys: pytest.CaptureFixture[str]
) -> None:
    reporter = reporter_class(quiet=False)
    for step in ("reading the dataset", "loading the MCP tools", "loading litellm"):
        reporter.preparing(step)
    reporter.end_preparing()
    err = capsys.readouterr().err
    assert err.count("Preparing:") == 1
    assert "preflight request" in err


def test_quiet_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    reporter = EvalReporter(quiet=True)
    reporter.preparing("reading the dataset")
    reporter.end_preparing()
    assert capsys.readouterr().err == ""


def test_a_terminal_gets_a_spinner_that_names_the_step_and_stops_on_error() -> None:
    reporter = EvalReporter(quiet=False)
    screen = io.StringIO()
    reporter.err = Console(file=screen, force_terminal=True, width=100)
    reporter.preparing("reading the dataset")
    reporter.preparing("loading the MCP tools")
    assert reporter._status is not None
    reporter.error("Dataset not found")
    assert reporter._status is None
    text = screen.getvalue()
    assert "Preparing: loading the MCP tools" in text and "Dataset not found" in text


def _eval_result(tmp_path):
    from osmosis_local import evaluate
    from osmosis_local.testing.scripted_policy import ScriptedPolicy
    from osmosis_local.testing.scripted_server import ScriptedOpenAIServer

    with ScriptedOpenAIServer(ScriptedPolicy.from_jsonl("test_data.jsonl", wrong_answer_rate=0.5, seed=2)) as server:
        return evaluate(
            mcp="mcp", dataset="test_data.jsonl", model="scripted", base_url=server.base_url, limit=3, n=3,
            eval_fn=["reward_fn.compute_reward:numbers_match_reward", "reward_fn.tool_use_reward:tool_use_reward"],
            log=tmp_path / "runs.jsonl",
        )  # fmt: skip


@pytest.mark.parametrize("width", [80, 160])
def test_the_results_table_is_readable_at_80_columns_and_wide(tmp_path, width: int) -> None:
    result = _eval_result(tmp_path)
    reporter = EvalReporter(quiet=False)
    screen = io.StringIO()
    reporter.out = Console(file=screen, width=width)
    reporter.finished(result)
    text = screen.getvalue()
    assert "…" not in text  # nothing cut
    assert max(len(line) for line in text.splitlines() if not line.startswith("Transcripts: ")) <= width
    for label in ("Mean", "pass@1", "pass@3", "Scored", "Errors", "Unscored"):
        assert label in text
    assert "numbers_match_reward = reward_fn.compute_reward:numbers_match_reward" in text  # the legend
    stats = result.summary.eval_fns["reward_fn.compute_reward:numbers_match_reward"]
    assert f"{stats.mean:.3f}" in text and f"{stats.pass_at_1:.3f}" in text


def test_the_progress_label_shows_the_running_mean_and_errors(tmp_path) -> None:
    from osmosis_local.log.records import RunRecord
    from osmosis_local.redaction import Redactor
    from osmosis_local.runner.evaluation import EvalPlan

    reporter = EvalReporter(quiet=True)
    fn = "reward_fn.compute_reward:numbers_match_reward"
    plan = EvalPlan(models=[], eval_fns=[(fn, "simple")], rows=2, runs_per_row=1, batch_size=1, tools=0,
                    warnings=[], log_path=tmp_path, total=3, resumed=0, redactor=Redactor())  # fmt: skip
    reporter.started(plan)
    base = dict(key="k", command="eval", row_index=0, model="m", finish_reason="stop")
    reporter.run_finished(RunRecord(**base, success=True, scores={fn: 1.0}), 1, 3)
    reporter.run_finished(RunRecord(**base, success=False, error="boom"), 2, 3)
    record = RunRecord(**base, success=True, scores={fn: 0.0}, score_errors={"other:fn": "x"})
    reporter.run_finished(record, 3, 3)
    assert reporter._progress_text() == (
        "rollouts  mean numbers_match_reward 0.500  errors 2"
    )
