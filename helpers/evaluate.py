"""Evaluation: predictions over a whole data set, metrics with 95% intervals, curves and figures.

The positive class is the one with label 1 (the second class name, "sad" for the default data),
because that is what Keras's Precision and Recall and scikit-learn's defaults treat as positive.
Every helper here keeps that convention.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy.stats import spearmanr
from sklearn import metrics
from sklearn.metrics import confusion_matrix
from tqdm import tqdm, trange

from helpers import stats
from helpers.store import atomic_write_text, json_text
from helpers.taught import wilson

POSITIVE_LABEL = 1
DEFAULT_THRESHOLD = 0.5
BAND_EDGES = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Estimate:
    """A metric's value with its 95% interval and how the interval was found."""

    value: float
    low: float
    high: float
    method: str

    def __str__(self) -> str:
        """E.g. '0.912 (95% CI 0.85-0.95, Wilson)'."""
        return f"{self.value:.3f} (95% CI {self.low:.3f}-{self.high:.3f}, {self.method})"

    def contains(self, value: float) -> bool:
        """Whether a value falls inside the interval (ends included)."""
        return bool(self.low <= value <= self.high)


# --- predictions -----------------------------------------------------------------------------


def predict_dataset(model, ds) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predicted probabilities over every batch of a (non-shuffled) tf.data set."""

    labels, probabilities = [], []
    for images, batch_labels in tqdm(ds, desc="predicting", leave=False, disable=None):
        probabilities.append(np.asarray(model(images, training=False)).reshape(-1))
        labels.append(np.asarray(batch_labels).reshape(-1))
    if not labels:
        raise ValueError("the data set is empty: there is nothing to evaluate")
    return np.concatenate(labels).astype(np.int32), np.concatenate(probabilities).astype(np.float64)


def collect_images(ds) -> np.ndarray:
    """Every image of a (non-shuffled) tf.data set of (images, labels) batches, in order."""
    batches = [np.asarray(images) for images, _ in ds]
    if not batches:
        raise ValueError("the data set is empty: there are no images to collect")
    return np.concatenate(batches)


def predict_arrays(model, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """The model's probabilities for an array of images, resized to its input as in training."""
    size = model_input_size(model)

    batches = []
    for start in trange(0, len(images), batch_size, desc="predicting", leave=False, disable=None):
        batch = resize_batch(images[start : start + batch_size], size)
        batches.append(np.asarray(model(batch, training=False)).reshape(-1))
    return np.concatenate(batches).astype(np.float64) if batches else np.zeros(0)


def model_input_size(model) -> tuple[int, int]:
    """(height, width) of a Keras model's image input."""
    shape = model.input_shape
    if isinstance(shape, list):
        shape = shape[0]
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        raise ValueError(
            f"expected a model with a fixed (height, width, channels) input, got {shape}"
        )
    return int(shape[1]), int(shape[2])


