"""The committed dataset is reproducible, well formed, varied, scoreable and solvable with the real tools.

Why these checks: `test_data.jsonl` is what the platform trains on and what the harness replays. A
ground truth that the tools cannot reproduce, or that the reward function cannot match, silently turns
into a 0 reward for a correct policy. So every row is executed end to end through the real MCP tool
server and scored with the real reward function instead of trusting the generator's own arithmetic.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from helpers import DATASET, REPO

import osmosis_local  # noqa: F401  (sets offline env defaults before fastmcp is imported)

GENERATOR = REPO / "scripts" / "generate_dataset.py"
TOOLS = {"add", "subtract", "multiply", "divide", "power", "square_root", "modulo", "round_number"}
REQUIRED_COLUMNS = ("system_prompt", "user_prompt", "ground_truth")
# Shortest exact decimal: optional '-', no leading zeros, no trailing fractional zeros, no exponent.
GROUND_TRUTH_FORMAT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")


def _load_module(name: str, path: Path) -> ModuleType:
    """Import a file that is not on sys.path (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _load_module("generate_dataset_under_test", GENERATOR)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    lines = DATASET.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _number(value: Any) -> Decimal:
    """A tool result or ground truth as an exact Decimal (floats via their shortest repr)."""
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got bool {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value).strip())


# --------------------------------------------------------------------------- reproducibility


def test_committed_file_equals_a_fresh_generation(tmp_path: Path) -> None:
    out = tmp_path / "regenerated.jsonl"
    subprocess.run([sys.executable, str(GENERATOR), "--output", str(out)], check=True, cwd=tmp_path,
                   capture_output=True, timeout=60)
    assert out.read_bytes() == DATASET.read_bytes(), (
        "test_data.jsonl is stale: run `python scripts/generate_dataset.py` and commit the result")


def test_seed_and_rows_flags(generator: ModuleType, tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert generator.main(["--seed", "7", "--rows", "30", "--output", str(a)]) == 0
    assert generator.main(["--seed", "7", "--rows", "30", "--output", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert len(a.read_text().splitlines()) == 30
    # Rows are drawn per index, so a shorter run is a prefix of the default run with the same seed.
    default_prefix = DATASET.read_bytes().splitlines(keepends=True)[:30]
    short = tmp_path / "short.jsonl"
    generator.main(["--rows", "30", "--output", str(short)])
    assert short.read_bytes().splitlines(keepends=True) == default_prefix
    assert a.read_bytes() != short.read_bytes(), "a different seed must give different numbers"


def test_rejects_non_positive_row_count(generator: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        generator.main(["--rows", "0", "--output", str(tmp_path / "x.jsonl")])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Fraction(3, 10), "0.3"), (Fraction(-27, 4), "-6.75"), (Fraction(12), "12"), (Fraction(10**24), "1" + "0" * 24),
     (Fraction(1, 1000), "0.001"), (Fraction(-5), "-5")],
)
def test_fmt_is_shortest_exact_decimal(generator: ModuleType, value: Fraction, expected: str) -> None:
    assert generator.fmt(value) == expected


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [("2.345", 2, "2.35"), ("-2.345", 2, "-2.35"), ("0.5", 0, "1"), ("2.5", 0, "3"), ("-0.125", 2, "-0.13"),
     ("7.444", 2, "7.44")],
)
def test_round_half_up_is_school_rounding(generator: ModuleType, value: str, decimals: int, expected: str) -> None:
    assert generator.round_half_up(Decimal(value), decimals) == Fraction(expected)


def test_non_terminating_quotients_are_refused(generator: ModuleType) -> None:
    with pytest.raises(generator.Reject):
        generator.to_decimal(Fraction(1, 3))


# --------------------------------------------------------------------------- shape


def test_has_enough_rows(rows: list[dict[str, Any]]) -> None:
    assert len(rows) >= 200


def test_required_columns_are_non_blank_strings(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for column in REQUIRED_COLUMNS:
            assert isinstance(row.get(column), str) and row[column].strip(), f"{row.get('id')}: bad {column}"
        assert "####" in row["system_prompt"], "the system prompt must ask for the '#### <answer>' format"


def test_ids_are_unique_and_sequential(rows: list[dict[str, Any]]) -> None:
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids)
    assert ids == [f"row-{i:04d}" for i in range(1, len(rows) + 1)]


