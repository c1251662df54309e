"""Chapters 3 and 6's intervals (helpers.taught: Wilson, the paired comparison, the F1 bootstrap) and helpers.stats."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import evaluate, stats
from helpers.taught import bootstrap_f1, f1_of, paired_difference, wilson

Y_TRUE = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
Y_PROB = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.9, 0.55, 0.4, 0.3, 0.1])


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    # Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3 (Wilson score)
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(
    successes: int, n: int, low: float, high: float
) -> None:
    assert wilson(successes, n) == pytest.approx((low, high), abs=6e-5)


def test_images_for_margin_is_the_smallest_sufficient_size() -> None:
    for p in (0.5, 0.8, 0.95):
        n = stats.images_for_margin(0.02, p=p)
        assert stats.wilson_half_width(p, n) <= 0.02 < stats.wilson_half_width(p, n - 1)
    # near p = 0.5 the Wilson interval needs about the normal approximation's 1.96² / (4 · 0.02²)
    assert abs(stats.images_for_margin(0.02) - 1.96**2 / (4 * 0.02**2)) < 10


def test_bootstrap_is_reproducible_and_seed_dependent():
    y_pred = evaluate.to_labels(Y_PROB)
    first = bootstrap_f1(Y_TRUE, y_pred, resamples=300, seed=7)
    again = bootstrap_f1(Y_TRUE, y_pred, resamples=300, seed=7)
    other = bootstrap_f1(Y_TRUE, y_pred, resamples=300, seed=8)
    assert first == again
    assert first != other
    assert first[0] <= float(f1_of(Y_TRUE, y_pred)) <= first[1]


def test_mean_interval_ignores_nan_and_covers_the_mean() -> None:
    mean, low, high = stats.mean_interval(np.array([0.2, 0.4, np.nan, 0.6]))
    assert mean == pytest.approx(0.4)
    assert low < mean < high
    assert high - mean == pytest.approx(stats.z_value(0.95) * 0.2 / np.sqrt(3))
    with pytest.raises(ValueError, match="at least two"):
        stats.mean_interval(np.array([0.1, np.nan]))


def test_wilson_agrees_with_scipy_and_stays_in_zero_one() -> None:
    from scipy.stats import binomtest

    for successes, n in ((0, 20), (15, 15), (81, 263), (7, 9), (1, 1)):
        scipy_interval = binomtest(successes, n).proportion_ci(method="wilson")
        low, high = wilson(successes, n)
        assert (low, high) == pytest.approx((scipy_interval.low, scipy_interval.high), abs=1e-7)
        assert -1e-12 <= low <= successes / n <= high <= 1 + 1e-12
    z99 = stats.z_value(0.99)
    assert wilson(8, 10, z=z99)[0] < wilson(8, 10)[0]  # 99% is wider than 95%
    half = stats.wilson_half_width(0.8, 10)
    assert half == pytest.approx((wilson(8, 10)[1] - wilson(8, 10)[0]) / 2, abs=1e-6)


def test_bootstrap_of_perfect_predictions_is_a_point():
    low, high = bootstrap_f1(Y_TRUE, Y_TRUE, resamples=200, seed=0)
    assert (low, high) == (1.0, 1.0)


def test_paired_difference_counts_only_the_disagreements() -> None:
    from scipy.stats import binomtest

    right_a = np.array([1] * 80 + [1] * 9 + [0] * 2 + [0] * 9, dtype=bool)
    right_b = np.array([1] * 80 + [0] * 9 + [1] * 2 + [0] * 9, dtype=bool)
    result = paired_difference(right_a, right_b)
    assert (result.only_a, result.only_b) == (9, 2)
    assert result.difference == pytest.approx(0.07)
    assert result.low <= result.difference <= result.high
    assert result.p_value == pytest.approx(binomtest(9, 11).pvalue)
    same = paired_difference(right_a, right_a)  # no disagreement: no evidence either way
    assert same.difference == 0 and same.p_value == 1.0
    assert same.low == pytest.approx(-same.high) and same.high > 0


def test_paired_interval_is_bonett_and_prices_adjusted_wald() -> None:
    """By hand: 9 against 2 disagreements in 100 images, one of each kind added (n + 2 = 102)."""
    right_a = np.array([1] * 80 + [1] * 9 + [0] * 2 + [0] * 9, dtype=bool)
    right_b = np.array([1] * 80 + [0] * 9 + [1] * 2 + [0] * 9, dtype=bool)
    a, b = 10 / 102, 3 / 102
    half = 1.96 * np.sqrt((a + b - (a - b) ** 2) / 102)
    result = paired_difference(right_a, right_b)
    assert (result.low, result.high) == pytest.approx((a - b - half, a - b + half))


def test_four_disagreements_against_none_are_no_certainty() -> None:
    """4 against 0 in 46 images: McNemar's p is 0.125, and the interval reaches below zero too
    (a bootstrap, which never draws a disagreement B wins, would put it all above zero)."""
    right_a = np.array([1] * 4 + [1] * 38 + [0] * 4, dtype=bool)
    right_b = np.array([0] * 4 + [1] * 38 + [0] * 4, dtype=bool)
    result = paired_difference(right_a, right_b)
    assert (result.only_a, result.only_b) == (4, 0)
    assert result.p_value == pytest.approx(0.125)
    assert result.low < 0 < result.difference < result.high


def test_paired_interval_is_narrower_than_unpaired_when_models_agree() -> None:
    rng = np.random.default_rng(0)
    hard = rng.random(2000)
    right_a, right_b = hard < 0.9, hard < 0.87  # B's mistakes are A's, plus a few
    result = paired_difference(right_a, right_b)
    assert result.only_b == 0 and result.low > 0  # decisive on 2,000 images
    # each accuracy's own 95% half-width is about 1.4 points; the paired one is much smaller
    assert (result.high - result.low) / 2 < 0.01


def test_four_times_the_images_about_halve_the_wilson_width_beyond_a_few_dozen() -> None:
    """Chapter 3's sentence; not on a handful of images (issue 27: 9 test images gave 0.599)."""
    for n in (40, 100, 1000):
        for p in (0.5, 0.6, 0.9):
            ratio = stats.wilson_half_width(p, 4 * n) / stats.wilson_half_width(p, n)
            assert 0.45 < ratio < 0.55, (n, p, ratio)
    assert stats.wilson_half_width(0.5, 36) / stats.wilson_half_width(0.5, 9) > 0.55
