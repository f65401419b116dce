"""`osmosis-local test` (and `test -i`): the test core (`osmosis_local.runner.rollout_test`) with the console
reporter as its hooks, or the interactive stepper."""

from __future__ import annotations

import argparse

from osmosis_local.cli.arguments import add_rollout_arguments, non_negative_int, settings_from_args, source_problem


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    test = commands.add_parser(
        "test", help="run the agent loop on each row once; a row passes when its rollout ends with an answer"
    )
    add_rollout_arguments(test, model_required=False)
    test.add_argument("-i", "--interactive", action="store_true", help="step through rollouts turn by turn")
    test.add_argument("--row", type=non_negative_int, help="with -i: start at this absolute row index")
    test.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Convert the flags once and run every row (exit 0 when every row passed), or step through rows with -i."""
    problem = source_problem(args) or (
        "--row needs -i/--interactive" if args.row is not None and not args.interactive else None
    ) or (
        "-i steps through rollouts run in this process: use --mcp or -m, not --rollout-server"
        if args.interactive and args.rollout_server is not None else None
    )  # fmt: skip
    if problem:
        parser.error(problem)
    from osmosis_local.cli.console import RolloutTestReporter, debug_logging
    from osmosis_local.config.settings import RolloutTestConfig
    from osmosis_local.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, HarnessError, OutputPathError
    from osmosis_local.runner.event_loop import run as run_loop
    from osmosis_local.runner.rollout_test import arun_test
    from osmosis_local.runner.session import run_redactor

    config = settings_from_args(parser, args, RolloutTestConfig)
    redactor = run_redactor(config)
    with debug_logging(args.debug, redactor):
        if args.interactive:
            from osmosis_local.cli.interactive import run_interactive_command

            return run_interactive_command(config, start_row=args.row, debug=args.debug)
        reporter = RolloutTestReporter(quiet=args.quiet, redactor=redactor)
        try:
            result = run_loop(arun_test(config, reporter))
        except OutputPathError as exc:
            reporter.setup_failed(exc, debug=args.debug)
            return EXIT_USAGE
        except HarnessError as exc:
            reporter.setup_failed(exc, debug=args.debug)
            return EXIT_FAILED
        except KeyboardInterrupt:
            reporter.error("Interrupted.")
            return EXIT_INTERRUPTED
    return result.exit_code
