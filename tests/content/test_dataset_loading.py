"""Dataset loading (docs/contract.md §8 and weak spot 13): real files of every format in tmp_path."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from osmosis_local.content.dataset import (
    DatasetError,
    DatasetParseError,
    DatasetRow,
    DatasetValidationError,
    load_dataset,
)


def _row(i: int, **extra) -> dict:
    return {
        "system_prompt": "You are a calculator.",
        "user_prompt": f"What is {i} + 1?",
        "ground_truth": str(i + 1),
        **extra,
    }


def write_jsonl(path: Path, records: list, *, blank_lines: bool = False) -> Path:
    lines = []
    for r in records:
        lines.append(r if isinstance(r, str) else json.dumps(r))
        if blank_lines:
            lines.append("   ")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_any(path: Path, records: list[dict]) -> Path:
    """Write the same records in the format named by the path's extension."""
    ext = path.suffix.lower()
    if ext == ".jsonl":
        return write_jsonl(path, records)
    if ext == ".json":
        path.write_text(json.dumps(records), encoding="utf-8")
        return path
    if ext == ".csv":
        header = list(records[0])
        return write_csv(path, header, [[str(r[h]) for h in header] for r in records])
    pq.write_table(pa.Table.from_pylist(records), path)
    return path


FORMATS = ["data.jsonl", "data.json", "data.csv", "data.parquet", "DATA.JSONL", "data.Parquet"]


@pytest.mark.parametrize("filename", FORMATS)
def test_every_format_loads_rows_with_extras(tmp_path: Path, filename: str) -> None:
    records = [_row(i, id=f"r{i}") for i in range(5)]
    path = write_any(tmp_path / filename, records)

    rows = load_dataset(path)

    assert [r.row_index for r in rows] == [0, 1, 2, 3, 4]
    assert rows[2].user_prompt == "What is 2 + 1?"
    assert rows[2].ground_truth == "3"
    assert rows[2].extra == {"id": "r2"}
    assert rows[2].as_row_dict() == {
        "system_prompt": "You are a calculator.",
        "user_prompt": "What is 2 + 1?",
        "ground_truth": "3",
        "id": "r2",
    }


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, None, [0, 1, 2, 3, 4, 5]),
        (2, None, [2, 3, 4, 5]),
        (2, 2, [2, 3]),
        (5, 10, [5]),
        (0, 1, [0]),
    ],
)
@pytest.mark.parametrize("filename", ["d.jsonl", "d.json", "d.csv", "d.parquet"])
def test_window_keeps_absolute_row_indexes(
    tmp_path: Path, filename: str, offset: int, limit: int | None, expected: list[int]
) -> None:
    path = write_any(tmp_path / filename, [_row(i) for i in range(6)])
    rows = load_dataset(path, offset=offset, limit=limit)
    assert [r.row_index for r in rows] == expected
    assert [r.ground_truth for r in rows] == [str(i + 1) for i in expected]


def test_required_columns_match_case_insensitively_and_extras_keep_their_names(
    tmp_path: Path,
) -> None:
    path = write_jsonl(
        tmp_path / "d.jsonl",
        [{"System_Prompt": "s", "USER_PROMPT": "u", "Ground_Truth": "g", "Num_Steps": 2}],
    )
    (row,) = load_dataset(path)
    assert (row.system_prompt, row.user_prompt, row.ground_truth) == ("s", "u", "g")
    assert row.as_row_dict() == {
        "system_prompt": "s",
        "user_prompt": "u",
        "ground_truth": "g",
        "Num_Steps": 2,
    }


def test_values_are_kept_unstripped(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "d.jsonl", [{"system_prompt": " s\n", "user_prompt": "u ", "ground_truth": " 4"}]
    )
    (row,) = load_dataset(path)
    assert (row.system_prompt, row.user_prompt, row.ground_truth) == (" s\n", "u ", " 4")


def test_jsonl_blank_lines_are_skipped_and_not_counted(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [_row(i) for i in range(3)], blank_lines=True)
    rows = load_dataset(path, offset=1)
    assert [r.row_index for r in rows] == [1, 2]


