"""Eval statistics: summary numbers, unbiased pass@k with the contract's guards, paired comparison."""

from __future__ import annotations

import math
import statistics
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osmosis_local.log.stats import (
    NoScore,
    count_outcomes,
    eval_fn_summary,
    paired_comparison,
    pass_at_k,
    pass_at_k_table,
    summarize,
)

ERR, FAILED = NoScore.ERROR, NoScore.RUN_FAILED


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([], {"mean": None, "std": None, "min": None, "max": None}),
        ([0.5], {"mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}),
        ([1.0, 0.0], {"mean": 0.5, "std": 0.5, "min": 0.0, "max": 1.0}),  # population std, not sample
        ([2, 4, 4, 4, 5, 5, 7, 9], {"mean": 5.0, "std": 2.0, "min": 2.0, "max": 9.0}),
        ([True, False, True, True], {"mean": 0.75, "std": math.sqrt(0.1875), "min": 0.0, "max": 1.0}),
    ],
)
def test_summarize(scores: list[float], expected: dict[str, float | None]) -> None:
    spread = summarize(scores)._asdict()
    assert spread == pytest.approx(expected) if scores else spread == expected


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (10, 3, 1, 0.3),
        (5, 5, 1, 1.0),  # c >= n
        (5, 0, 1, 0.0),  # c == 0 wins over every other guard
        (1, 0, 3, 0.0),
        (2, 1, 3, 1.0),  # n <= k guard (k > n)
        (3, 1, 3, 1.0),  # n == k
        (10, 8, 3, 1.0),  # n - c < k
        (10, 3, 3, 1 - 35 / 120),  # 1 - C(7,3)/C(10,3)
        (10, 1, 5, 0.5),
        (4, 2, 1, 0.5),
        (4, 2, 3, 1.0),  # n - c = 2 < 3
    ],
)
def test_pass_at_k_known_values(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("n", "c", "k"), [(20, 7, 5), (16, 2, 6), (30, 29, 1), (12, 6, 6)])
def test_pass_at_k_matches_brute_force(n: int, c: int, k: int) -> None:
    outcomes = [True] * c + [False] * (n - c)
    draws = list(combinations(range(n), k))
    brute = sum(any(outcomes[i] for i in draw) for draw in draws) / len(draws)
    assert pass_at_k(n, c, k) == pytest.approx(brute, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n() -> None:
    assert pass_at_k(100_000, 1, 1) == pytest.approx(1e-5, rel=1e-9)
    assert 0.0 < pass_at_k(10**6, 10, 10) < 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(-1, 0, 1), (3, -1, 1), (3, 1, 0)])
def test_pass_at_k_rejects_nonsense(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


@pytest.mark.parametrize(
    ("per_row", "threshold", "n_requested", "expected"),
    [
        ([[1.0], [0.0]], 1.0, 1, {}),  # n == 1: no pass@k at all
        ([], 1.0, 3, {}),
        ([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]], 1.0, 3, {"pass_at_1": (1 / 3 + 1) / 2, "pass_at_3": 1.0}),
        # k <= n only: n=5 gives 1, 3, 5
        ([[0.9, 0.2, 0.0, 0.0, 0.0]], 0.5, 5, {"pass_at_1": 0.2, "pass_at_3": 0.6, "pass_at_5": 1.0}),
        # missing runs (early stop) count as failures: n = max(len, n_requested) = 4
        ([[1.0, 1.0]], 1.0, 4, {"pass_at_1": 0.5, "pass_at_3": 1.0}),
        # errors and failed runs are failures
        ([[1.0, ERR, FAILED, None]], 1.0, 4, {"pass_at_1": 0.25, "pass_at_3": 0.75}),
        # more runs than requested: n = len(runs)
        ([[1.0, 0.0, 0.0, 0.0]], 1.0, 2, {"pass_at_1": 0.25}),
        ([[0.0] * 10], 0.5, 10, {"pass_at_1": 0.0, "pass_at_3": 0.0, "pass_at_5": 0.0, "pass_at_10": 0.0}),
    ],
)
def test_pass_at_k_table(per_row: list, threshold: float, n_requested: int, expected: dict[str, float]) -> None:
    assert pass_at_k_table(per_row, threshold, n_requested) == pytest.approx(expected)


