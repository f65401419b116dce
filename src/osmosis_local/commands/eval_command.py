"""`osmosis-local eval`: rollouts scored by eval functions, with pass@k, a baseline and a transcript log.

Improvements over the reference (contract §7 weak spots): a bounded pool instead of waves (a new
rollout starts as soon as any finishes), an eval function that raises is an *error* for that run
(counted, shown, written) rather than a silent 0.0, a paired win/loss/tie report against the baseline,
and every finished run appended to a JSONL transcript log so `--resume` loses nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osmosis_local.agent_loop import RolloutResult, run_rollout
from osmosis_local.commands.rollout_setup import (
    ModelChoice,
    SetupError,
    build_model,
    default_log_path,
    load_rows,
    load_tools,
    preflight,
    secrets_of,
    write_results,
)
from osmosis_local.commands.run_report import EvalReporter
from osmosis_local.llm_call import redact

# The pool's workers take their first rollout 10 ms apart instead of all at once. Rollouts started
# together send their requests together, get their answers together, and then queue for the one
# event-loop thread (litellm and a tool call cost ~8 ms of CPU per turn), so every one of them waits
# for all the others. Staggering the start keeps them staggered: +0.02 to +0.06 efficiency at batch
# size 32 in benchmarks/runner_bench.py, for at most (B - 1) x 10 ms once per eval. It also spares the
# provider a burst of B simultaneous requests. 25 ms measured worse (the ramp itself then dominates).
POOL_START_SPACING_S = 0.01


@dataclass(frozen=True)
class WorkItem:
    """One rollout to run: a row, a run index and which model."""

    row: Any
    run_index: int
    model: ModelChoice

    @property
    def key(self) -> str:
        return f"row-{self.row.row_index}/run-{self.run_index}/{self.model.tag}"


@dataclass
class EvalState:
    """Results so far, keyed like the transcript log (so resumed runs slot in)."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop_reason: str | None = None


def run_eval(args: argparse.Namespace) -> int:
    from osmosis_local.cli import EXIT_FAIL_UNDER, EXIT_OK, EXIT_SETUP

    reporter = EvalReporter(quiet=args.quiet)
    try:
        outcome = asyncio.run(_eval(args, reporter))
    except SetupError as exc:
        reporter.setup_failed(exc, debug=args.debug)
        return EXIT_SETUP
    except KeyboardInterrupt:
        reporter.error("Interrupted: finished runs are in the transcript log; rerun with --resume LOG to continue.")
        return EXIT_SETUP
    if outcome["summary"].get("stop_reason"):  # a systemic error, even on the last run: the key or endpoint is broken
        return EXIT_SETUP
    if args.fail_under is not None:
        first = outcome["summary"]["eval_fns"][args.eval_fn[0]]
        mean = first.get("mean")
        if mean is None or mean < args.fail_under:
            reporter.error(f"--fail-under {args.fail_under}: mean of {args.eval_fn[0]} is {mean}")
            return EXIT_FAIL_UNDER
    return EXIT_OK


