"""Console output for `test` and `eval`: a set-up spinner, a header, a progress bar, per-run lines, tables.

The reporters are the runs' hooks. Progress and per-run lines go to stderr and the final tables to
stdout, so pipelines stay clean; `-q` silences everything but errors. Nothing from a user, a dataset, a
model or a provider is ever read as rich markup, and every line passes through the run's `Redactor`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from osmosis_local import __version__
from osmosis_local.cli.format import (
    cost_line,
    format_duration,
    format_interval,
    format_p,
    format_score,
    format_signed,
    shorten,
)
from osmosis_local.log.records import END_STATE_LABELS, EndState, RunRecord
from osmosis_local.log.results import EvalFnStats, EvalResult, RolloutTestResult, RolloutTestRowResult
from osmosis_local.redaction import NO_SECRETS, Redactor
from osmosis_local.runner.evaluation import EvalHooks, EvalPlan
from osmosis_local.runner.rollout_test import RolloutTestHooks
from osmosis_local.safe_text import clean, strip_controls


@contextlib.contextmanager
def debug_logging(enabled: bool, redactor: Redactor) -> Iterator[None]:
    """``--debug``: DEBUG logs on stderr for the block, every line redacted."""
    if not enabled:
        yield
        return
    from osmosis_local.redaction import redacting_logging

    with redacting_logging(redactor):
        yield


class ConsoleReporter:
    """What both commands print around their runs."""

    def __init__(self, *, quiet: bool, redactor: Redactor = NO_SECRETS) -> None:
        self.quiet = quiet
        self.redact = redactor
        # Wide tables when piped to a file or CI log, where rich would otherwise assume 80 columns.
        width = None if sys.stdout.isatty() else 160
        self.out = Console(highlight=False, soft_wrap=True, width=width)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True, width=width)
        self.progress: Progress | None = None
        self._task: Any = None
        self._status: Any = None
        self._said_preparing = False

    def _print(self, console: Console, *parts: str | tuple[str, str]) -> None:
        """Plain text, or (text, style) pairs; never parsed as markup, always redacted, and stripped of terminal
        control sequences (an endpoint's error text or a tool's output must not drive the terminal)."""
        text = Text.assemble(*((self._safe(p), "") if isinstance(p, str) else (self._safe(p[0]), p[1]) for p in parts))
        console.print(text, highlight=False, soft_wrap=True)

    def _safe(self, text: str) -> str:
        return strip_controls(clean(self.redact(text)))

    def preparing(self, step: str) -> None:
        """Say what set-up is doing: importing litellm alone takes seconds, and a silent start looks hung.

        A terminal gets a spinner naming the step (gone once the header prints); a log gets one line.
        """
        if self.quiet:
            return
        if self.err.is_terminal:
            label = Text(f"Preparing: {step}...")
            if self._status is None:
                self._status = self.err.status(label)
                self._status.start()
            else:
                self._status.update(label)
        elif not self._said_preparing:
            self._print(self.err, "Preparing: dataset, eval functions, MCP tools, model client, preflight request...")
        self._said_preparing = True

    def end_preparing(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def error(self, message: str) -> None:
        self.end_preparing()
        self.stop_progress()
        self._print(self.err, ("Error:", "bold red"), " ", message)

    def setup_failed(self, exc: BaseException, *, debug: bool) -> None:
        """One line saying what to fix; with --debug also the full chain behind it."""
        self.error(str(exc))
        if debug:
            import traceback

            self._print(self.err, "".join(traceback.format_exception(exc)))

    def note(self, message: str) -> None:
        if not self.quiet:
            self._print(self.err, message)

    def warning(self, message: str) -> None:
        if not self.quiet:
            self._print(self.err, ("  Warning:", "yellow"), " ", message)

    def start_progress(self, *, total: int, completed: int = 0) -> None:
        if self.quiet:
            return
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=PROGRESS_BAR_WIDTH),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.err,
            transient=True,
        )
        self.progress.start()
        self._task = self.progress.add_task("rollouts", total=total, completed=completed)

    def stop_progress(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def _line(self, text: str) -> None:
        if self.quiet:
            return
        console = self.progress.console if self.progress is not None else self.err
        self._print(console, text)
        self._advance()

    def _advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self._task)


WIDE_TABLE_COLUMNS = 120
PROGRESS_BAR_WIDTH = 16
# What the progress line needs besides its label: the bar, "1234/5678", the elapsed time, "ETA" and the time left
# (with rich's spaces between columns); the label gets the rest of the width.
PROGRESS_COLUMNS = PROGRESS_BAR_WIDTH + 11 + 8 + 4 + 8 + 5  # below this a terminal gets the stacked results table


def short_names(fns: list[str]) -> dict[str, str]:
    """``mod:fn`` shown as ``fn`` where that is unambiguous (a legend maps them back)."""
    tails = [fn.rpartition(":")[2] for fn in fns]
    return {fn: tail if tails.count(tail) == 1 else fn for fn, tail in zip(fns, tails, strict=True)}


def _pass_at(k: int) -> Callable[[EvalFnStats], str]:
    return lambda st: format_score(st.pass_at().get(k))


def _has_all_runs_column(stats: list[EvalFnStats]) -> bool:
    return any(s.mean != s.mean_all_runs for s in stats)


def end_state_line(counts: dict[EndState, int]) -> list[str | tuple[str, str]]:
    """``Answered: 3  Out of turns: 1  Cut off: 0  Failed: 0``: how the runs ended, every state shown."""
    parts: list[str | tuple[str, str]] = []
    for state, count in counts.items():
        style = "" if not count else "green" if state == "answered" else "red"
        parts += [("  " if parts else "") + f"{END_STATE_TITLES[state]}: ", (str(count), style)]
    return parts


END_STATE_TITLES: dict[EndState, str] = {
    "answered": "Answered", "out_of_turns": "Out of turns", "cut_off": "Cut off", "error": "Failed"
}  # fmt: skip


class EvalReporter(ConsoleReporter, EvalHooks):
    """What `eval` prints."""

    _log_path: Path | None = None  # set once the run has started
    _done = 0  # runs in the log (resumed ones included)
    _short: dict[str, str] = {}  # noqa: RUF012 - replaced per run in `started`
    _baseline = False
    _threshold = 1.0

    def __init__(self, *, quiet: bool, redactor: Redactor = NO_SECRETS, show: str = "all") -> None:
        super().__init__(quiet=quiet, redactor=redactor)
        self.show = show  # "all" runs, or only the "failures" (not answered, scorer error, below threshold)

    def started(self, plan: EvalPlan) -> None:
        self.redact = plan.redactor
        self._log_path, self._done = plan.log_path, plan.resumed
        self._first_fn = plan.eval_fns[0][0] if plan.eval_fns else None
        self._short = short_names([name for name, _ in plan.eval_fns])
        self._baseline = len(plan.models) > 1
        self._threshold = plan.pass_threshold
        self._sum, self._scored, self._errors = 0.0, 0, 0
        self.end_preparing()
        if not self.quiet:
            title = "osmosis-eval" if plan.models else "osmosis-rescore (no rollouts: the saved runs are scored)"
            self._print(self.err, f"{title} v{__version__} (osmosis-local)")
            for m in plan.models:
                self._print(
                    self.err, f"  {m.tag.capitalize()} model: {m.display_name}  [{m.base_url or 'provider default'}]"
                )
            for name, mode in plan.eval_fns:
                self._print(self.err, f"  Eval fn: {name} ({mode} mode)")
            self._print(
                self.err,
                f"  Rows: {plan.rows}  Runs per row: {plan.runs_per_row}  Batch size: {plan.batch_size}  "
                f"Tools: {plan.tools}",
            )
            resumed = f" (resuming: {plan.resumed} runs already done)" if plan.resumed else ""
            self._print(self.err, f"  Transcript log: {plan.log_path}{resumed}")
            for warning in plan.warnings:
                self.warning(warning)
        self.start_progress(total=plan.total, completed=plan.resumed)

    def _progress_text(self) -> str:
        """The progress bar's label: the running mean of the first eval function and the error count, cut so the
        bar, the counts and both times still fit on an 80-column line."""
        limit = max(12, self.err.width - PROGRESS_COLUMNS)
        if self._first_fn is None:
            return f"errors {self._errors}"
        mean = f"{self._sum / self._scored:.3f}" if self._scored else "-"
        text = f"mean {self._short.get(self._first_fn, self._first_fn)} {mean}  errors {self._errors}"
        if len(text) > limit:
            text = f"mean {mean}  errors {self._errors}"
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def interrupted(self) -> None:
        """Ctrl-C: say what the log holds (and whether --resume has anything to continue from)."""
        if self._log_path is None:
            self.error("Interrupted before the first rollout; nothing was written.")
        elif self._done == 0:
            self.error(f"Interrupted before any run finished; the log {self._log_path} holds no runs.")
        else:
            self.error(f"Interrupted: {self._done} finished runs are in {self._log_path}; "
                       f"rerun with --resume {self._log_path} to continue.")  # fmt: skip

    def run_finished(self, record: RunRecord, done: int, total: int) -> None:
        self._done = done
        self._errors += (not record.success) + len(record.score_errors)
        if record.model_tag == "primary" and self._first_fn in record.scores:
            self._sum += record.scores[self._first_fn]
            self._scored += 1
        if self.progress is not None:
            self.progress.update(self._task, description=self.redact(self._progress_text()))
        if self.show == "failures" and not self._fell_short(record):
            self._advance()
            return
        self._line(self._run_line(record, done, total))

    def _fell_short(self, record: RunRecord) -> bool:
        """Not answered, a scorer error, or a score below --pass-threshold: what ``--show failures`` prints."""
        below = any(score < self._threshold for score in record.scores.values())
        return not record.answered or bool(record.score_errors) or below

    def _run_line(self, record: RunRecord, done: int, total: int) -> str:
        """``[3/12] [row 1 run 0] OK (1.2s, 345 tokens) [numbers_match_reward=1.000]``, with the reason a run
        failed or a scorer raised after `` - ``, cut to fit the console's width on one line."""
        tag = "" if record.model_tag == "primary" and not self._baseline else f" {record.model_tag}"
        status = END_STATE_LABELS[record.end_state]
        line = (
            f"[{done}/{total}] [row {record.row_index} run {record.run_index}{tag}] {status} "
            f"({format_duration(record.duration_ms)}, {record.tokens} tokens)"
        )
        values = {name: f"{record.scores[name]:.3f}" for name in self._short if name in record.scores}
        values |= {name: "ERROR" for name in self._short if name in record.score_errors}
        named = f" [{', '.join(f'{self._short[name]}={value}' for name, value in values.items())}]"
        bare = f" [{', '.join(values.values())}]"  # in the order of the header's "Eval fn" lines
        width = self.err.width
        line += "" if not values else named if len(line + named) <= width else bare
        why = record.error if record.end_state == "error" else None
        if why is None and record.score_errors:
            name, message = next(iter(record.score_errors.items()))
            why = f"{self._short.get(name, name)}: {message}"
        if why:
            line += " - " + shorten(why, max(24, width - len(line) - 3))
        return line if len(line) <= width else line[: width - 1] + "…"

    def finished(self, result: EvalResult) -> None:
        self.stop_progress()
        if self.quiet:
            for problem in result.summary.problems:
                self.error(problem)
            return
        summary, config = result.summary, result.config
        self.out.print()
        self._print(
            self.out, f"Rows: {summary.total_rows}  Runs per row: {config.n_runs}  Total runs: {summary.total_runs}"
        )
        self._print(self.out, *end_state_line(summary.end_states))
        self._print(
            self.out,
            f"Duration: {format_duration(summary.total_duration_ms)}  Total tokens: {summary.total_tokens}",
        )
        if summary.stopped_early:
            self._print(self.out, ("Stopped early:", "bold red"), " ", summary.stop_reason or "")
        if summary.cost:
            self._print(self.out, cost_line(summary.cost, summary.total_cost_usd))
        for use in summary.replicas:
            out = f", taken out {use.taken_out}x" if use.taken_out else ""
            line = f"Replica ({use.role}) {use.url}: {use.requests} requests, {use.failures} failed{out}"
            self._print(self.out, line)
        if summary.judge_usage:
            j = summary.judge_usage
            self._print(self.out, f"Judge calls: {j.calls} (+{j.cache_hits} cached), judge tokens: {j.total_tokens}")
        per_model = result.model_summaries
        rows_by_model: list[tuple[str, int, int, float, dict[str, EvalFnStats]]] = (
            [(f"{m.model} ({m.model_tag})", m.total_runs, m.total_tokens, m.total_duration_ms, m.eval_fns)
             for m in per_model]  # fmt: skip
            if per_model
            else [
                (
                    config.model,
                    summary.total_runs,
                    summary.total_tokens,
                    summary.run_duration_ms,
                    summary.eval_fns,
                )
            ]
        )
        perf = Table(title="Performance")
        for col in ("Model", "Runs", "Avg Latency", "Avg Tokens"):
            perf.add_column(col)
        for model, runs, tokens, duration, _ in rows_by_model:
            n = max(1, runs)
            perf.add_row(Text(model), str(runs), format_duration(duration / n), f"{tokens / n:.0f}")
        self.out.print(perf)
        all_stats = [s for *_, fns in rows_by_model for s in fns.values()]
        ks = sorted({k for s in all_stats for k in s.pass_at()})
        both_means = _has_all_runs_column(all_stats)
        short = short_names(config.eval_fns)
        figures: list[tuple[str, Callable[[EvalFnStats], str]]] = [
            ("Mean", lambda st: format_score(st.mean)),
            ("95% CI", lambda st: format_interval(st.ci95_low, st.ci95_high)),
        ]
        if both_means:
            figures.append(("Mean (all runs)", lambda st: format_score(st.mean_all_runs)))
        figures += [("Min", lambda st: format_score(st.min)), ("Max", lambda st: format_score(st.max)),
                    ("Std", lambda st: format_score(st.std))]  # fmt: skip
        figures += [(f"pass@{k}", _pass_at(k)) for k in ks]
        figures += [("Scored", lambda st: str(st.scored)), ("Errors", lambda st: str(st.errors)),
                    ("Unscored", lambda st: str(st.unscored))]  # fmt: skip
        if self.out.width >= WIDE_TABLE_COLUMNS:
            results = Table(title="Eval Results")
            for col in ("Eval Function", "Model", *(label for label, _ in figures)):
                results.add_column(col)
            for name in config.eval_fns:
                for model, *_, fns in rows_by_model:
                    results.add_row(Text(short[name]), Text(model), *(value(fns[name]) for _, value in figures))
        else:  # a narrow terminal: one column per eval function and model, one row per figure
            results = Table(title="Eval Results")
            results.add_column("")
            pairs = [(name, model, fns) for name in config.eval_fns for model, *_, fns in rows_by_model]
            for name, model, _ in pairs:
                results.add_column(Text(short[name] + ("" if len(rows_by_model) == 1 else f"\n{model}")))
            for label, value in figures:
                results.add_row(label, *(value(fns[name]) for name, _, fns in pairs))
        self.out.print(results)
        for name in config.eval_fns:
            if short[name] != name:
                self._print(self.out, f"  {short[name]} = {name}")
        if both_means:
            self._print(self.out, "Mean: over scored runs. Mean (all runs): failures and scorer errors count 0.")
        if result.comparison and result.model_summaries:
            primary, baseline = (m.model for m in result.model_summaries)
            comp = Table(title=f"Primary {primary} vs baseline {baseline} (paired by row and run)")
            for col in ("Eval Function", "Mean diff", "95% CI", "p", "Wins", "Losses", "Ties", "Unpaired"):
                comp.add_column(col)
            for name, c in result.comparison.items():
                comp.add_row(
                    Text(short[name]), format_signed(c.mean_delta),
                    format_interval(c.mean_delta_ci95_low, c.mean_delta_ci95_high), format_p(c.p_value),
                    str(c.wins), str(c.losses), str(c.ties), str(c.unpaired),
                )  # fmt: skip
            self.out.print(comp)
            self._print(self.out, "Mean diff: primary - baseline. p: sign-flip test over rows (no difference).")
        if result.changes:
            change = Table(title=f"Change against {result.config.rescore_of}")
            for col in ("Eval Function", "Mean before", "Mean after", "Runs changed", "First changes"):
                change.add_column(col)
            for name, delta in result.changes.items():
                change.add_row(
                    Text(name), format_score(delta.mean_before), format_score(delta.mean_after),
                    str(delta.changed_runs),
                    Text("; ".join(delta.changed[:3]) + (" ..." if len(delta.changed) > 3 else "")),
                )  # fmt: skip
            self.out.print(change)
        self._print(self.out, f"Transcripts: {result.transcript_log}")
        for problem in summary.problems:
            self.error(problem)


