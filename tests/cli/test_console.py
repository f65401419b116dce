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
    assert reporter._progress_text() == "mean numbers_match_reward 0.500  errors 2"


FN = "reward_fn.compute_reward:numbers_match_reward"
TOOL_FN = "reward_fn.tool_use_reward:tool_use_reward"


def _reporter_at(width: int, tmp_path, show: str = "all") -> tuple[EvalReporter, io.StringIO]:
    from osmosis_local.redaction import Redactor
    from osmosis_local.runner.evaluation import EvalPlan

    reporter = EvalReporter(quiet=False, show=show)
    screen = io.StringIO()
    reporter.err = Console(file=screen, width=width, force_terminal=True, color_system=None)
    plan = EvalPlan(models=[], eval_fns=[(FN, "simple"), (TOOL_FN, "full")], rows=240, runs_per_row=1,
                    batch_size=1, tools=8, warnings=[], log_path=tmp_path / "a-rather-long-log-name.jsonl",
                    total=240, resumed=0, redactor=Redactor(), pass_threshold=1.0)  # fmt: skip
    reporter.started(plan)
    return reporter, screen


def _records():
    from osmosis_local.log.records import RunRecord

    base = dict(key="k", command="eval", model="m", duration_ms=12345.0)
    return [
        RunRecord(**base, row_index=101, success=True, finish_reason="stop", scores={FN: 1.0, TOOL_FN: 1.0}),
        RunRecord(**base, row_index=102, success=True, finish_reason="max_turns", scores={FN: 0.0, TOOL_FN: 0.0}),
        RunRecord(**base, row_index=103, success=True, finish_reason="stop", scores={FN: 1.0},
                  score_errors={TOOL_FN: "ValueError: the messages hold no assistant turn at all, " * 3}),
        RunRecord(**base, row_index=104, success=False, finish_reason="error",
                  error="ProviderRequestError: the endpoint answered 400 Bad Request: " + "details " * 30),
    ]  # fmt: skip


@pytest.mark.parametrize("width", [80, 160])
def test_per_run_lines_use_short_names_show_why_and_fit_the_width(tmp_path, width: int) -> None:
    reporter, screen = _reporter_at(width, tmp_path)
    for i, record in enumerate(_records(), 1):
        reporter.run_finished(record, i, 240)
    reporter.stop_progress()
    lines = [line.replace("\x1b[2K", "") for line in screen.getvalue().replace("\r", "\n").splitlines()]
    lines = [line for line in lines if line.startswith("[")]
    assert len(lines) == 4 and all(len(line) <= width for line in lines), [len(line) for line in lines]
    assert "reward_fn." not in "".join(lines)  # the legend's short names, never MOD:FN
    assert "] OUT OF TURNS (" in lines[1] and "] FAILED (" in lines[3]
    assert " - ProviderRequestError: the" in lines[3]
    if width == 80:  # two names do not fit: the scores in the order of the header's "Eval fn" lines
        assert lines[0] == "[1/240] [row 101 run 0] OK (12.3s, 0 tokens) [1.000, 1.000]"
        assert "[1.000, ERROR] - tool_use_reward: " in lines[2]
    else:
        assert lines[0].endswith("[numbers_match_reward=1.000, tool_use_reward=1.000]")
        assert "tool_use_reward=ERROR] - tool_use_reward: ValueError: the messages hold no" in lines[2]


def test_show_failures_prints_only_the_runs_that_fell_short(tmp_path) -> None:
    reporter, screen = _reporter_at(160, tmp_path, show="failures")
    for i, record in enumerate(_records(), 1):
        reporter.run_finished(record, i, 240)
    reporter.stop_progress()
    lines = [line.replace("\x1b[2K", "") for line in screen.getvalue().replace("\r", "\n").splitlines()]
    rows = [line.split("[row ")[1].split()[0] for line in lines if line.startswith("[")]
    assert rows == ["102", "103", "104"]  # out of turns, a scorer error, failed; the clean run is not printed


def test_the_progress_line_keeps_both_times_at_80_columns(tmp_path) -> None:
    reporter, _ = _reporter_at(80, tmp_path)
    for i, record in enumerate(_records(), 1):
        reporter.run_finished(record, i, 240)
    assert reporter.progress is not None
    table = reporter.progress.make_tasks_table(reporter.progress.tasks)
    shown = Console(file=io.StringIO(), width=80, color_system=None)
    with shown.capture() as capture:
        shown.print(table)
    line = capture.get().rstrip("\n")
    reporter.stop_progress()
    assert len(line) <= 80 and "…" not in line.split("ETA")[1], line
    assert "4/240" in line and "ETA" in line and line.count(":") >= 4, line  # elapsed and remaining, uncut
