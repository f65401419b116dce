"""`osmosis-local view`: one self-contained HTML report of a transcript log (or of a results file).

Everything is inline (CSS, script, data, SVG pictures), so the file opens offline and can be attached as a
CI artifact. The pictures come from `reports.charts` (SVG, every label escaped); the page's script builds the run table
and the drill-down from a JSON data block with ``textContent`` only, so text from a transcript (even
``<script>``) is shown as text and never run.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from osmosis_local.config.settings import FailUnder
from osmosis_local.errors import LogReadError
from osmosis_local.log.records import END_STATE_LABELS, RunRecord
from osmosis_local.log.results import EvalResult, ModelCost, ScoreChange
from osmosis_local.log.summary import build_eval_result, score_changes, span_ms
from osmosis_local.log.transcript import LoadedLog, read_log
from osmosis_local.reports.charts import GRID_ROWS, baseline_bars, grid, histogram, mean_bars

__all__ = ["open_report_input", "render_report"]

def open_report_input(path: Path) -> tuple[EvalResult, LoadedLog]:
    """The result behind a transcript log, or behind a results file (`-o`) and its log, and the log read slim:
    its records hold the figures; `LoadedLog.with_transcripts` reads their conversations back one at a time."""
    if not path.is_file():
        raise LogReadError(f"Not found: {path}")
    if path.suffix == ".json":
        try:
            result = EvalResult.model_validate_json(path.read_text(encoding="utf-8", errors="replace"))
        except ValueError as exc:
            raise LogReadError(f"{path} is not an eval results file (-o of eval or rescore): {exc}") from None
        log = Path(result.transcript_log)
        return result, read_log(log, slim=True) if log.is_file() else LoadedLog(None, [])
    loaded = read_log(path, slim=True)
    header, records = loaded.header, loaded.records
    settings = header.eval_settings if header is not None else None
    if header is None or settings is None:
        raise LogReadError(f"{path} is not the transcript log of an eval or a rescore (no eval settings header)")
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
    return result, loaded


# ----------------------------------------------------------------------------------------------- SVG


# ------------------------------------------------------------------------------------------ the page


def _run_data(
    records: Sequence[RunRecord], result: EvalResult, before: Sequence[RunRecord] = ()
) -> list[dict[str, Any]]:
    changed: dict[str, list[str]] = {}
    for fn, change in (result.changes or {}).items():
        for line in change.changed:
            changed.setdefault(line.split(":", 1)[0], []).append(fn)
    earlier = {r.key: r for r in before}
    data = []
    for i, r in enumerate(_table_order(records)):
        data.append({
            "i": i,
            "key": r.key, "row": r.row_index, "run": r.run_index, "tag": r.model_tag, "model": r.model,
            "success": r.answered, "state": r.end_state, "label": END_STATE_LABELS[r.end_state],
            "error": r.why_no_answer, "finish": r.finish_reason, "scores": r.scores,
            "score_errors": r.score_errors, "ms": r.duration_ms, "tokens": r.tokens, "answer": r.answer,
            "truth": r.ground_truth, "changed": changed.get(r.key, []), "seed": r.seed,
            "before": _before_scores(earlier.get(r.key), result.config.eval_fns), "columns": r.columns,
        })  # fmt: skip
    return data


def _details(records: Iterable[RunRecord]) -> str:
    """Every run's conversation and tool calls, one JSON text per run in one data block that the page parses only
    when a run is first opened (so a page of 20,000 runs loads its table data, not every transcript). ``records``
    are whole, in the table's order; they are read one at a time (`LoadedLog.with_transcripts`)."""
    texts = (json.dumps({"messages": r.messages, "tools": [t.model_dump() for t in r.tool_calls]},
                        ensure_ascii=False, default=str) for r in records)  # fmt: skip
    listing = "[" + ", ".join(json.dumps(text, ensure_ascii=False) for text in texts) + "]"
    return f'<script type="application/json" id="run-details">{_inert(listing)}</script>'


def _inert(data: str) -> str:
    """No "<", ">" or "&" at all inside a data block: it cannot close (or open) a tag whatever the text."""
    return data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _wall_time(result: EvalResult, records: Sequence[RunRecord]) -> str:
    """The eval's wall time; for a log (which does not record it) the span from the first run's start to the last
    run's end."""
    if result.summary.total_duration_ms:
        return f"{result.summary.total_duration_ms / 1000:.1f} s"
    span = span_ms(records)
    if span is None:
        return "not recorded"
    return f"{span / 1000:.1f} s from the first run's start to the last run's end ({len(records)} runs)"


