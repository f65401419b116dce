"""Checks of datasets: every row valid (all of them), and every ground truth reachable by each reward.

The self-check scores the answer `#### <ground truth>` for every row: a simple-mode reward must give 1.0,
a full-mode one (which may weigh how the answer was reached) more than 0. A row that fails is a ground
truth the reward can never match, so training on it teaches nothing.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from osmosis_local.checks.findings import DatasetInfo, Findings
from osmosis_local.checks.places import relative
from osmosis_local.checks.scorer_call import call_guarded, call_scorer
from osmosis_local.checks.scorer_checks import LoadedScorer
from osmosis_local.content.dataset import DatasetError, DatasetRow, load_dataset

__all__ = ["check_dataset", "answer_for", "MAX_ROW_FINDINGS"]

#: Findings per dataset and kind beyond this are summed up in one line.
MAX_ROW_FINDINGS = 10
_ROW = re.compile(r"^Row (\d+): ")


def answer_for(ground_truth: str) -> str:
    """The answer a correct solution ends with: `#### <ground truth>` (a ground truth with `####` as is)."""
    return ground_truth if "####" in ground_truth else f"#### {ground_truth.strip()}"


def _row_lines(path: Path) -> dict[int, int]:
    """Row index -> 1-based line of a JSONL file (blank lines are not rows)."""
    lines: dict[int, int] = {}
    if path.suffix.lower() != ".jsonl":
        return lines
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if raw.strip():
                lines[len(lines)] = line_no
    return lines


def check_dataset(
    path: Path, repo: Path, scorers: list[LoadedScorer], findings: Findings
) -> tuple[DatasetInfo | None, list[DatasetRow]]:
    """Validate every row of `path`, then self-check each reward against its ground truths."""
    shown = relative(path, repo) or str(path)
    try:
        rows = load_dataset(path)
    except DatasetError as exc:
        errors = getattr(exc, "errors", None) or [str(exc)]
        lines = _row_lines(path) if path.is_file() else {}
        for message in errors[:MAX_ROW_FINDINGS]:
            match = _ROW.match(message)
            line = lines.get(int(match.group(1))) if match else None
            findings.error(
                "dataset-row-invalid" if match else "dataset-unreadable",
                message,
                "every row needs non-empty system_prompt, user_prompt and ground_truth (a string or a number)"
                if match
                else "give an existing .jsonl, .json, .csv or .parquet file",
                shown,
                line,
            )
        if len(errors) > MAX_ROW_FINDINGS:
            findings.error(
                "dataset-row-invalid",
                f"... and {len(errors) - MAX_ROW_FINDINGS} more invalid rows",
                "fix the rows above first",
                shown,
            )
        return None, []
    lines = _row_lines(path)
    for scorer in scorers:
        _self_check(scorer, rows, lines, shown, findings)
    return DatasetInfo(path=shown, rows=len(rows)), rows


def _self_check(
    scorer: LoadedScorer, rows: list[DatasetRow], lines: dict[int, int], shown: str, findings: Findings
) -> None:
    mode = scorer.info.mode or "simple"
    failed = 0
    for row in rows:
        answer = answer_for(row.ground_truth)
        call = call_scorer(scorer.fn, mode, answer, row.ground_truth, row.as_row_dict())
        good = call.score is not None and (call.score == 1.0 if mode == "simple" else call.score > 0)
        if good:
            continue
        failed += 1
        if failed <= MAX_ROW_FINDINGS and call.error is not None:  # the reward failed, not the ground truth
            findings.error(
                "reward-failed",
                f"row {row.row_index}: {scorer.info.spec} on the answer {answer[:60]!r} {call.error}",
                "fix the reward: it must return a float for every answer (never raise, exit or hang)",
                scorer.info.file,
                scorer.info.line,
            )
        elif failed <= MAX_ROW_FINDINGS:
            got = f"scored {call.score:g}"
            need = "1.0" if mode == "simple" else "more than 0"
            findings.error(
                "ground-truth-unscorable",
                f"row {row.row_index}: {scorer.info.spec} on the answer "
                f"{answer[:60]!r} {got} (needs {need}): ground truth {row.ground_truth[:60]!r} can "
                "never be matched",
                "fix the ground truth (a plain number such as 42), or the reward's parsing",
                shown,
                lines.get(row.row_index),
            )
    if failed > MAX_ROW_FINDINGS:
        findings.error(
            "ground-truth-unscorable",
            f"... and {failed - MAX_ROW_FINDINGS} more rows {scorer.info.spec} cannot match",
            "fix the rows above first",
            shown,
        )
    _check_return_type(scorer, rows, findings)


def _check_return_type(scorer: LoadedScorer, rows: list[DatasetRow], findings: Findings) -> None:
    """The SDK requires a real float; our decorator turns an int into one, so call the undecorated function."""
    if scorer.info.mode != "simple" or not rows:
        return
    original = inspect.unwrap(scorer.fn)
    if original is scorer.fn:
        return
    row = rows[0]
    kwargs = {"solution_str": answer_for(row.ground_truth), "ground_truth": row.ground_truth,
              "extra_info": row.as_row_dict()}  # fmt: skip
    ok, result = call_guarded(original, kwargs)  # in a daemon thread with the time limit, like every call
    if not ok:
        return  # reported by the self-check already
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close:
            close()
        return
    if not isinstance(result, float):
        findings.error(
            "sdk-rejects-return",
            f"{scorer.info.spec} returns {type(result).__name__} ({_short_repr(result)}); the platform's SDK requires "
            "a float",
            "return float(score)",
            scorer.info.file,
            scorer.info.line,
        )


def _short_repr(value: object) -> str:
    try:
        return repr(value)[:40]
    except Exception:  # noqa: BLE001 - a broken __repr__, an int too long to print
        return f"a {type(value).__name__}"