async def _eval(args: argparse.Namespace, reporter: EvalReporter) -> dict[str, Any]:
    from osmosis_local.eval_fns import EvalFnLoadError, load_eval_fns
    from osmosis_local.model_names import load_dotenv_upwards
    from osmosis_local.transcript_log import TranscriptLog, load_completed

    load_dotenv_upwards()
    reporter.preparing("reading the dataset")
    rows = load_rows(args)
    reporter.preparing("importing the eval functions")
    try:
        eval_fns = load_eval_fns(args.eval_fn)
    except EvalFnLoadError as exc:
        raise SetupError(str(exc)) from exc
    reporter.preparing("loading the MCP tools")
    server, tools, warnings = load_tools(args.mcp)
    reporter.preparing("setting up the model")
    primary = build_model(args, tag="primary", name=args.model, base_url=args.base_url, api_key=args.api_key)
    baseline = None
    if args.baseline_model:
        baseline = build_model(
            args, tag="baseline", name=args.baseline_model, base_url=args.baseline_base_url, api_key=args.baseline_api_key
        )
    models = [m for m in (primary, baseline) if m is not None]
    batch_size = args.batch_size
    if any(m.is_local for m in models) and batch_size > 1:
        warnings.append("the embedded model serves one request at a time: --batch-size lowered to 1")
        batch_size = 1
    for choice in models:
        reporter.preparing(f"loading litellm, then a preflight request to {choice.display_name}")
        await preflight(choice)

    log_path = Path(args.resume or args.log or default_log_path("eval"))
    # Resume keeps finished runs; failed ones (rate limits, a provider outage) are run again.
    done = {k: r for k, r in load_completed(log_path).items() if r.get("success")} if args.resume else {}
    log = TranscriptLog(log_path)
    secrets = secrets_of(*models)
    items = [
        WorkItem(row, run_index, model)
        for row in rows
        for run_index in range(args.n)
        for model in models
    ]
    state = EvalState()
    for item in items:
        if item.key in done:
            state.records[item.key] = done[item.key]
    todo = [item for item in items if item.key not in state.records]
    reporter.end_preparing()
    reporter.header(args, models, eval_fns, len(rows), tools, warnings, log_path, resumed=len(items) - len(todo))

    started = time.perf_counter()
    from osmosis_local.tool_runner import ToolRunner

    async with ToolRunner(server, timeout_s=args.tool_timeout) as tool_runner:
        queue: asyncio.Queue[WorkItem] = asyncio.Queue()
        for item in todo:
            queue.put_nowait(item)
        reporter.start_progress(total=len(items), completed=len(items) - len(todo))

        async def worker(index: int) -> None:
            await asyncio.sleep(index * POOL_START_SPACING_S)
            while state.stop_reason is None:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                record = await _run_item(item, args, tools, tool_runner, eval_fns)
                record = json.loads(redact(json.dumps(record, default=str), secrets))
                await log.aappend(record)  # the fsync runs off the event loop
                state.records[item.key] = record
                reporter.run_finished(record, len(state.records), len(items))
                if record.get("systemic") and state.stop_reason is None:
                    state.stop_reason = record.get("error") or "systemic provider error"

        await asyncio.gather(*(worker(i) for i in range(min(batch_size, max(1, len(todo))))))
        reporter.stop_progress()

    wall_ms = (time.perf_counter() - started) * 1000
    output = build_eval_output(args, rows, models, eval_fns, state, items, wall_ms, log_path)
    reporter.final_report(output)
    if args.output:
        reporter.note(f"Results written to {write_results(args.output, output)}")
    return output


async def _run_item(item: WorkItem, args: argparse.Namespace, tools: list[dict[str, Any]], tool_runner: Any, eval_fns: list[Any]) -> dict[str, Any]:
    from osmosis_local.eval_fns import EvalFnCallError

    row = item.row
    client = item.model.client
    for_run = getattr(client, "for_run", None)
    result: RolloutResult = await run_rollout(
        system_prompt=row.system_prompt,
        user_prompt=row.user_prompt,
        model=for_run(item.run_index) if for_run is not None else client,
        tools=tools,
        tool_caller=tool_runner,
        max_turns=args.max_turns,
    )
    scores: dict[str, float] = {}
    score_errors: dict[str, str] = {}
    if result.success:
        for fn in eval_fns:
            try:
                scores[fn.name] = await fn.score(
                    solution_str=result.solution_str,
                    messages=result.messages,
                    ground_truth=row.ground_truth,
                    row=row.as_row_dict(),
                )
            except EvalFnCallError as exc:
                score_errors[fn.name] = str(exc)
    record: dict[str, Any] = {
        "key": item.key,
        "row_index": row.row_index,
        "run_index": item.run_index,
        "seed": None if args.seed is None else args.seed + item.run_index,
        "model_tag": item.model.tag,
        "model": item.model.display_name,
        "success": result.success,
        "error": result.error,
        "systemic": result.systemic,
        "finish_reason": result.finish_reason,
        "scores": scores,
        "score_errors": score_errors,
        "duration_ms": round(result.duration_ms, 1),
        "tokens": result.total_tokens,
        "token_usage": result.token_usage(),
        "ground_truth": row.ground_truth,
        "solution_str": result.solution_str,
        "tool_calls": [vars(call) for call in result.tool_calls],
        "messages": result.messages,
    }
    return record