def test_count_outcomes_keeps_errors_and_failed_runs_apart() -> None:
    assert count_outcomes([1.0, 0.0, ERR, ERR, FAILED, None])._asdict() == {"scored": 2, "errors": 2, "unscored": 2}


def test_eval_fn_summary_means_scored_runs_only_but_pass_at_k_counts_errors_as_failures() -> None:
    per_row = [[1.0, ERR], [0.0, FAILED]]
    summary = eval_fn_summary(per_row, threshold=1.0, n_requested=2).model_dump()
    assert summary == pytest.approx(
        {
            "mean": 0.5, "mean_all_runs": 0.25, "std": 0.5, "min": 0.0, "max": 1.0,
            "scored": 2, "errors": 1, "unscored": 1, "pass_at_1": 0.25,
            # two rows (clusters) of one scored run each: se = s / sqrt(2) = 0.5, t(1) = 12.706
            "stderr": 0.5, "ci95_low": 0.5 - 12.706 * 0.5, "ci95_high": 0.5 + 12.706 * 0.5,
        }
    )


def test_eval_fn_summary_with_nothing_scored_has_none_values() -> None:
    summary = eval_fn_summary([[ERR], [FAILED]], threshold=1.0, n_requested=1).model_dump()
    assert summary == {
        "mean": None, "mean_all_runs": 0.0, "std": None, "min": None, "max": None,
        "scored": 0, "errors": 1, "unscored": 1, "stderr": None, "ci95_low": None, "ci95_high": None,
    }


@pytest.mark.parametrize(
    ("primary", "baseline", "expected"),
    [
        ({}, {}, {"wins": 0, "losses": 0, "ties": 0, "pairs": 0, "unpaired": 0, "win_rate": None, "mean_delta": None}),
        (
            {(0, 0): 1.0, (0, 1): 0.0, (1, 0): 0.5, (1, 1): 0.7},
            {(0, 0): 0.0, (0, 1): 1.0, (1, 0): 0.5, (1, 1): 0.7 + 1e-12},
            {"wins": 1, "losses": 1, "ties": 2, "pairs": 4, "unpaired": 0, "win_rate": 0.25, "mean_delta": 0.0},
        ),
        (  # unscored on either side, or missing on one side: excluded and counted
            {(0, 0): 1.0, (0, 1): ERR, (1, 0): 1.0, (2, 0): 1.0},
            {(0, 0): 0.5, (0, 1): 1.0, (1, 0): FAILED, (3, 0): 0.0},
            {"wins": 1, "losses": 0, "ties": 0, "pairs": 1, "unpaired": 4, "win_rate": 1.0, "mean_delta": 0.5},
        ),
    ],
)
def test_paired_comparison(primary: dict, baseline: dict, expected: dict) -> None:
    figures = paired_comparison(primary, baseline).model_dump()
    assert {key: figures[key] for key in expected} == pytest.approx(expected)


def test_paired_comparison_tie_tolerance_is_configurable() -> None:
    result = paired_comparison({"a": 0.50}, {"a": 0.45}, tie_tolerance=0.1)
    assert (result.wins, result.ties) == (0, 1)


# -- error bars: clustered by row, Student's t ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("clusters", "mean", "stderr", "t"),
    [
        ([[1.0], [0.0], [1.0], [0.0]], 0.5, math.sqrt(1 / 3) / 2, 3.182),  # one run per row: s / sqrt(n), t(3)
        ([[1.0, 1.0], [0.0, 0.0]], 0.5, 0.5, 12.706),  # two rows of identical runs: only 2 independent values
        ([[1.0, 0.0], [1.0, 0.0]], 0.5, 0.0, 12.706),  # every row alike: no spread between rows
        ([[0.25] * 3] * 30, 0.25, 0.0, 2.045),  # t(29)
        ([[1.0], [0.0]] * 100, 0.5, math.sqrt(200 / 199 * 50) / 200, 1.96),  # beyond 120 df: normal
        ([[0.7]], 0.7, None, None),  # one row: no interval
        ([], None, None, None),
    ],
)
def test_clustered_mean_table(clusters: list, mean: float | None, stderr: float | None, t: float | None) -> None:
    from osmosis_local.log.stats import clustered_mean

    bar = clustered_mean(clusters)
    assert bar.mean == pytest.approx(mean) and bar.stderr == pytest.approx(stderr)
    if t is None:
        assert bar.low is None and bar.high is None
    else:
        assert (bar.low, bar.high) == pytest.approx((mean - t * stderr, mean + t * stderr))


