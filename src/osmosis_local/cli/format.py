"""Small text formatters shared by the test and eval reports (the SDK's duration style: 123ms, 1.2s, 1m2.3s)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line's help must not import pydantic
    from osmosis_local.log.results import ModelCost


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


def format_signed(value: float | None) -> str:
    """A difference, always with its sign: ``+0.125``, ``-0.040``."""
    return "-" if value is None else f"{value:+.3f}"


def format_interval(low: float | None, high: float | None) -> str:
    """``[0.412, 0.588]``, or ``-`` when there is no interval (fewer than two rows)."""
    return "-" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"


def format_p(value: float | None) -> str:
    """A p-value the way papers print one: ``0.031``, ``<0.001``."""
    return "-" if value is None else "<0.001" if value < 0.001 else f"{value:.3f}"


def format_usd(value: float | None) -> str:
    """Dollars with enough digits to tell small costs apart: ``$0.0123``, ``$12.34``; ``n/a`` when unknown."""
    if value is None:
        return "n/a"
    return f"${value:.2f}" if value >= 10 else f"${value:.4f}" if value >= 0.01 or value == 0 else f"${value:.6f}"


def cost_line(costs: Sequence[ModelCost], total: float | None) -> str:
    """``Cost: $0.0123 (gpt-4o-mini policy $0.0100, openai/gpt-4o judge $0.0023)``; unknown prices say n/a."""
    parts = ", ".join(f"{c.model} {c.role} {format_usd(c.usd)}" for c in costs)
    unknown = [c.model for c in costs if c.usd is None]
    note = f"; no price known for {', '.join(unknown)}" if unknown else ""
    return f"Cost: {format_usd(total)} ({parts}{note})"
