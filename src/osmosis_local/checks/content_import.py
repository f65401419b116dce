"""Import a repository's reward and rubric modules by name, fresh, with the repository first on sys.path."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["content_imports"]


def _top_level_names(repo: Path) -> set[str]:
    names = {p.name for p in repo.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {p.stem for p in repo.glob("*.py")}
    return names - {"mcp"}


def _purge(names: set[str]) -> None:
    for name in [m for m in sys.modules if m.split(".", 1)[0] in names]:
        del sys.modules[name]


@contextlib.contextmanager
def content_imports(repo: Path) -> Iterator[None]:
    """Within the block, `import reward_fn.x` loads `repo/reward_fn/x.py` (and is forgotten afterwards)."""
    names = _top_level_names(repo)
    root = str(repo.resolve())
    _purge(names)
    sys.path.insert(0, root)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(root)
        _purge(names)