def cost_text(costs: Sequence[ModelCost], total: float | None, *, rescore: bool = False) -> str:
    """The cost per model and in all; an unknown price says n/a."""
    if not costs:
        return "$0: no judge ran, and a rescore runs no rollouts" if rescore else (
            "not recorded (a log holds the policy's tokens: view its eval's -o file for every cost)")
    usd = lambda v: "n/a (no price known)" if v is None else f"${v:.4f}"  # noqa: E731
    return f"{usd(total)} in all: " + ", ".join(f"{c.model} ({c.role}) {usd(c.usd)}" for c in costs)


def _before_scores(record: RunRecord | None, fns: Sequence[str]) -> dict[str, Any]:
    """A rescored run's earlier score per eval function ("error" for a scorer error); {} when not a rescore."""
    if record is None:
        return {}
    return {fn: record.scores.get(fn, "error") for fn in fns if fn in record.scores or fn in record.score_errors}


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
        ("Cost", cost_text(s.cost, s.total_cost_usd, rescore=result.command == "rescore")),
        ("Time", _wall_time(result, records)),
        *((f"Replica ({u.role})", f"{u.url}: {u.requests} requests, {u.failures} failed, taken out {u.taken_out}×")
          for u in s.replicas),
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


def render_report(
    result: EvalResult,
    records: Sequence[RunRecord],
    *,
    by: Sequence[str] | None = None,
    whole: Callable[[Iterable[RunRecord]], Iterable[RunRecord]] | None = None,
) -> str:
    """The whole HTML page as a string; ``by``: the dataset columns to break the scores down by (default: every
    short column with 2 to 20 values). ``records`` may be slim when ``whole`` reads each one's conversation back
    (`LoadedLog.with_transcripts`): the page's transcripts are then read one run at a time."""
    fns = list(result.config.eval_fns)
    charts = []
    for fn in fns:
        values = [r.scores[fn] for r in records if fn in r.scores and r.model_tag == "primary"]
        lo, hi = (min(values + [0.0]), max(values + [1.0])) if values else (0.0, 1.0)
        short = fn.rpartition(":")[2]
        chart = histogram(values, bins=10, lo=lo, hi=hi, label=f"{short} scores", color="#2563eb", x_label="score")
        charts.append(f"<figure>{chart}<figcaption>How many primary runs got each {html.escape(short)} score "
                      "(unscored runs left out)</figcaption></figure>")  # fmt: skip
    durations = [r.duration_ms / 1000 for r in records]
    tokens = [float(r.tokens) for r in records]
    for values, label, color, x_label, caption in (
        (durations, "run seconds", "#0891b2", "seconds", "How long each run took, tools included"),
        (tokens, "tokens per run", "#7c3aed", "policy tokens", "Policy tokens per run, prompt and completion"),
    ):
        chart = histogram(values, bins=12, lo=0, hi=max([*values, 1.0]), label=label, color=color, x_label=x_label)
        charts.append(f"<figure>{chart}<figcaption>{caption}</figcaption></figure>")
    cut = f" (the first {GRID_ROWS} rows of {len(result.rows)})" if len(result.rows) > GRID_ROWS else ""
    grids = "".join(
        f"<figure><figcaption>{html.escape(fn)}: row × run{cut}</figcaption>{grid(result, fn)}</figure>"
        for fn in fns
    )
    before = _rescored_records(result)
    if before and not result.changes:
        result = result.model_copy(update={"changes": _changes_of(result, before, records)})
    data = json.dumps({"fns": fns, "threshold": result.config.pass_threshold,
                       "runs": _run_data(records, result, before)}, ensure_ascii=False, default=str)  # fmt: skip
    data = _inert(data)
    title = html.escape(f"osmosis-local report: {result.config.model} on {Path(result.config.dataset).name}")
    return fill_template(_page_template(), title=title, summary=_summary_table(result, records), charts="".join(charts),
                         baseline=baseline_bars(result), grids=grids, data=data,
                         breakdown=_breakdowns(result, records, by), rescore=_rescore_section(result),
                         details=_details((whole or iter)(_table_order(records))))  # fmt: skip


