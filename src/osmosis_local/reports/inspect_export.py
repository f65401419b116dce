"""`osmosis-local export LOG --format inspect`: a transcript log as an inspect_ai eval log (`inspect view` opens it).

Written with inspect_ai's own log models (the optional ``[inspect]`` extra): one sample per (row, run) of the
primary model (epoch = run + 1), its conversation with the tool calls, one score per eval function (a score
error is the value ``"ERROR"`` with the error as the explanation), the model, dataset and settings, and our
metrics (both means, pass@k) as each scorer's metrics.

The log is read slim (the figures of every run) and the conversations one run at a time, and the samples go to
inspect_ai's own `.eval` recorder as they are made, flushed every `FLUSH_EVERY` samples: memory holds a batch
of samples, never the log (inspect_ai's `write_eval_log` keeps every sample and compares each new one with all
before it, which took 191 s for 20,000 runs).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from osmosis_local.errors import LogReadError
from osmosis_local.log.records import RunRecord
from osmosis_local.log.results import EvalResult
from osmosis_local.reports.html import open_report_input

INSTALL_HINT = "pip install -e '.[inspect]' -c constraints.txt"
FLUSH_EVERY = 200  # samples the recorder holds before it writes them to the file
StopReason = Literal["stop", "max_tokens", "model_length", "tool_calls", "content_filter", "unknown"]
_STOP: dict[str, StopReason] = {"stop": "stop", "length": "max_tokens", "max_turns": "tool_calls"}


def _messages(record: RunRecord) -> list[Any]:
    from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageTool, ChatMessageUser
    from inspect_ai.tool import ToolCall

    names: dict[str, str] = {}
    out: list[Any] = []
    for message in record.loose_messages():
        role, content = message.get("role"), message.get("content")
        text = content if isinstance(content, str) else "" if content is None else json.dumps(content)
        if role == "system":
            out.append(ChatMessageSystem(content=text))
        elif role == "user":
            out.append(ChatMessageUser(content=text))
        elif role == "assistant":
            calls = []
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                raw = function.get("arguments") or "{}"
                try:
                    arguments, problem = json.loads(raw), None
                except (ValueError, RecursionError) as exc:
                    arguments, problem = {}, f"arguments are not JSON: {exc}"
                if not isinstance(arguments, dict):
                    arguments, problem = {}, "arguments are not a JSON object"
                names[str(call.get("id"))] = str(function.get("name") or "")
                calls.append(ToolCall(id=str(call.get("id")), function=str(function.get("name") or ""),
                                      arguments=arguments, parse_error=problem))  # fmt: skip
            out.append(ChatMessageAssistant(content=text, tool_calls=calls or None, model=record.model))
        elif role == "tool":
            call_id = str(message.get("tool_call_id"))
            out.append(ChatMessageTool(content=text, tool_call_id=call_id, function=names.get(call_id)))
    return out


def _sample(record: RunRecord, fns: list[str]) -> Any:
    from inspect_ai.log import EvalSample
    from inspect_ai.model import ModelOutput, ModelUsage
    from inspect_ai.scorer import Score

    scores = {}
    for fn in fns:
        if fn in record.scores:
            scores[fn] = Score(value=record.scores[fn], answer=record.answer)
        elif fn in record.score_errors:
            scores[fn] = Score(value="ERROR", answer=record.answer, explanation=record.score_errors[fn])
    user = next((m.get("content") for m in record.messages if m.get("role") == "user"), "")
    usage = record.token_usage
    return EvalSample(
        id=f"row-{record.row_index}",
        epoch=record.run_index + 1,
        input=user if isinstance(user, str) else json.dumps(user),
        target=record.ground_truth,
        messages=_messages(record),
        output=ModelOutput.from_content(
            record.model, record.answer, stop_reason=_STOP.get(record.finish_reason, "unknown"), error=record.error
        ),  # fmt: skip
        scores=scores,
        metadata={
            "row_index": record.row_index,
            "run_index": record.run_index,
            "seed": record.seed,
            "success": record.success,
            "error": record.error,
            "finish_reason": record.finish_reason,
            "duration_ms": record.duration_ms,
            "tool_calls": len(record.tool_calls),
        },  # fmt: skip
        model_usage={
            record.model: ModelUsage(
                input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens, total_tokens=usage.total_tokens
            )
        },  # fmt: skip
        total_time=record.duration_ms / 1000,
    )


def build_inspect_log(result: EvalResult, records: Sequence[RunRecord], *, samples: bool = True) -> Any:
    """The inspect_ai `EvalLog` of an eval (or rescore) result and its run records (whole, when ``samples``);
    without ``samples``, the log's header and results alone (`export_inspect` streams the samples)."""
    from inspect_ai.log import EvalConfig, EvalDataset, EvalLog, EvalMetric, EvalResults, EvalScore, EvalSpec

    c, s = result.config, result.summary
    fns = list(c.eval_fns)
    primary = _primary(records)
    scores = []
    for fn in fns:
        st = s.eval_fns[fn]
        metrics = {"mean": st.mean, "mean_all_runs": st.mean_all_runs, "std": st.std,
                   **{f"pass_at_{k}": v for k, v in st.pass_at().items()}}  # fmt: skip
        scores.append(EvalScore(
            name=fn, scorer=fn, scored_samples=st.scored, unscored_samples=st.errors + st.unscored,
            metrics={k: EvalMetric(name=k, value=v) for k, v in metrics.items() if v is not None},
        ))  # fmt: skip
    created = min((r.started_at for r in primary if r.started_at), default="") or _dt.datetime.now(_dt.UTC).isoformat()
    spec = EvalSpec(
        created=created, task="osmosis-local", dataset=EvalDataset(name=Path(c.dataset).name, location=str(c.dataset),
                                                                  samples=s.total_rows),  # fmt: skip
        model=c.model, model_base_url=c.base_url, config=EvalConfig(epochs=c.n_runs, message_limit=None),
        task_args={"settings": c.model_dump(mode="json"), "baseline_runs": len(records) - len(primary)},
    )  # fmt: skip
    return EvalLog(
        status="success", eval=spec, samples=[_sample(r, fns) for r in primary] if samples else None,
        results=EvalResults(total_samples=s.expected_runs, completed_samples=len(primary), scores=scores),
    )  # fmt: skip


