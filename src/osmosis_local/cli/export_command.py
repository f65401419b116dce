"""`osmosis-local export LOG --format inspect -o FILE`: a transcript log in another tool's format."""

from __future__ import annotations

import argparse
import sys


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser("export", help="write a transcript log in another tool's format (inspect_ai)")
    export.add_argument("source", metavar="LOG", help="a transcript log (.jsonl) or an -o results file (.json)")
    export.add_argument("--format", choices=("inspect",), default="inspect", help="inspect: an inspect_ai .eval log")
    export.add_argument("-o", "--output", required=True,
                        help="the file to write: .eval (inspect_ai's binary log) or .json")  # fmt: skip
    export.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from osmosis_local.config.paths import absolute, check_outputs
    from osmosis_local.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, LogReadError, OutputPathError
    from osmosis_local.reports.inspect_export import export_inspect
    from osmosis_local.safe_text import strip_controls

    source, target = absolute(args.source), absolute(args.output)
    try:
        check_outputs({"-o": target}, {"the log being exported": source}, suffixes={"-o": (".eval", ".json")})
        written = export_inspect(source, target)
    except OutputPathError as exc:
        print(f"Error: {strip_controls(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except (LogReadError, OSError) as exc:
        print(f"Error: {strip_controls(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    print(f"inspect_ai log written to {written} (open it: inspect view --log-dir {written.parent})", file=sys.stderr)
    return EXIT_OK
