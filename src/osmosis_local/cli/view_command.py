"""`osmosis-local view LOG_OR_RESULTS [-o report.html] [--open]`: write the self-contained HTML report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from osmosis_local.errors import SetupError
from osmosis_local.reports.html import load_report_input, render_report
from osmosis_local.runner.session import run_redactor_for_keys


def run_view(args: argparse.Namespace) -> int:
    source = Path(args.source)
    target = Path(args.output) if args.output else source.with_suffix(".html")
    try:
        result, records = load_report_input(source)
    except SetupError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    page = run_redactor_for_keys()(render_report(result, records))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    print(f"Report written to {target} ({len(records)} runs, {len(page) // 1024} KB)", file=sys.stderr)
    if args.open:
        import webbrowser

        webbrowser.open(target.resolve().as_uri())
    return 0
