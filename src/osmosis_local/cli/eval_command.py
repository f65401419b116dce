"""`osmosis-local eval`: the eval core (`osmosis_local.runner.evaluation`) with the console reporter as its hooks."""

from __future__ import annotations

import argparse

from osmosis_local.cli.arguments import (
    add_rollout_arguments,
    fail_under,
    finite_float,
    positive_float,
    positive_int,
    settings_from_args,
    source_problem,
)
from osmosis_local.config.defaults import DEFAULT_REWARD_TIMEOUT_S


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ev = commands.add_parser("eval", help="run rollouts and score them with eval functions")
    add_rollout_arguments(ev, model_required=True)
    ev.add_argument(
        "--eval-fn",
        dest="eval_fns",
        action="append",
        required=True,
        metavar="MOD:FN",
        help="scorer, repeatable (e.g. reward_fn.compute_reward:numbers_match_reward)",
    )
    ev.add_argument("--n", dest="n_runs", type=positive_int, default=1,
                    help="runs per row (default: 1); pass@k is reported when > 1")  # fmt: skip
    ev.add_argument(
        "--pass-threshold", type=finite_float, default=1.0, help="a run passes when its score >= this (default: 1.0)"
    )
    ev.add_argument("--batch-size", type=positive_int, default=1, help="rollouts in flight at once (default: 1)")
    ev.add_argument("--reward-timeout", type=positive_float, default=DEFAULT_REWARD_TIMEOUT_S,
                    help=f"seconds per eval-function call; a late one is that run's error "
                         f"(default: {DEFAULT_REWARD_TIMEOUT_S:g})")  # fmt: skip
    ev.add_argument("--baseline-model", help="also run every (row, run) on this model and compare")
    ev.add_argument("--baseline-base-url", action="append",
                    help="OpenAI-compatible URL for the baseline model (repeat it for replicas)")  # fmt: skip
    ev.add_argument("--baseline-api-key", help="API key for the baseline model")
    ev.add_argument("--resume", metavar="LOG", help="skip runs already in this transcript log and append to it")
    ev.add_argument(
        "--fail-under",
        type=fail_under,
        action="append",
        metavar="X|FN=X",
        help="exit 3 if an eval function's mean over all runs is below X; FN=X for one function (repeatable)",
    )
    ev.add_argument("--shard", metavar="K/N",
                    help="run only every N-th (row, run) pair from the K-th (K counts from 0), with its own log; "
                         "`osmosis-local merge` puts the shards' logs back together")  # fmt: skip
    ev.add_argument("--max-cost", type=positive_float, metavar="USD",
                    help="stop starting runs once the eval (policy, baseline, judges) has spent this many dollars; "
                         "the log keeps every run and --resume continues")  # fmt: skip
    ev.add_argument("--show", choices=("all", "failures"), default="all",
                    help="per-run lines: all (default), or only failures (not answered, a scorer error, a score "
                         "below --pass-threshold)")  # fmt: skip
    ev.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Convert the flags once, run the eval, and return the exit code (see `EvalResult.exit_code`)."""
    problem = source_problem(args)
    if problem:
        parser.error(problem)  # exits 2, like every other bad argument
    from osmosis_local.cli.console import EvalReporter, debug_logging
    from osmosis_local.config.settings import EvalConfig
    from osmosis_local.errors import (
        EXIT_FAILED,
        EXIT_INTERRUPTED,
        EXIT_USAGE,
        HarnessError,
        OutputPathError,
        SettingsMismatchError,
    )
    from osmosis_local.runner.evaluation import aevaluate
    from osmosis_local.runner.event_loop import run as run_loop
    from osmosis_local.runner.session import run_redactor

    config = settings_from_args(parser, args, EvalConfig)
    reporter = EvalReporter(quiet=args.quiet, redactor=run_redactor(config), show=args.show)
    with debug_logging(args.debug, reporter.redact):
        try:
            result = run_loop(aevaluate(config, reporter, keep_rows=False))
        except (SettingsMismatchError, OutputPathError) as exc:
            reporter.setup_failed(exc, debug=args.debug)
            return EXIT_USAGE
        except HarnessError as exc:
            reporter.setup_failed(exc, debug=args.debug)
            return EXIT_FAILED
        except KeyboardInterrupt:
            reporter.interrupted()
            return EXIT_INTERRUPTED
    return result.exit_code
