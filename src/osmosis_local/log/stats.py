"""Eval statistics: summary numbers, the unbiased pass@k estimator, paired baseline comparison.

Pure functions over score lists; every figure the harness reports is built by `eval_fn_summary` (an
`EvalFnStats`) and `paired_comparison` (a `Comparison`), so the console, the `-o` file and the API agree.

How missing scores are treated:

* every per-run score is a ``float`` or a :class:`NoScore` marker - ``NoScore.ERROR`` (the eval fn
  raised) or ``NoScore.RUN_FAILED`` (the agent run failed, so there was nothing to score);
* ``mean/std/min/max`` are over **scored runs only**, and ``scored``/``errors``/``unscored`` counts are
  reported next to them, so a broken eval fn is visible instead of dragging the mean toward 0;
  ``mean_all_runs`` is the mean over every run with each non-score counted as 0 (the original SDK's mean);
* **pass@k counts every non-score as a failure** (as do runs that never happened, e.g. after an early
  stop), whatever the threshold, because "did the policy produce a passing answer" is then honestly "no";
* the paired baseline comparison uses only (row, run) pairs where both sides have a score.
"""

from __future__ import annotations

import enum
import math
import sys
from collections.abc import Hashable, Mapping, Sequence
from typing import NamedTuple, TypeGuard

from osmosis_local.log.results import Comparison, EvalFnStats

PASS_AT_K_VALUES = (1, 3, 5, 10)


class NoScore(enum.Enum):
    """Why a run has no score for an eval fn."""

    ERROR = "error"  # the eval fn raised (or returned a non-number)
    RUN_FAILED = "unscored"  # the agent run itself failed


Score = float | NoScore | None  # None is accepted as RUN_FAILED


def is_score(value: object) -> TypeGuard[float]:
    """True for a real numeric score (bools are numbers too, as in the contract)."""
    return isinstance(value, int | float)


class Spread(NamedTuple):
    """mean, population std, min, max of some scores (all None for none)."""

    mean: float | None
    std: float | None
    min: float | None
    max: float | None


class Outcomes(NamedTuple):
    """How many runs were scored, had a scorer error, or failed (nothing to score)."""

    scored: int
    errors: int
    unscored: int


_LARGE = 2.0**500  # a score this large (about 3e150) or larger could overflow a sum or a square: scale first
_MAX = sys.float_info.max


def _clamp(value: float) -> float:
    """A figure that is finite: a true value beyond the largest float is reported as the largest float."""
    return value if math.isfinite(value) else math.copysign(_MAX, value)


def finite_mean(values: Sequence[float], count: int | None = None) -> float:
    """``sum(values) / count`` (``count`` defaults to ``len(values)``), exact as `math.fsum` and never
    overflowing: finite scores as large as 1e308 are scaled by a power of two (exact) before they are summed."""
    n = len(values) if count is None else count
    largest = max((abs(v) for v in values), default=0.0)
    if largest < _LARGE:
        return math.fsum(values) / n
    scale = 2.0 ** (math.frexp(largest)[1] - 1)
    return _clamp(math.fsum(v / scale for v in values) / n * scale)