def test_ground_truths_are_shortest_exact_decimals(rows: list[dict[str, Any]]) -> None:
    bad = [(row["id"], row["ground_truth"]) for row in rows if not GROUND_TRUTH_FORMAT.fullmatch(row["ground_truth"])]
    assert not bad, f"ground truths not in shortest exact form: {bad[:5]}"


def test_steps_are_well_formed(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        steps = row["steps"]
        assert isinstance(row["num_steps"], int) and row["num_steps"] == len(steps), row["id"]
        for index, step in enumerate(steps):
            assert step["tool"] in TOOLS, f"{row['id']}: unknown tool {step['tool']!r}"
            for name, argument in step["arguments"].items():
                if isinstance(argument, dict):
                    assert set(argument) == {"$ref"} and 0 <= argument["$ref"] < index, f"{row['id']}: {name}"
                elif isinstance(argument, float):
                    text = repr(argument)
                    assert "e" not in text and len(Decimal(text).normalize().as_tuple().digits) <= 15, (
                        f"{row['id']}: argument {name}={text} is not an exact short decimal")
                else:
                    assert isinstance(argument, int) and not isinstance(argument, bool), f"{row['id']}: {name}"


def test_difficulty_is_mixed(rows: list[dict[str, Any]]) -> None:
    per_steps = Counter(row["num_steps"] for row in rows)
    assert set(per_steps) == {1, 2, 3, 4}
    assert min(per_steps.values()) >= 20, per_steps
    answers = [row["ground_truth"] for row in rows]
    assert sum(a.startswith("-") for a in answers) >= 10, "want some negative answers"
    assert sum("." in a for a in answers) >= 50, "want some decimal answers"
    assert sum(len(a.lstrip("-").replace(".", "")) >= 15 for a in answers) >= 10, "want some 15+ digit answers"
    used = Counter(step["tool"] for row in rows for step in row["steps"])
    assert set(used) == TOOLS, f"tools never used: {TOOLS - set(used)}"
    assert len({row["user_prompt"].split()[0] for row in rows}) >= 10, "want varied templates"


# --------------------------------------------------------------------------- scoring and solving


def test_every_ground_truth_scores_with_the_reward_function(rows: list[dict[str, Any]]) -> None:
    if str(REPO) not in sys.path:  # the SDK imports content as `reward_fn.*` with the repo root on sys.path
        sys.path.insert(0, str(REPO))
    from reward_fn.compute_reward import numbers_match_reward as reward

    for row in rows:
        truth = row["ground_truth"]
        right = reward(solution_str=f"Working it out with the tools.\n#### {truth}", ground_truth=truth, extra_info=row)
        wrong_value = format(Decimal(truth) + 1, "f")
        wrong = reward(solution_str=f"#### {wrong_value}", ground_truth=truth, extra_info=row)
        assert right == 1.0, f"{row['id']}: '#### {truth}' scored {right}"
        assert wrong == 0.0, f"{row['id']}: '#### {wrong_value}' against {truth} scored {wrong}"


def _tool_value(result: Any) -> Any:
    """The JSON number a tool returned, from structured output when present, else the text block."""
    structured = getattr(result, "structured_content", None)
    if isinstance(structured, dict) and "result" in structured:
        return structured["result"]
    text = result.content[0].text
    return json.loads(text)


async def _replay_all(rows: list[dict[str, Any]]) -> list[str]:
    """Execute every row's steps in one client session; return a description of each mismatch."""
    from fastmcp import Client
    from mcp_servers import load_tool_server

    failures: list[str] = []
    async with Client(load_tool_server()) as client:
        for row in rows:
            results: list[Any] = []
            try:
                for step in row["steps"]:
                    arguments = {
                        name: results[value["$ref"]] if isinstance(value, dict) else value
                        for name, value in step["arguments"].items()
                    }
                    results.append(_tool_value(await client.call_tool(step["tool"], arguments)))
            except Exception as exc:  # one broken row must not hide the others
                failures.append(f"{row['id']}: step {len(results)} failed: {exc}")
                continue
            if _number(results[-1]) != _number(row["ground_truth"]):
                failures.append(f"{row['id']}: tools gave {results[-1]!r}, ground truth {row['ground_truth']}")
    return failures


def test_every_row_is_solvable_with_the_real_tools(rows: list[dict[str, Any]]) -> None:
    failures = asyncio.run(_replay_all(rows))
    assert not failures, f"{len(failures)} rows disagree with the tools:\n" + "\n".join(failures[:20])
