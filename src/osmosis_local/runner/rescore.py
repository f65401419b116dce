"""Rescore a transcript log: the saved runs scored again with other (or changed) eval functions, no rollouts.

`arescore` reads the log's header and run records, checks the dataset is the one the log was made from,
scores every successful run with the given eval functions (failed runs stay failed), writes its own log
(so a rescore can be viewed and rescored again) and returns an `EvalResult` built by the same
`build_eval_result` as an eval, with the change against the scores the log held.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from osmosis_local import __version__
from osmosis_local.config import FailUnder
from osmosis_local.content.dataset import DatasetError, DatasetRow, load_dataset
from osmosis_local.content.eval_fns import EvalFn, EvalFnCallError, EvalFnLoadError, load_eval_fns
from osmosis_local.errors import SetupError
from osmosis_local.log.records import LogHeader, LogRunInfo, RunRecord
from osmosis_local.log.results import EvalResult, EvalSettings, ScoreChange, write_results
from osmosis_local.log.transcript import RunLog, read_log
from osmosis_local.redaction import Redactor
from osmosis_local.runner.evaluation import EvalHooks, EvalPlan, build_eval_result, fn_stats, judge_delta
from osmosis_local.runner.session import RUNS_DIR, file_sha256, run_redactor_for_keys


@dataclass(frozen=True)
class RescoreConfig:
    """What `osmosis-local rescore` was asked to do."""

    log: Path
    eval_fns: list[str]
    output: Path | None = None
    new_log: Path | None = None
    pass_threshold: float | None = None  # None: the threshold the log's eval used
    batch_size: int = 8
    fail_under: FailUnder = field(default_factory=FailUnder)


def default_rescore_log() -> Path:
    return RUNS_DIR / f"rescore-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.jsonl"


def _rows_of(header: LogHeader) -> dict[int, DatasetRow]:
    """The log's dataset rows by index, after checking the file is the one the log was made from."""
    path = Path(header.dataset)
    if not path.is_file():
        raise SetupError(f"The log's dataset {path} is not there any more; rescore needs its rows (extra_info)")
    if file_sha256(path) != header.settings.dataset_sha256:
        raise SetupError(
            f"The dataset {path} changed since the log was made (its SHA-256 differs); the rows the eval "
            "functions would get are not the ones the runs answered"
        )
    try:
        return {row.row_index: row for row in load_dataset(path)}
    except DatasetError as exc:
        raise SetupError(str(exc)) from exc


async def _rescored(record: RunRecord, row: DatasetRow, fns: list[EvalFn]) -> RunRecord:
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    if record.success:
        for fn in fns:
            try:
                scores[fn.name] = await fn.score(
                    solution_str=record.answer, messages=record.messages, ground_truth=row.ground_truth,
                    row=row.as_row_dict(),
                )  # fmt: skip
            except EvalFnCallError as exc:
                errors[fn.name] = str(exc)
    return record.model_copy(update={"scores": scores, "score_errors": errors})


def _changes(before: list[RunRecord], after: list[RunRecord], names: list[str], rows: list[int], *,
             threshold: float, n: int) -> dict[str, ScoreChange]:  # fmt: skip
    """Per eval function the log had scored: means before -> after and the runs that changed."""
    changes: dict[str, ScoreChange] = {}
    old = {r.key: r for r in before}
    for name in names:
        if not any(name in r.scores or name in r.score_errors for r in before):
            continue
        changed = []
        for record in after:
            prior = old[record.key]
            was = prior.scores.get(name, "error" if name in prior.score_errors else None)
            now = record.scores.get(name, "error" if name in record.score_errors else None)
            if was != now:
                changed.append(f"{record.key}: {was} -> {now}")
        primary_before = [r for r in before if r.model_tag == "primary"]
        primary_after = [r for r in after if r.model_tag == "primary"]
        changes[name] = ScoreChange(
            mean_before=fn_stats(primary_before, name, rows, threshold=threshold, n=n).mean,
            mean_after=fn_stats(primary_after, name, rows, threshold=threshold, n=n).mean,
            changed_runs=len(changed),
            changed=changed,
        )
    return changes