def summarize(scores: Sequence[float]) -> Spread:
    """mean, population std, min, max. An empty list gives all four as None (no data, not zero).

    Finite scores give finite figures, however large they are (see `finite_mean`)."""
    if not scores:
        return Spread(None, None, None, None)
    values = [float(s) for s in scores]
    largest = max(abs(v) for v in values)
    scale = 1.0 if largest < _LARGE else 2.0 ** (math.frexp(largest)[1] - 1)
    scaled = values if scale == 1.0 else [v / scale for v in values]
    mean = math.fsum(scaled) / len(scaled)
    variance = math.fsum((v - mean) ** 2 for v in scaled) / len(scaled)
    return Spread(_clamp(mean * scale), _clamp(math.sqrt(variance) * scale), min(values), max(values))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k = 1 - C(n-c, k) / C(n, k) for n samples of which c passed.

    Guards, mirroring the contract: 0 if c == 0; 1 if n <= k, c >= n or n - c < k (at least one of
    any k draws must pass). Otherwise the ratio is computed as the product prod_{i=n-c+1..n}(1 - k/i),
    which never forms a binomial coefficient, so large n stays exact enough and cannot overflow.
    """
    if n < 0 or c < 0 or k < 1:
        raise ValueError(f"pass_at_k needs n >= 0, c >= 0 and k >= 1; got n={n}, c={c}, k={k}")
    if c == 0:
        return 0.0
    if n <= k or c >= n or n - c < k:
        return 1.0
    fail_all = 1.0
    for i in range(n - c + 1, n + 1):
        fail_all *= 1.0 - k / i
    return 1.0 - fail_all


def pass_at_k_table(
    per_row: Sequence[Sequence[Score]],
    threshold: float,
    n_requested: int,
    ks: Sequence[int] = PASS_AT_K_VALUES,
) -> dict[str, float]:
    """``{"pass_at_1": .., "pass_at_3": ..}`` averaged over rows; empty unless ``n_requested > 1``.

    Per row, n = max(len(runs), n_requested) - runs that never happened count as failures - and c is the
    number of real scores >= threshold (errors and failed runs are failures). Only k <= n_requested
    appear. No rows gives ``{}``.
    """
    if n_requested <= 1 or not per_row:
        return {}
    table: dict[str, float] = {}
    for k in ks:
        if k > n_requested:
            continue
        values = []
        for runs in per_row:
            n = max(len(runs), n_requested)
            c = sum(1 for s in runs if is_score(s) and float(s) >= threshold)
            values.append(pass_at_k(n, c, k))
        table[f"pass_at_{k}"] = finite_mean(values)
    return table


def count_outcomes(scores: Sequence[Score]) -> Outcomes:
    """``scored`` / ``errors`` (eval fn raised) / ``unscored`` (run failed) counts."""
    errors = sum(1 for s in scores if s is NoScore.ERROR)
    scored = sum(1 for s in scores if is_score(s))
    return Outcomes(scored=scored, errors=errors, unscored=len(scores) - scored - errors)


def eval_fn_summary(
    per_row: Sequence[Sequence[Score]],
    *,
    threshold: float,
    n_requested: int,
) -> EvalFnStats:
    """Everything the report shows for one eval fn and one model.

    ``per_row[i][k]`` is run k of row i. Gives mean/std/min/max over scored runs, ``mean_all_runs``
    (every run, an error or a failed run counting as 0), the scored/errors/unscored counts, and the
    pass@k entries (only when ``n_requested > 1``).
    """
    flat = [s for runs in per_row for s in runs]
    scored = [float(s) for s in flat if is_score(s)]
    spread = summarize(scored)
    outcomes = count_outcomes(flat)
    pass_at = pass_at_k_table(per_row, threshold, n_requested)
    return EvalFnStats(
        mean=spread.mean,
        mean_all_runs=finite_mean(scored, len(flat)) if flat else None,
        std=spread.std,
        min=spread.min,
        max=spread.max,
        scored=outcomes.scored,
        errors=outcomes.errors,
        unscored=outcomes.unscored,
        pass_at_1=pass_at.get("pass_at_1"),
        pass_at_3=pass_at.get("pass_at_3"),
        pass_at_5=pass_at.get("pass_at_5"),
        pass_at_10=pass_at.get("pass_at_10"),
    )


def paired_comparison(
    primary: Mapping[Hashable, Score],
    baseline: Mapping[Hashable, Score],
    *,
    tie_tolerance: float = 1e-9,
) -> Comparison:
    """Win/loss/tie of primary vs baseline over (row, run) keys, for one eval fn.

    A pair exists only when both sides have a real score; every other key present on either side is
    counted in ``unpaired``. ``|p - b| <= tie_tolerance`` is a tie. ``win_rate`` = wins / pairs (ties
    count as non-wins), ``mean_delta`` = mean(p - b); both are None without pairs.
    """
    wins = losses = ties = 0
    deltas: list[float] = []
    halves: list[float] = []  # (p - b) / 2 as p/2 - b/2: finite even for p = 1e308, b = -1e308
    keys = set(primary) | set(baseline)
    for key in keys:
        p, b = primary.get(key), baseline.get(key)
        if not (is_score(p) and is_score(b)):
            continue
        delta = float(p) - float(b)  # may be inf for huge opposite scores; its sign still decides
        deltas.append(delta)
        halves.append(float(p) / 2 - float(b) / 2)
        if abs(delta) <= tie_tolerance:
            ties += 1
        elif delta > 0:
            wins += 1
        else:
            losses += 1
    pairs = len(halves)
    return Comparison(
        wins=wins,
        losses=losses,
        ties=ties,
        pairs=pairs,
        unpaired=len(keys) - pairs,
        win_rate=wins / pairs if pairs else None,
        mean_delta=None
        if not pairs
        else finite_mean(deltas)
        if all(map(math.isfinite, deltas))
        else _clamp(finite_mean(halves) * 2),
    )