def _table_order(records: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs in the order of the page's table (and of its transcripts): row, run, primary before baseline."""
    return sorted(records, key=lambda r: (r.row_index, r.run_index, r.model_tag != "primary"))


MAX_BREAKDOWN_VALUES = 20


def breakdown_columns(records: Sequence[RunRecord]) -> list[str]:
    """The dataset columns worth a breakdown: recorded on the runs, with 2 to `MAX_BREAKDOWN_VALUES` values and
    fewer values than rows (a column with a value per row, an id, groups nothing)."""
    values: dict[str, set[str]] = {}
    for r in records:
        for key, value in r.columns.items():
            values.setdefault(key, set()).add(repr(value))
    rows = len({r.row_index for r in records})
    return sorted(key for key, seen in values.items() if 2 <= len(seen) <= MAX_BREAKDOWN_VALUES and len(seen) < rows)


def _sort_key(value: object) -> tuple[int, float, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _breakdowns(result: EvalResult, records: Sequence[RunRecord], by: Sequence[str] | None) -> str:
    """Per dataset column: the mean of each eval function and the run count per value, as a table and bars."""
    primary = [r for r in records if r.model_tag == "primary"]
    columns = list(by) if by is not None else breakdown_columns(primary)
    if not columns:
        return ('<p class="note">No dataset column to break the scores down by (a column is used when the runs '
                "record it and it has 2 to 20 values; logs before this version record none).</p>")  # fmt: skip
    fns = list(result.config.eval_fns)
    out = []
    for column in columns:
        groups: dict[str, list[RunRecord]] = {}
        raw: dict[str, object] = {}
        for r in primary:
            if column in r.columns:
                key = str(r.columns[column])
                groups.setdefault(key, []).append(r)
                raw[key] = r.columns[column]
        if not groups:
            out.append(f'<p class="note">No run records the column {html.escape(column)}.</p>')
            continue
        ordered = sorted(groups, key=lambda k: _sort_key(raw[k]))
        head = "".join(f"<th>{html.escape(fn.rpartition(':')[2])} mean</th>" for fn in fns)
        rows = []
        means: list[tuple[str, float | None, int]] = []
        for key in ordered:
            cells = []
            for i, fn in enumerate(fns):
                scored = [r.scores[fn] for r in groups[key] if fn in r.scores]
                mean = math.fsum(scored) / len(scored) if scored else None
                cells.append("–" if mean is None else f"{mean:.3f}")
                if i == 0:
                    means.append((key, mean, len(groups[key])))
            rows.append(f"<tr><td>{html.escape(key)}</td><td>{len(groups[key])}</td>"
                        + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")  # fmt: skip
        table = (f'<table class="fns breakdown" data-column="{html.escape(column)}"><tr><th>{html.escape(column)}'
                 f"</th><th>runs</th>{head}</tr>{''.join(rows)}</table>")  # fmt: skip
        chart = mean_bars(means, f"{fns[0].rpartition(':')[2]} mean by {column}") if fns else ""
        out.append(f'<figure class="breakdown-fig">{table}{chart}<figcaption>Primary runs grouped by the dataset '
                   f"column {html.escape(column)}: how many runs each value has and their mean score"
                   "</figcaption></figure>")  # fmt: skip
    return "".join(out)


def _rescored_records(result: EvalResult) -> list[RunRecord]:
    """For a rescore: the runs of the log it rescored (their earlier scores), when that log is still there."""
    source = result.config.rescore_of
    if not source or not Path(source).is_file():
        return []
    try:
        return list(read_log(Path(source), slim=True).latest().values())  # its scores; not its transcripts
    except LogReadError:
        return []


def _changes_of(result: EvalResult, before: Sequence[RunRecord], after: Sequence[RunRecord]) -> dict[str, ScoreChange]:
    rows = sorted({r.row_index for r in after})
    return score_changes(before, after, result.config.eval_fns, rows, threshold=result.config.pass_threshold,
                         n=result.config.n_runs)  # fmt: skip


def _rescore_section(result: EvalResult) -> str:
    """A rescore's before -> after per eval function (the runs show theirs in the table and the drill-down)."""
    if not result.config.rescore_of:
        return ""
    if not result.changes:
        return (f'<section id="rescore"><h2>Rescore of {html.escape(result.config.rescore_of)}</h2><p>None of '
                "these eval functions scored the earlier log (or it is gone), so there is no before to compare."
                "</p></section>")  # fmt: skip
    fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    rows = []
    for fn, change in result.changes.items():
        was, now = change.mean_before, change.mean_after
        delta = "–" if was is None or now is None else f"{now - was:+.3f}"
        rows.append(f"<tr><td>{html.escape(fn)}</td><td>{fmt(was)}</td><td>{fmt(now)}</td><td>{delta}</td>"
                    f"<td>{change.changed_runs}</td></tr>")  # fmt: skip
    return (f'<section id="rescore"><h2>Rescore of {html.escape(result.config.rescore_of)}: before → after</h2>'
            '<table class="fns"><tr><th>Eval function</th><th>Mean before</th><th>Mean after</th><th>Change</th>'
            f"<th>Runs changed</th></tr>{''.join(rows)}</table><p class=\"note\">Tick “changed by the rescore” below "
            "to list those runs; each shows its score before → after.</p></section>")  # fmt: skip


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
