"""The eval core: rollouts in a bounded pool, scored, logged, resumable; the result built from the records.

`aevaluate` is what both the `eval` command and the Python API run. The transcript header records the run's
settings as resolved, ``--resume`` compares them with the log's (`resume_differences`), and the result is
built by `osmosis_local.log.summary.build_eval_result`, which rescore and view call too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from osmosis_local.config.settings import EvalConfig, resume_differences
from osmosis_local.content.dataset import DatasetRow
from osmosis_local.errors import SettingsMismatchError
from osmosis_local.log.records import LogHeader, RunFigures, RunRecord, run_key
from osmosis_local.log.results import EvalResult, EvalRowResult
from osmosis_local.log.summary import (
    build_eval_result,
    eval_rows,
    judge_delta,
    model_costs,
    record_cost,
    total_cost,
)
from osmosis_local.log.transcript import RunLog, default_log_path, read_log
from osmosis_local.redaction import Redactor
from osmosis_local.runner.session import ModelChoice, RunHooks, Session, deliver_results, open_session

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
    pass_threshold: float = 1.0


class EvalHooks(RunHooks):
    """What an eval tells its caller as it goes (no-ops here)."""

    def started(self, plan: EvalPlan) -> None:
        """Set-up is done; ``plan.total - plan.resumed`` rollouts are about to run."""

    def run_finished(self, record: RunRecord, done: int, total: int) -> None:
        """A run finished and was logged; ``done`` of ``total`` are finished."""

    def finished(self, result: EvalResult) -> None:
        """The eval is over; ``result`` is what `-o` writes."""


@dataclass(frozen=True, slots=True)
class _Item:
    row: DatasetRow
    run_index: int
    model: ModelChoice

    @property
    def key(self) -> str:
        return run_key(self.row.row_index, self.run_index, self.model.tag)


@dataclass
class _Progress:
    records: dict[str, RunFigures] = field(default_factory=dict)  # the figures of each finished run, by key
    stop_reason: str | None = None
    budget_stop: str | None = None  # why --max-cost stopped the eval
    in_flight: int = 0
    # Kept only under --max-cost (no price is looked up otherwise): the policy's dollars of the runs the log
    # held when the eval resumed, and of the runs this invocation finished (the average per run is over these).
    resumed_cost: float = 0.0
    new_runs: int = 0
    new_cost: float = 0.0

    def finished(self, record: RunRecord, session: Session[EvalConfig]) -> None:
        """Count a run this invocation finished (its cost only when --max-cost needs it)."""
        self.new_runs += 1
        if session.config.max_cost is not None:
            self.new_cost += record_cost(record) or 0.0

    def over_budget(self, session: Session[EvalConfig]) -> bool:
        """Starting one more run would likely pass --max-cost: what is spent, plus what the runs in flight and
        the next one will cost at the average so far, reaches it."""
        limit = session.config.max_cost
        if limit is None:
            return False
        judges = total_cost(model_costs((), (), session.judge_tokens())) or 0.0
        spent = self.resumed_cost + self.new_cost + judges
        average = (self.new_cost + judges) / self.new_runs if self.new_runs else 0.0
        if spent + average * (self.in_flight + 1) < limit:
            return False
        self.budget_stop = (f"--max-cost ${limit:g}: ${spent:.6g} spent, and another run would likely pass it "
                            f"(${average:.6g} a run so far)")  # fmt: skip
        return True


def _resumable_runs(config: EvalConfig, resolved: EvalConfig) -> tuple[dict[str, RunRecord], bool]:
    """The finished runs of the ``--resume`` log, and whether it already has a header.

    A log made with other settings is refused, naming each difference; failed runs are run again.
    """
    if config.resume is None or not config.resume.exists():
        return {}, False
    loaded = read_log(config.resume, slim=True)
    if loaded.header is None or loaded.header.eval_settings is None:
        raise SettingsMismatchError(
            f"--resume {config.resume}: the log has no settings header (made by another tool or an older "
            "osmosis-local), so it cannot be checked against this run; start a new log with --log"
        )
    differences = resume_differences(loaded.header.eval_settings, resolved)
    if differences:
        listing = "\n".join(f"  - {line}" for line in differences)
        raise SettingsMismatchError(
            f"--resume {config.resume} was made with other settings; resuming would mix their scores:\n{listing}\n"
            "Rerun with the log's settings, or start a new log with --log."
        )
    return {key: r for key, r in loaded.latest().items() if r.success}, True


async def aevaluate(config: EvalConfig, hooks: EvalHooks | None = None, *, keep_rows: bool = True) -> EvalResult:
    """Run an eval: set up, roll out, score, log every run, and return (and write with ``-o``) the result.

    ``keep_rows=False`` (the `eval` command): the result is returned without its rows (``rows`` empty) and ``-o``
    gets them one at a time from the runs' figures, so memory does not grow with a row entry per run.
    Raises `SetupError` (or `SettingsMismatchError` for a refused ``--resume``) before any rollout.
    """
    hooks = hooks or EvalHooks()
    resumed: list[tuple[dict[str, RunRecord], bool]] = []

    def check_resume(session: Session[EvalConfig]) -> None:
        resumed.append(_resumable_runs(config, session.config))

    async with open_session(
        config, hooks, before_preflight=check_resume if config.resume is not None else None
    ) as session:
        done, has_header = resumed[0] if resumed else ({}, False)
        resumed.clear()  # the resumed runs' figures are in the progress from here on
        return await _run(hooks, session, done, has_header, keep_rows)


async def _run(
    hooks: EvalHooks, session: Session[EvalConfig], done: dict[str, RunRecord], has_header: bool, keep_rows: bool
) -> EvalResult:
    config = session.config
    warnings = list(session.warnings)
    batch_size = config.batch_size
    if any(m.is_local for m in session.models) and batch_size > 1:
        warnings.append("the embedded model serves one request at a time: --batch-size lowered to 1")
        batch_size = 1
    log_path = config.resume or config.log or default_log_path("eval")
    pairs = [(row, run_index) for row in session.rows for run_index in range(config.n_runs)]
    if config.shard is not None:  # every N-th (row, run) pair from K; a pair's models stay in one shard
        pairs = [pair for position, pair in enumerate(pairs) if config.shard.holds(position)]
    items = [_Item(row, run_index, model) for row, run_index in pairs for model in session.models]
    progress = _Progress()
    for item in items:
        if item.key in done:
            progress.records[item.key] = done[item.key].figures()
    if config.max_cost is not None:
        progress.resumed_cost = math.fsum(c for r in progress.records.values() if (c := record_cost(r)) is not None)
    todo = [item for item in items if item.key not in progress.records]
    hooks.started(
        EvalPlan(
            models=session.models,
            eval_fns=[(fn.name, fn.mode) for fn in session.eval_fns],
            rows=len(session.rows),
            runs_per_row=config.n_runs,
            batch_size=batch_size,
            tools=len(session.tools),
            warnings=warnings,
            log_path=log_path,
            total=len(items),
            resumed=len(items) - len(todo),
            redactor=session.redactor,
            pass_threshold=config.pass_threshold,
        )
    )
    started = time.perf_counter()
    try:
        await _roll_out(session, progress, todo, items, log_path, has_header, batch_size, hooks)
    except asyncio.CancelledError:  # Ctrl-C (asyncio.run cancels this task; it raises KeyboardInterrupt after)
        partial = _result(session, progress, items, log_path, started, interrupted=True, with_rows=keep_rows)
        deliver_results(partial, config.output, session.redactor, hooks, _rows(progress, items, keep_rows))
        raise
    result = _result(session, progress, items, log_path, started, with_rows=keep_rows)
    result = deliver_results(result, config.output, session.redactor, hooks, _rows(progress, items, keep_rows))
    hooks.finished(result)
    return result


def _rows(progress: _Progress, items: list[_Item], keep_rows: bool) -> Iterator[EvalRowResult] | None:
    """The rows for ``-o`` of a result built without them (None when the result holds them)."""
    if keep_rows:
        return None
    return eval_rows(list(progress.records.values()), _row_indices(items))


def _row_indices(items: list[_Item]) -> list[int]:
    """The rows of the eval's result: those it has runs of (a shard's are every N-th pair's)."""
    return sorted({item.row.row_index for item in items})


