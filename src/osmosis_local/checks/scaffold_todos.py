"""Placeholders `osmosis-local new` leaves (``TODO: say ...``) that were never filled in.

A tool's docstring is what the model reads to decide when to call it, and a rubric's text is what the judge
scores by: a scaffold's placeholder left there works, and teaches the policy nothing. One warning per file, at
the placeholder's first line.
"""

from __future__ import annotations

from pathlib import Path

from osmosis_local.checks.findings import Area, Findings
from osmosis_local.checks.links import CONTENT_FOLDERS
from osmosis_local.content.scaffold import SCAFFOLD_TODO

__all__ = ["check_scaffold_todos"]

_WHAT = {
    "mcp": "the model reads a tool's docstring to decide when to call it",
    "reward_fn": "a reward's docstring is how the next person knows what it scores",
    "reward_rubric": "the judge scores by the rubric's text",
    "rollout_server": "the agent loop's text is read by the model",
}


def check_scaffold_todos(repo: Path, areas: dict[Area, Findings]) -> None:
    """A warning for each content file that still holds `new`'s placeholder."""
    for folder, area in CONTENT_FOLDERS.items():
        base = repo / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            if "__pycache__" in path.parts or path.is_symlink():
                continue
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            line = next((i for i, text in enumerate(lines, 1) if SCAFFOLD_TODO in text), None)
            if line is None:
                continue
            count = sum(text.count(SCAFFOLD_TODO) for text in lines)
            areas[area].warning(
                "scaffold-todo",
                f"{path.relative_to(repo).as_posix()} still holds {count} placeholder{'s' if count > 1 else ''} "
                f"left by `osmosis-local new` ({SCAFFOLD_TODO} ...): {_WHAT[folder]}",
                "replace each TODO with what the function does (or what earns full marks)",
                path.relative_to(repo).as_posix(),
                line,
            )
