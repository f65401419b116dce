"""The files a command reads and writes, checked before any work is done.

- `absolute` makes a path absolute once, at the start (a tool that calls ``os.chdir`` cannot move a relative
  ``-o``; a log records where its dataset really is, so ``rescore`` works from any folder).
- `check_outputs` refuses, naming the flag: an output that is one of the command's inputs (after resolving
  links: ``view LOG -o LOG`` would replace the transcript), two outputs that are the same file, an output that is
  a folder, lies under a file, or cannot be created or written, and an extension the writer does not know.
- `check_new_log` refuses a transcript log that already holds a run (a log belongs to one run: ``--resume``
  continues one) or that another run is writing right now (`lock_log` holds an advisory lock for the run).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from osmosis_local.errors import OutputPathError

__all__ = ["PATH_FIELDS", "absolute", "absolute_fields", "check_new_log", "check_outputs", "lock_log", "same_file"]

PATH_FIELDS = ("mcp", "dataset", "output", "log", "resume", "new_log")  # the settings that name files

try:  # advisory locks are POSIX; elsewhere a log is not locked (and the other checks still hold)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def absolute(path: Path | str) -> Path:
    """``path`` made absolute against the current folder, ``~`` expanded (links kept as the user named them)."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def absolute_fields(settings: object) -> dict[str, Path]:
    """``{field: absolute path}`` for each of `PATH_FIELDS` that ``settings`` has and sets (for ``model_copy``)."""
    return {name: absolute(value) for name in PATH_FIELDS if (value := getattr(settings, name, None)) is not None}


def same_file(a: Path | str, b: Path | str) -> bool:
    """True when ``a`` and ``b`` name one file (links and ``..`` resolved; hard links too, when both exist)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _writable_problem(flag: str, path: Path) -> str | None:
    if path.is_dir():
        return f"{flag} {path} is a folder; give a file name"
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{flag} {path} cannot be created: {ancestor} is a file, not a folder"
    if path.exists():
        if not os.access(path, os.W_OK):
            return f"{flag} {path} is not writable"
    elif not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{flag} {path} cannot be created: the folder {ancestor} is not writable"
    return None


def check_outputs(
    outputs: Mapping[str, Path | None],
    inputs: Mapping[str, Path | None],
    *,
    suffixes: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Raise `OutputPathError` naming every problem with ``outputs`` (flag -> path), given the command's
    ``inputs`` (what each is -> path); ``suffixes`` (flag -> allowed extensions) for writers with a format."""
    problems: list[str] = []
    given = {flag: Path(path) for flag, path in outputs.items() if path is not None}
    read = {what: Path(path) for what, path in inputs.items() if path is not None}
    for flag, path in given.items():
        clash = next((what for what, source in read.items() if same_file(path, source)), None)
        if clash is not None:
            problems.append(f"{flag} {path} is {clash}, which this command reads: writing it would destroy it")
            continue
        allowed = (suffixes or {}).get(flag)
        if allowed and path.suffix.lower() not in allowed:
            problems.append(f"{flag} {path}: unknown extension {path.suffix or '(none)'}; use {' or '.join(allowed)}")
            continue
        problem = _writable_problem(flag, path)
        if problem:
            problems.append(problem)
    flags = list(given)
    for i, first in enumerate(flags):
        for second in flags[i + 1 :]:
            if same_file(given[first], given[second]):
                problems.append(f"{first} and {second} both name {given[first]}; give each its own file")
    if problems:
        raise OutputPathError("; ".join(problems))


def check_new_log(path: Path, flag: str = "--log") -> None:
    """Refuse a transcript log that already holds something, or that another run holds locked."""
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size:
        raise OutputPathError(
            f"{flag} {path} already holds a run: a log belongs to one run. Continue that run with "
            f"--resume {path}, or give another {flag}"
        )
    with lock_log(path, flag):
        pass


@contextlib.contextmanager
def lock_log(path: Path, flag: str = "--log") -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the block; raise `OutputPathError`
    at once if another process holds it (two runs writing one log would interleave their records)."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputPathError(f"{flag} {path} is being written by another run right now; wait for it, "
                                  f"or give another {flag}") from None  # fmt: skip
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
