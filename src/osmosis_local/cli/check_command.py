"""`osmosis-local check [PATH]`: inspect a content repository as the platform would; exit 1 on any error."""

from __future__ import annotations

import argparse
from pathlib import Path

from osmosis_local.cli.arguments import non_negative_int, positive_float


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check", help="inspect a content repository as the platform would (no model, no network); exit 1 on errors"
    )
    check.add_argument("path", nargs="?", default=".", metavar="PATH", help="the repository (default: .)")
    check.add_argument("-d", "--dataset", dest="datasets", action="append", default=[], metavar="FILE",
                       help="a dataset to check besides PATH/test_data.jsonl (repeatable)")  # fmt: skip
    check.add_argument("--eval-fn", dest="eval_fns", action="append", default=[], metavar="MOD:FN",
                       help="reward for the ground-truth self-check (repeatable; default: each reward_fn/ one)")
    check.add_argument("--format", dest="output_format", choices=("text", "json"), default="text",
                       help="text (default) or json (the schema is in the README)")  # fmt: skip
    check.add_argument("--no-serve", action="store_true", help="skip serving mcp/main.py to compare its tools")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too (for CI that wants none)")
    check.add_argument("--probe-rows", type=non_negative_int, default=5, metavar="N",
                       help="rows each deterministic reward is probed on (default: 5; 0 = no probes)")  # fmt: skip
    check.add_argument("--step-timeout", type=positive_float, default=60.0, metavar="S",
                       help="seconds importing each content folder may take before check stops, naming the file and "
                            "line it is stuck at (default: 60)")  # fmt: skip
    check.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from osmosis_local.checks import CheckConfig
    from osmosis_local.cli.check_report import run_check

    config = CheckConfig(
        path=Path(args.path), datasets=[Path(d) for d in args.datasets], eval_fns=args.eval_fns,
        serve=not args.no_serve, probe_rows=args.probe_rows, step_timeout=args.step_timeout,
    )  # fmt: skip
    return run_check(config, output_format=args.output_format, strict=args.strict)
