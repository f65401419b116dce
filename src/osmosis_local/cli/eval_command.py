"""`osmosis-local eval`: the eval core (`osmosis_local.runner.evaluation`) with the console reporter as its hooks."""

from __future__ import annotations

import asyncio

from osmosis_local.cli.console import EvalReporter
from osmosis_local.config import EvalConfig
from osmosis_local.errors import EXIT_FAILED, EXIT_USAGE, SettingsMismatchError, SetupError
from osmosis_local.runner.evaluation import aevaluate
from osmosis_local.runner.session import run_redactor


def run_eval(config: EvalConfig, *, quiet: bool, debug: bool) -> int:
    """Run the eval and return the process exit code (see `EvalResult.exit_code`)."""
    reporter = EvalReporter(quiet=quiet, redactor=run_redactor(config))
    try:
        result = asyncio.run(aevaluate(config, reporter))
    except SettingsMismatchError as exc:
        reporter.setup_failed(exc, debug=debug)
        return EXIT_USAGE
    except SetupError as exc:
        reporter.setup_failed(exc, debug=debug)
        return EXIT_FAILED
    except KeyboardInterrupt:
        reporter.error("Interrupted: finished runs are in the transcript log; rerun with --resume LOG to continue.")
        return EXIT_FAILED
    return result.exit_code
