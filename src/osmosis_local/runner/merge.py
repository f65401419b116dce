"""`osmosis-local merge LOG... [-o result.json] [--log merged.jsonl]`: the logs of one eval's shards as one eval.

An eval split with ``--shard K/N`` (over machines or CI jobs) leaves N logs. Merging them checks they are shares of
one eval (the same settings, as ``--resume`` compares them, and the same window: rows, runs, models), refuses a run
that two logs both hold, and names every (row, run) no log holds. The merged log is one eval's log (its command
`eval`): a header without the shard, then every run (a run a log recorded twice keeps its last record), so
``rescore``, ``view``, ``export`` and ``eval --resume`` (which runs the holes) all take it. The result is computed
by the same code as an eval's; its duration is the span from the first run's start to the last run's end over all
shards (machines run in parallel: a sum would overstate it). Memory holds the runs' figures, never their
transcripts: the merged log is written line by line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from osmosis_local.config.paths import absolute, check_new_log, check_outputs
from osmosis_local.config.settings import EvalConfig, resume_differences
from osmosis_local.errors import LogReadError, SettingsMismatchError
from osmosis_local.log.records import HEADER_KEY, LogHeader, RunFigures, run_key
from osmosis_local.log.results import EvalResult, write_results
from osmosis_local.log.summary import build_eval_result, span_ms
from osmosis_local.log.transcript import TRANSCRIPT_KEYS, TranscriptLog, iter_records, read_log
from osmosis_local.safe_text import model_json

__all__ = ["merge_logs"]

WINDOW = ("n_runs", "limit", "offset")  # `--resume` may change these; the shares of one eval may not


def _settings(path: Path) -> EvalConfig:
    if not path.is_file():
        raise LogReadError(f"Transcript log not found: {path}")
    for raw in iter_records(path, drop=TRANSCRIPT_KEYS):
        if raw.get("kind") == "header" or raw.get("key") == HEADER_KEY:
            settings = LogHeader.model_validate(raw).eval_settings
            if settings is not None:
                return settings
        break
    raise LogReadError(f"{path} is not the transcript log of an eval (no eval settings header)")


def _check_shares(logs: Sequence[Path], settings: Sequence[EvalConfig]) -> None:
    """Refuse logs that are not shares of one eval, naming each difference."""
    first = settings[0].model_copy(update={"shard": None})
    problems = []
    for path, other in zip(logs[1:], settings[1:], strict=True):
        mine = other.model_copy(update={"shard": None})
        lines = resume_differences(first, mine)
        lines += [f"{name}: {logs[0].name} has {getattr(first, name)!r}, this log has {getattr(mine, name)!r}"
                  for name in WINDOW if getattr(first, name) != getattr(mine, name)]  # fmt: skip
        problems += [f"  - {path}: {line}" for line in lines]
    shards = [s.shard for s in settings if s.shard is not None]
    if len({s.count for s in shards}) > 1:
        problems.append(f"  - the logs split the eval differently: {', '.join(str(s) for s in shards)}")
    if problems:
        raise SettingsMismatchError(
            "These logs are not shares of one eval, so merging them would mix results:\n" + "\n".join(problems)
        )


def _expected_keys(settings: EvalConfig) -> tuple[list[int], set[str]] | None:
    """The rows of the eval's window and every (row, run, model) key it has, from its dataset (None when the
    dataset is gone: then holes cannot be told)."""
    from osmosis_local.content.dataset import DatasetError, load_dataset

    try:
        rows = [r.row_index for r in load_dataset(settings.dataset, limit=settings.limit, offset=settings.offset)]
    except (DatasetError, OSError):
        return None
    tags = ["primary", "baseline"] if settings.baseline_model else ["primary"]
    keys = {run_key(row, run, tag) for row in rows for run in range(settings.n_runs) for tag in tags}
    return rows, keys


def merge_logs(logs: Sequence[Path | str], *, output: Path | str | None = None,
               new_log: Path | str | None = None) -> EvalResult:  # fmt: skip
    """Merge the logs of an eval's shards; write ``output`` (-o) and ``new_log`` (the merged log) when given.

    Raises `SettingsMismatchError` for logs of different evals or runs held twice (a usage error), and
    `LogReadError` for a log that cannot be read. Runs no log holds are the result's problem (exit code 1)."""
    paths = [absolute(p) for p in logs]
    out = absolute(output) if output is not None else None
    merged_log = absolute(new_log) if new_log is not None else None
    check_outputs({"-o": out, "--log": merged_log}, {f"the log {p.name}": p for p in paths})
    if merged_log is not None:
        check_new_log(merged_log)
    settings = [_settings(p) for p in paths]
    _check_shares(paths, settings)

    owner: dict[str, Path] = {}
    records: dict[str, RunFigures] = {}  # each run's figures, not its slim record (a quarter of the memory)
    overlaps: list[str] = []
    for path in paths:
        for record in read_log(path, slim=True).records:
            if record.key in owner and owner[record.key] != path:
                overlaps.append(f"{record.key} ({owner[record.key].name} and {path.name})")
                continue
            owner[record.key] = path
            records[record.key] = record.figures()
    if overlaps:
        shown = "; ".join(overlaps[:10]) + (f"; and {len(overlaps) - 10} more" if len(overlaps) > 10 else "")
        raise SettingsMismatchError(f"{len(overlaps)} runs are in more than one log (did a shard run twice?): "
                                    f"{shown}")  # fmt: skip

    base = settings[0]
    merged = base.model_copy(update={"shard": None, "output": out, "log": merged_log, "resume": None})
    window = _expected_keys(base)
    rows = window[0] if window is not None else sorted({r.row_index for r in records.values()})
    expected = window[1] if window is not None else set(records)
    models = [("primary", base.model)] + ([("baseline", base.baseline_model)] if base.baseline_model else [])
    if merged_log is not None:
        _write_merged_log(merged_log, merged, paths, owner)
    result = build_eval_result(
        config=merged, row_indices=rows, models=models, records=list(records.values()),
        expected_items=len(expected), wall_ms=span_ms(list(records.values())) or 0.0, log_path=merged_log or paths[0],
        stop_reason=None, judge=None,
    )  # fmt: skip
    holes = sorted(expected - set(records))
    if window is None:
        result = result.failed_with(f"the dataset {base.dataset} is gone, so runs missing from every log cannot be "
                                    "told; the result covers the runs the logs hold")  # fmt: skip
    elif holes:
        shown = ", ".join(holes[:8]) + (f", and {len(holes) - 8} more" if len(holes) > 8 else "")
        fix = f"`osmosis-local eval --resume {merged_log}` (without --shard)" if merged_log else "the missing shards"
        result = result.failed_with(f"{len(holes)} runs are in no log (holes): {shown}; run them with {fix}")
    if out is not None:
        write_results(out, result)
    return result


def _write_merged_log(target: Path, settings: EvalConfig, logs: Sequence[Path], owner: dict[str, Path]) -> None:
    """The header, then each run's last record from the log that holds it, copied line by line."""
    last_line: dict[str, int] = {}
    for path in logs:
        for number, raw in enumerate(iter_records(path, drop=TRANSCRIPT_KEYS)):
            if raw["key"] != HEADER_KEY and owner.get(raw["key"]) == path:
                last_line[raw["key"]] = number
    with TranscriptLog(target) as log:
        log.append_line((model_json(LogHeader(command="eval", settings=settings)) + "\n").encode("utf-8"))
        for path in logs:
            for number, raw in enumerate(iter_records(path)):
                if owner.get(raw["key"]) == path and last_line.get(raw["key"]) == number:
                    log.append_line((json.dumps(raw, ensure_ascii=False) + "\n").encode("utf-8"))
