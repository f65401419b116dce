"""Console output for `test` and `eval`: header, a rich progress bar with ETA, per-run lines, tables.

Progress and per-run lines go to stderr and the final tables to stdout, so `-o` JSON and shell
pipelines stay clean; `-q` silences everything but errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from osmosis_local import __version__
from osmosis_local.console_format import format_duration, format_score, shorten


class _Reporter:
    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        # Wide tables when piped to a file or CI log, where rich would otherwise assume 80 columns.
        width = None if sys.stdout.isatty() else 160
        self.out = Console(highlight=False, soft_wrap=True, width=width)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True, width=width)
        self.progress: Progress | None = None
        self._task: Any = None
        self._status: Any = None
        self._said_preparing = False

    def preparing(self, step: str) -> None:
        """Say what set-up is doing: importing litellm alone takes seconds, and a silent start looks hung.

        A terminal gets a spinner naming the step (gone once the header prints); a log gets one line.
        """
        if self.quiet:
            return
        if self.err.is_terminal:
            if self._status is None:
                self._status = self.err.status(f"Preparing: {step}...")
                self._status.start()
            else:
                self._status.update(f"Preparing: {step}...")
        elif not self._said_preparing:
            self.err.print("Preparing: dataset, eval functions, MCP tools, model client, preflight request...", markup=False)
        self._said_preparing = True

    def end_preparing(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def error(self, message: str) -> None:
        self.end_preparing()
        self.err.print(f"[bold red]Error:[/] {message}", markup=True, highlight=False)

    def setup_failed(self, exc: BaseException, *, debug: bool) -> None:
        """One line saying what to fix; with --debug also the full chain behind it."""
        self.error(str(exc))
        if debug:
            import traceback

            self.err.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)

    def note(self, message: str) -> None:
        if not self.quiet:
            self.err.print(message, markup=False)

    def start_progress(self, *, total: int, completed: int = 0) -> None:
        if self.quiet:
            return
        self.progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
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
        console.print(text, markup=False, highlight=False)
        if self.progress is not None:
            self.progress.advance(self._task)


class EvalReporter(_Reporter):
    """What `eval` prints (contract §7 console, plus errors and the baseline comparison)."""

    def header(self, args: argparse.Namespace, models: list[Any], eval_fns: list[Any], n_rows: int,
               tools: list[dict[str, Any]], warnings: list[str], log_path: Any, *, resumed: int) -> None:
        if self.quiet:
            return
        self.err.print(f"osmosis-eval v{__version__} (osmosis-local)", markup=False)
        for m in models:
            endpoint = m.client.config.api_base or "provider default"
            self.err.print(f"  {m.tag.capitalize()} model: {m.display_name}  [{endpoint}]", markup=False)
        for fn in eval_fns:
            self.err.print(f"  Eval fn: {fn.name} ({fn.mode} mode)", markup=False)
        self.err.print(f"  Rows: {n_rows}  Runs per row: {args.n}  Batch size: {args.batch_size}  Tools: {len(tools)}", markup=False)
        self.err.print(f"  Transcript log: {log_path}" + (f" (resuming: {resumed} runs already done)" if resumed else ""), markup=False)
        for warning in warnings:
            self.err.print(f"  [yellow]Warning:[/] {warning}", highlight=False)

    def run_finished(self, record: dict[str, Any], done: int, total: int) -> None:
        status = "OK" if record["success"] else "FAILED"
        scores = ", ".join(f"{name}={value:.3f}" for name, value in record["scores"].items())
        errors = ", ".join(f"{name}=ERROR" for name in record.get("score_errors") or {})
        parts = ", ".join(p for p in (scores, errors) if p)
        line = (
            f"[{done}/{total}] [row {record['row_index']} run {record['run_index']} {record['model_tag']}] {status} "
            f"({format_duration(record['duration_ms'])}, {record['tokens']} tokens)"
        )
        if parts:
            line += f" [{parts}]"
        if record.get("error"):
            line += f" - {shorten(record['error'], 80)}"
        self._line(line)

    def final_report(self, output: dict[str, Any]) -> None:
        if self.quiet:
            return
        summary = output["summary"]
        config = output["config"]
        self.out.print()
        self.out.print(
            f"Rows: {summary['total_rows']}  Runs per row: {config['n_runs']}  Total runs: {summary['total_runs']}  "
            f"Failed runs: {summary['failed_runs']}  Duration: {format_duration(summary['total_duration_ms'])}  "
            f"Total tokens: {summary['total_tokens']}",
            markup=False,
        )
        if summary.get("stopped_early"):
            self.out.print(f"[bold red]Stopped early:[/] {summary.get('stop_reason')}")
        if summary.get("judge_usage"):
            j = summary["judge_usage"]
            self.out.print(f"Judge calls: {j['calls']} (+{j['cache_hits']} cached), judge tokens: {j['total_tokens']}", markup=False)
        per_model = output.get("model_summaries") or [
            {"model": config["model"], "model_tag": "primary", "total_runs": summary["total_runs"],
             "total_tokens": summary["total_tokens"], "eval_fns": summary["eval_fns"],
             "total_duration_ms": sum(run["duration_ms"] for row in output["rows"] for run in row["runs"])}
        ]
        perf = Table(title="Performance")
        for col in ("Model", "Runs", "Avg Latency", "Avg Tokens"):
            perf.add_column(col)
        for m in per_model:
            runs = max(1, m["total_runs"])
            perf.add_row(m["model"], str(m["total_runs"]), format_duration(m["total_duration_ms"] / runs), f"{m['total_tokens'] / runs:.0f}")
        self.out.print(perf)
        results = Table(title="Eval Results")
        pass_keys = sorted({k for m in per_model for s in m["eval_fns"].values() for k in s if k.startswith("pass_at_")},
                           key=lambda k: int(k.split("_")[-1]))
        for col in ("Eval Function", "Model", "Mean", "Min", "Max", "Std", *[k.replace("pass_at_", "pass@") for k in pass_keys], "Scored", "Errors", "Unscored"):
            results.add_column(col)
        for name in config["eval_fns"]:
            for m in per_model:
                s = m["eval_fns"][name]
                results.add_row(name, m["model"], format_score(s.get("mean")), format_score(s.get("min")), format_score(s.get("max")),
                                format_score(s.get("std")), *[format_score(s.get(k)) for k in pass_keys],
                                str(s["scored"]), str(s["errors"]), str(s["unscored"]))
        self.out.print(results)
        if output.get("comparison"):
            comp = Table(title="Baseline comparison (paired by row and run)")
            for col in ("Eval Function", "Wins", "Losses", "Ties", "Unpaired", "Win rate"):
                comp.add_column(col)
            for name, c in output["comparison"].items():
                comp.add_row(name, str(c["wins"]), str(c["losses"]), str(c["ties"]), str(c["unpaired"]), format_score(c.get("win_rate")))
            self.out.print(comp)
        self.out.print(f"Transcripts: {output['transcript_log']}", markup=False)


class TestReporter(_Reporter):
    """What `test` prints (contract §6 console)."""

    def header(self, model_name: str, n_rows: int, tools: list[dict[str, Any]], warnings: list[str], log_path: Any) -> None:
        if self.quiet:
            return
        self.err.print(f"osmosis-rollout-test v{__version__} (osmosis-local)", markup=False)
        self.err.print(f"  Model: {model_name}  Rows: {n_rows}  Tools: {len(tools)}  Transcript log: {log_path}", markup=False)
        for warning in warnings:
            self.err.print(f"  [yellow]Warning:[/] {warning}", highlight=False)

    def row_finished(self, index: int, total: int, record: dict[str, Any]) -> None:
        status = "OK" if record["success"] else "FAILED"
        line = f"[{index}/{total}] Row {record['row_index']}: {status} ({format_duration(record['duration_ms'])}, {record['token_usage'].get('total_tokens', 0)} tokens)"
        if record.get("error"):
            line += f" - {shorten(record['error'])}"
        self._line(line)

    def summary(self, output: dict[str, Any]) -> None:
        if self.quiet:
            return
        s = output["summary"]
        self.out.print()
        self.out.print(
            f"Total: {s['total']}  Passed: {s['passed']}  Failed: {s['failed']}  "
            f"Duration: {format_duration(s['total_duration_ms'])}  Total tokens: {s['total_tokens']}",
            markup=False,
        )
        if s.get("stopped_early"):
            self.out.print(f"[bold red]Stopped early:[/] {s.get('stop_reason')}")
        reasons = s.get("finish_reasons") or {}
        if reasons:
            self.out.print("Finish reasons: " + ", ".join(f"{k}={v}" for k, v in sorted(reasons.items())), markup=False)
        self.out.print(f"Transcripts: {output['transcript_log']}", markup=False)
