"""The eval core: rollouts in a bounded pool, scored, logged, resumable, summarised into an `EvalResult`.

`aevaluate` is what both the `eval` command and the Python API run. `build_eval_result` computes every
figure from the run records (through `stats`), so the console, the `-o` file and the API agree, and a
rescore of a log reuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osmosis_local import __version__
from osmosis_local.config import EvalConfig, FailUnder
from osmosis_local.content.dataset import DatasetRow
from osmosis_local.errors import EXIT_FAIL_UNDER, EXIT_FAILED, EXIT_OK, SettingsMismatchError
from osmosis_local.log.records import LogHeader, LogRunInfo, LogSettings, RunRecord, run_key
from osmosis_local.log.results import (
    Comparison,
    EvalFnStats,
    EvalResult,
    EvalRowResult,
    EvalRunResult,
    EvalSettings,
    EvalSummary,
    JudgeUsage,
    ModelSummary,
    write_results,
)
from osmosis_local.log.stats import NoScore, Score, eval_fn_summary, paired_comparison
from osmosis_local.log.transcript import RunLog, read_log
from osmosis_local.redaction import Redactor
from osmosis_local.runner.session import ModelChoice, RunHooks, Session, default_log_path, open_session

# The pool's workers take their first rollout a little apart instead of all at once. Rollouts started
# together send their requests together, get their answers together, and then queue for the one
# event-loop thread, so every one of them waits for all the others, turn after turn. Starting them
# 1 ms apart (or one model latency, measured by the preflight, spread over the batch, if shorter) keeps
# them apart at a ramp of B ms. In benchmarks/runner_bench.py (batch 16, 50 ms per call) 0.25-1 ms gave the
# best medians, 0 and 2 ms less, and 10 ms (a ramp of 0.6 s at batch 64) cost more than it saved. It also
# spares the provider a burst of B requests.
MAX_POOL_START_SPACING_S = 0.001


@contextlib.contextmanager
def frozen_setup_heap() -> Iterator[None]:
    """During the rollouts, the objects made by set-up (imports, tools, models) sit in the collector's
    permanent generation (`gc.freeze`): a full collection then skips them, instead of pausing every rollout
    in flight for ~0.1 s while it rescans them. Undone afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def pool_start_spacing(models: Sequence[ModelChoice], batch_size: int) -> float:
    """Seconds between the first rollouts of the pool's workers: one latency spread over the batch."""
    latencies = [m.preflight_s for m in models if m.preflight_s is not None]
    if batch_size <= 1 or not latencies:
        return 0.0
    return min(MAX_POOL_START_SPACING_S, max(latencies) / batch_size)


@dataclass(frozen=True)
class EvalPlan:
    """What an eval is about to do, for its header."""

    models: list[ModelChoice]
    eval_fns: list[tuple[str, str]]  # (name, mode)
    rows: int
    runs_per_row: int
    batch_size: int
    tools: int
    warnings: list[str]
    log_path: Path
    total: int
    resumed: int
    redactor: Redactor


class EvalHooks(RunHooks):
    """What an eval tells its caller as it goes (no-ops here)."""

    def started(self, plan: EvalPlan) -> None:
        """Set-up is done; ``plan.total - plan.resumed`` rollouts are about to run."""

    def run_finished(self, record: RunRecord, done: int, total: int) -> None:
        """A run finished and was logged; ``done`` of ``total`` are finished."""

    def finished(self, result: EvalResult) -> None:
        """The eval is over; ``result`` is what `-o` writes."""


@dataclass(frozen=True)
class _Item:
    row: DatasetRow
    run_index: int
    model: ModelChoice

    @property
    def key(self) -> str:
        return run_key(self.row.row_index, self.run_index, self.model.tag)


@dataclass
class _Progress:
    records: dict[str, RunRecord] = field(default_factory=dict)
    stop_reason: str | None = None


