"""`osmosis-local new tool|reward|rubric NAME`: write a new content file that `check` passes as it is."""

from __future__ import annotations

import keyword
import os
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Literal

from osmosis_local.content.source_scan import tool_names

__all__ = ["ScaffoldError", "Scaffold", "scaffold", "KINDS", "SCAFFOLD_TODO"]

Kind = Literal["tool", "reward", "rubric"]
KINDS: tuple[Kind, ...] = ("tool", "reward", "rubric")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class ScaffoldError(Exception):
    """The file cannot be written (bad name, a file already there, not a content repository)."""


@dataclass(frozen=True)
class Scaffold:
    """What `new` wrote."""

    kind: Kind
    name: str
    files: list[Path]
    next_steps: list[str]


SCAFFOLD_TODO = "TODO: say"  # how each placeholder the templates leave begins (`check` warns about any left)

_TOOL = Template('''"""The `$name` tool. TODO: say what it is for."""

from typing import Annotated

from fastmcp.exceptions import ToolError
from pydantic import Field
from server import mcp


@mcp.tool
async def $name(
    text: Annotated[str, Field(description="The input text, at most 10000 characters.", max_length=10000)],
) -> str:
    """TODO: say what $name does and what it returns; the model reads this to decide when to call it.

    Args:
        text: The input text, at most 10000 characters.
    """
    if not text.strip():
        raise ToolError("text must not be empty: send the text to work on")
    return text.strip()
''')

_TOOL_TEST = Template('''"""Tests of the `$name` tool, called through an MCP client as the policy calls it."""

import asyncio
from pathlib import Path

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError

from osmosis_local import load_mcp_server

MCP_DIR = Path(__file__).resolve().parents[2] / "mcp"


def call(arguments: dict):
    async def run():
        async with Client(load_mcp_server(MCP_DIR)) as client:
            return await client.call_tool("$name", arguments)

    return asyncio.run(run())


def test_${name}_returns_the_stripped_text():
    assert call({"text": "  hello  "}).data == "hello"


def test_${name}_refuses_empty_text_with_a_clear_message():
    with pytest.raises(ToolError, match="must not be empty"):
        call({"text": "   "})
''')

_REWARD = Template('''"""`$name`: 1.0 when the number after the single `####` equals the ground truth exactly, else 0.0.

Strict on purpose (an RL policy learns to game a lenient reward): one `####` marker, one number after
it; `1,234`, `$$12.50`, `**42**` and a trailing period are accepted, hedges ("5 or 6") and expressions
are not. Never raises. No `from __future__ import annotations`: the platform's decorator checks the
annotations as written.
"""

import re
from decimal import Decimal, InvalidOperation

try:
    from osmosis_ai import osmosis_reward
except ImportError:
    from osmosis_local import osmosis_reward

MAX_CHARS = 100_000
_NUMBER = re.compile(r"[+-]?(?:\\d{1,3}(?:,\\d{3})+|\\d+)(?:\\.\\d+)?")


def _number(text: str):
    text = text.strip().rstrip(".").replace("**", "").strip()
    text = text[1:] if text.startswith("$$") else text
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


@osmosis_reward
def $name(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
    """1.0 for an exact numeric match after the single `####`, else 0.0."""
    try:
        if len(solution_str) > MAX_CHARS or solution_str.count("####") != 1:
            return 0.0
        answer = _number(solution_str.split("####")[-1].strip().split("\\n")[0])
        expected = _number(str(ground_truth))
        return 1.0 if answer is not None and answer == expected else 0.0
    except Exception:  # a reward must never crash a training step
        return 0.0
''')

