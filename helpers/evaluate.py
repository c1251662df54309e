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
from sklearn import metrics
from sklearn.metrics import confusion_matrix
from tqdm import tqdm, trange

from helpers import stats
from helpers.store import atomic_write_text, json_text
from helpers.taught import bootstrap_f1, f1_of, wilson

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


def classification_metrics(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Estimate]:
    """Accuracy, precision, recall (Wilson intervals) and F1 (bootstrap interval), label 1 positive.

    The intervals are the chapters': chapter 3's `wilson`, chapter 6's `bootstrap_f1`.
    """
    y_pred = to_labels(y_prob, threshold)
    y_true, y_pred = _check_pair(y_true, y_pred)
    c = confusion_counts(y_true, y_pred)
    f1_low, f1_high = bootstrap_f1(y_true, y_pred, n_boot, seed)
    return {
        "accuracy": proportion(c["tp"] + c["tn"], len(y_true)),
        "precision": proportion(c["tp"], c["tp"] + c["fp"]),
        "recall": proportion(c["tp"], c["tp"] + c["fn"]),
        "f1": Estimate(float(f1_of(y_true, y_pred)), f1_low, f1_high, "bootstrap"),
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


def plot_roc_pr(found: Curves, positive_name: str):
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
                "f1": float(f1_of(y_true, to_labels(y_prob, threshold))),
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
    """A grid of images (0-255) with one caption each; returns the figure.

    Constrained layout keeps every caption in the space above its own image: with tight_layout
    a two-line caption of the second row was drawn over the first row's images.
    """

    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    count = max(len(images), 1)
    ncols = min(ncols, count)
    nrows = -(-count // ncols)
    lines = max((str(caption).count("\n") + 1 for caption in titles), default=1)
    height = nrows * (size + 0.2 * lines) + 0.5  # room for each row's captions and the title
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, height), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, caption in zip(axes.ravel(), images, titles, strict=False):
        ax.imshow(np.clip(np.asarray(image), 0, 255).astype(np.uint8))
        ax.set_title(caption, fontsize=8)
    if len(images) == 0:
        axes[0, 0].text(0.5, 0.5, "nothing to show", ha="center", va="center")
    fig.suptitle(title)
    return fig


def plot_confusion_shares(tables: dict[str, pd.DataFrame]):
    """Confusion matrices side by side, each row divided by its total (the diagonal: each recall).

    `tables` maps a title to a confusion_table of counts (any number of classes).
    """
    fig, axes = plt.subplots(1, len(tables), figsize=(4.8 * len(tables), 4.4), squeeze=False)
    for ax, (title, counts) in zip(axes[0], tables.items(), strict=True):
        shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0).to_numpy(dtype=float)
        names = [str(name).removeprefix("predicted ") for name in counts.columns]
        sns.heatmap(
            shares, annot=True, fmt=".2f", cmap="Blues", vmin=0, vmax=1, cbar=False, ax=ax,
            xticklabels=names, yticklabels=names,
        )  # fmt: skip
        ax.set(title=title, xlabel="Predicted class", ylabel="True class")
    fig.suptitle("Where each true class went (each row adds up to 1)")
    fig.tight_layout()
    return fig


# --- calibration -------------------------------------------------------------------------------


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
            yerr=np.clip([used["observed share"] - used["observed low"],
                          used["observed high"] - used["observed share"]], 0, None),  # rounding
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


# --- fine-grained sentiment ------------------------------------------------------------------


def plot_score_vs_valence(
    y_prob: np.ndarray, valence: np.ndarray, y_true: np.ndarray, class_names: Sequence[str]
):
    """Scatter of the model's score against each face's true valence, coloured by its label."""

    fig, ax = plt.subplots()
    size = float(np.clip(3000 / max(len(y_prob), 1), 4, 14))  # smaller dots when there are many
    for label, name in enumerate(class_names):
        chosen = np.asarray(y_true) == label
        ax.scatter(np.asarray(valence)[chosen], np.asarray(y_prob)[chosen], s=size, alpha=0.6,
                   label=f"labelled {name}")  # fmt: skip
    for edge in BAND_EDGES:
        ax.axhline(edge, ls=":", color="gray", lw=1)
    ax.set(
        title="Model score against true valence",
        xlabel="True valence of the face (generator)",
        ylabel=f"P({class_names[POSITIVE_LABEL]})",
        ylim=(-0.03, 1.03),
    )
    ax.legend(loc="center right", framealpha=0.9)
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
