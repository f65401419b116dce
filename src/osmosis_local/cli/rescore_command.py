"""`osmosis-local rescore LOG --eval-fn ...`: the rescore core with the eval console reporter as its hooks."""

from __future__ import annotations

import argparse

from osmosis_local.cli.arguments import fail_under, finite_float, positive_float, positive_int
from osmosis_local.config.defaults import DEFAULT_REWARD_TIMEOUT_S


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rescore = commands.add_parser(
        "rescore", help="score the saved runs of a transcript log again with other eval functions (no rollouts)"
    )
    rescore.add_argument("log", metavar="LOG", help="a transcript log written by eval (or by rescore)")
    rescore.add_argument("--eval-fn", dest="eval_fns", action="append", required=True, metavar="MOD:FN",
                         help="scorer, repeatable")  # fmt: skip
    rescore.add_argument("-o", "--output", help="write the results as JSON (the eval schema, command: rescore)")
    rescore.add_argument("--log", dest="new_log", metavar="FILE", help="its own transcript log "
                         "(default: .osmosis-local/runs/rescore-<time>.jsonl)")  # fmt: skip
    rescore.add_argument("--pass-threshold", type=finite_float, help="default: the threshold the eval used")
    rescore.add_argument("--batch-size", type=positive_int, default=8, help="runs scored at once (default: 8)")
    rescore.add_argument(
        "--reward-timeout",
        type=positive_float,
        default=DEFAULT_REWARD_TIMEOUT_S,
        help=f"seconds per eval-function call (default: {DEFAULT_REWARD_TIMEOUT_S:g})",
    )
    rescore.add_argument("--fail-under", type=fail_under, action="append", metavar="X|FN=X",
                         help="exit 3 if an eval function's mean over all runs is below X")  # fmt: skip
    rescore.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    rescore.add_argument("--debug", action="store_true", help="debug logging and tracebacks")
    rescore.add_argument("--show", choices=("all", "failures"), default="all",
                         help="per-run lines: all (default), or only failures")  # fmt: skip
    rescore.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Convert the flags once, rescore, and return the exit code (that of the eval result)."""
    from pydantic import ValidationError

    from osmosis_local.cli.console import EvalReporter, debug_logging
    from osmosis_local.config.settings import RescoreConfig
    from osmosis_local.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, HarnessError, OutputPathError
    from osmosis_local.llm.provider_keys import key_redactor
    from osmosis_local.runner.event_loop import run as run_loop
    from osmosis_local.runner.rescore import arescore

    reporter = EvalReporter(quiet=args.quiet, redactor=key_redactor(), show=args.show)
    try:
        config = RescoreConfig(
            log=args.log, eval_fns=args.eval_fns, output=args.output, new_log=args.new_log,
            pass_threshold=args.pass_threshold, batch_size=args.batch_size, fail_under=args.fail_under,
            reward_timeout=args.reward_timeout,
        )  # fmt: skip
    except ValidationError as exc:
        reporter.error("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()))
        return EXIT_USAGE
    with debug_logging(args.debug, reporter.redact):
        try:
            result = run_loop(arescore(config, reporter, keep_rows=False))
        except OutputPathError as exc:
            reporter.setup_failed(exc, debug=args.debug)
            return EXIT_USAGE
        except HarnessError as exc:
            reporter.setup_failed(exc, debug=args.debug)
            return EXIT_FAILED
        except KeyboardInterrupt:
            reporter.error("Interrupted: the runs rescored so far are in the new log; the source log is unchanged.")
            return EXIT_INTERRUPTED
    return result.exit_code
