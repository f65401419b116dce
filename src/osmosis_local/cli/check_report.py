"""What `osmosis-local check` prints: the report as rich text (findings by folder) or JSON, keys redacted."""

from __future__ import annotations

import contextlib
import os
import sys
import textwrap

from rich.console import Console
from rich.text import Text

from osmosis_local.checks import CheckConfig, CheckReport, check_repository
from osmosis_local.checks.findings import AREAS, Area, Finding
from osmosis_local.checks.links import CONTENT_FOLDERS
from osmosis_local.llm.provider_keys import key_redactor
from osmosis_local.redaction import Redactor
from osmosis_local.safe_text import model_json, strip_controls

__all__ = ["run_check", "render_report"]

_SECRET_SUFFIXES = ("_API_KEY", "_KEY", "_TOKEN", "_SECRET")

_AREA_TITLES = {
    "mcp": "mcp/",
    "reward_fn": "reward_fn/",
    "reward_rubric": "reward_rubric/",
    "rollout_server": "rollout_server/",
    "dataset": "datasets",
    "probes": "reward probes",
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _folder(finding: Finding) -> Area:
    """Where a finding is listed: the content folder its file is in (a probe's finding under its reward's
    folder), else its own area."""
    return CONTENT_FOLDERS.get((finding.file or "").split("/", 1)[0], finding.area)


def _wrapped(parts: list[tuple[str, str]], width: int, indent: int = 12) -> Text:
    """(text, style) parts as one paragraph wrapped at word boundaries to ``width``, later lines indented."""
    plain = "".join(text for text, _ in parts)
    lines = textwrap.wrap(plain, width=max(40, width), subsequent_indent=" " * indent, break_long_words=False,
                          break_on_hyphens=False, drop_whitespace=True) or [plain]  # fmt: skip
    lead = len(plain) - len(plain.lstrip(" "))
    text = Text(" " * lead + "\n".join(lines).lstrip(" "))
    offset = 0
    for chunk, style in parts:  # the styled parts are on the first line (the mark and the place)
        if style:
            text.stylize(style, offset, offset + len(chunk))
        offset += len(chunk)
    return text


def render_report(report: CheckReport, console: Console) -> None:
    """Findings grouped by the folder they are about, each with its place and hint (wrapped at word
    boundaries), then a summary line."""
    failed_probes = sum(not p.ok for p in report.probes)
    for area in AREAS:
        items = [f for f in report.findings if _folder(f) == area]
        errors = sum(f.severity == "error" for f in items)
        status = (
            Text("not checked (the check stopped before it)", style="bold red")
            if area in report.unchecked
            else Text("not run (no probe-able reward, or no valid rows)", style="dim")
            if area == "probes" and not items and not report.probes
            else Text(f"{_count(len(report.probes), 'probe')}, {failed_probes} failed (listed under each "
                      "reward's folder)", style="yellow")  # fmt: skip
            if area == "probes" and not items and failed_probes
            else Text("none (Local Rollout only)", style="dim")
            if area == "rollout_server" and not items and report.agent_loop is None
            else Text("ok", style="green")
            if not items
            else Text(
                f"{_count(errors, 'error')}, {_count(len(items) - errors, 'warning')}",
                style="red" if errors else "yellow",
            )
        )
        console.print(Text.assemble((_AREA_TITLES[area], "bold"), "  ", status))
        for finding in items:
            mark = ("  ✗ error   ", "red") if finding.severity == "error" else ("  ! warning ", "yellow")
            place = strip_controls(finding.place) + "  " if finding.place else ""
            console.print(_wrapped([mark, (place, "cyan"), (strip_controls(finding.message), "")], console.width),
                          soft_wrap=True)  # fmt: skip
            console.print(_wrapped([("            fix: ", ""), (strip_controls(finding.hint), "dim")], console.width,
                                   indent=17), soft_wrap=True)  # fmt: skip
    failed = sum(not p.ok for p in report.probes)
    rows = sum(d.rows for d in report.datasets)
    summary = (
        f"{_count(len(report.tools), 'tool')}, {_count(len(report.scorers), 'scorer')}, "
        f"{_count(len(report.datasets), 'dataset')} ({_count(rows, 'row')}), "
        f"{_count(len(report.probes), 'probe')} ({failed} failed): "
        f"{_count(report.errors, 'error')}, {_count(report.warnings, 'warning')} in {report.duration_s:.1f} s"
    )
    if report.unchecked:
        summary += f"; stopped early, {_count(len(report.unchecked), 'area')} not checked"
    console.print(_wrapped([(summary, "bold red" if report.errors else "bold green")], console.width, indent=2),
                  soft_wrap=True)  # fmt: skip


def _redactor() -> Redactor:
    """The providers' key variables, and any variable named like a key, token or secret."""
    named = [value for name, value in os.environ.items() if name.endswith(_SECRET_SUFFIXES) and len(value) >= 8]
    return key_redactor(named)


def run_check(config: CheckConfig, *, output_format: str, strict: bool = False) -> int:
    """Run the checks and print them; 1 if any finding is an error (any finding at all if `strict`), else 0.

    Content code that never returns while it is imported stops the check after ``config.step_timeout`` seconds:
    the report so far is printed, with where it is stuck, and the process ends (the stuck code cannot be)."""
    real_stdout = sys.stdout

    def stuck(report: CheckReport) -> None:
        sys.stdout = real_stdout
        print_report(report, output_format=output_format)
        from osmosis_local.user_code import exit_now

        exit_now(1)

    def slow(step: str) -> None:
        sys.stderr.write(f"check: {step}...\n")
        sys.stderr.flush()

    with contextlib.redirect_stdout(sys.stderr):  # what content code prints must not corrupt the JSON
        report = check_repository(config, on_stuck=stuck, on_slow=slow)
    print_report(report, output_format=output_format)
    return 0 if report.ok and not (strict and report.warnings) else 1


def print_report(report: CheckReport, *, output_format: str) -> None:
    """The report as JSON or text on stdout, every key in the environment redacted."""
    # An exception text may quote a key (a module that raises with its config): nothing printed keeps one.
    report = CheckReport.model_validate_json(_redactor()(model_json(report)))
    if output_format == "json":
        sys.stdout.write(model_json(report, indent=2) + "\n")
    else:
        width = None if sys.stdout.isatty() else 160
        render_report(report, Console(highlight=False, soft_wrap=True, width=width))
