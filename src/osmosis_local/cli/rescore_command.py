"""`osmosis-local rescore LOG --eval-fn ...`: the rescore core with the eval console reporter as its hooks."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from osmosis_local.cli.console import EvalReporter
from osmosis_local.config import FailUnder
from osmosis_local.content.eval_fns import duplicate_spec_problem
from osmosis_local.errors import EXIT_FAILED, EXIT_USAGE, SetupError
from osmosis_local.runner.rescore import RescoreConfig, arescore
from osmosis_local.runner.session import run_redactor_for_keys


def run_rescore(args: argparse.Namespace) -> int:
    """Convert the flags once, rescore, and return the exit code (that of the eval result)."""
    problem = duplicate_spec_problem(args.eval_fn)
    reporter = EvalReporter(quiet=args.quiet, redactor=run_redactor_for_keys())
    if problem:
        reporter.error(problem)
        return EXIT_USAGE
    try:
        gate = FailUnder.parse(args.fail_under or [])
    except ValueError as exc:
        reporter.error(str(exc))
        return EXIT_USAGE
    config = RescoreConfig(
        log=Path(args.log), eval_fns=list(args.eval_fn), output=Path(args.output) if args.output else None,
        new_log=Path(args.new_log) if args.new_log else None, pass_threshold=args.pass_threshold,
        batch_size=args.batch_size, fail_under=gate,
    )  # fmt: skip
    try:
        result = asyncio.run(arescore(config, reporter))
    except SetupError as exc:
        reporter.setup_failed(exc, debug=args.debug)
        return EXIT_FAILED
    return result.exit_code
