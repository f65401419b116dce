"""Symbolic links in the content folders that point outside the repository.

The platform syncs the Git repository: a link to a file outside it (``mcp/tools/x.py -> ~/elsewhere/x.py``)
works on this laptop and is a dangling link, or a missing module, on the platform.
"""

from __future__ import annotations

import os
from pathlib import Path

from osmosis_local.checks.findings import Area, Findings

__all__ = ["CONTENT_FOLDERS", "check_links"]

CONTENT_FOLDERS: dict[str, Area] = {
    "mcp": "mcp", "reward_fn": "reward_fn", "reward_rubric": "reward_rubric", "rollout_server": "rollout_server",
}  # fmt: skip


def check_links(repo: Path, areas: dict[Area, Findings]) -> None:
    """An error for every link under a content folder whose target is not inside ``repo``."""
    root = repo.resolve()
    for folder, area in CONTENT_FOLDERS.items():
        base = repo / folder
        if not base.is_dir():
            continue
        for directory, dirs, files in os.walk(base):  # links to folders are listed, not followed
            for name in [*dirs, *files]:
                path = Path(directory) / name
                if not path.is_symlink():
                    continue
                target = path.resolve()
                if target == root or root in target.parents:
                    continue
                rel = path.relative_to(repo).as_posix()
                areas[area].error(
                    "link-outside-repository",
                    f"{rel} is a link to {os.readlink(path)}, outside the repository: the platform syncs the "
                    "repository, so there it is missing",
                    "copy the file into the repository (or link within it)",
                    rel,
                    None,
                )
