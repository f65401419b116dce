"""Dataset loading and validation for `test` / `eval` (the row rules are in docs/contract.md §8).

Every row in the offset/limit window is validated up front and all problems are reported together
(so a 1000-row run doesn't die at row 900). `.json` arrays are accepted, a numeric `ground_truth` is
kept as its exact text, and parquet values that JSON can't hold (timestamps, bytes, decimals) are
converted instead of failing rows (the SDK does none of this: docs/contract.md, weak spot 13).

Rows outside the window are never parsed; `.jsonl` and `.csv` are streamed and `.parquet` is read in
record batches, so only the window is held in memory (`.json` is one document and is read whole).
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import decimal
import functools
import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osmosis_local.safe_text import clean, clean_tree
from osmosis_local.types import copy_tree

__all__ = [
    "REQUIRED_COLUMNS",
    "SUPPORTED_EXTENSIONS",
    "DatasetError",
    "DatasetParseError",
    "DatasetRow",
    "DatasetValidationError",
    "load_dataset",
]

REQUIRED_COLUMNS: tuple[str, ...] = ("system_prompt", "user_prompt", "ground_truth")
SUPPORTED_EXTENSIONS: tuple[str, ...] = (".jsonl", ".json", ".parquet", ".csv")
MAX_REPORTED_ERRORS = 20


class DatasetError(Exception):
    """Base class: the dataset can't be used (missing file, bad window, bad rows)."""


class _IssueListError(DatasetError):
    """Carries every problem found; the message shows the first MAX_REPORTED_ERRORS of them."""

    def __init__(self, path: Path, errors: list[str]) -> None:
        self.path = path
        self.errors = sorted(errors, key=_row_of)  # in row order, whatever found them (parsing, then checking)
        shown = "\n".join(f"  - {e}" for e in self.errors[:MAX_REPORTED_ERRORS])
        more = len(errors) - MAX_REPORTED_ERRORS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        noun = "problem" if len(errors) == 1 else "problems"
        hints = list(dict.fromkeys(hint for e in self.errors if (hint := _hint(e)) is not None))
        advice = "".join(f"\n  fix: {hint}" for hint in hints)
        super().__init__(f"Dataset {path} has {len(errors)} {noun}:\n{shown}{tail}{advice}")


_ROW = re.compile(r"^Row (\d+)\b")
_HINTS = (
    ("Invalid JSON", "each line of a .jsonl file is one whole JSON object: look for a missing quote or brace, a "
                     "trailing comma, or a line break inside a string"),
    ("Missing required columns", "every row needs system_prompt, user_prompt and ground_truth (matched "
                                 "case-insensitively): check the spelling of the columns the row has"),
    ("cannot be null", "give the column a value, or remove the row"),
    ("cannot be empty", "give the column text (a blank string is refused as empty), or remove the row"),
    ("must be a string", "write the value as a JSON string, in quotes"),
    ("must be a finite number", "write the ground truth as a string, or a finite number"),
    ("Expected object", "each row is one JSON object: {\"system_prompt\": ..., \"user_prompt\": ..., "
                        "\"ground_truth\": ...}"),
    ("all match required column", "keep one column per name: names differing only in case are the same column"),
    ("fields but the header has", "quote a value that holds a comma (\"1,234\"), or fix the row's count of fields"),
)  # fmt: skip


def _row_of(error: str) -> int:
    """The row an error is about (-1 for an error about the whole file, listed first)."""
    match = _ROW.match(error)
    return int(match.group(1)) if match else -1


def _hint(error: str) -> str | None:
    """The fix that fits an error, if one is known."""
    return next((hint for marker, hint in _HINTS if marker in error), None)


class DatasetParseError(_IssueListError):
    """The file (or some lines of it) could not be parsed at all."""


class DatasetValidationError(_IssueListError):
    """Rows parsed but break the row contract (missing/null/blank/non-string required columns)."""


