"""How far a number measured on a sample can be trusted: sizes and widths of intervals.

The intervals themselves are the chapters': chapter 3's Wilson score interval (`wilson`) and
chapter 6's bootstrap (`bootstrap_f1`), in helpers.taught. This module answers questions about
them: how wide an interval is at a given accuracy, how many test images a margin needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.stats import norm


def z_value(confidence: float) -> float:
    """The two-sided normal quantile for a confidence level (1.96 for 0.95)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return float(norm.ppf(0.5 + confidence / 2))


def wilson_half_width(p: float, n: int, confidence: float = 0.95) -> float:
    """Half the width of chapter 3's Wilson interval when a fraction p of n trials succeed."""
    from helpers.taught import wilson  # imported here: helpers.taught loads Keras

    low, high = wilson(p * n, n, z=z_value(confidence))
    return (high - low) / 2


def images_for_margin(margin: float, p: float = 0.5, confidence: float = 0.95) -> int:
    """The fewest test images whose Wilson interval is at most ±margin at accuracy p."""
    if not 0 < margin < 0.5:
        raise ValueError(
            f"margin must be between 0 and 0.5 (a fraction, 0.02 = 2 points): {margin}"
        )
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a proportion between 0 and 1, got {p}")
    if wilson_half_width(p, 1, confidence) <= margin:
        return 1
    low, high = 1, 2  # the half-width shrinks as n grows: double, then bisect
    while wilson_half_width(p, high, confidence) > margin:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if wilson_half_width(p, middle, confidence) > margin:
            low = middle
        else:
            high = middle
    return high


def bootstrap_interval(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a vectorised statistic(y_true[idx], y_pred[idx]), seeded."""
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if len(y_true) != len(y_pred) or len(y_true) == 0:
        raise ValueError(f"need two equally long, non-empty arrays: {len(y_true)}, {len(y_pred)}")
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(y_true), size=(n_boot, len(y_true)))
    values = statistic(y_true[index], y_pred[index])
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def mean_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of the finite values and its normal-approximation interval (mean, low, high)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        raise ValueError(f"need at least two finite values, got {len(values)}")
    mean = float(values.mean())
    half = z_value(confidence) * float(values.std(ddof=1)) / math.sqrt(len(values))
    return mean, mean - half, mean + half
