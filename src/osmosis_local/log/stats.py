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

Error bars: every ``mean`` has its standard error and a 95% interval (Student's t), **clustered by row**: the
runs of one row share its difficulty, so with ``--n`` > 1 they are not independent draws, and treating them as
such would make the interval too narrow. With one run per row this is the usual ``s / sqrt(n)``. The paired
comparison gets the same for the mean difference, and a p-value from a sign-flip permutation test over rows
(exact up to 12 rows, 5,000 seeded resamples up to 200, the normal approximation beyond): deterministic, so the
same log always gives the same figures.
"""

from __future__ import annotations

import enum
import itertools
import math
import random
import statistics
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


# Student's t, two-sided 95% (the 0.975 quantile) by degrees of freedom; between rows of the table the smaller
# df's value is used (a slightly wider interval, never a narrower one); beyond 120 the normal 1.96.
_T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
    11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086,
    21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042,
    40: 2.021, 60: 2.000, 120: 1.980,
}  # fmt: skip
EXACT_SIGN_FLIP_ROWS = 12
RESAMPLED_SIGN_FLIP_ROWS = 200
SIGN_FLIP_RESAMPLES = 5000
SIGN_FLIP_SEED = 0


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (``df >= 1``)."""
    if df < 1:
        raise ValueError(f"t975 needs df >= 1, got {df}")
    if df > 120:
        return 1.96
    return _T975[max(k for k in _T975 if k <= df)]


class ErrorBar(NamedTuple):
    """A mean with its clustered standard error and 95% interval (the last three None below two clusters)."""

    mean: float | None
    stderr: float | None
    low: float | None
    high: float | None


def clustered_mean(clusters: Sequence[Sequence[float]]) -> ErrorBar:
    """The mean of every value, its standard error clustered by the given groups (rows), and the 95% interval
    ``mean ± t(G-1) * se`` with G the groups that hold a value. One value per group gives ``s / sqrt(n)``."""
    groups = [[float(v) for v in group] for group in clusters if group]
    values = [v for group in groups for v in group]
    if not values:
        return ErrorBar(None, None, None, None)
    mean = finite_mean(values)
    if len(groups) < 2:
        return ErrorBar(mean, None, None, None)
    largest = max(abs(v) for v in values)
    scale = 1.0 if largest < _LARGE else 2.0 ** (math.frexp(largest)[1] - 1)
    centre = mean / scale
    residuals = [math.fsum(v / scale - centre for v in group) for group in groups]
    g = len(groups)
    se = math.sqrt(g / (g - 1) * math.fsum(r * r for r in residuals)) / len(values)
    stderr = _clamp(se * scale)
    half = _clamp(t975(g - 1) * stderr)
    return ErrorBar(mean, stderr, _clamp(mean - half), _clamp(mean + half))


def sign_flip_p_value(row_sums: Sequence[float]) -> tuple[float | None, str]:
    """Two-sided p-value of "the two models score the same" from the per-row sums of paired differences, by
    flipping each row's sign (under the null a row's difference is as likely negative as positive), and how it
    was computed. None without rows."""
    sums = [float(v) for v in row_sums]
    g = len(sums)
    if g == 0:
        return None, "no paired rows"
    largest = max(abs(v) for v in sums)
    if largest == 0:
        return 1.0, "every paired row has a difference of 0"
    sums = [v / largest for v in sums]  # scale-free, and finite however large the scores
    observed = abs(math.fsum(sums)) * (1 - 1e-12)  # flips equal to the observed count as extreme
    if g <= EXACT_SIGN_FLIP_ROWS:
        extreme = sum(
            1 for signs in itertools.product((1.0, -1.0), repeat=g)
            if abs(math.fsum(s * v for s, v in zip(signs, sums, strict=True))) >= observed
        )  # fmt: skip
        return extreme / 2**g, f"exact sign-flip test over {g} rows"
    if g <= RESAMPLED_SIGN_FLIP_ROWS:
        rng = random.Random(SIGN_FLIP_SEED)
        extreme = 0
        for _ in range(SIGN_FLIP_RESAMPLES):
            bits = rng.getrandbits(g)
            total = math.fsum(v if bits >> i & 1 else -v for i, v in enumerate(sums))
            extreme += abs(total) >= observed
        p = (extreme + 1) / (SIGN_FLIP_RESAMPLES + 1)
        return p, f"sign-flip test over {g} rows, {SIGN_FLIP_RESAMPLES} resamples (seed {SIGN_FLIP_SEED})"
    z = observed / math.sqrt(math.fsum(v * v for v in sums))
    p = 2 * (1 - statistics.NormalDist().cdf(z))
    return min(1.0, p), f"sign-flip test over {g} rows, normal approximation"


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
    bar = clustered_mean([[float(s) for s in runs if is_score(s)] for runs in per_row])
    outcomes = count_outcomes(flat)
    pass_at = pass_at_k_table(per_row, threshold, n_requested)
    return EvalFnStats(
        mean=spread.mean,
        stderr=bar.stderr,
        ci95_low=bar.low,
        ci95_high=bar.high,
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
    count as non-wins), ``mean_delta`` = mean(p - b); both are None without pairs. Keys ``(row, run)`` are
    clustered by row for the interval of ``mean_delta`` and for the sign-flip p-value (`sign_flip_p_value`).
    """
    wins = losses = ties = 0
    deltas: list[float] = []
    halves: list[float] = []  # (p - b) / 2 as p/2 - b/2: finite even for p = 1e308, b = -1e308
    by_row: dict[Hashable, list[float]] = {}
    keys = set(primary) | set(baseline)
    for key in sorted(keys, key=repr):  # a fixed order: the figures never depend on set order
        p, b = primary.get(key), baseline.get(key)
        if not (is_score(p) and is_score(b)):
            continue
        delta = float(p) - float(b)  # may be inf for huge opposite scores; its sign still decides
        deltas.append(delta)
        halves.append(float(p) / 2 - float(b) / 2)
        by_row.setdefault(key[0] if isinstance(key, tuple) else key, []).append(halves[-1])
        if abs(delta) <= tie_tolerance:
            ties += 1
        elif delta > 0:
            wins += 1
        else:
            losses += 1
    pairs = len(halves)
    bar = clustered_mean(list(by_row.values()))
    p_value, method = sign_flip_p_value([math.fsum(v) for v in by_row.values()])
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
        mean_delta_ci95_low=None if bar.low is None else _clamp(bar.low * 2),
        mean_delta_ci95_high=None if bar.high is None else _clamp(bar.high * 2),
        p_value=p_value,
        p_value_method=method,
    )
