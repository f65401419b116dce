"""What the tests of every layer share (imported as ``helpers``; the fixtures built on it are in conftest.py).

The repository's own paths and eval functions, the argument list of an `osmosis-local eval` against an
OpenAI-compatible URL (so no test file retypes it), `EvalOutcome` (an in-process eval's exit code, its ``-o``
results and its transcript log, read back) and `Cli` (what the ``cli`` fixture is).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from osmosis_local.cli import main

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO / "test_data.jsonl"
MCP_DIR = REPO / "mcp"
CHECK_FIXTURES = Path(__file__).resolve().parent / "check_fixtures"
NUMBERS = "reward_fn.compute_reward:numbers_match_reward"
TOOL_USE = "reward_fn.tool_use_reward:tool_use_reward"


@cache
def dataset_rows() -> list[dict[str, Any]]:
    """The rows of test_data.jsonl (what the scripted policy replays)."""
    from osmosis_local.testing.scripted_policy import load_rows

    return load_rows(DATASET)


def eval_argv(
    base_url: str,
    out_dir: Path,
    *extra: str,
    limit: int = 4,
    eval_fns: Sequence[str] = (NUMBERS,),
    model: str = "scripted",
    mcp: str | Path | None = MCP_DIR,
    dataset: str | Path = DATASET,
    name: str = "runs",
    output: str = "out",
    quiet: bool = True,
) -> list[str]:
    """``eval`` on the repository's tools and dataset against ``base_url`` (``-q`` unless ``quiet=False``), with
    ``-o out_dir/<output>.json`` and ``--log out_dir/<name>.jsonl``; ``extra`` flags come last (and win)."""
    source = ["--mcp", str(mcp)] if mcp is not None else []
    fns = [arg for fn in eval_fns for arg in ("--eval-fn", fn)]
    return [
        "eval", *source, "-d", str(dataset), *fns, "--model", model, "--base-url", base_url, "--limit", str(limit),
        *(["-q"] if quiet else []), "-o", str(out_dir / f"{output}.json"), "--log", str(out_dir / f"{name}.jsonl"),
        *extra,
    ]  # fmt: skip


def jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSONL file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class EvalOutcome:
    """An eval run in-process: the exit code, and the files it wrote."""

    code: int
    output: Path
    log: Path

    @property
    def out(self) -> dict[str, Any]:
        """The ``-o`` results."""
        return json.loads(self.output.read_text())

    @property
    def header(self) -> dict[str, Any]:
        """The transcript log's settings header."""
        return jsonl(self.log)[0]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The run records of the transcript log (after its header)."""
        return [line for line in jsonl(self.log) if line.get("kind") == "run"]


def run_eval(base_url: str, out_dir: Path, *extra: str, name: str = "runs", output: str = "out",
             **options: Any) -> EvalOutcome:  # fmt: skip
    """`eval_argv` run through `main()` in this process."""
    code = main(eval_argv(base_url, out_dir, *extra, name=name, output=output, **options))
    return EvalOutcome(code, out_dir / f"{output}.json", out_dir / f"{name}.jsonl")


class Cli:
    """`osmosis-local` in this process, writing under one temporary folder."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    def __call__(self, *argv: str | Path) -> int:
        return main([str(a) for a in argv])

    def eval(self, base_url: str, *extra: str, **options: Any) -> EvalOutcome:
        return run_eval(base_url, self.out_dir, *extra, **options)
