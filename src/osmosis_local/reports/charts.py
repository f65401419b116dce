"""The report's pictures, drawn here as SVG with every label escaped: score and timing histograms with counted
axes, the row x run grid, the baseline's win/tie/loss bars, and bars of a mean per value of a dataset column."""

from __future__ import annotations

import html
from collections.abc import Sequence

from osmosis_local.log.results import EvalResult

__all__ = ["GRID_ROWS", "histogram", "grid", "baseline_bars", "mean_bars"]

PALETTE = ["#b91c1c", "#dc2626", "#ea580c", "#f59e0b", "#eab308", "#a3e635", "#65a30d", "#16a34a", "#15803d"]


def _color(score: float | None, lo: float = 0.0, hi: float = 1.0) -> str:
    if score is None:
        return "#9ca3af"
    t = 0.0 if hi <= lo else min(1.0, max(0.0, (score - lo) / (hi - lo)))
    return PALETTE[round(t * (len(PALETTE) - 1))]


def _axis_number(value: float) -> str:
    """``0.5``, ``40``, ``8,170``: never scientific notation on an axis."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def histogram(values: Sequence[float], *, bins: int, lo: float, hi: float, label: str, color: str,
              x_label: str) -> str:
    """Bars of how many values fall in each of ``bins`` equal ranges, with both axes labelled: counts up the
    side (0, half, the most), the range along the bottom, and each bar's range and count on hover."""
    width, height, left, right, top, bottom = 360, 170, 38, 12, 26, 34
    if hi <= lo:
        hi = lo + 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int((v - lo) / (hi - lo) * bins)))] += 1
    most = max(counts) or 1
    plot_w, plot_h = width - left - right, height - top - bottom
    bar_w = plot_w / bins
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}">',
             f'<text x="{left}" y="14" class="t">{html.escape(label)} (n={len(values)})</text>']  # fmt: skip
    for count in sorted({0, most} | ({most // 2} if most >= 4 else set())):
        y = top + plot_h - plot_h * count / most
        parts.append(f'<line x1="{left - 3}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{left - 5}" y="{y + 3:.1f}" class="s" text-anchor="end">{count}</text>')  # fmt: skip
    for i, c in enumerate(counts):
        h = plot_h * c / most
        x, y = left + i * bar_w, top + plot_h - h
        title = f"{lo + i * (hi - lo) / bins:.3g}–{lo + (i + 1) * (hi - lo) / bins:.3g}: {c} run{'s' if c != 1 else ''}"
        parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{color}">'
                     f"<title>{html.escape(title)}</title></rect>")  # fmt: skip
    base = top + plot_h
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#555"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#555"/>'
        f'<text x="{left}" y="{base + 12}" class="s">{_axis_number(lo)}</text>'
        f'<text x="{width - right}" y="{base + 12}" class="s" text-anchor="end">{_axis_number(hi)}</text>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" class="s" text-anchor="middle">'
        f"{html.escape(x_label)}</text>"
        f'<text x="10" y="{top + plot_h / 2:.1f}" class="s" text-anchor="middle" '
        f'transform="rotate(-90 10 {top + plot_h / 2:.1f})">runs</text></svg>'
    )
    return "".join(parts)


GRID_ROWS = 1000


def grid(result: EvalResult, fn: str) -> str:
    """Rows down, runs across; one cell per run of the primary model, coloured by its score (the first
    `GRID_ROWS` rows: the runs table lists them all)."""
    rows = result.rows[:GRID_ROWS]
    n = max([result.config.n_runs, *(r.run_index + 1 for row in rows for r in row.runs)])
    cell, left, top = 14, 46, 20
    width, height = left + n * (cell + 2) + 10, top + len(rows) * (cell + 2) + 10
    parts = [f'<svg class="grid" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'aria-label="row by run grid for {html.escape(fn)}">']  # fmt: skip
    for k in range(n):
        parts.append(f'<text x="{left + k * (cell + 2) + 2}" y="14" class="s">{k}</text>')
    for i, row in enumerate(rows):
        y = top + i * (cell + 2)
        parts.append(f'<text x="{left - 6}" y="{y + 11}" class="s" text-anchor="end">{row.row_index}</text>')
        for run in row.runs:
            if run.model_tag != "primary":
                continue
            score = run.scores.get(fn)
            failed = run.end_state == "error"
            state = "failed" if failed else "score error" if fn in run.score_errors else f"{score:.3g}"
            if run.end_state in ("out_of_turns", "cut_off"):
                state += f" ({run.end_state.replace('_', ' ')})"
            key = f"row-{row.row_index}/run-{run.run_index}/{run.model_tag}"
            parts.append(
                f'<rect class="cell" data-key="{html.escape(key)}" x="{left + run.run_index * (cell + 2)}" y="{y}" '
                f'width="{cell}" height="{cell}" fill="{"#111827" if failed else _color(score)}" '
                f'stroke="{"#7c3aed" if fn in run.score_errors else "none"}" stroke-width="2">'
                f"<title>row {row.row_index} run {run.run_index}: {html.escape(state)}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def baseline_bars(result: EvalResult) -> str:
    if not result.comparison:
        return ""
    out = []
    for fn, c in result.comparison.items():
        total = max(1, c.wins + c.losses + c.ties)
        x, segments = 0.0, []
        for count, color, name in (
            (c.wins, "#16a34a", "wins"),
            (c.ties, "#9ca3af", "ties"),
            (c.losses, "#dc2626", "losses"),
        ):
            w = 340 * count / total
            segments.append(f'<rect x="{x + 10:.1f}" y="24" width="{w:.1f}" height="22" fill="{color}">'
                            f"<title>{name}: {count}</title></rect>")  # fmt: skip
            x += w
        short = html.escape(fn.rpartition(":")[2])
        delta = "" if c.mean_delta is None else f"mean diff {c.mean_delta:+.3f}"
        if c.mean_delta_ci95_low is not None and c.mean_delta_ci95_high is not None:
            delta += f" [{c.mean_delta_ci95_low:+.3f}, {c.mean_delta_ci95_high:+.3f}]"
        if c.p_value is not None:
            delta += f", p {'<0.001' if c.p_value < 0.001 else f'{c.p_value:.3f}'}"
        out.append(
            f'<figure><svg class="chart" viewBox="0 0 360 60"><text x="10" y="16" class="t">{short}: '
            f"{c.wins} wins / {c.ties} ties / {c.losses} losses vs baseline</text>{''.join(segments)}</svg>"
            f"<figcaption>{html.escape(delta)} (primary − baseline, paired by row and run; "
            f"{html.escape(c.p_value_method)})</figcaption></figure>"
        )
    return "".join(out)


def mean_bars(means: Sequence[tuple[str, float | None, int]], label: str) -> str:
    """Horizontal bars of a mean per value (0 to 1 when the scores are, else 0 to the largest), with counts."""
    width, row_h, left = 360, 18, 90
    top = max([1.0, *(m for _, m, _ in means if m is not None)])
    height = 22 + row_h * len(means) + 14
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}">'
             f'<text x="4" y="14" class="t">{html.escape(label)}</text>']  # fmt: skip
    for i, (key, mean, count) in enumerate(means):
        y = 22 + i * row_h
        w = 0.0 if mean is None else (width - left - 60) * max(0.0, mean) / top
        shown = "–" if mean is None else f"{mean:.3f}"
        parts.append(
            f'<text x="{left - 6}" y="{y + 12}" class="s" text-anchor="end">{html.escape(key[:14])}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" fill="#2563eb">'
            f"<title>{html.escape(key)}: mean {shown} over {count} runs</title></rect>"
            f'<text x="{left + w + 4:.1f}" y="{y + 12}" class="s">{shown} (n={count})</text>'
        )
    parts.append(f'<text x="{left}" y="{height - 2}" class="s">0</text>'
                 f'<text x="{width - 60}" y="{height - 2}" class="s" text-anchor="end">{top:.3g}</text>'
                 "</svg>")  # fmt: skip
    return "".join(parts)