def build_eval_output(
    args: argparse.Namespace,
    rows: list[Any],
    models: list[ModelChoice],
    eval_fns: list[Any],
    state: EvalState,
    items: list[WorkItem],
    wall_ms: float,
    log_path: Path,
) -> dict[str, Any]:
    """The `-o` JSON: the contract's keys (config, summary, rows; model_summaries with a baseline) plus ours."""
    from osmosis_local.stats import paired_comparison

    fn_names = [fn.name for fn in eval_fns]
    by_tag = {m.tag: [r for r in state.records.values() if r["model_tag"] == m.tag] for m in models}
    primary_records = by_tag["primary"]
    config: dict[str, Any] = {
        "model": args.model,
        "n_runs": args.n,
        "pass_threshold": args.pass_threshold,
        "eval_fns": fn_names,
        "dataset": str(args.dataset),
        "mcp": str(args.mcp),
        "batch_size": args.batch_size,
        "max_turns": args.max_turns,
        "seed": args.seed,
        "temperature": args.temperature,
    }
    if args.baseline_model:
        config["baseline_model"] = args.baseline_model
    summary: dict[str, Any] = {
        "total_rows": len(rows),
        "total_runs": len(primary_records),
        "expected_runs": len(rows) * args.n,
        "failed_runs": sum(1 for r in primary_records if not r["success"]),
        "stopped_early": state.stop_reason is not None and len(state.records) < len(items),
        "eval_fns": _fn_stats(primary_records, fn_names, rows, args),
        "total_tokens": sum(r["tokens"] for r in primary_records),
        "total_duration_ms": round(wall_ms, 1),
    }
    if state.stop_reason:
        summary["stop_reason"] = state.stop_reason
    from osmosis_local.rubric import judge_usage

    judge = judge_usage()
    if judge["calls"] or judge["cache_hits"]:
        summary["judge_usage"] = judge  # rubric eval fns' own LLM calls, counted separately from the policy
    rows_out = []
    for row in rows:
        runs = []
        for record in sorted(
            (r for r in state.records.values() if r["row_index"] == row.row_index),
            key=lambda r: (r["run_index"], r["model_tag"] != "primary"),
        ):
            run = {
                "run_index": record["run_index"],
                "success": record["success"],
                "scores": record["scores"],
                "duration_ms": record["duration_ms"],
                "tokens": record["tokens"],
                "finish_reason": record["finish_reason"],
            }
            if args.baseline_model:
                run["model_tag"] = record["model_tag"]
            if record.get("error"):
                run["error"] = record["error"]
            if record.get("score_errors"):
                run["score_errors"] = record["score_errors"]
            runs.append(run)
        rows_out.append({"row_index": row.row_index, "runs": runs})
    output: dict[str, Any] = {"config": config, "summary": summary, "rows": rows_out}
    if args.baseline_model:
        output["model_summaries"] = [
            {
                "model": m.display_name,
                "model_tag": m.tag,
                "total_runs": len(by_tag[m.tag]),
                "total_tokens": sum(r["tokens"] for r in by_tag[m.tag]),
                "total_duration_ms": round(sum(r["duration_ms"] for r in by_tag[m.tag]), 1),
                "eval_fns": _fn_stats(by_tag[m.tag], fn_names, rows, args),
            }
            for m in models
        ]
        output["comparison"] = {
            name: paired_comparison(
                _score_map(by_tag["primary"], name), _score_map(by_tag["baseline"], name)
            )
            for name in fn_names
        }
    output["transcript_log"] = str(log_path)
    return output


def _score_map(records: list[dict[str, Any]], name: str) -> dict[tuple[int, int], float]:
    return {(r["row_index"], r["run_index"]): r["scores"][name] for r in records if name in r["scores"]}


def _fn_stats(records: list[dict[str, Any]], fn_names: list[str], rows: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    from osmosis_local.stats import pass_at_k_table, summarize

    out: dict[str, Any] = {}
    for name in fn_names:
        scores = [r["scores"][name] for r in records if name in r["scores"]]
        stats: dict[str, Any] = dict(summarize(scores))
        stats["scored"] = len(scores)
        stats["errors"] = sum(1 for r in records if name in (r.get("score_errors") or {}))
        stats["unscored"] = sum(1 for r in records if not r["success"])
        if args.n > 1:
            per_row = [
                [r["scores"].get(name, 0.0) for r in records if r["row_index"] == row.row_index]
                for row in rows
            ]
            stats.update(pass_at_k_table(per_row, args.pass_threshold, args.n))
        out[name] = stats
    return out