@dataclass(frozen=True)
class DatasetRow:
    """One validated row. `row_index` is absolute (counted from the start of the file)."""

    row_index: int
    system_prompt: str
    user_prompt: str
    ground_truth: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_row_dict(self) -> dict[str, Any]:
        """The row copy for eval fns / metadata (docs/contract.md §5): required keys lowercase + extras.

        A deep copy, so an eval fn that mutates its `extra_info` can't leak into the next run.
        """
        row: dict[str, Any] = {
            "system_prompt": self.system_prompt,
            "user_prompt": self.user_prompt,
            "ground_truth": self.ground_truth,
        }
        row.update(copy_tree(self.extra))
        return row

    @functools.cached_property
    def scalar_columns(self) -> dict[str, str | int | float | bool]:
        """The extra columns that hold one short value (a number, a flag, a label of at most 100 characters):
        what a run records so a report can break its scores down by them (``num_steps``, ``difficulty``).
        Computed once per row; every run of the row shares it (never mutated)."""
        return {
            str(key): value for key, value in self.extra.items()
            if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 100)
        }  # fmt: skip


def file_sha256(path: Path) -> str:
    """SHA-256 of a file (the dataset a log was made from, so ``--resume`` and rescore can tell it changed)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def load_dataset(path: str | Path, *, limit: int | None = None, offset: int = 0) -> list[DatasetRow]:
    """Load and validate the rows `[offset, offset + limit)` of a dataset file.

    Raises `DatasetError` for unusable arguments/files, `DatasetParseError` for unparseable content
    and `DatasetValidationError` for rows that break the contract; the latter two list every
    problem in the window, each naming the absolute row index (and column).
    """
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise DatasetError(f"offset must be an integer >= 0, got {offset!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DatasetError(f"limit must be an integer >= 1, got {limit!r}")

    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetError(f"Dataset file not found: {p}")
    if not p.is_file():
        raise DatasetError(f"Dataset path is not a file: {p}")
    ext = p.suffix.lower()
    if ext not in _READERS:
        raise DatasetError(
            f"Unsupported file format {p.suffix or '(no extension)'!r} for {p}; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}"
        )

    stop = None if limit is None else offset + limit
    window = _Window(offset, stop)
    _READERS[ext](p, window)

    if window.parse_errors:
        raise DatasetParseError(p, window.parse_errors + window.validation_errors)
    if window.validation_errors:
        raise DatasetValidationError(p, window.validation_errors)
    if not window.rows:
        if window.total == 0:
            raise DatasetError(f"No rows to test/evaluate: {p} has no rows")
        raise DatasetError(f"No rows to test/evaluate: offset {offset} is past the {window.total} rows in {p}")
    return window.rows


# --------------------------------------------------------------------------------------------
# Window bookkeeping shared by the readers
# --------------------------------------------------------------------------------------------


class _Window:
    """Collects validated rows and problems for the rows inside [start, stop)."""

    def __init__(self, start: int, stop: int | None) -> None:
        self.start = start
        self.stop = stop
        self.total = 0  # rows seen so far (only exact when the reader read to the end)
        self.rows: list[DatasetRow] = []
        self.parse_errors: list[str] = []
        self.validation_errors: list[str] = []

    def wants(self, index: int) -> bool:
        return index >= self.start and (self.stop is None or index < self.stop)

    def done(self, index: int) -> bool:
        """True once `index` is past the window: readers may stop reading."""
        return self.stop is not None and index >= self.stop

    def add(
        self,
        index: int,
        record: Any,
        *,
        exact_ground_truth: str | None = None,
        convert: bool = False,
    ) -> None:
        errors_before = len(self.validation_errors)
        row = _validate(index, record, self.validation_errors, exact_ground_truth, convert)
        if row is not None and len(self.validation_errors) == errors_before:
            self.rows.append(row)


def _validate(
    index: int,
    record: Any,
    errors: list[str],
    exact_ground_truth: str | None,
    convert: bool,
) -> DatasetRow | None:
    """Check one raw record; append problems to `errors` and return the row if it's valid."""
    if not isinstance(record, dict):
        errors.append(f"Row {index}: Expected object, got {_type_name(record)}")
        return None

    by_lower: dict[str, list[str]] = {}
    for key in record:
        by_lower.setdefault(str(key).lower(), []).append(key)

    missing = [c for c in REQUIRED_COLUMNS if c not in by_lower]
    if missing:
        errors.append(f"Row {index}: Missing required columns: {', '.join(missing)} (the row has: "
                      f"{', '.join(map(str, record)) or 'no columns'})")
    values: dict[str, str] = {}
    used_keys: set[Any] = set()
    for col in REQUIRED_COLUMNS:
        keys = by_lower.get(col)
        if not keys:
            continue
        if len(keys) > 1:
            errors.append(
                f"Row {index}: columns {', '.join(keys)} all match required column '{col}' "
                "(names are matched case-insensitively); keep only one"
            )
            continue
        key = keys[0]
        used_keys.add(key)
        raw = record[key]
        if raw is None:
            errors.append(f"Row {index}: column '{col}' cannot be null")
            continue
        if col == "ground_truth" and _is_number(raw):
            text = exact_ground_truth if exact_ground_truth is not None else _number_text(raw)
            if text is None:
                errors.append(f"Row {index}: column '{col}' must be a finite number, got {raw!r}")
                continue
            values[col] = text
            continue
        if not isinstance(raw, str):
            allowed = "a string or a number" if col == "ground_truth" else "a string"
            errors.append(f"Row {index}: column '{col}' must be {allowed}, got {_type_name(raw)}")
            continue
        if not raw.strip():
            errors.append(f"Row {index}: column '{col}' cannot be empty")
            continue
        values[col] = raw

    if len(values) != len(REQUIRED_COLUMNS):
        return None
    extra = {k: clean_tree(_jsonable(v) if convert else v) for k, v in record.items() if k not in used_keys}
    return DatasetRow(
        row_index=index,
        system_prompt=clean(values["system_prompt"]),
        user_prompt=clean(values["user_prompt"]),
        ground_truth=clean(values["ground_truth"]),
        extra={clean(k): v for k, v in extra.items()},
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def _number_text(value: int | float | decimal.Decimal) -> str | None:
    """Exact text of a numeric ground truth: ints as `str(int)`, floats by shortest repr."""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return str(value) if value.is_finite() else None


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _jsonable(value: Any) -> Any:
    """Convert values JSON can't carry (parquet timestamps, bytes, decimals...) to ones it can."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        # pyarrow turns map columns into lists of (key, value) tuples; make those dicts again.
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value)
        ):
            return {k: v for k, v in items}
        return items
    if isinstance(value, decimal.Decimal):
        exponent = value.as_tuple().exponent
        if value.is_finite() and isinstance(exponent, int) and exponent >= 0:  # written as an integer
            return int(value)
        return float(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode("ascii")
    item = getattr(value, "item", None)  # numpy scalars, if any slip through
    if callable(item):
        try:
            return _jsonable(item())
        except Exception:  # noqa: BLE001 - fall through to str()
            pass
    return str(value)


# --------------------------------------------------------------------------------------------
# Readers: each feeds the window rows in file order, counting every row it passes
# --------------------------------------------------------------------------------------------


def _read_jsonl(path: Path, window: _Window) -> None:
    # Binary lines, decoded one by one: a bad byte is reported with its line number, and lines
    # after the window are never decoded (or even read).
    index = 0
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            if window.done(index):
                break  # the window is full; the rest of the file is never read
            if window.wants(index):
                try:
                    line = raw.decode("utf-8")
                    record = json.loads(line)
                except UnicodeDecodeError as exc:
                    window.parse_errors.append(f"Row {index}: line {line_no} is not valid UTF-8 ({exc.reason})")
                except json.JSONDecodeError as exc:
                    window.parse_errors.append(
                        f"Row {index}: Invalid JSON at line {line_no}: {exc.msg} (column {exc.colno})"
                    )
                else:
                    window.add(index, record, exact_ground_truth=_json_gt_text(line, record))
            index += 1
    window.total = index


def _json_gt_text(text: str, record: Any) -> str | None:
    """The exact JSON text of a float ground_truth (so `3.0` stays "3.0" and `1e5` "1e5")."""
    if not isinstance(record, dict):
        return None
    keys = [k for k in record if k.lower() == "ground_truth"]
    if len(keys) != 1 or not isinstance(record[keys[0]], float):
        return None
    try:
        again = json.loads(text, parse_float=str)
    except json.JSONDecodeError:  # pragma: no cover - it parsed a moment ago
        return None
    value = again.get(keys[0]) if isinstance(again, dict) else None
    if isinstance(value, str) and math.isfinite(record[keys[0]]):
        return value
    return None


def _read_json(path: Path, window: _Window) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DatasetParseError(path, [_undecodable_place(path, header_lines=None)]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetParseError(path, [f"Invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]) from None
    if not isinstance(data, list):
        raise DatasetParseError(path, [f"Expected a JSON array of row objects, got {_type_name(data)}"])
    exact: list[Any] | None = None
    for index, record in enumerate(data):
        if window.done(index):
            break
        if not window.wants(index):
            continue
        gt_text = None
        if isinstance(record, dict):
            keys = [k for k in record if k.lower() == "ground_truth"]
            if len(keys) == 1 and isinstance(record[keys[0]], float):
                if exact is None:  # reparse once, keeping float literals as text
                    exact = json.loads(text, parse_float=str)
                candidate = exact[index].get(keys[0])
                if isinstance(candidate, str) and math.isfinite(record[keys[0]]):
                    gt_text = candidate
        window.add(index, record, exact_ground_truth=gt_text)
    window.total = len(data)


def _read_csv(path: Path, window: _Window) -> None:
    # Prompts can be long; the csv module's default 128 KiB field cap would reject them.
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    index = 0
    try:
        # utf-8-sig: tolerate the BOM spreadsheet exports put at the start.
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, restkey=_CSV_REST, restval=None)
            header = reader.fieldnames or []
            dupes = sorted({h for h in header if header.count(h) > 1})
            if dupes:
                raise DatasetParseError(path, [f"Header repeats column names: {dupes}"])
            for record in reader:
                if window.done(index):
                    break
                if window.wants(index):
                    rest = record.pop(_CSV_REST, None)
                    if rest is not None:
                        window.parse_errors.append(
                            f"Row {index} (line {reader.line_num}): has "
                            f"{len(header) + len(rest)} fields but the header has {len(header)}"
                        )
                    else:
                        window.add(index, record)
                index += 1
    except UnicodeDecodeError:
        raise DatasetParseError(path, [_undecodable_place(path, header_lines=1)]) from None
    except csv.Error as exc:
        raise DatasetParseError(path, [f"Invalid CSV near row {index}: {exc}"]) from None
    window.total = index


_CSV_REST = "\x00extra_fields"


def _undecodable_place(path: Path, *, header_lines: int | None) -> str:
    """Where the first byte that is not UTF-8 is: line, column, the byte, and the row on that line."""
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                row = f"row {number - 1 - header_lines}, " if header_lines is not None and number > header_lines else ""
                return (
                    f"Line {number} ({row}column {exc.start + 1}): byte 0x{line[exc.start]:02x} is not UTF-8; "
                    "save the file as UTF-8 (from a spreadsheet: CSV UTF-8)"
                )
    return "The file is not valid UTF-8; save it as UTF-8"


def _read_parquet(path: Path, window: _Window) -> None:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a hard dependency
        raise DatasetError("Reading .parquet needs pyarrow: pip install pyarrow") from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
        raise DatasetParseError(path, [f"Not a readable parquet file: {exc}"]) from None
    window.total = pf.metadata.num_rows
    index = 0
    for batch in _iter_batches(pf, path):
        n = batch.num_rows
        if window.done(index):
            break
        lo = max(window.start - index, 0)
        hi = n if window.stop is None else min(window.stop - index, n)
        if lo < hi:
            for i, record in enumerate(batch.slice(lo, hi - lo).to_pylist()):
                window.add(index + lo + i, record, convert=True)
        index += n


def _iter_batches(pf: Any, path: Path) -> Iterator[Any]:
    try:
        yield from pf.iter_batches(batch_size=1024)
    except Exception as exc:  # noqa: BLE001 - corrupt pages surface as several pyarrow types
        raise DatasetParseError(path, [f"Error reading parquet data: {exc}"]) from None


_READERS = {
    ".jsonl": _read_jsonl,
    ".json": _read_json,
    ".csv": _read_csv,
    ".parquet": _read_parquet,
}
