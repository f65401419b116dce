"""Small text formatters shared by the test and eval reports (the SDK's duration style: 123ms, 1.2s, 1m2.3s)."""

from __future__ import annotations


def format_duration(ms: float) -> str:
    """`123ms`, `1.2s`, `1m2.3s` — the SDK's console style."""
    if ms < 1000:
        return f"{ms:.0f}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.1f}s"


def shorten(text: str, limit: int = 50) -> str:
    """One line, cut to ``limit`` characters with `...` (the SDK cuts errors to 47 + `...`)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def format_score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