async def _roll_out(
    session: Session[EvalConfig],
    progress: _Progress,
    todo: list[_Item],
    items: list[_Item],
    log_path: Path,
    has_header: bool,
    batch_size: int,
    hooks: EvalHooks,
) -> None:
    """Run the ``todo`` items on ``batch_size`` workers, logging each run as it finishes."""
    config = session.config
    with RunLog(log_path, redactor=session.redactor) as log:
        if not has_header:
            log.write_header(LogHeader(command="eval", settings=config))
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        for item in todo:
            queue.put_nowait(item)

        spacing = pool_start_spacing(session.models, batch_size)

        async def worker(index: int) -> None:
            await asyncio.sleep(index * spacing)
            while progress.stop_reason is None and progress.budget_stop is None:
                if queue.empty() or progress.over_budget(session):
                    return
                item = queue.get_nowait()
                progress.in_flight += 1
                try:
                    record = await session.rollout(item.row, command="eval", model=item.model,
                                                   run_index=item.run_index)  # fmt: skip
                finally:
                    progress.in_flight -= 1
                log.append(record)  # written whole before it is counted (fsync: in the background)
                figures = record.figures()  # what the result needs, not the transcript (it is in the log)
                progress.records[figures.key] = figures
                progress.finished(record, session)
                hooks.run_finished(record, len(progress.records), len(items))
                if record.systemic and progress.stop_reason is None:
                    progress.stop_reason = session.redactor(record.error or "systemic provider error")

        with frozen_setup_heap():
            await asyncio.gather(*(worker(i) for i in range(min(batch_size, max(1, len(todo))))))


def _result(
    session: Session[EvalConfig],
    progress: _Progress,
    items: list[_Item],
    log_path: Path,
    started: float,
    *,
    interrupted: bool = False,
    with_rows: bool = True,
) -> EvalResult:
    """The eval's result from the runs done so far (all of them, unless ``interrupted``)."""
    from osmosis_local.rubric import judge_usage

    return build_eval_result(
        config=session.config,
        row_indices=_row_indices(items),
        models=[(m.tag, m.display_name) for m in session.models],
        records=list(progress.records.values()),
        expected_items=len(items),
        wall_ms=(time.perf_counter() - started) * 1000,
        log_path=log_path,
        stop_reason=progress.stop_reason,
        judge=judge_delta(session.judge_usage_at_start, judge_usage()),
        interrupted=interrupted,
        judges=session.judge_tokens(),
        budget_stop=progress.budget_stop,
        replicas=session.replica_use(),
        with_rows=with_rows,
    )
