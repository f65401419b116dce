"""`osmosis-local view LOG_OR_RESULTS [-o report.html] [--open]`: write the self-contained HTML report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    view = commands.add_parser("view", help="write one self-contained HTML report of a transcript log or results file")
    view.add_argument(
        "source", metavar="LOG_OR_RESULTS", help="a transcript log (.jsonl) or an -o results file (.json)"
    )
    view.add_argument("-o", "--output", help="the HTML file (default: next to the input, .html)")
    view.add_argument("--open", action="store_true", help="open it in the default browser")
    view.add_argument("--by", action="append", metavar="COLUMN",
                      help="break the scores down by this dataset column (repeatable; default: every short column "
                           "with 2 to 20 values, e.g. num_steps)")  # fmt: skip
    view.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from osmosis_local.config.paths import absolute, check_outputs
    from osmosis_local.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, LogReadError, OutputPathError
    from osmosis_local.llm.provider_keys import key_redactor
    from osmosis_local.reports.html import open_report_input, render_report
    from osmosis_local.safe_text import strip_controls

    source = absolute(args.source)
    target = absolute(args.output) if args.output else source.with_suffix(".html")
    try:
        result, loaded = open_report_input(source)  # the figures; each transcript is read when the page gets to it
        records = loaded.records
        check_outputs({"-o": target}, {"the report's input": source, "its transcript log": Path(result.transcript_log)})
        page = key_redactor()(render_report(result, records, by=args.by, whole=loaded.with_transcripts))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
    except OutputPathError as exc:
        print(f"Error: {strip_controls(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except (LogReadError, OSError) as exc:
        print(f"Error: {strip_controls(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Report written to {target} ({len(records)} runs, {len(page) // 1024} KB)", file=sys.stderr)
    if args.open:
        import webbrowser

        webbrowser.open(target.resolve().as_uri())
    return EXIT_OK
