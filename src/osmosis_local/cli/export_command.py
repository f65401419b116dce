"""`osmosis-local export LOG --format inspect -o FILE`: a transcript log in another tool's format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser("export", help="write a transcript log in another tool's format (inspect_ai)")
    export.add_argument("source", metavar="LOG", help="a transcript log (.jsonl) or an -o results file (.json)")
    export.add_argument("--format", choices=("inspect",), default="inspect", help="inspect: an inspect_ai .eval log")
    export.add_argument("-o", "--output", required=True, help="the file to write, e.g. run.eval")
    export.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from osmosis_local.errors import EXIT_FAILED, EXIT_OK, LogReadError
    from osmosis_local.reports.inspect_export import export_inspect

    try:
        written = export_inspect(Path(args.source), Path(args.output))
    except LogReadError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"inspect_ai log written to {written} (open it: inspect view --log-dir {written.parent})", file=sys.stderr)
    return EXIT_OK