def _shared_settings(config: EvalConfig, session: Session) -> dict[str, Any]:
    """The settings both the transcript header and the results record, from one place."""
    return {
        "dataset_sha256": session.dataset_sha256,
        "model": config.model.name,
        "base_url": config.model.base_url,
        "baseline_model": config.baseline.name if config.baseline else None,
        "baseline_base_url": config.baseline.base_url if config.baseline else None,
        "eval_fns": list(config.eval_fns),
        "max_turns": config.max_turns,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "seed": config.seed,
    }


def log_settings(config: EvalConfig, session: Session) -> LogSettings:
    """The settings a transcript log records, and a resumed eval must match."""
    return LogSettings(**_shared_settings(config, session), tools_sha256=session.tools_sha256)


def _resumable_runs(config: EvalConfig, settings: LogSettings) -> tuple[dict[str, RunRecord], bool]:
    """The finished runs of the ``--resume`` log, and whether it already has a header.

    A log made with other settings is refused, naming each difference; failed runs are run again.
    """
    if config.resume is None or not config.resume.exists():
        return {}, False
    loaded = read_log(config.resume)
    if loaded.header is None:
        raise SettingsMismatchError(
            f"--resume {config.resume}: the log has no settings header (made by another tool or an older "
            "osmosis-local), so it cannot be checked against this run; start a new log with --log"
        )
    differences = loaded.header.settings.differences(settings)
    if differences:
        listing = "\n".join(f"  - {line}" for line in differences)
        raise SettingsMismatchError(
            f"--resume {config.resume} was made with other settings; resuming would mix their scores:\n{listing}\n"
            "Rerun with the log's settings, or start a new log with --log."
        )
    return {key: r for key, r in loaded.latest().items() if r.success}, True


async def aevaluate(config: EvalConfig, hooks: EvalHooks | None = None) -> EvalResult:
    """Run an eval: set up, roll out, score, log every run, and return (and write with ``-o``) the result.

    Raises `SetupError` (or `SettingsMismatchError` for a refused ``--resume``) before any rollout.
    """
    hooks = hooks or EvalHooks()
    resumed: list[tuple[dict[str, RunRecord], bool]] = []

    def check_resume(session: Session) -> None:
        resumed.append(_resumable_runs(config, log_settings(config, session)))

    async with open_session(
        config,
        hooks,
        eval_fns=config.eval_fns,
        baseline=config.baseline,
        before_preflight=check_resume if config.resume is not None else None,
    ) as session:
        done, has_header = resumed[0] if resumed else ({}, False)
        return await _run(config, hooks, session, done, has_header)


