"""`osmosis-local export --format inspect`: our runs as an inspect_ai eval log, read back with inspect_ai's reader."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import DATASET, NUMBERS, run_eval
from inspect_ai.log import read_eval_log

from osmosis_local.cli import main
from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer


def test_an_eval_exports_as_an_inspect_log_with_samples_messages_scores_and_metrics(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "flaky.py").write_text(
        "def score(solution_str, ground_truth, extra_info=None, **kwargs):\n"
        "    if extra_info['id'] == 'row-0001':\n        raise ValueError('scorer bug')\n    return 1.0\n"
    )
    with ScriptedOpenAIServer(ScriptedPolicy(load_rows(DATASET), wrong_answer_rate=0.5, seed=1)) as server:
        assert run_eval(server.base_url, tmp_path, "--n", "2", limit=3, eval_fns=(NUMBERS, "flaky:score")).code == 0
    assert main(["export", str(tmp_path / "runs.jsonl"), "--format", "inspect", "-o", str(tmp_path / "run.eval")]) == 0
    log = read_eval_log(str(tmp_path / "run.eval"))
    out = json.loads((tmp_path / "out.json").read_text())
    assert log.status == "success" and log.eval.model == "scripted" and log.eval.config.epochs == 2
    assert len(log.samples) == 6 and {(s.id, s.epoch) for s in log.samples} == {
        (f"row-{i}", k) for i in range(3) for k in (1, 2)
    }
    first = log.samples[0]
    assert [m.role for m in first.messages][:3] == ["system", "user", "assistant"]
    calls = [c for m in first.messages if m.role == "assistant" for c in (m.tool_calls or [])]
    assert calls and all(c.function and isinstance(c.arguments, dict) for c in calls)
    assert any(m.role == "tool" and m.function for m in first.messages)
    assert first.target == load_rows(DATASET)[0]["ground_truth"]
    errored = [s for s in log.samples if s.id == "row-0"]  # dataset id row-0001 is row index 0
    assert all(s.scores["flaky:score"].value == "ERROR" and "scorer bug" in s.scores["flaky:score"].explanation
               for s in errored)  # fmt: skip
    metrics = {score.name: {k: m.value for k, m in score.metrics.items()} for score in log.results.scores}
    for fn in (NUMBERS, "flaky:score"):
        ours = out["summary"]["eval_fns"][fn]
        assert metrics[fn]["mean"] == ours["mean"] and metrics[fn]["pass_at_1"] == ours["pass_at_1"]
        assert metrics[fn]["mean_all_runs"] == ours["mean_all_runs"]


def test_the_export_streams_its_samples_in_batches_and_writes_the_same_log(tmp_path: Path, monkeypatch) -> None:
    """The samples go to inspect_ai's recorder a batch at a time: any batch size gives the same samples."""
    import osmosis_local.reports.inspect_export as export
    from osmosis_local.config.settings import EvalConfig
    from osmosis_local.log.records import LogHeader, RunRecord
    from osmosis_local.log.transcript import RunLog

    log_path = tmp_path / "runs.jsonl"
    with RunLog(log_path) as log:
        log.write_header(LogHeader(command="eval", settings=EvalConfig(mcp=tmp_path, dataset=DATASET, model="m",
                                                                       eval_fns=[NUMBERS], n_runs=2)))  # fmt: skip
        for i in range(7):
            row, run = divmod(i, 2)
            log.append(RunRecord(
                key=f"row-{row}/run-{run}/primary", command="eval", row_index=row, run_index=run, model="m",
                success=True, finish_reason="stop", scores={NUMBERS: float(i % 2)}, answer=f"#### {i}",
                messages=[{"role": "user", "content": f"q{row}"}, {"role": "assistant", "content": f"#### {i}"}],
            ))  # fmt: skip

    def samples(batch: int) -> dict[tuple[str, int], tuple[str, list[str], float]]:
        monkeypatch.setattr(export, "FLUSH_EVERY", batch)
        target = tmp_path / f"batch-{batch}.eval"
        export.export_inspect(log_path, target)
        log = read_eval_log(str(target))
        assert log.results.completed_samples == 7
        return {(str(s.id), s.epoch): (s.output.completion, [m.text for m in s.messages], s.scores[NUMBERS].value)
                for s in log.samples}  # fmt: skip

    one_batch = samples(1000)
    assert len(one_batch) == 7 and one_batch[("row-3", 1)][0] == "#### 6"
    assert samples(2) == one_batch == samples(1)