@pytest.mark.parametrize(
    ("gt_json", "expected"),
    [
        ("3", "3"),
        ("3.0", "3.0"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("1e5", "1e5"),
        ("-12", "-12"),
        ("123456789012345678901234567890", "123456789012345678901234567890"),
    ],
)
@pytest.mark.parametrize("ext", [".jsonl", ".json"])
def test_numeric_ground_truth_keeps_the_json_text(
    tmp_path: Path, ext: str, gt_json: str, expected: str
) -> None:
    line = f'{{"system_prompt": "s", "user_prompt": "u", "ground_truth": {gt_json}, "w": 0.5}}'
    path = tmp_path / f"d{ext}"
    path.write_text(line if ext == ".jsonl" else f"[{line}]", encoding="utf-8")
    (row,) = load_dataset(path)
    assert row.ground_truth == expected
    assert row.extra == {"w": 0.5}
    assert type(row.extra["w"]) is float


def test_parquet_numeric_ground_truths(tmp_path: Path) -> None:
    table = pa.table(
        {
            "system_prompt": ["s", "s", "s"],
            "user_prompt": ["u", "u", "u"],
            "ground_truth": pa.array(
                [decimal.Decimal("2.50"), decimal.Decimal("7"), decimal.Decimal("-1.25")],
                type=pa.decimal128(10, 2),
            ),
        }
    )
    pq.write_table(table, tmp_path / "d.parquet")
    assert [r.ground_truth for r in load_dataset(tmp_path / "d.parquet")] == [
        "2.50",
        "7.00",
        "-1.25",
    ]

    pq.write_table(
        pa.table({"system_prompt": ["s"], "user_prompt": ["u"], "ground_truth": [4.0]}),
        tmp_path / "f.parquet",
    )
    assert load_dataset(tmp_path / "f.parquet")[0].ground_truth == "4.0"


def test_parquet_non_json_values_are_converted(tmp_path: Path) -> None:
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    table = pa.table(
        {
            "system_prompt": ["s"],
            "user_prompt": ["u"],
            "ground_truth": ["g"],
            "ts": pa.array([when], type=pa.timestamp("us", tz="UTC")),
            "day": pa.array([dt.date(2024, 1, 2)]),
            "blob": pa.array([b"\xff\x00"], type=pa.binary()),
            "text_blob": pa.array([b"hello"], type=pa.binary()),
            "price": pa.array([decimal.Decimal("1.50")], type=pa.decimal128(6, 2)),
            "count": pa.array([decimal.Decimal("3")], type=pa.decimal128(6, 0)),
            "steps": pa.array([[{"tool": "add", "n": 1}]]),
            "span": pa.array([dt.timedelta(seconds=90)]),
            "tags": pa.array([[("k", 1)]], type=pa.map_(pa.string(), pa.int64())),
        }
    )
    pq.write_table(table, tmp_path / "d.parquet")
    (row,) = load_dataset(tmp_path / "d.parquet")
    assert row.extra == {
        "ts": "2024-05-06T07:08:09+00:00",
        "day": "2024-01-02",
        "blob": "/wA=",
        "text_blob": "hello",
        "price": 1.5,
        "count": 3,
        "steps": [{"tool": "add", "n": 1}],
        "span": 90.0,
        "tags": {"k": 1},
    }
    json.dumps(row.as_row_dict())  # everything is JSON-friendly


def test_csv_values_are_strings_and_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("\ufeffsystem_prompt,user_prompt,ground_truth,n\ns,u,7,2\n", encoding="utf-8")
    (row,) = load_dataset(path)
    assert row.ground_truth == "7"
    assert row.extra == {"n": "2"}


def test_csv_long_fields_are_fine(tmp_path: Path) -> None:
    long_prompt = "x" * 300_000
    path = write_csv(
        tmp_path / "d.csv", ["system_prompt", "user_prompt", "ground_truth"], [["s", long_prompt, "1"]]
    )
    assert load_dataset(path)[0].user_prompt == long_prompt


def test_as_row_dict_is_a_deep_copy(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [_row(0, steps=[{"tool": "add"}])])
    (row,) = load_dataset(path)
    copy1 = row.as_row_dict()
    copy1["steps"][0]["tool"] = "mutated"
    assert row.as_row_dict()["steps"][0]["tool"] == "add"
    assert isinstance(row, DatasetRow)


# ------------------------------------------------------------------ validation errors


BAD_ROWS = [
    ({"user_prompt": "u", "ground_truth": "g"},
     "Row 1: Missing required columns: system_prompt (the row has: user_prompt, ground_truth)"),
    ({"system_prompt": None, "user_prompt": "u", "ground_truth": "g"}, "Row 1: column 'system_prompt' cannot be null"),
    (
        {"system_prompt": "s", "user_prompt": 5, "ground_truth": "g"},
        "Row 1: column 'user_prompt' must be a string, got int",
    ),
    ({"system_prompt": "s", "user_prompt": "u", "ground_truth": "  "}, "Row 1: column 'ground_truth' cannot be empty"),
    (
        {"system_prompt": "s", "user_prompt": "u", "ground_truth": True},
        "Row 1: column 'ground_truth' must be a string or a number, got bool",
    ),
    (
        {"system_prompt": "s", "user_prompt": "u", "ground_truth": [1]},
        "Row 1: column 'ground_truth' must be a string or a number, got list",
    ),
    (
        {"system_prompt": "s", "user_prompt": "u", "ground_truth": "g", "GROUND_TRUTH": "h"},
        "Row 1: columns ground_truth, GROUND_TRUTH all match",
    ),
    ([1, 2], "Row 1: Expected object, got list"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_ROWS)
def test_bad_row_is_reported_with_absolute_index_and_column(
    tmp_path: Path, bad: object, message: str
) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [_row(0), bad, _row(2)])
    with pytest.raises(DatasetValidationError) as info:
        load_dataset(path)
    assert message in str(info.value)
    assert len(info.value.errors) == 1


def test_non_finite_numeric_ground_truth_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"system_prompt":"s","user_prompt":"u","ground_truth":NaN}\n')
    with pytest.raises(DatasetValidationError, match="must be a finite number"):
        load_dataset(path)