async def _run(
    config: EvalConfig, hooks: EvalHooks, session: Session, done: dict[str, RunRecord], has_header: bool
) -> EvalResult:
    from osmosis_local.rubric import judge_usage

    settings = log_settings(config, session)
    warnings = list(session.warnings)
    batch_size = config.batch_size
    if any(m.is_local for m in session.models) and batch_size > 1:
        warnings.append("the embedded model serves one request at a time: --batch-size lowered to 1")
        batch_size = 1
    log_path = config.resume or config.log or default_log_path("eval")
    items = [
        _Item(row, run_index, model)
        for row in session.rows
        for run_index in range(config.n)
        for model in session.models
    ]
    progress = _Progress()
    for item in items:
        if item.key in done:
            progress.records[item.key] = done[item.key]
    todo = [item for item in items if item.key not in progress.records]
    hooks.started(
        EvalPlan(
            models=session.models,
            eval_fns=[(fn.name, fn.mode) for fn in session.eval_fns],
            rows=len(session.rows),
            runs_per_row=config.n,
            batch_size=batch_size,
            tools=len(session.tools),
            warnings=warnings,
            log_path=log_path,
            total=len(items),
            resumed=len(items) - len(todo),
            redactor=session.redactor,
        )
    )
    started = time.perf_counter()
    with RunLog(log_path, redactor=session.redactor) as log:
        if not has_header:
            run_info = LogRunInfo(
                mcp=config.tool_source, n_runs=config.n, pass_threshold=config.pass_threshold, limit=config.limit,
                offset=config.offset, batch_size=config.batch_size,
            )  # fmt: skip
            log.write_header(LogHeader(command="eval", dataset=str(config.dataset), settings=settings, run=run_info))
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        for item in todo:
            queue.put_nowait(item)

        spacing = pool_start_spacing(session.models, batch_size)

        async def worker(index: int) -> None:
            await asyncio.sleep(index * spacing)
            while progress.stop_reason is None:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                record = await session.rollout(item.row, command="eval", model=item.model, run_index=item.run_index)
                log.append(record)  # written whole before it is counted (fsync: in the background)
                progress.records[item.key] = record
                hooks.run_finished(record, len(progress.records), len(items))
                if record.systemic and progress.stop_reason is None:
                    progress.stop_reason = session.redactor(record.error or "systemic provider error")

        with frozen_setup_heap():
            await asyncio.gather(*(worker(i) for i in range(min(batch_size, max(1, len(todo))))))
    wall_ms = (time.perf_counter() - started) * 1000
    result = build_eval_result(
        settings=eval_settings(config, session),
        fail_under=config.fail_under,
        row_indices=[row.row_index for row in session.rows],
        models=[(m.tag, m.display_name) for m in session.models],
        records=list(progress.records.values()),
        expected_items=len(items),
        wall_ms=wall_ms,
        log_path=log_path,
        stop_reason=progress.stop_reason,
        judge=judge_delta(session.judge_usage_at_start, judge_usage()),
    )
    if config.output is not None:
        hooks.note(f"Results written to {write_results(config.output, result, session.redactor)}")
    hooks.finished(result)
    return result


def eval_settings(config: EvalConfig, session: Session) -> EvalSettings:
    return EvalSettings(
        **_shared_settings(config, session),
        n_runs=config.n,
        pass_threshold=config.pass_threshold,
        dataset=str(config.dataset),
        limit=config.limit,
        offset=config.offset,
        mcp=config.tool_source,
        batch_size=config.batch_size,
        fail_under=config.fail_under,
        harness_version=__version__,
    )


def judge_delta(before: dict[str, int], after: dict[str, int]) -> JudgeUsage | None:
    """What rubric judges spent between two `judge_usage()` snapshots; None when no judge ran."""
    delta = {key: after.get(key, 0) - before.get(key, 0) for key in JudgeUsage.model_fields}
    return JudgeUsage(**delta) if delta["calls"] or delta["cache_hits"] else None


def run_score(record: RunRecord, fn: str) -> Score:
    """The record's score for ``fn``, or why it has none."""
    if fn in record.scores:
        return record.scores[fn]
    if fn in record.score_errors:
        return NoScore.ERROR
    return NoScore.RUN_FAILED


def fn_stats(
    records: Sequence[RunRecord], fn: str, row_indices: Sequence[int], *, threshold: float, n: int
) -> EvalFnStats:
    """The figures of one eval function over one model's records."""
    by_row: dict[int, list[Score]] = {index: [] for index in row_indices}
    for record in sorted(records, key=lambda r: (r.row_index, r.run_index)):
        if record.row_index in by_row:
            by_row[record.row_index].append(run_score(record, fn))
    return EvalFnStats(**eval_fn_summary(list(by_row.values()), threshold=threshold, n_requested=n))