_RUBRIC = Template('''"""`$name`: an LLM judge scores the answer against a rubric.

Run it locally with `--eval-fn reward_rubric.$name:$name`; the judge's key is read from
OPENAI_API_KEY when it is called. No `from __future__ import annotations`: the platform's decorator
checks the annotations as written.
"""

try:
    from osmosis_ai import evaluate_rubric, osmosis_rubric
except ImportError:
    from osmosis_local import evaluate_rubric, osmosis_rubric

RUBRIC = (
    "TODO: say what earns full marks. Award the maximum score if the final numeric answer equals the "
    "ground truth, and the minimum score otherwise."
)
PROVIDER = "openai"
MODEL = "gpt-5-mini"
API_KEY_ENV = "OPENAI_API_KEY"


@osmosis_rubric
def $name(solution_str: str, ground_truth: str | None, extra_info: dict, **kwargs) -> float:
    """Judge `solution_str` with the rubric; an empty answer scores 0.0 without a judge call."""
    if not solution_str.strip():
        return 0.0
    return evaluate_rubric(
        rubric=RUBRIC,
        solution_str=solution_str,
        model_info={"provider": PROVIDER, "model": MODEL, "api_key_env": API_KEY_ENV},
        ground_truth=ground_truth,
        score_min=0.0,
        score_max=1.0,
    )
''')


def _check_name(name: str) -> None:
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ScaffoldError(f"{name!r} is a Python keyword, so no function can have that name; choose another, "
                            f"e.g. {name}_value")  # fmt: skip
    if not _NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not a usable name: use snake_case letters, digits and _, starting with a letter "
            "(at most 48 characters), e.g. word_count"
        )


def _write(files: dict[Path, str], repo: Path) -> list[Path]:
    """Create each file, never through a link (a dangling one included) and never outside ``repo``."""
    existing = [path for path in files if path.exists() or path.is_symlink()]
    if existing:
        raise ScaffoldError(f"{existing[0]} already exists; nothing was written (choose another name)")
    root = repo.resolve()
    outside = [path for path in files if root not in path.parent.resolve().parents and path.parent.resolve() != root]
    if outside:
        raise ScaffoldError(f"{outside[0].parent} leads outside the repository (a link?); nothing was written")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(path, flags, 0o644), "w", encoding="utf-8") as handle:
            handle.write(text)
    return list(files)


def scaffold(kind: Kind, name: str, repo: Path) -> Scaffold:
    """Write the files for a new tool (with its test), reward or rubric under `repo`."""
    _check_name(name)
    if kind == "tool":
        tools = repo / "mcp" / "tools"
        server = repo / "mcp" / "server"
        if not (server.with_suffix(".py").is_file() or (server / "__init__.py").is_file()) or not tools.is_dir():
            raise ScaffoldError(
                f"{repo} has no mcp/server.py (or mcp/server/) and mcp/tools/: `new tool` writes "
                f"mcp/tools/{name}.py, which imports the FastMCP instance from server (run it in the repository "
                "root, or give --path)"
            )
        taken = tool_names(repo / "mcp").get(name)
        if taken:
            path, line = taken[0]
            raise ScaffoldError(
                f"a tool named {name!r} already exists ({path.relative_to(repo)}:{line}); two tools with one name "
                "replace each other on the server, so nothing was written (choose another name)"
            )
        files = {
            tools / f"{name}.py": _TOOL.substitute(name=name),
            repo / "tests" / "repository" / f"test_{name}_tool.py": _TOOL_TEST.substitute(name=name),
        }
        steps = [
            f"edit mcp/tools/{name}.py (main.py must import the module: ours imports every tools/ module)",
            f"python -m pytest tests/repository/test_{name}_tool.py",
            "osmosis-local check",
        ]
    elif kind == "reward":
        files = {repo / "reward_fn" / f"{name}.py": _REWARD.substitute(name=name)}
        steps = [
            f"osmosis-local check --eval-fn reward_fn.{name}:{name}",
            f"osmosis-local eval --mcp ./mcp -d test_data.jsonl --eval-fn reward_fn.{name}:{name} --model ...",
        ]
    else:
        files = {repo / "reward_rubric" / f"{name}.py": _RUBRIC.substitute(name=name)}
        steps = [
            "export OPENAI_API_KEY=...  (or change PROVIDER, MODEL and API_KEY_ENV)",
            f"osmosis-local eval --mcp ./mcp -d test_data.jsonl --eval-fn reward_rubric.{name}:{name} --model ...",
        ]
    for folder in ("reward_fn", "reward_rubric"):
        package = repo / folder
        if any(path.parent == package for path in files) and not (package / "__init__.py").exists():
            files[package / "__init__.py"] = f'"""{"Rewards" if folder == "reward_fn" else "Rubrics"}."""\n'
    return Scaffold(kind=kind, name=name, files=_write(files, repo), next_steps=steps)
