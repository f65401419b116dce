"""Append-only JSONL log of finished runs, and the reader behind ``--resume``.

Why a log instead of writing the report at the end: a long eval that is interrupted (Ctrl-C, a crash,
a systemic provider error) must not lose the runs it already paid for. Each finished run is one JSON
line, written with a single ``write`` on an ``O_APPEND`` descriptor before it is counted, so a killed
process loses nothing, and fsynced by a background thread at most once a second (and on close), so a
power loss loses at most the last second of runs. The reader skips a torn last line with a warning.

This module never prints or logs record contents (they may hold prompts and answers); warnings name
only the file, the line number and the record key.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from osmosis_local.errors import LogReadError, LogWriteError, OutputPathError
from osmosis_local.log.records import HEADER_KEY, LogHeader, RunRecord, run_key
from osmosis_local.redaction import NO_SECRETS, Redactor
from osmosis_local.safe_text import model_json

__all__ = [
    "RUNS_DIR",
    "LoadedLog",
    "RunLog",
    "TranscriptLog",
    "default_log_path",
    "encode_record",
    "load_completed",
    "read_log",
    "read_records",
    "run_key",
]

try:  # advisory locks are POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

RUNS_DIR = Path(".osmosis-local") / "runs"


def default_log_path(command: str) -> Path:
    """``.osmosis-local/runs/<command>-<time>.jsonl`` (absolute; ``-2``, ``-3``... added when two runs start in
    the same second): where a run's transcript goes without ``--log``."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path.cwd() / RUNS_DIR
    path, n = folder / f"{command}-{stamp}.jsonl", 1
    while path.exists():
        n += 1
        path = folder / f"{command}-{stamp}-{n}.jsonl"
    return path


def _json_safe(value: Any) -> Any:
    """Non-finite floats and non-JSON dict keys become text; other odd values are left to ``default=str``."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {
            k if isinstance(k, str | int | float | bool) or k is None else str(k): _json_safe(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def encode_record(record: dict[str, Any]) -> bytes:
    """One newline-terminated UTF-8 JSON line. Unknown types and tuple keys become ``str()``; NaN/inf text."""
    if not isinstance(record.get("key"), str) or not record["key"]:
        raise ValueError("transcript record needs a non-empty string 'key' (use run_key(row, run, tag))")
    try:
        text = json.dumps(record, ensure_ascii=False, default=str, allow_nan=False)
    except (ValueError, TypeError):
        text = json.dumps(_json_safe(record), ensure_ascii=False, default=str, allow_nan=False)
    return (text + "\n").encode("utf-8")


DEFAULT_FSYNC_INTERVAL_S = 1.0


class TranscriptLog:
    """Thread-safe appender of finished-run records to a JSONL file (created with its parent dirs).

    Every line is written whole with one ``write`` on an ``O_APPEND`` descriptor before `append` returns,
    so it is in the operating system's hands: a killed process loses nothing. ``fsync`` (which makes it
    survive a power loss) runs on a background thread at most once per ``fsync_interval_s`` and on
    `close`; ``fsync_interval_s=0`` fsyncs every line before `append` returns.
    """

    def __init__(self, path: str | Path, *, fsync_interval_s: float = DEFAULT_FSYNC_INTERVAL_S) -> None:
        self.path = Path(path)
        self.fsync_interval_s = fsync_interval_s
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._dirty = threading.Event()
        self._closing = threading.Event()
        self._syncer: threading.Thread | None = None

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if fcntl is not None:  # one writer per log: a second run appending would interleave its records
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OutputPathError(f"The log {self.path} is being written by another run right now") from None
        # A previous process may have died mid-line: start on a fresh line so the torn line stays
        # the only casualty instead of corrupting the next record too.
        size = os.fstat(fd).st_size
        if size:
            with self.path.open("rb") as handle:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    os.write(fd, b"\n")
        return fd

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as one line; safe to call from many threads."""
        self.append_line(encode_record(record))

    def append_line(self, line: bytes) -> None:
        """Write one already-encoded, newline-terminated line (whole, before returning).

        Raises `LogWriteError` (one line naming the log and the reason) when the system refuses the write (a full
        disk, a folder that is not writable); the lines written before stay readable."""
        with self._lock:
            try:
                if self._fd is None:
                    self._fd = self._open()
                view = memoryview(line)
                while view:  # os.write may write less than asked (signals, huge records)
                    written = os.write(self._fd, view)
                    view = view[written:]
                if self.fsync_interval_s <= 0:
                    os.fsync(self._fd)
                    return
            except OSError as exc:
                raise LogWriteError(
                    f"The transcript log {self.path} could not be written ({exc.strerror or type(exc).__name__}); "
                    "the runs finished before this one are in it"
                ) from exc
            if self._syncer is None:
                self._syncer = threading.Thread(target=self._sync_loop, name="transcript-fsync", daemon=True)
                self._syncer.start()
        self._dirty.set()

    def _sync_loop(self) -> None:
        while not self._closing.is_set():
            self._dirty.wait()
            self._dirty.clear()
            with self._lock:
                fd = self._fd
            if fd is not None:
                # Outside the lock: an fsync can take tens of ms, and `append` (on the event loop) must not
                # wait for it. The fd stays open: `close` joins this thread before it closes the fd.
                os.fsync(fd)
            self._closing.wait(self.fsync_interval_s)

    def close(self) -> None:
        """Stop the background fsync, fsync what is left, close the file."""
        self._closing.set()
        self._dirty.set()
        if self._syncer is not None:
            self._syncer.join()
            self._syncer = None
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
        self._closing.clear()
        self._dirty.clear()

    def __enter__(self) -> TranscriptLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def iter_records(path: str | Path, *, drop: frozenset[str] = frozenset()) -> Iterator[dict[str, Any]]:
    """Every readable record in file order, read one line at a time (memory does not grow with the file), with
    the keys in ``drop`` left out. Torn or corrupt lines are skipped with a warning."""
    for _, record in _records_at(path, drop):
        yield record


