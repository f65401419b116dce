"""`osmosis-local test`: the test core (`osmosis_local.runner.rollout_test`) with the console reporter as its hooks."""

from __future__ import annotations

import asyncio

from osmosis_local.cli.console import TestReporter
from osmosis_local.config import TestConfig
from osmosis_local.errors import EXIT_FAILED, SetupError
from osmosis_local.runner.rollout_test import arun_test
from osmosis_local.runner.session import run_redactor


def run_test(config: TestConfig, *, quiet: bool, debug: bool) -> int:
    """Run every row once and return the process exit code (0 when every row passed)."""
    reporter = TestReporter(quiet=quiet, redactor=run_redactor(config))
    try:
        result = asyncio.run(arun_test(config, reporter))
    except SetupError as exc:
        reporter.setup_failed(exc, debug=debug)
        return EXIT_FAILED
    except KeyboardInterrupt:
        reporter.error("Interrupted.")
        return EXIT_FAILED
    return result.exit_code


run_test.__test__ = False  # type: ignore[attr-defined]  (not a pytest test)
