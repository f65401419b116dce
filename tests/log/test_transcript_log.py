"""Transcript log: durable one-line records, resume that survives a torn last line, safe concurrent appends."""

from __future__ import annotations

import json
import logging
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from osmosis_local.log.transcript import TranscriptLog, encode_record, load_completed, read_records, run_key


def _record(row: int, run: int, tag: str = "primary", **extra: object) -> dict:
    return {"key": run_key(row, run, tag), "row_index": row, "run_index": run, **extra}


def test_round_trip_with_nested_messages(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "transcripts.jsonl"
    records = [
        _record(0, 0, messages=[{"role": "assistant", "content": "héllo\nworld \u2028 ok"}], scores={"m:f": 1.0}),
        _record(0, 0, "baseline", error="HTTP 500", tokens={"prompt_tokens": 3}),
        _record(1, 0, timings={"duration_ms": 12.5}, tool_calls=[{"name": "add", "arguments": '{"a": 1}'}]),
    ]
    with TranscriptLog(path) as log:
        for record in records:
            log.append(record)
    assert path.read_bytes().count(b"\n") == 3
    assert load_completed(path) == {r["key"]: r for r in records}


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert load_completed(tmp_path / "nope.jsonl") == {}


def test_later_duplicates_win(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TranscriptLog(path) as log:
        log.append(_record(0, 0, success=False))
        log.append(_record(0, 0, success=True))
    assert load_completed(path)["row-0/run-0/primary"]["success"] is True


def test_truncated_last_line_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "t.jsonl"
    with TranscriptLog(path) as log:
        log.append(_record(0, 0, secret_answer="do-not-print-me"))
        log.append(_record(1, 0))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 9])  # the process died in the middle of the second line
    with caplog.at_level(logging.WARNING, logger="osmosis_local.log.transcript"):
        completed = load_completed(path)
    assert list(completed) == ["row-0/run-0/primary"]
    assert "line 2: skipping truncated last line" in caplog.text
    assert "do-not-print-me" not in caplog.text


def test_appending_after_a_torn_line_starts_a_fresh_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(json.dumps(_record(0, 0)).encode() + b"\n" + b'{"key": "row-1/run-0/prim')
    with TranscriptLog(path) as log:  # a resumed run keeps appending to the same file
        log.append(_record(1, 0))
    with caplog.at_level(logging.WARNING, logger="osmosis_local.log.transcript"):
        completed = load_completed(path)
    assert sorted(completed) == ["row-0/run-0/primary", "row-1/run-0/primary"]
    assert "line 2: skipping corrupt line" in caplog.text


@pytest.mark.parametrize(
    "junk",
    [b"not json\n", b"[1, 2]\n", b'{"no_key": 1}\n', b'{"key": 5}\n', b"\xff\xfe\n", b"\n\n"],
)
def test_junk_lines_are_skipped_never_fatal(tmp_path: Path, junk: bytes) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(junk + json.dumps(_record(2, 1)).encode() + b"\n")
    assert list(load_completed(path)) == ["row-2/run-1/primary"]


def test_concurrent_appends_from_threads_keep_lines_intact(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    big = "x" * 20_000  # larger than a pipe buffer: a torn write would show
    with TranscriptLog(path) as log:
        threads = [
            threading.Thread(target=lambda t=t: [log.append(_record(t, k, payload=big)) for k in range(10)])
            for t in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    lines = path.read_bytes().splitlines()
    assert len(lines) == 80
    assert all(json.loads(line)["payload"] == big for line in lines)
    assert len(load_completed(path)) == 80


def test_every_line_is_written_before_append_returns_and_fsync_runs_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    log = TranscriptLog(path, fsync_interval_s=60)
    log.append(_record(0, 0))
    assert path.read_bytes().count(b"\n") == 1  # readable by another process at once, before any fsync
    log.append(_record(1, 0))
    log.close()  # the final fsync, without waiting for the interval
    assert len(load_completed(path)) == 2


def test_an_append_does_not_wait_for_a_background_fsync_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow disk: the background fsync blocks until released; a second append must finish meanwhile
    (appends run on the event loop, so waiting for an fsync would stall every rollout in flight)."""
    import os

    in_fsync, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        in_fsync.set()
        release.wait(10)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    log = TranscriptLog(tmp_path / "runs.jsonl", fsync_interval_s=1)
    log.append({"key": "a"})
    assert in_fsync.wait(5)
    appended = threading.Event()
    writer = threading.Thread(target=lambda: (log.append({"key": "b"}), appended.set()))
    writer.start()
    try:
        assert appended.wait(5), "append waited for the fsync"
    finally:
        release.set()
        writer.join(5)
        log.close()
    assert [r["key"] for r in read_records(tmp_path / "runs.jsonl")] == ["a", "b"]


def test_fsync_interval_zero_syncs_every_line(tmp_path: Path) -> None:
    with TranscriptLog(tmp_path / "t.jsonl", fsync_interval_s=0) as log:
        log.append(_record(0, 0))
        assert log._syncer is None
    assert len(load_completed(tmp_path / "t.jsonl")) == 1


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (Decimal("0.3"), "0.3"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (Path("/a/b"), "/a/b"),
        ({(0, 1): 1.0}, {"(0, 1)": 1.0}),
        ({1, 2} - {2}, "{1}"),
    ],
)
def test_values_are_made_json_safe(value: object, stored: object) -> None:
    line = encode_record({"key": "k", "value": value})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line)["value"] == stored


@pytest.mark.parametrize("record", [{}, {"key": ""}, {"key": 3}])
def test_records_need_a_string_key(record: dict) -> None:
    with pytest.raises(ValueError, match="key"):
        encode_record(record)


def test_read_records_keeps_file_order(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TranscriptLog(path) as log:
        for i in (3, 1, 2):
            log.append(_record(i, 0))
    assert [r["row_index"] for r in read_records(path)] == [3, 1, 2]