async def arescore(config: RescoreConfig, hooks: EvalHooks | None = None) -> EvalResult:
    """Rescore ``config.log``; raises `SetupError` for a log, dataset or eval function that cannot be used."""
    from osmosis_local.rubric import judge_usage

    hooks = hooks or EvalHooks()
    hooks.preparing("reading the transcript log")
    if not config.log.is_file():
        raise SetupError(f"Transcript log not found: {config.log}")
    loaded = read_log(config.log)
    header = loaded.header
    if header is None:
        raise SetupError(
            f"{config.log} has no settings header (made by an older osmosis-local?); it cannot be rescored"
        )
    records = list(loaded.latest().values())
    if not records:
        raise SetupError(f"{config.log} holds no finished runs to rescore")
    hooks.preparing("reading the dataset")
    rows = _rows_of(header)
    missing = sorted({r.row_index for r in records} - set(rows))
    if missing:
        raise SetupError(f"The log has runs of rows {missing[:5]} that the dataset does not have")
    hooks.preparing("importing the eval functions")
    try:
        fns = load_eval_fns(config.eval_fns)
    except EvalFnLoadError as exc:
        raise SetupError(str(exc)) from exc
    redactor: Redactor = run_redactor_for_keys()
    log_path = config.new_log or default_rescore_log()
    threshold = header.run.pass_threshold if config.pass_threshold is None else config.pass_threshold
    n_runs = max(header.run.n_runs, 1 + max(r.run_index for r in records))
    row_indices = sorted({r.row_index for r in records})
    tags = sorted({r.model_tag for r in records}, key=lambda t: t != "primary")
    models = [(tag, next(r.model for r in records if r.model_tag == tag)) for tag in tags]
    hooks.started(
        EvalPlan(
            models=[], eval_fns=[(fn.name, fn.mode) for fn in fns], rows=len(row_indices), runs_per_row=n_runs,
            batch_size=config.batch_size, tools=0, warnings=[], log_path=log_path, total=len(records), resumed=0,
            redactor=redactor,
        )
    )  # fmt: skip
    judge_before = judge_usage()
    started = time.perf_counter()
    gate = asyncio.Semaphore(max(1, config.batch_size))
    done: list[RunRecord] = []
    settings = header.settings.model_copy(update={"eval_fns": list(config.eval_fns)})
    with RunLog(log_path, redactor=redactor) as log:
        run_info = header.run.model_copy(update={"rescore_of": str(config.log), "pass_threshold": threshold})
        log.write_header(LogHeader(command="rescore", dataset=header.dataset, settings=settings, run=run_info))

        async def one(record: RunRecord) -> None:
            async with gate:
                new = await _rescored(record, rows[record.row_index], fns)
            log.append(new)
            done.append(new)
            hooks.run_finished(new, len(done), len(records))

        await asyncio.gather(*(one(r) for r in records))
    result = build_eval_result(
        settings=_settings(header, config, threshold, n_runs),
        fail_under=config.fail_under,
        row_indices=row_indices,
        models=models,
        records=done,
        expected_items=len(records),
        wall_ms=(time.perf_counter() - started) * 1000,
        log_path=log_path,
        stop_reason=None,
        judge=judge_delta(judge_before, judge_usage()),
        command="rescore",
    )
    result = result.model_copy(
        update={"changes": _changes(records, done, list(config.eval_fns), row_indices, threshold=threshold, n=n_runs)}
    )
    if config.output is not None:
        hooks.note(f"Results written to {write_results(config.output, result, redactor)}")
    hooks.finished(result)
    return result


def _settings(header: LogHeader, config: RescoreConfig, threshold: float, n_runs: int) -> EvalSettings:
    s, run = header.settings, header.run
    return EvalSettings(
        model=s.model, base_url=s.base_url, baseline_model=s.baseline_model, baseline_base_url=s.baseline_base_url,
        n_runs=n_runs, pass_threshold=threshold, eval_fns=list(config.eval_fns), dataset=header.dataset,
        dataset_sha256=s.dataset_sha256, limit=run.limit, offset=run.offset, mcp=run.mcp, batch_size=config.batch_size,
        max_turns=s.max_turns, max_tokens=s.max_tokens, temperature=s.temperature, seed=s.seed,
        fail_under=config.fail_under, harness_version=__version__, rescore_of=str(config.log),
    )  # fmt: skip


__all__ = ["LogRunInfo", "RescoreConfig", "arescore"]
