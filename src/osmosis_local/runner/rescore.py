"""Rescore a transcript log: the saved runs scored again with other (or changed) eval functions, no rollouts.

`arescore` reads the log's header (the eval's settings, as recorded) and run records, checks the dataset is
the one the log was made from, scores every successful run with the given eval functions (failed runs stay
failed), writes its own log (so a rescore can be viewed and rescored again) and returns an `EvalResult`
built by the same `build_eval_result` as an eval, with the change against the scores the log held.

The log is read slim (every run's figures) and each run's conversation is read back when its turn to be scored
comes (`LoadedLog.with_transcripts`): memory holds the conversations of the runs being scored, not the log's.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from osmosis_local.config.paths import absolute_fields, check_new_log, check_outputs
from osmosis_local.config.settings import EvalConfig, RescoreConfig
from osmosis_local.content.dataset import DatasetError, DatasetRow, file_sha256, load_dataset
from osmosis_local.content.eval_fns import EvalFn, EvalFnLoadError, load_eval_fns
from osmosis_local.errors import LogReadError, SetupError
from osmosis_local.llm.provider_keys import key_redactor
from osmosis_local.log.records import LogHeader, RunFigures, RunRecord
from osmosis_local.log.results import EvalResult
from osmosis_local.log.summary import build_eval_result, eval_rows, judge_delta, score_changes
from osmosis_local.log.transcript import LoadedLog, RunLog, default_log_path, read_log
from osmosis_local.runner.evaluation import EvalHooks, EvalPlan
from osmosis_local.runner.scoring import score_run
from osmosis_local.runner.session import deliver_results, judge_tokens_spent

__all__ = ["RescoreConfig", "arescore"]


def _rows_of(settings: EvalConfig) -> dict[int, DatasetRow]:
    """The log's dataset rows by index, after checking the file is the one the log was made from."""
    path = Path(settings.dataset)
    if not path.is_file():
        where = "" if path.is_absolute() else (
            f" (the log, made by an older osmosis-local, records a path relative to the folder its eval ran in; "
            f"run rescore from that folder, {Path.cwd()} is not it)"
        )  # fmt: skip
        raise SetupError(f"The log's dataset {path} is not there any more; rescore needs its rows (extra_info){where}")
    if file_sha256(path) != settings.dataset_sha256:
        raise SetupError(
            f"The dataset {path} changed since the log was made (its SHA-256 differs); the rows the eval "
            "functions would get are not the ones the runs answered"
        )
    try:
        return {row.row_index: row for row in load_dataset(path)}
    except DatasetError as exc:
        raise SetupError(str(exc)) from exc


async def _rescored(record: RunRecord, row: DatasetRow, fns: list[EvalFn], timeout_s: float) -> RunRecord:
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    if record.success:
        scores, errors = await score_run(fns, row, answer=record.answer, messages=record.messages, timeout_s=timeout_s)
    return record.model_copy(update={"scores": scores, "score_errors": errors})


def _eval_settings(config: RescoreConfig, path: Path) -> tuple[EvalConfig, LoadedLog]:
    """The settings the log records (an eval's or a rescore's) and its finished runs, read slim."""
    if not path.is_file():
        raise LogReadError(f"Transcript log not found: {path}")
    loaded = read_log(path, slim=True)
    header = loaded.header
    if header is None or header.eval_settings is None:
        raise LogReadError(
            f"{path} has no eval settings header (made by an older osmosis-local, or by test?); it cannot be rescored"
        )
    if not loaded.records:
        raise LogReadError(f"{path} holds no finished runs to rescore")
    return header.eval_settings, loaded


