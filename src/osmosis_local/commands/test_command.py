"""`osmosis-local test`: run the agent loop once per row and say which rows complete.

Deliberate difference from the reference (contract weak spot 9): a rollout that ends without an
answer — out of turns while still calling tools (`max_turns`) or cut off (`length`) — is a FAILED row,
because a policy that never answers is not a passing setup. The finish reason is shown either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from osmosis_local.agent_loop import run_rollout
from osmosis_local.commands.rollout_setup import (
    SetupError,
    build_model,
    default_log_path,
    load_rows,
    load_tools,
    preflight,
    secrets_of,
    write_results,
)
from osmosis_local.commands.run_report import TestReporter
from osmosis_local.llm_call import redact

PASSING_FINISH_REASONS = {"stop"}


def run_test(args: argparse.Namespace) -> int:
    from osmosis_local.cli import EXIT_OK, EXIT_SETUP

    reporter = TestReporter(quiet=args.quiet)
    try:
        if args.interactive:
            from osmosis_local.commands.interactive import run_interactive

            if args.output:
                reporter.note("Note: -o is ignored in interactive mode (nothing is batch-run).")
            return asyncio.run(run_interactive(args))
        output = asyncio.run(_test(args, reporter))
    except SetupError as exc:
        reporter.setup_failed(exc, debug=args.debug)
        return EXIT_SETUP
    except KeyboardInterrupt:
        reporter.error("Interrupted.")
        return EXIT_SETUP
    return EXIT_OK if output["summary"]["failed"] == 0 and not output["summary"]["stopped_early"] else EXIT_SETUP


def rollout_record(row: Any, result: Any, model_name: str) -> dict[str, Any]:
    """One row's result: the contract's fields plus the transcript."""
    passed = result.success and result.finish_reason in PASSING_FINISH_REASONS
    error = result.error
    if result.success and not passed:
        error = (
            "ran out of turns while still calling tools (raise --max-turns?)"
            if result.finish_reason == "max_turns"
            else f"the model stopped without a final answer (finish_reason={result.finish_reason}; raise --max-tokens?)"
        )
    return {
        "key": f"row-{row.row_index}/test",
        "row_index": row.row_index,
        "model": model_name,
        "success": passed,
        "error": error,
        "systemic": result.systemic,
        "duration_ms": round(result.duration_ms, 1),
        "token_usage": result.token_usage(),
        "reward": None,
        "finish_reason": result.finish_reason,
        "solution_str": result.solution_str,
        "tool_calls": [vars(call) for call in result.tool_calls],
        "messages": result.messages,
    }


async def _test(args: argparse.Namespace, reporter: TestReporter) -> dict[str, Any]:
    from osmosis_local.model_names import load_dotenv_upwards
    from osmosis_local.tool_runner import ToolRunner
    from osmosis_local.transcript_log import TranscriptLog

    load_dotenv_upwards()
    reporter.preparing("reading the dataset")
    rows = load_rows(args)
    reporter.preparing("loading the MCP tools")
    server, tools, warnings = load_tools(args.mcp)
    reporter.preparing("setting up the model")
    model = build_model(args, tag="primary", name=args.model, base_url=args.base_url, api_key=args.api_key)
    reporter.preparing(f"loading litellm, then a preflight request to {model.display_name}")
    await preflight(model)
    reporter.end_preparing()
    log_path = Path(args.log or default_log_path("test"))
    log = TranscriptLog(log_path)
    secrets = secrets_of(model)
    reporter.header(model.display_name, len(rows), tools, warnings, log_path)

    records: list[dict[str, Any]] = []
    stop_reason = None
    started = time.perf_counter()
    async with ToolRunner(server, timeout_s=args.tool_timeout) as tool_runner:
        reporter.start_progress(total=len(rows))
        for i, row in enumerate(rows, 1):
            result = await run_rollout(
                system_prompt=row.system_prompt,
                user_prompt=row.user_prompt,
                model=model.client,
                tools=tools,
                tool_caller=tool_runner,
                max_turns=args.max_turns,
            )
            record = json.loads(redact(json.dumps(rollout_record(row, result, model.display_name), default=str), secrets))
            log.append(record)
            records.append(record)
            reporter.row_finished(i, len(rows), record)
            if result.systemic:
                stop_reason = result.error
                break
        reporter.stop_progress()
    wall_ms = (time.perf_counter() - started) * 1000

    passed = sum(1 for r in records if r["success"])
    output = {
        "config": {"model": args.model, "dataset": str(args.dataset), "mcp": str(args.mcp), "max_turns": args.max_turns},
        "summary": {
            "total": len(records),
            "passed": passed,
            "failed": len(records) - passed,
            "total_duration_ms": round(wall_ms, 1),
            "total_tokens": sum(r["token_usage"]["total_tokens"] for r in records),
            "stopped_early": stop_reason is not None and len(records) < len(rows),
            "finish_reasons": dict(Counter(r["finish_reason"] for r in records)),
        },
        "results": [
            {k: r[k] for k in ("row_index", "success", "error", "duration_ms", "token_usage", "reward", "finish_reason")}
            for r in records
        ],
        "transcript_log": str(log_path),
    }
    if stop_reason:
        output["summary"]["stop_reason"] = stop_reason
    reporter.summary(output)
    if args.output:
        reporter.note(f"Results written to {write_results(args.output, output)}")
    return output
