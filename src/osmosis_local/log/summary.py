"""Every figure of an eval, computed from its run records: `build_eval_result` turns a log into an `EvalResult`.

The runner (at the end of an eval), `rescore` and `view` all call it, so the console, the `-o` file, the API
and the report agree. It reads records only; it never runs anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from osmosis_local.config.settings import EvalConfig, FailUnder
from osmosis_local.errors import EXIT_FAIL_UNDER, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from osmosis_local.log.records import RunLike, bounded_answer, end_state_counts
from osmosis_local.log.results import (
    EvalFnStats,
    EvalResult,
    EvalRowResult,
    EvalRunResult,
    EvalSummary,
    JudgeUsage,
    ModelCost,
    ModelSummary,
    ReplicaUse,
    ScoreChange,
)
from osmosis_local.log.stats import NoScore, Score, eval_fn_summary, paired_comparison
from osmosis_local.prices import price_of


def judge_delta(before: dict[str, int], after: dict[str, int]) -> JudgeUsage | None:
    """What rubric judges spent between two `judge_usage()` snapshots; None when no judge ran."""
    delta = {key: after.get(key, 0) - before.get(key, 0) for key in JudgeUsage.model_fields}
    return JudgeUsage(**delta) if delta["calls"] or delta["cache_hits"] else None


@dataclass(frozen=True)
class JudgeTokens:
    """The tokens one judge model spent (what its cost is computed from)."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    is_local: bool = False


def record_cost(record: RunLike) -> float | None:
    """What the run's policy tokens cost in dollars; None when its model's price is not known."""
    price = price_of(record.model)
    usage = record.token_usage
    return None if price is None else price.cost(usage.prompt_tokens, usage.completion_tokens)


def model_costs(
    records: Sequence[RunLike], models: Sequence[tuple[str, str]], judges: Sequence[JudgeTokens] = ()
) -> list[ModelCost]:
    """The cost of each model's tokens: the policy and baseline from the run records, the judges as tallied."""
    costs = []
    for tag, name in models:
        mine = [r for r in records if r.model_tag == tag]
        prompt = sum(r.token_usage.prompt_tokens for r in mine)
        completion = sum(r.token_usage.completion_tokens for r in mine)
        price = price_of(name)
        costs.append(ModelCost(
            model=name, role="policy" if tag == "primary" else "baseline", prompt_tokens=prompt,
            completion_tokens=completion, usd=None if price is None else price.cost(prompt, completion),
            price_source=None if price is None else price.source,
        ))  # fmt: skip
    for judge in judges:
        price = price_of(judge.model, is_local=judge.is_local)
        costs.append(ModelCost(
            model=judge.model, role="judge", prompt_tokens=judge.prompt_tokens,
            completion_tokens=judge.completion_tokens,
            usd=None if price is None else price.cost(judge.prompt_tokens, judge.completion_tokens),
            price_source=None if price is None else price.source,
        ))  # fmt: skip
    return costs


def total_cost(costs: Sequence[ModelCost]) -> float | None:
    """The sum of the known costs; None when no cost is known."""
    known = [c.usd for c in costs if c.usd is not None]
    return math.fsum(known) if known else None


def span_ms(records: Sequence[RunLike]) -> float | None:
    """Milliseconds from the first run's start to the last run's end (a log records no wall time of its own);
    None when no run has a start time."""
    import datetime as _dt

    spans = []
    for r in records:
        try:
            start = _dt.datetime.fromisoformat(r.started_at).timestamp()
        except ValueError:
            continue
        spans.append((start, start + r.duration_ms / 1000))
    if not spans:
        return None
    return (max(end for _, end in spans) - min(start for start, _ in spans)) * 1000


def run_score(record: RunLike, fn: str) -> Score:
    """The record's score for ``fn``, or why it has none."""
    scores = record.scores
    if fn in scores:
        return scores[fn]
    if fn in record.score_errors:
        return NoScore.ERROR
    return NoScore.RUN_FAILED


def fn_stats(
    records: Sequence[RunLike], fn: str, row_indices: Sequence[int], *, threshold: float, n: int
) -> EvalFnStats:
    """The figures of one eval function over one model's records."""
    by_row: dict[int, list[Score]] = {index: [] for index in row_indices}
    for record in sorted(records, key=lambda r: (r.row_index, r.run_index)):
        if record.row_index in by_row:
            by_row[record.row_index].append(run_score(record, fn))
    return eval_fn_summary(list(by_row.values()), threshold=threshold, n_requested=n)


