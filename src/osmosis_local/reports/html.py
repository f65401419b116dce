"""`osmosis-local view`: one self-contained HTML report of a transcript log (or of a results file).

Everything is inline (CSS, script, data, SVG pictures), so the file opens offline and can be attached as a
CI artifact. Charts are drawn here as SVG with every label escaped; the page's script builds the run table
and the drill-down from a JSON data block with ``textContent`` only, so text from a transcript (even
``<script>``) is shown as text and never run.
"""

from __future__ import annotations

import contextlib
import datetime
import html
import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from osmosis_local.config.settings import FailUnder
from osmosis_local.errors import LogReadError
from osmosis_local.log.records import END_STATE_LABELS, RunRecord
from osmosis_local.log.results import EvalResult, ModelCost
from osmosis_local.log.summary import build_eval_result
from osmosis_local.log.transcript import read_log

__all__ = ["load_report_input", "render_report"]

PALETTE = ["#b91c1c", "#dc2626", "#ea580c", "#f59e0b", "#eab308", "#a3e635", "#65a30d", "#16a34a", "#15803d"]


def _color(score: float | None, lo: float = 0.0, hi: float = 1.0) -> str:
    if score is None:
        return "#9ca3af"
    t = 0.0 if hi <= lo else min(1.0, max(0.0, (score - lo) / (hi - lo)))
    return PALETTE[round(t * (len(PALETTE) - 1))]


def load_report_input(path: Path) -> tuple[EvalResult, list[RunRecord]]:
    """The result and the run records behind a transcript log, or behind a results file (`-o`) and its log."""
    if not path.is_file():
        raise LogReadError(f"Not found: {path}")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".json":
        try:
            result = EvalResult.model_validate_json(text)
        except ValueError as exc:
            raise LogReadError(f"{path} is not an eval results file (-o of eval or rescore): {exc}") from None
        log = Path(result.transcript_log)
        records = list(read_log(log).latest().values()) if log.is_file() else []
        return result, records
    loaded = read_log(path)
    header = loaded.header
    settings = header.eval_settings if header is not None else None
    if header is None or settings is None:
        raise LogReadError(f"{path} is not the transcript log of an eval or a rescore (no eval settings header)")
    records = list(loaded.latest().values())
    if not records:
        raise LogReadError(f"{path} holds no finished runs")
    n_runs = max(settings.n_runs, 1 + max(r.run_index for r in records))
    tags = sorted({r.model_tag for r in records}, key=lambda t: t != "primary")
    result = build_eval_result(
        config=settings.model_copy(update={"n_runs": n_runs, "fail_under": FailUnder()}),
        row_indices=sorted({r.row_index for r in records}),
        models=[(tag, next(r.model for r in records if r.model_tag == tag)) for tag in tags], records=records,
        expected_items=len(records), wall_ms=0.0, log_path=path, stop_reason=None, judge=None,
        command=header.command if header.command != "test" else "eval",
    )  # fmt: skip
    return result, records


# ----------------------------------------------------------------------------------------------- SVG


def _histogram(values: Sequence[float], *, bins: int, lo: float, hi: float, label: str, color: str) -> str:
    width, height, pad = 360, 150, 28
    if hi <= lo:
        hi = lo + 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int((v - lo) / (hi - lo) * bins)))] += 1
    top = max(counts) or 1
    bar_w = (width - 2 * pad) / bins
    bars = []
    for i, c in enumerate(counts):
        h = (height - 2 * pad) * c / top
        x, y = pad + i * bar_w, height - pad - h
        title = f"{lo + i * (hi - lo) / bins:.3g}–{lo + (i + 1) * (hi - lo) / bins:.3g}: {c}"
        bars.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{color}">'
                    f"<title>{html.escape(title)}</title></rect>")  # fmt: skip
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}">'
        f'<text x="{pad}" y="16" class="t">{html.escape(label)} (n={len(values)})</text>{"".join(bars)}'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#555"/>'
        f'<text x="{pad}" y="{height - 8}" class="s">{lo:.3g}</text>'
        f'<text x="{width - pad}" y="{height - 8}" class="s" text-anchor="end">{hi:.3g}</text></svg>'
    )


