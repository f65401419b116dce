"""What the runner keeps of a finished run (`RunFigures`) says what its record says, and a log read slim gives
every record back whole, one at a time (`LoadedLog.with_transcripts`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from osmosis_local.config.settings import EvalConfig
from osmosis_local.log.records import SLIM_ANSWER_CHARS, LogHeader, RunRecord, TokenUsage, ToolCallRecord
from osmosis_local.log.summary import build_eval_result
from osmosis_local.log.transcript import RunLog, read_log

FN, OTHER = "m:f", "m:g"


def _record(row: int, run: int, **extra: object) -> RunRecord:
    values: dict[str, object] = {
        "key": f"row-{row}/run-{run}/primary", "command": "eval", "row_index": row, "run_index": run, "model": "m",
        "success": True, "finish_reason": "stop", "scores": {FN: 1.0, OTHER: 0.5}, "answer": "#### 3",
        "token_usage": TokenUsage(prompt_tokens=300, completion_tokens=40, total_tokens=340, num_llm_calls=3),
        "started_at": "2026-12-05T10:00:00.000+00:00", "duration_ms": 1200.5, "ground_truth": "3",
        "messages": [{"role": "user", "content": f"question {row}"}, {"role": "assistant", "content": "#### 3"}],
        "tool_calls": [ToolCallRecord(call_id="c", name="add", arguments="{}", content="3", is_error=False,
                                      duration_ms=0.2)],
    }  # fmt: skip
    values.update(extra)
    return RunRecord.model_validate(values)


CASES = [
    _record(0, 0),
    _record(0, 1, scores={FN: 0.0}, score_errors={OTHER: "raised ValueError: bug"}, seed=8),
    _record(1, 0, success=False, error="HTTP 500", finish_reason="error", scores={}),
    _record(1, 1, finish_reason="max_turns", scores={}),
    _record(2, 0, finish_reason="length", scores={}, reward=0.25),
    _record(2, 1, answer="x" * (SLIM_ANSWER_CHARS + 7)),
    _record(3, 0, model_tag="baseline", key="row-3/run-0/baseline", model="b"),
]
SAME = ("key", "row_index", "run_index", "model_tag", "model", "seed", "success", "error", "finish_reason", "reward",
        "scores", "score_errors", "token_usage", "tokens", "started_at", "duration_ms", "end_state", "answered",
        "why_no_answer")  # fmt: skip


@pytest.mark.parametrize("record", CASES, ids=lambda r: r.key)
def test_the_figures_of_a_run_say_what_its_record_says(record: RunRecord) -> None:
    figures = record.figures()
    assert {name: getattr(figures, name) for name in SAME} == {name: getattr(record, name) for name in SAME}
    assert figures.answer == record.slim().answer and len(figures.answer) <= SLIM_ANSWER_CHARS + 60
    assert figures.figures() is figures


def test_a_result_built_from_figures_equals_one_built_from_records() -> None:
    config = EvalConfig(mcp=Path("mcp"), dataset=Path("d.jsonl"), model="m", eval_fns=[FN, OTHER], n_runs=2,
                        baseline_model="b")  # fmt: skip
    common = {"config": config, "row_indices": [0, 1, 2, 3], "models": [("primary", "m"), ("baseline", "b")],
              "expected_items": len(CASES), "wall_ms": 10.0, "log_path": Path("x.jsonl"), "stop_reason": None,
              "judge": None}  # fmt: skip
    from_records = build_eval_result(records=CASES, **common)  # type: ignore[arg-type]
    from_figures = build_eval_result(records=[r.figures() for r in CASES], **common)  # type: ignore[arg-type]
    assert from_figures.model_dump() == from_records.model_dump()
    assert build_eval_result(records=CASES, with_rows=False, **common).rows == []  # type: ignore[arg-type]


def test_a_slim_read_gives_each_record_back_whole_one_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    config = EvalConfig(mcp=Path("mcp"), dataset=Path("d.jsonl"), model="m", eval_fns=[FN])
    with RunLog(path) as log:
        log.write_header(LogHeader(command="eval", settings=config))
        for record in CASES:
            log.append(record)
        log.append(CASES[0].model_copy(update={"scores": {FN: 0.0}}))  # a run recorded again: its last record counts
    slim = read_log(path, slim=True)
    assert all(not r.messages and not r.tool_calls for r in slim.records)
    whole = list(slim.with_transcripts(reversed(slim.records)))
    assert [r.key for r in whole] == [r.key for r in reversed(slim.records)]
    assert {r.key: r for r in whole} == read_log(path).latest()
    assert whole[0].scores == {FN: 0.0} and whole[0].messages == CASES[0].messages