def test_clustering_widens_the_interval_when_runs_of_a_row_agree() -> None:
    """Ten rows run five times each, every row's runs alike: 50 scores but only 10 independent ones."""
    from osmosis_local.log.stats import clustered_mean

    rows = [[float(i % 2)] * 5 for i in range(10)]
    clustered = clustered_mean(rows)
    naive = clustered_mean([[v] for row in rows for v in row])
    assert clustered.stderr is not None and naive.stderr is not None
    assert clustered.stderr > 2 * naive.stderr


@given(st.lists(st.lists(st.floats(-1e308, 1e308), min_size=1, max_size=4), min_size=2, max_size=12))
def test_error_bars_of_finite_scores_are_finite_and_hold_the_mean(clusters: list[list[float]]) -> None:
    from osmosis_local.log.stats import clustered_mean

    bar = clustered_mean(clusters)
    assert bar.mean is not None and bar.stderr is not None and bar.low is not None and bar.high is not None
    assert all(map(math.isfinite, bar)) and bar.stderr >= 0 and bar.low <= bar.mean <= bar.high


# -- the paired comparison: mean difference, its interval, a deterministic p-value ---------------------------


@pytest.mark.parametrize(
    ("row_sums", "p", "method"),
    [
        ([1.0, 1.0, 1.0], 0.25, "exact sign-flip test over 3 rows"),  # 2 of 8 flips as extreme: all + or all -
        ([1.0, -1.0], 1.0, "exact sign-flip test over 2 rows"),
        ([0.0, 0.0], 1.0, "every paired row has a difference of 0"),
        ([1.0] * 12, 2 / 4096, "exact sign-flip test over 12 rows"),
        ([], None, "no paired rows"),
    ],
)
def test_sign_flip_p_value_table(row_sums: list[float], p: float | None, method: str) -> None:
    from osmosis_local.log.stats import sign_flip_p_value

    value, how = sign_flip_p_value(row_sums)
    assert value == pytest.approx(p) and how == method


def test_resampled_and_normal_p_values_are_deterministic_and_sensible() -> None:
    from osmosis_local.log.stats import sign_flip_p_value

    clear = [1.0] * 40 + [-1.0] * 5  # 45 rows, mostly positive
    noise = [1.0, -1.0] * 20 + [1.0]
    assert sign_flip_p_value(clear) == sign_flip_p_value(clear)  # seeded: the same log, the same figure
    assert sign_flip_p_value(clear)[0] < 0.001 < 0.5 < sign_flip_p_value(noise)[0]
    assert "5000 resamples (seed 0)" in sign_flip_p_value(clear)[1]
    many = [1.0] * 150 + [-1.0] * 100
    p, how = sign_flip_p_value(many)
    assert how == "sign-flip test over 250 rows, normal approximation"
    assert p == pytest.approx(2 * (1 - statistics.NormalDist().cdf(50 / math.sqrt(250))))


def test_paired_comparison_reports_the_difference_with_its_interval_and_p_value() -> None:
    primary = {(row, run): 1.0 if row < 8 else 0.0 for row in range(10) for run in range(2)}
    baseline = {(row, run): 0.0 if row < 6 else 1.0 for row in range(10) for run in range(2)}
    c = paired_comparison(primary, baseline)
    # per row: rows 0-5 +1, rows 6-7 0, rows 8-9 -1: mean 0.4; clustered by row (10 clusters, not 20 pairs)
    assert c.mean_delta == pytest.approx(0.4)
    assert c.mean_delta_ci95_low is not None and c.mean_delta_ci95_high is not None
    assert c.mean_delta_ci95_low < 0.4 < c.mean_delta_ci95_high
    rows = [1.0] * 6 + [0.0] * 2 + [-1.0] * 2
    se = statistics.stdev(rows) / math.sqrt(10)
    assert (c.mean_delta_ci95_low, c.mean_delta_ci95_high) == pytest.approx((0.4 - 2.262 * se, 0.4 + 2.262 * se))
    assert c.p_value is not None and 0.05 < c.p_value < 0.5 and c.p_value_method == "exact sign-flip test over 10 rows"
