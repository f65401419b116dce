"""`osmosis-local eval`: the eval core (`osmosis_local.evaluation`) with the console reporter as its hooks."""

from __future__ import annotations

import asyncio

from osmosis_local.cli import EXIT_USAGE
from osmosis_local.commands.run_report import EvalReporter
from osmosis_local.config import EvalConfig
from osmosis_local.evaluation import SettingsMismatchError, aevaluate
from osmosis_local.results import EXIT_FAILED
from osmosis_local.session import SetupError, run_redactor


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