def test_all_errors_in_the_window_are_collected_and_capped(tmp_path: Path) -> None:
    records = [_row(i) for i in range(3)] + [{"system_prompt": "s"} for _ in range(30)]
    path = write_jsonl(tmp_path / "d.jsonl", records)
    with pytest.raises(DatasetValidationError) as info:
        load_dataset(path)
    err = info.value
    assert len(err.errors) == 30
    assert err.errors[0].startswith("Row 3: Missing required columns")
    assert err.errors[-1].startswith("Row 32:")
    text = str(err)
    assert "has 30 problems" in text
    assert "Row 22:" in text and "Row 23:" not in text
    assert "... and 10 more" in text


def test_several_problems_in_one_row_are_all_reported(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "d.jsonl", [{"system_prompt": "", "user_prompt": None, "ground_truth": {}}]
    )
    with pytest.raises(DatasetValidationError) as info:
        load_dataset(path)
    assert info.value.errors == [
        "Row 0: column 'system_prompt' cannot be empty",
        "Row 0: column 'user_prompt' cannot be null",
        "Row 0: column 'ground_truth' must be a string or a number, got dict",
    ]


def test_rows_outside_the_window_are_not_validated(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", ["{not json", {"bad": 1}, _row(2), _row(3), "nope"])
    rows = load_dataset(path, offset=2, limit=2)
    assert [r.row_index for r in rows] == [2, 3]


def test_jsonl_bad_lines_name_the_line_number_and_come_with_validation_errors(
    tmp_path: Path,
) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [_row(0), "{oops", {"x": 1}], blank_lines=True)
    with pytest.raises(DatasetParseError) as info:
        load_dataset(path)
    assert info.value.errors[0].startswith("Row 1: Invalid JSON at line 3:")
    assert info.value.errors[1].startswith("Row 2: Missing required columns")
    assert isinstance(info.value, DatasetError)


def test_csv_row_longer_than_header_is_an_error_and_short_rows_get_nulls(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "d.csv",
        ["system_prompt", "user_prompt", "ground_truth"],
        [["s", "u", "g"], ["s", "u", "g", "extra"], ["s", "u"]],
    )
    with pytest.raises(DatasetParseError) as info:
        load_dataset(path)
    assert info.value.errors == [
        "Row 1 (line 3): has 4 fields but the header has 3",
        "Row 2: column 'ground_truth' cannot be null",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"a": 1}', "Expected a JSON array of row objects, got dict"),
        ("[1,\n", "Invalid JSON at line 2"),
    ],
)
def test_bad_json_document(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(content)
    with pytest.raises(DatasetParseError, match=message):
        load_dataset(path)


def test_non_utf8_and_bad_parquet_are_parse_errors(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_bytes(b"system_prompt,user_prompt,ground_truth\n\xff,u,g\n")
    with pytest.raises(DatasetParseError, match=r"Line 2 \(row 0, column 1\): byte 0xff is not UTF-8"):
        load_dataset(tmp_path / "d.csv")
    (tmp_path / "d.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DatasetParseError, match="Not a readable parquet file"):
        load_dataset(tmp_path / "d.parquet")


# ------------------------------------------------------------------ setup errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be an integer >= 1, got 0"),
        ({"limit": -3}, "limit must be an integer >= 1"),
        ({"offset": -1}, "offset must be an integer >= 0, got -1"),
        ({"offset": 5}, "No rows to test/evaluate: offset 5 is past the 3 rows"),
        ({"offset": 3, "limit": 1}, "No rows to test/evaluate: offset 3 is past the 3 rows"),
    ],
)
@pytest.mark.parametrize("filename", ["d.jsonl", "d.json", "d.csv", "d.parquet"])
def test_bad_window(tmp_path: Path, filename: str, kwargs: dict, message: str) -> None:
    path = write_any(tmp_path / filename, [_row(i) for i in range(3)])
    with pytest.raises(DatasetError, match=message):
        load_dataset(path, **kwargs)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("\n\n")
    with pytest.raises(DatasetError, match="No rows to test/evaluate: .* has no rows"):
        load_dataset(path)


def test_missing_file_and_unsupported_extension(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="Dataset file not found"):
        load_dataset(tmp_path / "nope.jsonl")
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(DatasetError) as info:
        load_dataset(tmp_path / "d.txt")
    assert "Unsupported file format '.txt'" in str(info.value)
    assert ".jsonl, .json, .parquet, .csv" in str(info.value)
    with pytest.raises(DatasetError, match="not a file"):
        load_dataset(tmp_path)


def test_jsonl_reading_stops_after_the_window(tmp_path: Path) -> None:
    """Lines after the window are never read, so a huge file costs only its window."""
    path = tmp_path / "d.jsonl"
    with path.open("wb") as fh:
        fh.write((json.dumps(_row(0)) + "\n").encode())
        fh.write(b"\xff\xfe invalid utf-8 after the window\n")
    assert [r.row_index for r in load_dataset(path, limit=1)] == [0]



def test_jsonl_bad_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_row(0)).encode() + b"\n\n\xff\n")
    with pytest.raises(DatasetParseError) as info:
        load_dataset(path)
    assert info.value.errors == ["Row 1: line 3 is not valid UTF-8 (invalid start byte)"]


