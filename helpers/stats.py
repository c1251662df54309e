"""How far a number measured on a sample can be trusted: sizes and widths of intervals.

The intervals themselves are the chapters': chapter 3's Wilson score interval (`wilson`) and
chapter 6's bootstrap (`bootstrap_f1`), in helpers.taught. This module answers questions about
them: how wide an interval is at a given accuracy, how many test images a margin needs.
"""

from __future__ import annotations

import math

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


def mean_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of the finite values and its normal-approximation interval (mean, low, high)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        raise ValueError(f"need at least two finite values, got {len(values)}")
    mean = float(values.mean())
    half = z_value(confidence) * float(values.std(ddof=1)) / math.sqrt(len(values))
    return mean, mean - half, mean + half