async def arescore(config: RescoreConfig, hooks: EvalHooks | None = None, *, keep_rows: bool = True) -> EvalResult:
    """Rescore ``config.log``; raises `SetupError`/`LogReadError` for a log, dataset or eval function that
    cannot be used. ``keep_rows=False`` (the `rescore` command): as `aevaluate`'s, the rows go to ``-o`` one at a
    time and the returned result has none."""
    from osmosis_local.rubric import judge_tokens_by_model, judge_usage

    hooks = hooks or EvalHooks()
    config = config.model_copy(update=absolute_fields(config))
    hooks.preparing("reading the transcript log")
    logged, loaded = _eval_settings(config, config.log)
    records = loaded.records
    check_outputs({"-o": config.output, "--log": config.new_log},
                  {"the log being rescored": config.log, "the log's dataset": logged.dataset})  # fmt: skip
    if config.new_log is not None:
        check_new_log(config.new_log)
    hooks.preparing("reading the dataset")
    rows = _rows_of(logged)
    missing = sorted({r.row_index for r in records} - set(rows))
    if missing:
        raise SetupError(f"The log has runs of rows {missing[:5]} that the dataset does not have")
    hooks.preparing("importing the eval functions")
    try:
        fns = load_eval_fns(config.eval_fns)
    except EvalFnLoadError as exc:
        raise SetupError(str(exc)) from exc
    redactor = key_redactor()
    log_path = config.new_log or default_log_path("rescore")
    settings = logged.model_copy(
        update={
            "eval_fns": list(config.eval_fns),
            "n_runs": max(logged.n_runs, 1 + max(r.run_index for r in records)),
            "pass_threshold": logged.pass_threshold if config.pass_threshold is None else config.pass_threshold,
            "batch_size": config.batch_size,
            "fail_under": config.fail_under,
            "output": config.output,
            "log": log_path,
            "resume": None,
            "rescore_of": str(config.log),
        }
    )
    row_indices = sorted({r.row_index for r in records})
    tags = sorted({r.model_tag for r in records}, key=lambda t: t != "primary")
    models = [(tag, next(r.model for r in records if r.model_tag == tag)) for tag in tags]
    hooks.started(
        EvalPlan(
            models=[], eval_fns=[(fn.name, fn.mode) for fn in fns], rows=len(row_indices),
            runs_per_row=settings.n_runs, batch_size=config.batch_size, tools=0, warnings=[], log_path=log_path,
            total=len(records), resumed=0, redactor=redactor, pass_threshold=settings.pass_threshold,
        )
    )  # fmt: skip
    judge_before, judge_tokens_before = judge_usage(), judge_tokens_by_model()
    started = time.perf_counter()
    gate = asyncio.Semaphore(max(1, config.batch_size))
    done: list[RunFigures] = []
    with RunLog(log_path, redactor=redactor) as log:
        log.write_header(LogHeader(command="rescore", settings=settings))

        async def one(record: RunRecord) -> None:
            try:
                new = await _rescored(record, rows[record.row_index], fns, config.reward_timeout)
            finally:
                gate.release()
            log.append(new)
            done.append(new.figures())
            hooks.run_finished(new, len(done), len(records))

        pending: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []

        def settled(task: asyncio.Task[None]) -> None:
            pending.discard(task)
            if not task.cancelled() and task.exception() is not None:
                failures.append(task.exception())  # type: ignore[arg-type]

        try:
            for whole in loaded.with_transcripts(records):  # read one conversation at a time, as a slot frees up
                await gate.acquire()
                if failures:
                    gate.release()
                    break
                task = asyncio.create_task(one(whole))
                pending.add(task)
                task.add_done_callback(settled)
            await asyncio.gather(*pending, return_exceptions=True)
        finally:
            for task in list(pending):
                task.cancel()
        if failures:
            raise failures[0]
    result = build_eval_result(
        config=settings,
        row_indices=row_indices,
        models=models,
        records=done,
        expected_items=len(records),
        wall_ms=(time.perf_counter() - started) * 1000,
        log_path=log_path,
        stop_reason=None,
        judge=judge_delta(judge_before, judge_usage()),
        command="rescore",
        judges=judge_tokens_spent(judge_tokens_before),
        with_rows=keep_rows,
    )
    changes = score_changes(
        records, done, list(config.eval_fns), row_indices, threshold=settings.pass_threshold, n=settings.n_runs
    )
    result = result.model_copy(update={"changes": changes})
    rows_out = None if keep_rows else eval_rows(done, row_indices)
    result = deliver_results(result, config.output, redactor, hooks, rows_out)
    hooks.finished(result)
    return result