def resize_batch(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a batch of images with the training pipeline's resize (bilinear, float32 0-255)."""
    import tensorflow as tf

    images = np.asarray(images)
    if images.shape[1:3] == tuple(size):
        return images.astype(np.float32)
    return tf.image.resize(tf.cast(images, tf.float32), size, method="bilinear").numpy()


def to_labels(y_prob: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Predicted labels: 1 where the probability is above the threshold (as Keras metrics do)."""
    return (np.asarray(y_prob) > threshold).astype(np.int32)


# --- metrics with intervals ------------------------------------------------------------------


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, int]:
    """True/false positives/negatives, with label 1 as the positive class."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    positive, predicted = y_true == POSITIVE_LABEL, y_pred == POSITIVE_LABEL
    return {
        "tp": int(np.sum(positive & predicted)),
        "fp": int(np.sum(~positive & predicted)),
        "fn": int(np.sum(positive & ~predicted)),
        "tn": int(np.sum(~positive & ~predicted)),
    }


def proportion(successes: int, n: int, confidence: float = 0.95) -> Estimate:
    """A proportion with chapter 3's Wilson interval; NaN in [0, 1] when n is 0."""
    if n == 0:
        return Estimate(float("nan"), 0.0, 1.0, "Wilson")
    low, high = wilson(successes, n, z=stats.z_value(confidence))
    return Estimate(successes / n, float(low), float(high), "Wilson")


def f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 = 2TP / (2TP + FP + FN), 0 where it is undefined (as scikit-learn's zero_division=0)."""
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, 0.0)


def f1_statistic(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """F1 for each row of 2-D (resamples x items) label arrays, or for 1-D arrays."""
    positive, predicted = y_true == POSITIVE_LABEL, y_pred == POSITIVE_LABEL
    axis = -1
    return f1_from_counts(
        np.sum(positive & predicted, axis=axis),
        np.sum(~positive & predicted, axis=axis),
        np.sum(positive & ~predicted, axis=axis),
    )


def classification_metrics(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Estimate]:
    """Accuracy, precision, recall (Wilson intervals) and F1 (bootstrap interval), label 1 positive."""
    y_pred = to_labels(y_prob, threshold)
    y_true, y_pred = _check_pair(y_true, y_pred)
    c = confusion_counts(y_true, y_pred)
    f1_low, f1_high = stats.bootstrap_interval(
        y_true, y_pred, f1_statistic, n_boot=n_boot, seed=seed
    )
    return {
        "accuracy": proportion(c["tp"] + c["tn"], len(y_true)),
        "precision": proportion(c["tp"], c["tp"] + c["fp"]),
        "recall": proportion(c["tp"], c["tp"] + c["fn"]),
        "f1": Estimate(float(f1_statistic(y_true, y_pred)), f1_low, f1_high, "bootstrap"),
    }


def metrics_table(metrics: dict[str, Estimate]) -> pd.DataFrame:
    """Metrics with intervals as a table (one row per metric)."""
    rows = {
        name: {"value": e.value, "95% low": e.low, "95% high": e.high, "interval": e.method}
        for name, e in metrics.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")


# --- confusion matrix --------------------------------------------------------------------------


def confusion_table(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    normalize: bool = False,
) -> pd.DataFrame:
    """Confusion matrix: rows are true classes, columns predicted, labelled with the class names."""

    y_true, y_pred = _check_pair(y_true, y_pred)
    labels = list(range(len(class_names)))
    counts = confusion_matrix(y_true, y_pred, labels=labels)
    table = pd.DataFrame(
        counts,
        index=pd.Index([f"true {name}" for name in class_names], name="true class"),
        columns=pd.Index([f"predicted {name}" for name in class_names], name="predicted class"),
    )
    if normalize:
        totals = table.sum(axis=1).replace(0, np.nan)
        table = table.div(totals, axis=0)
    return table


def plot_confusion(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    wrong_names: Sequence[str] | None = None,
):
    """The counts, labelled with the data's class names; returns the figure.

    With wrong_names the same counts are drawn first under those labels, as the original drew
    them with names typed in the wrong order: same numbers, opposite story.
    """
    counts = confusion_table(y_true, y_pred, class_names).to_numpy()
    panels = [(list(class_names), "names from the data (right)")]
    if wrong_names is not None:
        panels.insert(0, (list(wrong_names), "names typed in the wrong order"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2), squeeze=False)
    for ax, (names, title) in zip(axes[0], panels, strict=True):
        sns.heatmap(
            counts, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax,
            xticklabels=names, yticklabels=names,
        )  # fmt: skip
        ax.set(title=f"Confusion matrix: {title}", xlabel="Predicted class", ylabel="True class")
    fig.tight_layout()
    return fig


# --- curves and thresholds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Curves:
    """ROC and precision-recall curves with their areas."""

    fpr: np.ndarray
    tpr: np.ndarray
    roc_auc: float
    precision: np.ndarray
    recall: np.ndarray
    average_precision: float
    prevalence: float


def curves(y_true: np.ndarray, y_prob: np.ndarray) -> Curves:
    """ROC (with AUC) and precision-recall (with average precision) for label 1 as positive."""

    y_true, y_prob = _check_pair(y_true, y_prob)
    if len(np.unique(y_true)) < 2:
        raise ValueError("ROC and precision-recall curves need both classes among the true labels")
    fpr, tpr, _ = metrics.roc_curve(y_true, y_prob, pos_label=POSITIVE_LABEL)
    precision, recall, _ = metrics.precision_recall_curve(y_true, y_prob, pos_label=POSITIVE_LABEL)
    return Curves(
        fpr=fpr,
        tpr=tpr,
        roc_auc=float(metrics.roc_auc_score(y_true, y_prob)),
        precision=precision,
        recall=recall,
        average_precision=float(metrics.average_precision_score(y_true, y_prob)),
        prevalence=float(np.mean(y_true == POSITIVE_LABEL)),
    )


def plot_curves(found: Curves, positive_name: str):
    """ROC and precision-recall curves side by side, with chance lines; returns the figure."""

    fig, (roc, pr) = plt.subplots(1, 2, figsize=(10, 4))
    roc.plot(found.fpr, found.tpr, label=f"model (AUC {found.roc_auc:.3f})")
    roc.plot([0, 1], [0, 1], "--", color="gray", label="chance (AUC 0.5)")
    roc.set(
        title=f"ROC curve ({positive_name} positive)",
        xlabel="False positive rate",
        ylabel="True positive rate (recall)",
    )
    pr.step(
        found.recall,
        found.precision,
        where="post",
        label=f"model (AP {found.average_precision:.3f})",
    )
    pr.axhline(found.prevalence, ls="--", color="gray", label=f"chance ({found.prevalence:.2f})")
    pr.set(
        title=f"Precision-recall curve ({positive_name} positive)",
        xlabel="Recall",
        ylabel="Precision",
        ylim=(0, 1.05),
    )
    for ax in (roc, pr):
        ax.legend(loc="lower left" if ax is pr else "lower right")
    fig.tight_layout()
    return fig


def threshold_sweep(
    y_true: np.ndarray, y_prob: np.ndarray, thresholds: Iterable[float] | None = None
) -> pd.DataFrame:
    """Accuracy, precision, recall, F1 and the share predicted positive at each threshold."""
    y_true, y_prob = _check_pair(y_true, y_prob)
    grid = np.round(np.linspace(0.05, 0.95, 19), 2) if thresholds is None else thresholds
    rows = []
    for threshold in grid:
        c = confusion_counts(y_true, to_labels(y_prob, threshold))
        rows.append(
            {
                "threshold": float(threshold),
                "accuracy": (c["tp"] + c["tn"]) / len(y_true),
                "precision": c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else np.nan,
                "recall": c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else np.nan,
                "f1": float(f1_from_counts(c["tp"], c["fp"], c["fn"])),
                "predicted positive": (c["tp"] + c["fp"]) / len(y_true),
            }
        )
    return pd.DataFrame(rows)


def plot_threshold_sweep(sweep: pd.DataFrame, positive_name: str):
    """Metrics against the decision threshold; returns the figure."""

    fig, ax = plt.subplots()
    for column in ("accuracy", "precision", "recall", "f1"):
        ax.plot(sweep["threshold"], sweep[column], marker="o", ms=3, label=column)
    ax.axvline(DEFAULT_THRESHOLD, ls="--", color="gray", label="default 0.5")
    ax.set(
        title=f"Moving the threshold ({positive_name} positive)",
        xlabel=f"Threshold on P({positive_name})",
        ylabel="Metric value",
        ylim=(0, 1.05),
    )
    ax.legend(loc="lower center", ncols=3)
    fig.tight_layout()
    return fig


# --- galleries -------------------------------------------------------------------------------


def misclassified(
    y_true: np.ndarray, y_prob: np.ndarray, threshold: float = DEFAULT_THRESHOLD
) -> np.ndarray:
    """Indices of the wrongly classified items, most confidently wrong first."""
    y_true, y_prob = _check_pair(y_true, y_prob)
    wrong = np.flatnonzero(to_labels(y_prob, threshold) != y_true)
    confidence_wrong = np.abs(y_prob[wrong] - threshold)
    return wrong[np.argsort(-confidence_wrong, kind="stable")]


def plot_gallery(
    images: np.ndarray,
    titles: Sequence[str],
    title: str,
    ncols: int = 6,
    size: float = 1.9,
):
    """A grid of images (0-255) with one caption each; returns the figure."""

    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    count = max(len(images), 1)
    ncols = min(ncols, count)
    nrows = -(-count // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + 0.6), squeeze=False
    )
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, caption in zip(axes.ravel(), images, titles, strict=False):
        ax.imshow(np.clip(np.asarray(image), 0, 255).astype(np.uint8))
        ax.set_title(caption, fontsize=8)
    if len(images) == 0:
        axes[0, 0].text(0.5, 0.5, "nothing to show", ha="center", va="center")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def probability_caption(y_true: int, prob: float, class_names: Sequence[str]) -> str:
    """Caption for a gallery image: the class it is filed under and the model's P(positive class).

    "labelled", not "true": the label is what the data set says, and some labels are wrong.
    """
    return f"labelled {class_names[int(y_true)]}\nP({class_names[POSITIVE_LABEL]}) = {prob:.2f}"


# --- calibration -------------------------------------------------------------------------------


def reliability_table(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Per probability bin: count, mean predicted, observed share of label 1 and its Wilson interval."""
    y_true, y_prob = _check_pair(y_true, y_prob)
    edges = np.linspace(0, 1, n_bins + 1)
    bins = calibration_bins(y_prob, n_bins)
    rows = []
    for b in range(n_bins):
        inside = bins == b
        count, positives = int(inside.sum()), int(y_true[inside].sum())
        low, high = wilson(positives, count) if count else (np.nan, np.nan)
        rows.append(
            {
                "bin low": edges[b],
                "bin high": edges[b + 1],
                "count": count,
                "mean predicted": float(y_prob[inside].mean()) if count else np.nan,
                "observed share": positives / count if count else np.nan,
                "observed low": low,
                "observed high": high,
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(table: pd.DataFrame) -> float:
    """Count-weighted mean gap between predicted and observed share over the non-empty bins."""
    used = table[table["count"] > 0]
    gaps = (used["mean predicted"] - used["observed share"]).abs()
    return float(np.sum(gaps * used["count"]) / used["count"].sum())


def read_reliability(table: pd.DataFrame, positive_name: str) -> str:
    """In words: which bins' predictions fall outside their observed share's interval, and which way.

    A bin is overconfident when its observed share lies nearer 0.5 than its mean prediction
    (the model is surer than it has reason to be) and underconfident when it lies further away.
    """
    used = table[table["count"] > 0]
    off = used[
        (used["mean predicted"] < used["observed low"])
        | (used["mean predicted"] > used["observed high"])
    ]
    if off.empty:
        return (
            f"Every bin's mean prediction lies inside the 95% interval of its observed share of "
            f"{positive_name}: on this test set the probabilities cannot be told apart from calibrated ones."
        )
    parts = []
    for _, row in off.iterrows():
        predicted, observed = row["mean predicted"], row["observed share"]
        surer = abs(predicted - 0.5) > abs(observed - 0.5)
        parts.append(
            f"in the bin {row['bin low']:.1f}-{row['bin high']:.1f} ({int(row['count'])} images) the "
            f"model predicts {predicted:.3f} on average and {observed:.0%} are {positive_name}: "
            + ("overconfident" if surer else "underconfident")
        )
    return "Outside the observed share's 95% interval: " + "; ".join(parts) + "."


def plot_reliability(table: pd.DataFrame, positive_name: str):
    """Reliability diagram: observed share against mean predicted probability per bin."""
    label = "model (bars: 95% interval of the observed share)"
    fig = plot_reliability_curves({label: table}, positive_name, figsize=(5, 5))
    ax = fig.axes[0]
    for _, row in table[table["count"] > 0].iterrows():
        ax.annotate(
            f"n={int(row['count'])}", (row["mean predicted"], row["observed share"]),
            textcoords="offset points", xytext=(4, -10), fontsize=7,
        )  # fmt: skip
    return fig


def plot_reliability_curves(
    tables: dict[str, pd.DataFrame], positive_name: str, figsize: tuple[float, float] = (5.5, 5.5)
):
    """Several models' reliability curves on one diagram (bars: 95% interval of the observed share)."""

    fig, ax = plt.subplots(figsize=figsize)
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfectly calibrated")
    for offset, (name, table) in enumerate(tables.items()):
        used = table[table["count"] > 0]
        shift = (offset - (len(tables) - 1) / 2) * 0.008  # side by side, so the bars do not hide
        ax.errorbar(
            used["mean predicted"] + shift, used["observed share"], marker="o", capsize=3,
            yerr=[used["observed share"] - used["observed low"],
                  used["observed high"] - used["observed share"]],
            label=name,
        )  # fmt: skip
    ax.set(
        title="Reliability diagram",
        xlabel=f"Mean predicted P({positive_name}) in the bin",
        ylabel=f"Observed share of {positive_name}",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def log_loss_per_image(y_true: np.ndarray, y_prob: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Each image's binary cross-entropy, probabilities clipped to [eps, 1 - eps] as Keras does."""
    y_true, y_prob = _check_pair(y_true, y_prob)
    p = np.clip(y_prob.astype(np.float64), eps, 1 - eps)
    return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))


def calibration_bins(y_prob: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """The reliability bin of each probability: n_bins equal bins of [0, 1], right edges closed."""
    edges = np.linspace(0, 1, n_bins + 1)
    return np.clip(np.digitize(np.asarray(y_prob), edges[1:-1], right=True), 0, n_bins - 1)


def calibration_error(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = 10) -> float:
    """ECE straight from labels and probabilities: expected_calibration_error(reliability_table)."""
    y_true, y_prob = _check_pair(y_true, y_prob)
    index = np.arange(len(y_true))[None, :]
    return float(_resampled_ece(y_true, y_prob, index, n_bins)[0])


def _resampled_ece(
    y_true: np.ndarray, y_prob: np.ndarray, index: np.ndarray, n_bins: int
) -> np.ndarray:
    """ECE on each row of `index` (resamples of the images): sum over bins of |sum p - sum y| / n."""
    bins = calibration_bins(y_prob, n_bins)
    rows = np.repeat(np.arange(len(index)), index.shape[1])
    chosen = index.reshape(-1)
    flat = rows * n_bins + bins[chosen]  # one (resample, bin) cell per drawn image
    size = len(index) * n_bins
    gap = np.bincount(flat, weights=y_prob[chosen] - y_true[chosen], minlength=size)
    return np.abs(gap.reshape(len(index), n_bins)).sum(axis=1) / index.shape[1]


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
        scores["ECE"][:, column] = _resampled_ece(y_true, y_prob, index, n_bins)
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


# --- fine-grained sentiment ------------------------------------------------------------------


def band_names(class_names: Sequence[str]) -> list[str]:
    """Four score bands from the class names, e.g. very happy, happy, sad, very sad."""
    negative, positive = class_names[0], class_names[POSITIVE_LABEL]
    return [f"very {negative}", f"somewhat {negative}", f"somewhat {positive}", f"very {positive}"]


def score_bands(
    y_prob: np.ndarray, class_names: Sequence[str], edges: Sequence[float] = BAND_EDGES
) -> pd.Categorical:
    """The band of each score: below 0.25 very <class 0>, ..., above 0.75 very <class 1>."""
    names = band_names(class_names)
    if len(edges) != len(names) - 1:
        raise ValueError(f"need {len(names) - 1} band edges, got {len(edges)}")
    codes = np.digitize(np.asarray(y_prob), edges, right=False)
    return pd.Categorical.from_codes(codes, categories=names, ordered=True)


def rank_correlation(scores: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Spearman's rank correlation (rho, p-value) between two sequences."""

    scores, values = np.asarray(scores, dtype=float), np.asarray(values, dtype=float)
    if scores.shape != values.shape or scores.ndim != 1 or len(scores) < 3:
        raise ValueError("need two 1-D sequences of the same length, at least 3 long")
    result = spearmanr(scores, values)
    return float(result.statistic), float(result.pvalue)


def plot_score_vs_valence(
    y_prob: np.ndarray, valence: np.ndarray, y_true: np.ndarray, class_names: Sequence[str]
):
    """Scatter of the model's score against each face's true valence, coloured by its label."""

    fig, ax = plt.subplots()
    for label, name in enumerate(class_names):
        chosen = np.asarray(y_true) == label
        ax.scatter(np.asarray(valence)[chosen], np.asarray(y_prob)[chosen], s=14, alpha=0.7,
                   label=f"labelled {name}")  # fmt: skip
    for edge in BAND_EDGES:
        ax.axhline(edge, ls=":", color="gray", lw=1)
    ax.set(
        title="Model score against true valence",
        xlabel="True valence of the face (generator)",
        ylabel=f"P({class_names[POSITIVE_LABEL]})",
        ylim=(-0.03, 1.03),
    )
    ax.legend(loc="best")
    fig.tight_layout()
    return fig


# --- records ---------------------------------------------------------------------------------


def metrics_path(profile) -> Path:
    """artifacts/<P>/metrics.json: chapter 6's figures for the profile's baseline model."""
    return profile.artifacts / "metrics.json"


def save_metrics(profile, payload: dict) -> Path:
    """Write artifacts/<P>/metrics.json atomically (other chapters and reports read it)."""

    target = metrics_path(profile)
    atomic_write_text(target, json_text(payload, indent=2))  # a NaN (e.g. no positives) is null
    return target


def estimate_dict(estimate: Estimate) -> dict[str, float | str]:
    """An Estimate as plain JSON-ready values."""
    return {"value": estimate.value, "low": estimate.low, "high": estimate.high,
            "interval": estimate.method}  # fmt: skip


# --- internals -------------------------------------------------------------------------------


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two flat arrays of the same length, or a ValueError saying how they differ."""
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    if len(a) != len(b):
        raise ValueError(f"labels and predictions differ in length: {len(a)} vs {len(b)}")
    if len(a) == 0:
        raise ValueError("no labels: there is nothing to evaluate")
    return a, b
