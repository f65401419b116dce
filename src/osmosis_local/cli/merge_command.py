"""`osmosis-local merge LOG... [-o result.json] [--log merged.jsonl]`: the shards of one eval as one eval."""

from __future__ import annotations

import argparse
import sys


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    merge = commands.add_parser(
        "merge", help="put the transcript logs of an eval's shards (eval --shard K/N) back together as one eval"
    )
    merge.add_argument("logs", nargs="+", metavar="LOG", help="the shards' transcript logs")
    merge.add_argument("-o", "--output", help="write the merged result as JSON (what eval -o writes)")
    merge.add_argument("--log", help="write the merged transcript log (rescore, view, export and --resume take it)")
    merge.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    merge.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from osmosis_local.cli.console import EvalReporter
    from osmosis_local.errors import EXIT_FAILED, EXIT_USAGE, LogReadError, OutputPathError, SettingsMismatchError
    from osmosis_local.runner.merge import merge_logs
    from osmosis_local.safe_text import strip_controls

    try:
        result = merge_logs(args.logs, output=args.output, new_log=args.log)
    except (OutputPathError, SettingsMismatchError) as exc:
        print(f"Error: {strip_controls(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except (LogReadError, OSError) as exc:
        print(f"Error: {strip_controls(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    reporter = EvalReporter(quiet=args.quiet)
    if not args.quiet:
        print(f"Merged {len(args.logs)} logs: {result.summary.total_runs} runs of {result.summary.expected_runs}",
              file=sys.stderr)  # fmt: skip
        if args.output:
            print(f"Results written to {args.output}", file=sys.stderr)
    reporter.finished(result)
    return result.exit_code