def _primary(records: Iterable[RunRecord]) -> list[RunRecord]:
    """The primary model's records by (row, run): one inspect sample each."""
    return sorted((r for r in records if r.model_tag == "primary"), key=lambda r: (r.row_index, r.run_index))


def export_inspect(source: Path, target: Path) -> Path:
    """Write ``source`` (a transcript log or an `-o` results file) as an inspect_ai ``.eval`` log."""
    try:
        from inspect_ai.log import write_eval_log
    except ImportError:
        raise LogReadError(f"Exporting to inspect needs inspect-ai, the [inspect] extra: {INSTALL_HINT}") from None
    result, loaded = open_report_input(source)
    if not loaded.records:
        raise LogReadError(f"No run records to export (the transcript log {result.transcript_log} is missing)")
    target.parent.mkdir(parents=True, exist_ok=True)
    log = build_inspect_log(result, loaded.records, samples=False)
    fns = list(result.config.eval_fns)
    samples = (_sample(r, fns) for r in loaded.with_transcripts(_primary(loaded.records)))
    try:
        from inspect_ai.log._recorders.eval import EvalRecorder  # private: the version is pinned in constraints
    except ImportError:  # another inspect_ai: its public writer, every sample in memory
        write_eval_log(log.model_copy(update={"samples": list(samples)}), str(target))
        return target
    asyncio.run(_record(EvalRecorder(str(target.parent)), log, samples, target))
    return target


async def _record(recorder: Any, log: Any, samples: Iterable[Any], target: Path) -> None:
    """``samples`` through inspect_ai's `.eval` recorder, as its `write_eval_log` does, a batch at a time."""
    await recorder.log_init(log.eval, str(target), clean=True)
    await recorder.log_start(log.eval, log.plan)
    for count, sample in enumerate(samples, start=1):
        await recorder.log_sample(log.eval, sample)
        if count % FLUSH_EVERY == 0:
            await recorder.flush(log.eval)
    await recorder.log_finish(log.eval, log.status, log.stats, log.results, log.reductions, log.error)