def _problems(
    stats: dict[str, EvalFnStats], primary: Sequence[RunRecord], fail_under: FailUnder, stop_reason: str | None
) -> tuple[list[str], int]:
    """Why the eval must exit non-zero, and the code: 1 for a broken run, else 3 for a missed gate."""
    failed: list[str] = []
    if stop_reason:
        failed.append(f"stopped by a systemic error: {stop_reason}")
    for name, s in stats.items():
        if s.errors and s.scored == 0 and s.errors == sum(1 for r in primary if r.success):
            first = next(r.score_errors[name] for r in primary if name in r.score_errors)
            failed.append(f"{name} raised on every run it scored ({s.errors}); the first error: {first}")
    gates: list[str] = []
    for name, s in stats.items():
        threshold = fail_under.threshold_for(name)
        if threshold is None:
            continue
        value = s.mean_all_runs
        if value is None or value < threshold:
            shown = "none (no runs)" if value is None else f"{value:.4f}"
            gates.append(f"--fail-under {threshold:g}: mean over all runs of {name} is {shown}")
    code = EXIT_FAILED if failed else EXIT_FAIL_UNDER if gates else EXIT_OK
    return failed + gates, code


def build_eval_result(
    *,
    settings: EvalSettings,
    fail_under: FailUnder,
    row_indices: Sequence[int],
    models: Sequence[tuple[str, str]],
    records: Sequence[RunRecord],
    expected_items: int,
    wall_ms: float,
    log_path: Path,
    stop_reason: str | None,
    judge: JudgeUsage | None,
    command: str = "eval",
) -> EvalResult:
    """Every figure of an eval, from its run records."""
    names = settings.eval_fns
    by_tag = {tag: [r for r in records if r.model_tag == tag] for tag, _ in models}
    primary = by_tag["primary"]

    def stats_of(tag_records: Sequence[RunRecord]) -> dict[str, EvalFnStats]:
        return {
            name: fn_stats(tag_records, name, row_indices, threshold=settings.pass_threshold, n=settings.n_runs)
            for name in names
        }

    primary_stats = stats_of(primary)
    problems, exit_code = _problems(primary_stats, primary, fail_under, stop_reason)
    summary = EvalSummary(
        total_rows=len(row_indices),
        total_runs=len(primary),
        expected_runs=len(row_indices) * settings.n_runs,
        failed_runs=sum(1 for r in primary if not r.success),
        stopped_early=stop_reason is not None and len(records) < expected_items,
        stop_reason=stop_reason,
        eval_fns=primary_stats,
        total_tokens=sum(r.tokens for r in primary),
        total_duration_ms=round(wall_ms, 1),
        judge_usage=judge,
        problems=problems,
    )
    rows = []
    for index in row_indices:
        row_records = sorted(
            (r for r in records if r.row_index == index), key=lambda r: (r.run_index, r.model_tag != "primary")
        )
        rows.append(EvalRowResult(row_index=index, runs=[_run_result(r) for r in row_records]))
    model_summaries = comparison = None
    if len(models) > 1:
        model_summaries = [
            ModelSummary(
                model=display,
                model_tag=tag,
                total_runs=len(by_tag[tag]),
                failed_runs=sum(1 for r in by_tag[tag] if not r.success),
                total_tokens=sum(r.tokens for r in by_tag[tag]),
                total_duration_ms=round(sum(r.duration_ms for r in by_tag[tag]), 1),
                eval_fns=stats_of(by_tag[tag]),
            )
            for tag, display in models
        ]
        comparison = {
            name: Comparison(
                **paired_comparison(
                    {(r.row_index, r.run_index): run_score(r, name) for r in primary},
                    {(r.row_index, r.run_index): run_score(r, name) for r in by_tag["baseline"]},
                )
            )
            for name in names
        }
    return EvalResult(
        command=command,
        config=settings,
        summary=summary,
        rows=rows,
        model_summaries=model_summaries,
        comparison=comparison,
        transcript_log=str(log_path),
        exit_code=exit_code,
    )


def _run_result(record: RunRecord) -> EvalRunResult:
    return EvalRunResult(
        run_index=record.run_index,
        model_tag=record.model_tag,
        success=record.success,
        error=record.error,
        finish_reason=record.finish_reason,
        seed=record.seed,
        scores=record.scores,
        score_errors=record.score_errors,
        duration_ms=record.duration_ms,
        tokens=record.tokens,
        answer=record.answer,
    )