def _records_at(path: str | Path, drop: frozenset[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """`iter_records` with the byte offset where each record's line starts."""
    file = Path(path)
    if not file.exists():
        return
    with file.open("rb") as handle:
        offset = 0
        for number, raw in enumerate(handle, start=1):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            torn = not raw.endswith(b"\n")  # no trailing newline: the last write was interrupted
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                what = "truncated last line (interrupted write)" if torn else "corrupt line (not JSON)"
                logger.warning("%s line %d: skipping %s", file, number, what)
                continue
            if not isinstance(record, dict) or not isinstance(record.get("key"), str):
                logger.warning("%s line %d: skipping a value that is not a record with a string 'key'", file, number)
                continue
            for key in drop:
                record.pop(key, None)
            yield start, record


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """All readable records in file order. Torn or corrupt lines are skipped with a warning."""
    return list(iter_records(path))


def load_completed(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{key: record}`` of finished runs for ``--resume``; a missing file is empty, later duplicates win."""
    return {record["key"]: record for record in read_records(path) if record["key"] != HEADER_KEY}


class RunLog:
    """The typed transcript log of one run: a `LogHeader` line, then one `RunRecord` line per finished run.

    Each line is serialised once and redacted once (``redactor``) on its way to the file.
    """

    def __init__(self, path: str | Path, *, redactor: Redactor = NO_SECRETS) -> None:
        self.path = Path(path)
        self._log = TranscriptLog(self.path)
        self._redact = redactor

    def _line(self, model: LogHeader | RunRecord) -> bytes:
        return (self._redact(model_json(model)) + "\n").encode("utf-8")

    def write_header(self, header: LogHeader) -> None:
        self._log.append_line(self._line(header))

    def append(self, record: RunRecord) -> None:
        self._log.append_line(self._line(record))

    def close(self) -> None:
        self._log.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class LoadedLog:
    """A transcript log read back: its header (None for a log without one) and its run records.

    A slim read also knows where each record's line starts in the file (``offsets``), so `with_transcripts`
    can read the conversations back one run at a time."""

    def __init__(
        self,
        header: LogHeader | None,
        records: list[RunRecord],
        path: Path | None = None,
        offsets: dict[str, int] | None = None,
    ) -> None:
        self.header = header
        self.records = records
        self.path = path
        self.offsets = offsets

    def with_transcripts(self, records: Iterable[RunRecord]) -> Iterator[RunRecord]:
        """Each of ``records`` whole (conversation and tool calls included), read from the log one at a time:
        memory holds one transcript, not the log's. Records of a full read are whole already."""
        if self.offsets is None or self.path is None:
            yield from records
            return
        with self.path.open("rb") as handle:
            for record in records:
                handle.seek(self.offsets[record.key])
                try:
                    whole = RunRecord.model_validate_json(handle.readline())
                except ValidationError as exc:
                    raise LogReadError(f"{self.path} changed while it was read ({record.key}): {exc}") from None
                if whole.key != record.key:
                    raise LogReadError(f"{self.path} changed while it was read: {record.key} is no longer there")
                yield whole

    def latest(self) -> dict[str, RunRecord]:
        """``{key: record}``; a run recorded twice (a resumed failure) keeps its last record."""
        return {record.key: record for record in self.records}


def read_log(path: str | Path, *, slim: bool = False) -> LoadedLog:
    """Read a transcript log; lines that are not a header or a run record are skipped with a warning.

    ``slim``: the records without their conversations and tool calls (`RunRecord.slim`), read line by line, for
    what needs only the figures (``--resume``, merging, a result): memory then holds no transcript."""
    header: LogHeader | None = None
    records: dict[str, RunRecord] | list[RunRecord] = {} if slim else []
    offsets: dict[str, int] = {}
    for offset, raw in _records_at(path, TRANSCRIPT_KEYS if slim else frozenset()):
        try:
            if raw.get("kind") == "header" or raw["key"] == HEADER_KEY:
                header = header or LogHeader.model_validate(raw)
            elif isinstance(records, dict):
                record = RunRecord.model_validate(raw).slim()
                records.pop(record.key, None)  # a run recorded again (a resumed failure): its last record, in order
                records[record.key] = record
                offsets[record.key] = offset
            else:
                records.append(RunRecord.model_validate(raw))
        except ValidationError as exc:
            logger.warning(
                "%s: skipping record %r: not a run record (%d problems)", path, raw["key"][:80], exc.error_count()
            )
    if isinstance(records, dict):
        return LoadedLog(header, list(records.values()), Path(path), offsets)
    return LoadedLog(header, records)


TRANSCRIPT_KEYS = frozenset({"messages", "tool_calls"})  # what a slim read leaves out