def _grid(result: EvalResult, fn: str) -> str:
    """Rows down, runs across; one cell per run of the primary model, coloured by its score."""
    rows = result.rows
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


def _baseline_bars(result: EvalResult) -> str:
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


# ------------------------------------------------------------------------------------------ the page


def _run_data(records: Sequence[RunRecord], result: EvalResult) -> list[dict[str, Any]]:
    changed: dict[str, list[str]] = {}
    for fn, change in (result.changes or {}).items():
        for line in change.changed:
            changed.setdefault(line.split(":", 1)[0], []).append(fn)
    data = []
    for r in sorted(records, key=lambda r: (r.row_index, r.run_index, r.model_tag != "primary")):
        data.append({
            "key": r.key, "row": r.row_index, "run": r.run_index, "tag": r.model_tag, "model": r.model,
            "success": r.answered, "state": r.end_state, "label": END_STATE_LABELS[r.end_state],
            "error": r.why_no_answer, "finish": r.finish_reason, "scores": r.scores,
            "score_errors": r.score_errors, "ms": r.duration_ms, "tokens": r.tokens, "answer": r.answer,
            "truth": r.ground_truth, "changed": changed.get(r.key, []), "seed": r.seed,
            "tools": [t.model_dump() for t in r.tool_calls], "messages": r.messages,
        })  # fmt: skip
    return data


def _wall_time(result: EvalResult, records: Sequence[RunRecord]) -> str:
    """The eval's wall time; for a log (which does not record it) the span from the first run's start to the last
    run's end."""
    if result.summary.total_duration_ms:
        return f"{result.summary.total_duration_ms / 1000:.1f} s"
    spans = []
    for r in records:
        with contextlib.suppress(ValueError):
            start = datetime.datetime.fromisoformat(r.started_at).timestamp()
            spans.append((start, start + r.duration_ms / 1000))
    if not spans:
        return "not recorded"
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    return f"{wall:.1f} s from the first run's start to the last run's end ({len(spans)} runs)"


def cost_text(costs: Sequence[ModelCost], total: float | None) -> str:
    """The cost per model and in all; an unknown price says n/a."""
    if not costs:
        return "not recorded (a log holds the policy's tokens: view its eval's -o file for every cost)"
    usd = lambda v: "n/a (no price known)" if v is None else f"${v:.4f}"  # noqa: E731
    return f"{usd(total)} in all: " + ", ".join(f"{c.model} ({c.role}) {usd(c.usd)}" for c in costs)


