"""The set-up message of `test`/`eval`: a silent start of several seconds (litellm's import) looks hung."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from osmosis_local.commands import run_report
from osmosis_local.commands.run_report import EvalReporter


@pytest.mark.parametrize("reporter_class", [EvalReporter, run_report.TestReporter])
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
