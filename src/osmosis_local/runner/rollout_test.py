"""The test core: every row once, sequentially, and which rows reach a final answer (`RolloutTestResult`).

A row passes when its rollout ends with an answer (end state ``answered``, finish reason ``stop``). Running out
of turns while still calling tools (``out_of_turns``) or being cut off (``cut_off``) fails it, because a policy
that never answers is not a passing set-up; `eval` counts runs the same way.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from osmosis_local.config.settings import RolloutTestConfig
from osmosis_local.errors import EXIT_FAILED, EXIT_OK
from osmosis_local.log.records import LogHeader, RunRecord, end_state_counts
from osmosis_local.log.results import RolloutTestResult, RolloutTestRowResult, RolloutTestSummary
from osmosis_local.log.transcript import RunLog, default_log_path
from osmosis_local.redaction import Redactor
from osmosis_local.runner.session import RunHooks, deliver_results, open_session


class RolloutTestHooks(RunHooks):
    """What a test run tells its caller as it goes (no-ops here)."""

    def started(
        self, *, model: str, rows: int, tools: int, warnings: list[str], log_path: Path, redactor: Redactor
    ) -> None:
        """Set-up is done; ``redactor`` masks the run's keys."""

    def row_finished(self, index: int, total: int, row: RolloutTestRowResult) -> None:
        """Row ``index`` of ``total`` finished."""

    def finished(self, result: RolloutTestResult) -> None:
        """The run is over; ``result`` is what `-o` writes."""


def row_result(record: RunRecord) -> RolloutTestRowResult:
    """A run record as the test verdict of its row."""
    return RolloutTestRowResult(
        row_index=record.row_index,
        success=record.answered,
        end_state=record.end_state,
        error=record.why_no_answer,
        duration_ms=record.duration_ms,
        token_usage=record.token_usage,
        reward=record.reward,
        finish_reason=record.finish_reason,
    )


async def arun_test(config: RolloutTestConfig, hooks: RolloutTestHooks | None = None) -> RolloutTestResult:
    """Run every row once; return (and write with ``-o``) the result. Raises `SetupError` before any row."""
    hooks = hooks or RolloutTestHooks()
    async with open_session(config, hooks) as session:
        config = session.config
        log_path = config.log or default_log_path("test")
        hooks.started(
            model=session.primary.display_name,
            rows=len(session.rows),
            tools=len(session.tools),
            warnings=session.warnings,
            log_path=log_path,
            redactor=session.redactor,
        )
        results: list[RolloutTestRowResult] = []
        stop_reason = None
        started = time.perf_counter()
        with RunLog(log_path, redactor=session.redactor) as log:
            log.write_header(LogHeader(command="test", settings=config))
            for i, row in enumerate(session.rows, 1):
                record = await session.rollout(row, command="test")
                log.append(record)
                results.append(row_result(record))
                hooks.row_finished(i, len(session.rows), results[-1])
                if record.systemic:
                    stop_reason = session.redactor(record.error or "systemic provider error")
                    break
        wall_ms = (time.perf_counter() - started) * 1000
        passed = sum(1 for r in results if r.success)
        stopped_early = stop_reason is not None and len(results) < len(session.rows)
        result = RolloutTestResult(
            config=config,
            summary=RolloutTestSummary(
                total=len(results),
                passed=passed,
                failed=len(results) - passed,
                total_duration_ms=round(wall_ms, 1),
                total_tokens=sum(r.token_usage.total_tokens for r in results),
                stopped_early=stopped_early,
                stop_reason=stop_reason,
                finish_reasons=dict(Counter(r.finish_reason for r in results)),
                end_states=end_state_counts([r.end_state for r in results]),
            ),
            results=results,
            transcript_log=str(log_path),
            exit_code=EXIT_OK if passed == len(results) and stop_reason is None else EXIT_FAILED,
        )
        result = deliver_results(result, config.output, session.redactor, hooks)
        hooks.finished(result)
        return result