def test_the_repository_dataset_loads_with_its_extra_columns() -> None:
    path = Path(__file__).resolve().parents[2] / "test_data.jsonl"
    rows = load_dataset(path)
    assert len(rows) > 0
    assert all({"id", "num_steps", "steps"} <= set(r.extra) for r in rows)
    assert len({r.extra["id"] for r in rows}) == len(rows)


def test_problems_are_listed_in_row_order_as_text_with_a_fix_for_each_kind(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([
        '{"system_prompt": "s", "user_prompt": "u", "ground_truth": "1"}',
        '{"system_prompt": "s", "user_prompt": "  ", "ground_truth": "2"}',
        '{"system_prompt": "s", "ground_truth": "3"}',
        "not json",
        '{"system_prompt": null, "user_prompt": "u", "ground_truth": "4"}',
    ]) + "\n")  # fmt: skip
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    text = str(info.value)
    rows = [int(line.split("Row ")[1].split(":")[0]) for line in text.splitlines() if line.startswith("  - Row ")]
    assert rows == [1, 2, 3, 4]  # the parse error of row 3 is not listed first
    assert "Missing required columns: user_prompt (the row has: system_prompt, ground_truth)" in text
    assert "['" not in text  # lists as text, never Python reprs
    fixes = [line for line in text.splitlines() if line.startswith("  fix: ")]
    assert len(fixes) == 4 and any("trailing comma" in f for f in fixes)
    assert any("check the spelling" in f for f in fixes)
