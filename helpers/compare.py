"""Several models scored on the same resamples of the test images: a paired bootstrap (chapter 12).

Each resample draws test images with replacement; every model is scored on the same draw, so the
difference between two models' columns is a paired comparison, much narrower than comparing two
separate intervals.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.evaluate import log_loss_per_image, to_labels
from helpers.taught import expected_calibration_error

SCORES = ("accuracy", "log loss", "ECE")


def paired_bootstrap(
    y_true: np.ndarray, y_probs: np.ndarray, n_boot: int = 2000, seed: int = 0, n_bins: int = 10
) -> dict[str, np.ndarray]:
    """Accuracy, log loss and ECE of every model on the same resamples of the images.

    `y_probs` holds one row of probabilities per model. The answer maps each score to an array
    (n_boot, models): row b is every model scored on resample b, the same images for all, so a
    difference between two columns is a paired bootstrap of the difference. Seeded.
    """
    y_true = np.asarray(y_true).reshape(-1)
    y_probs = np.atleast_2d(np.asarray(y_probs, dtype=np.float64))
    if y_probs.shape[1] != len(y_true) or len(y_true) == 0:
        raise ValueError(
            f"need one row of {len(y_true)} probabilities per model, got {y_probs.shape}"
        )
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    index = np.random.default_rng(seed).integers(0, len(y_true), size=(n_boot, len(y_true)))
    scores = {name: np.empty((n_boot, len(y_probs))) for name in SCORES}
    for column, y_prob in enumerate(y_probs):
        correct = (to_labels(y_prob) == y_true).astype(np.float64)
        scores["accuracy"][:, column] = correct[index].mean(axis=1)
        scores["log loss"][:, column] = log_loss_per_image(y_true, y_prob)[index].mean(axis=1)
        scores["ECE"][:, column] = expected_calibration_error(y_true[index], y_prob[index], n_bins)
    return scores


def percentile_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The percentile interval of bootstrap values (the middle `confidence` share of them)."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(np.asarray(values, dtype=np.float64), [tail, 100 - tail])
    return float(low), float(high)


def plot_interval_panels(
    table: pd.DataFrame, scores: Sequence[str], title: str, highlight: str | None = None
):
    """One panel per score: each row's value with its 95% interval (columns 'S', 'S low', 'S high').

    The row named `highlight` (e.g. the ensemble) is drawn in a second colour.
    """

    fig, axes = plt.subplots(1, len(scores), figsize=(4 * len(scores), 0.45 * len(table) + 1.8),
                             sharey=True, squeeze=False)  # fmt: skip
    positions = np.arange(len(table))
    for ax, score in zip(axes[0], scores, strict=True):
        values = table[score].to_numpy(dtype=float)
        below = values - table[f"{score} low"].to_numpy(dtype=float)
        above = table[f"{score} high"].to_numpy(dtype=float) - values
        marked = np.array([str(name) == highlight for name in table.index])
        for chosen, colour in ((~marked, "C0"), (marked, "C1")):
            if chosen.any():
                ax.errorbar(values[chosen], positions[chosen], fmt="o", capsize=4, color=colour,
                            xerr=[below[chosen], above[chosen]])  # fmt: skip
        ax.set(xlabel=f"{score} (95% interval)", title=score)
    axes[0][0].set_yticks(positions, labels=list(table.index))
    axes[0][0].invert_yaxis()
    axes[0][0].set_ylabel("model")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
