"""Import a repository's reward and rubric modules by name, fresh, with the repository first on sys.path."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["content_imports", "forget_imports_under"]


def _top_level_names(repo: Path) -> set[str]:
    names = {p.name for p in repo.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {p.stem for p in repo.glob("*.py")}
    names |= {name for name in ("reward_fn", "reward_rubric") if (repo / name).is_dir()}  # namespace packages too
    return names - {"mcp"}


def _purge(names: set[str]) -> None:
    for name in [m for m in list(sys.modules) if m.split(".", 1)[0] in names]:
        del sys.modules[name]


@contextlib.contextmanager
def content_imports(repo: Path) -> Iterator[None]:
    """Within the block, `import reward_fn.x` loads `repo/reward_fn/x.py`; afterwards it is forgotten and any
    module of the same name imported before the block is back."""
    names = _top_level_names(repo)
    root = str(repo.resolve())
    saved = {name: module for name, module in list(sys.modules.items()) if name.split(".", 1)[0] in names}
    _purge(names)
    sys.path.insert(0, root)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(root)
        _purge(names)
        sys.modules.update(saved)  # the caller's own modules of the same names come back


def _under(module: object, root: str) -> bool:
    file = getattr(module, "__file__", None)
    paths = [file] if file else list(getattr(module, "__path__", None) or [])
    return any(str(path).startswith(root) for path in paths)


@contextlib.contextmanager
def forget_imports_under(folder: Path) -> Iterator[None]:
    """Afterwards, modules loaded from `folder` are forgotten and sys.path is as it was (nothing leaks)."""
    root = str(folder.resolve())
    path_before = list(sys.path)
    before = set(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = path_before
        for name in [m for m in list(sys.modules) if m not in before]:
            if _under(sys.modules[name], root) or name.startswith("_osmosis_mcp_"):
                del sys.modules[name]