class RolloutTestReporter(ConsoleReporter, RolloutTestHooks):
    """What `test` prints."""

    def started(
        self, *, model: str, rows: int, tools: int, warnings: list[str], log_path: Path, redactor: Redactor
    ) -> None:
        self.redact = redactor
        self.end_preparing()
        if not self.quiet:
            self._print(self.err, f"osmosis-rollout-test v{__version__} (osmosis-local)")
            self._print(self.err, f"  Model: {model}  Rows: {rows}  Tools: {tools}  Transcript log: {log_path}")
            for warning in warnings:
                self.warning(warning)
        self.start_progress(total=rows)

    def row_finished(self, index: int, total: int, row: RolloutTestRowResult) -> None:
        status = END_STATE_LABELS[row.end_state]
        line = (
            f"[{index}/{total}] Row {row.row_index}: {status} "
            f"({format_duration(row.duration_ms)}, {row.token_usage.total_tokens} tokens)"
        )
        if row.error:
            line += f" - {shorten(row.error)}"
        self._line(line)

    def finished(self, result: RolloutTestResult) -> None:
        self.stop_progress()
        if self.quiet:
            return
        s = result.summary
        self.out.print()
        self._print(
            self.out,
            f"Total: {s.total}  Passed: {s.passed}  Failed: {s.failed}  "
            f"Duration: {format_duration(s.total_duration_ms)}  Total tokens: {s.total_tokens}",
        )
        self._print(self.out, *end_state_line(s.end_states))
        if s.stopped_early:
            self._print(self.out, ("Stopped early:", "bold red"), " ", s.stop_reason or "")
        if s.finish_reasons:
            self._print(
                self.out, "Finish reasons: " + ", ".join(f"{k}={v}" for k, v in sorted(s.finish_reasons.items()))
            )
        self._print(self.out, f"Transcripts: {result.transcript_log}")