def _problems(
    stats: dict[str, EvalFnStats], primary: Sequence[RunLike], fail_under: FailUnder, stop_reason: str | None
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
    config: EvalConfig,
    row_indices: Sequence[int],
    models: Sequence[tuple[str, str]],
    records: Sequence[RunLike],
    expected_items: int,
    wall_ms: float,
    log_path: Path,
    stop_reason: str | None,
    judge: JudgeUsage | None,
    command: Literal["eval", "rescore"] = "eval",
    interrupted: bool = False,
    judges: Sequence[JudgeTokens] = (),
    budget_stop: str | None = None,
    replicas: Sequence[ReplicaUse] = (),
    with_rows: bool = True,
) -> EvalResult:
    """Every figure of an eval, from its run records; ``config`` is the run's settings (echoed as is).

    ``interrupted``: the records are what a Ctrl-C left, and the result is marked partial (exit code 130).
    ``with_rows=False``: the result without its rows (``rows`` empty), for a caller that writes them one at a time
    from `eval_rows` (`EvalResult.write_json`)."""
    names = config.eval_fns
    by_tag = {tag: [r for r in records if r.model_tag == tag] for tag, _ in models}
    primary = by_tag["primary"]

    def stats_of(tag_records: Sequence[RunLike]) -> dict[str, EvalFnStats]:
        return {
            name: fn_stats(tag_records, name, row_indices, threshold=config.pass_threshold, n=config.n_runs)
            for name in names
        }

    primary_stats = stats_of(primary)
    costs = model_costs(records, models, judges) if command == "eval" else model_costs((), (), judges)
    problems, exit_code = _problems(primary_stats, primary, config.fail_under, stop_reason)
    if budget_stop is not None and not interrupted:
        stop_reason = budget_stop
        problems = [f"stopped by {budget_stop}; {len(records)} of {expected_items} runs done: continue with "
                    f"--resume {log_path} and a higher --max-cost", *problems]  # fmt: skip
        exit_code = EXIT_FAILED
    if interrupted:
        stop_reason = "interrupted (Ctrl-C)"
        problems = [f"interrupted (Ctrl-C) after {len(records)} of {expected_items} runs: these results are "
                    f"partial; continue with --resume {log_path}"]  # fmt: skip
        exit_code = EXIT_INTERRUPTED
    summary = EvalSummary(
        total_rows=len(row_indices),
        total_runs=len(primary),
        expected_runs=expected_items // max(1, len(models)) if config.shard else len(row_indices) * config.n_runs,
        failed_runs=sum(1 for r in primary if not r.answered),
        end_states=end_state_counts([r.end_state for r in primary]),
        stopped_early=stop_reason is not None and len(records) < expected_items,
        stop_reason=stop_reason,
        interrupted=interrupted,
        eval_fns=primary_stats,
        total_tokens=sum(r.tokens for r in primary),
        total_duration_ms=round(wall_ms, 1),
        run_duration_ms=round(math.fsum(r.duration_ms for r in primary), 1),
        judge_usage=judge,
        cost=costs,
        replicas=list(replicas),
        total_cost_usd=total_cost(costs),
        problems=problems,
    )
    rows = list(eval_rows(records, row_indices)) if with_rows else []
    model_summaries = comparison = None
    if len(models) > 1:
        model_summaries = [
            ModelSummary(
                model=display,
                model_tag=tag,
                total_runs=len(by_tag[tag]),
                failed_runs=sum(1 for r in by_tag[tag] if not r.answered),
                end_states=end_state_counts([r.end_state for r in by_tag[tag]]),
                total_tokens=sum(r.tokens for r in by_tag[tag]),
                total_duration_ms=round(sum(r.duration_ms for r in by_tag[tag]), 1),
                eval_fns=stats_of(by_tag[tag]),
            )
            for tag, display in models
        ]
        comparison = {
            name: paired_comparison(
                {(r.row_index, r.run_index): run_score(r, name) for r in primary},
                {(r.row_index, r.run_index): run_score(r, name) for r in by_tag["baseline"]},
            )
            for name in names
        }
    return EvalResult(
        command=command,
        config=config,
        summary=summary,
        rows=rows,
        model_summaries=model_summaries,
        comparison=comparison,
        transcript_log=str(log_path),
        exit_code=exit_code,
    )


def eval_rows(records: Sequence[RunLike], row_indices: Sequence[int]) -> Iterator[EvalRowResult]:
    """The result's rows, in ``row_indices`` order, each with its runs by run index (primary before baseline),
    made one at a time: linear in runs, and only one row's entries exist at once."""
    by_row: dict[int, list[RunLike]] = {index: [] for index in row_indices}
    for record in records:
        if record.row_index in by_row:
            by_row[record.row_index].append(record)
    for index, row_records in by_row.items():
        ordered = sorted(row_records, key=lambda r: (r.run_index, r.model_tag != "primary"))
        yield EvalRowResult(row_index=index, runs=[_run_result(r) for r in ordered])


def _run_result(record: RunLike) -> EvalRunResult:
    """The run's entry of the result: built without validation from the record's values (typed already), its
    dicts and strings shared with the record, and one fields-set object for all: a run costs ~0.7 KB here."""
    return EvalRunResult.model_construct(
        _fields_set=_RUN_FIELDS,
        run_index=record.run_index,
        model_tag=record.model_tag,
        success=record.answered,
        end_state=record.end_state,
        error=record.why_no_answer,
        finish_reason=record.finish_reason,
        seed=record.seed,
        scores=record.scores,
        score_errors=record.score_errors,
        duration_ms=record.duration_ms,
        tokens=record.tokens,
        answer=bounded_answer(record.answer),
        reward=record.reward,
    )


_RUN_FIELDS: set[str] = set(EvalRunResult.model_fields)


def score_changes(before: Sequence[RunLike], after: Sequence[RunLike], names: Sequence[str],
                  rows: Sequence[int], *, threshold: float, n: int) -> dict[str, ScoreChange]:  # fmt: skip
    """Per eval function the earlier log had scored: means before -> after and the runs that changed (a rescore's
    result, and the report of a rescore log, both come from here)."""
    changes: dict[str, ScoreChange] = {}
    old = {r.key: r for r in before}
    for name in names:
        if not any(name in r.scores or name in r.score_errors for r in before):
            continue
        changed = []
        for record in after:
            prior = old.get(record.key)
            if prior is None:
                continue
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