def _summary_table(result: EvalResult, records: Sequence[RunRecord]) -> str:
    s, c = result.summary, result.config
    facts = [
        ("Command", result.command), ("Model", c.model + (f" ({c.base_url})" if c.base_url else "")),
        ("Baseline", c.baseline_model or "none"),
        ("Dataset", f"{c.dataset} (sha256 {(c.dataset_sha256 or '?')[:12]}…)"),
        ("Rows × runs", f"{s.total_rows} × {c.n_runs} = {s.total_runs} runs"),
        ("End states", ", ".join(f"{state.replace('_', ' ')} {count}" for state, count in s.end_states.items())),
        ("Settings", ", ".join(f"{name} {'not set' if value is None else value}" for name, value in (
            ("max turns", c.max_turns), ("temperature", c.temperature), ("top p", c.top_p),
            ("max tokens", c.max_tokens), ("seed", c.seed), ("pass threshold", c.pass_threshold)))),
        ("Tokens", f"{s.total_tokens} policy" + (f", {s.judge_usage.total_tokens} judge" if s.judge_usage else "")),
        ("Cost", cost_text(s.cost, s.total_cost_usd)),
        ("Time", _wall_time(result, records)),
        ("Transcript", result.transcript_log),
    ]  # fmt: skip
    if c.rescore_of:
        facts.insert(1, ("Rescore of", c.rescore_of))
    if s.problems:
        facts.append(("Problems", "; ".join(s.problems)))
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts)
    fn_rows = []
    for name, st in s.eval_fns.items():
        passk = ", ".join(f"pass@{k} {v:.3f}" for k, v in st.pass_at().items()) or "–"
        fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
        interval = "–" if st.ci95_low is None or st.ci95_high is None else f"[{st.ci95_low:.3f}, {st.ci95_high:.3f}]"
        fn_rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{fmt(st.mean)}</td><td>{interval}</td><td>{fmt(st.mean_all_runs)}</td>"
            f"<td>{st.scored}</td><td>{st.errors}</td><td>{st.unscored}</td><td>{html.escape(passk)}</td></tr>"
        )
    return (
        f'<table class="facts">{rows}</table><table class="fns"><tr><th>Eval function</th><th>Mean (scored)</th>'
        f"<th>95% CI</th><th>Mean (all runs)</th><th>Scored</th><th>Errors</th><th>Unscored</th><th>pass@k</th></tr>"
        f"{''.join(fn_rows)}</table>"
    )


def render_report(result: EvalResult, records: Sequence[RunRecord]) -> str:
    """The whole HTML page as a string."""
    fns = list(result.config.eval_fns)
    charts = []
    for fn in fns:
        values = [r.scores[fn] for r in records if fn in r.scores and r.model_tag == "primary"]
        lo, hi = (min(values + [0.0]), max(values + [1.0])) if values else (0.0, 1.0)
        short = fn.rpartition(":")[2]
        charts.append(f"<figure>{_histogram(values, bins=10, lo=lo, hi=hi, label=f'{short} scores', color='#2563eb')}"
                      f"<figcaption>score distribution</figcaption></figure>")  # fmt: skip
    durations = [r.duration_ms / 1000 for r in records]
    tokens = [float(r.tokens) for r in records]
    for values, label, color in ((durations, "run seconds", "#0891b2"), (tokens, "tokens per run", "#7c3aed")):
        chart = _histogram(values, bins=12, lo=0, hi=max([*values, 1.0]), label=label, color=color)
        charts.append(f"<figure>{chart}</figure>")
    grids = "".join(
        f"<figure><figcaption>{html.escape(fn)}: row × run</figcaption>{_grid(result, fn)}</figure>" for fn in fns
    )
    data = json.dumps({"fns": fns, "threshold": result.config.pass_threshold, "runs": _run_data(records, result)},
                      ensure_ascii=False, default=str)  # fmt: skip
    # No "<", ">" or "&" at all inside the data block: it cannot close (or open) a tag whatever the text.
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = html.escape(f"osmosis-local report: {result.config.model} on {Path(result.config.dataset).name}")
    return fill_template(_page_template(), title=title, summary=_summary_table(result, records), charts="".join(charts),
                         baseline=_baseline_bars(result), grids=grids, data=data)  # fmt: skip


_SLOT = re.compile(r"\{\{(\w+)\}\}")


def fill_template(template: str, **slots: str) -> str:
    """``{{name}}`` slots filled in one pass: the page's CSS and script are written as they run (no doubled
    braces, no escapes re-read), and text put in a slot is never searched for slots again."""
    missing = set(_SLOT.findall(template)) - slots.keys()
    if missing:
        raise KeyError(f"report template slots without a value: {sorted(missing)}")
    return _SLOT.sub(lambda m: slots[m.group(1)], template)


def _page_template() -> str:
    """The page around the data (report_template.html, with ``{{name}}`` slots)."""
    return resources.files("osmosis_local.reports").joinpath("report_template.html").read_text(encoding="utf-8")
