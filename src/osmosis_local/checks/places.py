"""Where in the repository something is: relative paths, the line an exception points at, a function's `def`."""

from __future__ import annotations

import inspect
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["relative", "exception_place", "function_place", "one_line"]


def relative(path: str | os.PathLike[str] | None, root: Path) -> str | None:
    """`path` relative to `root` when it lies inside it, else as given."""
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _inside(path: str, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def exception_place(exc: BaseException, root: Path) -> tuple[str | None, int | None]:
    """The deepest place inside `root` an exception (or its cause) points at."""
    seen: set[int] = set()
    current: BaseException | None = exc
    place: tuple[str | None, int | None] = (None, None)
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, SyntaxError) and current.filename and _inside(current.filename, root):
            return relative(current.filename, root), current.lineno
        for frame in traceback.extract_tb(current.__traceback__):
            if _inside(frame.filename, root):
                place = (relative(frame.filename, root), frame.lineno)
        current = current.__cause__ or current.__context__
    return place


def function_place(fn: Callable[..., Any] | None, root: Path) -> tuple[str | None, int | None]:
    """File (relative to `root`) and `def` line of a function, unwrapping decorators."""
    if fn is None:
        return None, None
    try:
        target = inspect.unwrap(fn)
        file = inspect.getsourcefile(target)
        lines, start = inspect.getsourcelines(target)
    except (TypeError, OSError, ValueError):
        return None, None
    offset = next((i for i, text in enumerate(lines) if text.lstrip().startswith(("def ", "async def "))), 0)
    return relative(file, root), start + offset


def one_line(exc: BaseException, limit: int = 300) -> str:
    """`Type: message` on one line, cut to `limit` characters."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
