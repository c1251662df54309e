"""Exploratory statistics and their figures: channel statistics, sizes, PCA, a linear baseline.

`python -m booktools.bench memory` measures the streaming statistics' time and peak memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

from helpers import images, split, stats
from helpers.profiles import DEFAULT_SEED
from helpers.taught import wilson

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from sklearn.decomposition import PCA

# --------------------------------------------------------------------------- channel statistics


@dataclass
class RunningStats:
    """Count, mean and sum of squared deviations per channel, merged batch by batch (Chan et al.)."""

    count: int = 0
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    m2: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def update(self, batch: np.ndarray) -> RunningStats:
        """Fold one batch (..., channels) in: memory stays one batch, whatever the data set's size."""
        values = np.asarray(batch)
        values = values.reshape(-1, values.shape[-1])
        if values.shape[0] == 0:
            return self
        mean = values.mean(axis=0, dtype=np.float64)  # float64 accumulators, no float64 copy
        deviations = values - mean.astype(values.dtype if values.dtype.kind == "f" else np.float64)
        m2 = np.square(deviations, out=deviations).sum(axis=0, dtype=np.float64)
        return self.merge(RunningStats(values.shape[0], mean, m2))

    def merge(self, other: RunningStats) -> RunningStats:
        """Combine two partial results as if their values had been seen together."""
        if other.count == 0:
            return self
        if self.count == 0:
            self.count, self.mean, self.m2 = other.count, other.mean.copy(), other.m2.copy()
            return self
        if self.mean.shape != other.mean.shape:
            raise ValueError(f"channel counts differ: {self.mean.shape} and {other.mean.shape}")
        total = self.count + other.count
        delta = other.mean - self.mean
        self.mean = self.mean + delta * other.count / total
        self.m2 = self.m2 + other.m2 + delta**2 * self.count * other.count / total
        self.count = total
        return self

    @property
    def std(self) -> np.ndarray:
        """Population standard deviation per channel (numpy's default, ddof=0)."""
        if self.count == 0:
            raise ValueError("no values seen: the data set is empty")
        return np.sqrt(self.m2 / self.count)


def images_of(item: Any) -> np.ndarray:
    """The images of a dataset element: the first member of an (images, labels) pair, or itself."""
    if isinstance(item, tuple | list):
        item = item[0]
    return np.asarray(item)


def streaming_channel_stats(
    dataset: Iterable[Any], scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std in one pass over batches, memory flat (values multiplied by scale)."""
    stats = RunningStats()
    for item in dataset:
        images = images_of(item)
        stats.update(images * scale if scale != 1 else images)
    if stats.count == 0:
        raise ValueError("the data set yielded no images")
    return stats.mean, stats.std


def concatenated_channel_stats(
    dataset: Iterable[Any], scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The original tutorial's way, per channel: every image in memory at once (for comparison)."""
    everything = np.concatenate([images_of(item) * scale for item in dataset], axis=0)
    axes = tuple(range(everything.ndim - 1))
    # float64 accumulators: float32 sums over millions of strided values drift by ~1%
    return everything.mean(axis=axes, dtype=np.float64), everything.std(axis=axes, dtype=np.float64)


def overall_stats(mean: np.ndarray, std: np.ndarray) -> tuple[float, float]:
    """Mean and std over all channels together, from per-channel results of equal counts."""
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    grand = float(mean.mean())
    return grand, float(np.sqrt((std**2 + (mean - grand) ** 2).mean()))


# --------------------------------------------------------------------------- sizes before resizing


def kept_images(source: Path) -> tuple[pd.DataFrame, Path]:
    """Kept images (path relative to the clean folder, label) from a manifest or folder; the folder."""
    source = Path(source)
    if source.is_file():
        manifest = pd.read_csv(source)
        missing = {"class", "status", "output"} - set(manifest.columns)
        if missing:
            raise ValueError(f"{source} lacks the manifest column(s) {sorted(missing)}")
        kept = manifest[manifest["status"] == "kept"].dropna(subset=["output"])
        paths = [Path(str(p)) for p in kept["output"]]
        rel = [f"{p.parent.name}/{p.name}" for p in paths]
        return pd.DataFrame({"path": rel, "label": kept["class"].to_numpy()}), source.parent
    return split.list_images(source), source


def image_sizes(source: Path) -> pd.DataFrame:
    """Width, height and aspect ratio (width / height) of every kept image, before any resizing."""

    frame, clean_dir = kept_images(source)
    if frame.empty:
        raise ValueError(f"{source} lists no kept images")
    sizes = []
    for rel in frame["path"]:
        with Image.open(clean_dir / rel) as image:
            sizes.append(image.size)
    width, height = np.array(sizes).T
    return frame.assign(width=width, height=height, aspect=width / height)


# --------------------------------------------------------------------------- thumbnails and PCA


@dataclass
class Thumbnails:
    """Small images as rows of a matrix, with their labels and files: the input of PCA and baseline."""

    X: np.ndarray  # (n, size*size) grayscale or (n, size*size*3) RGB, values in [0, 1]
    labels: np.ndarray  # class names
    paths: list[str]  # relative to the clean folder
    shape: tuple[int, ...]  # one thumbnail's image shape

    @property
    def class_names(self) -> list[str]:
        """The classes present, sorted (the same order as Keras's integer labels)."""
        return sorted(set(self.labels.tolist()))

    @property
    def y(self) -> np.ndarray:
        """Integer labels following the sorted class names."""
        index = {name: i for i, name in enumerate(self.class_names)}
        return np.array([index[label] for label in self.labels])

    def image(self, row: int) -> np.ndarray:
        """One thumbnail as an image array."""
        return self.X[row].reshape(self.shape)


def load_thumbnails(clean_dir: Path, size: int = 32, gray: bool = True) -> Thumbnails:
    """Every image of a clean folder shrunk to size x size (bilinear), as a matrix in [0, 1]."""

    frame = split.list_images(clean_dir)
    if frame.empty:
        raise ValueError(f"{clean_dir} holds no images in class folders")
    rows = []
    for rel in tqdm(frame["path"], desc="thumbnails", disable=len(frame) < 2000):
        with Image.open(Path(clean_dir) / rel) as image:
            image = image.convert("L" if gray else "RGB").resize((size, size), Image.BILINEAR)
            rows.append(np.asarray(image, dtype=np.float32).ravel() / 255.0)
    shape = (size, size) if gray else (size, size, 3)
    return Thumbnails(np.stack(rows), frame["label"].to_numpy(), list(frame["path"]), shape)


def mean_faces(thumbs: Thumbnails) -> dict[str, np.ndarray]:
    """The average image of each class."""
    return {
        name: thumbs.X[thumbs.labels == name].mean(axis=0).reshape(thumbs.shape)
        for name in thumbs.class_names
    }


def fit_pca(thumbs: Thumbnails, components: int = 20, seed: int = DEFAULT_SEED) -> PCA:
    """PCA of the thumbnails (centred on the mean image): its components are the 'eigenfaces'."""

    components = min(components, *thumbs.X.shape)
    return PCA(n_components=components, random_state=seed).fit(thumbs.X)


def eigenfaces(pca: PCA, shape: Sequence[int], count: int = 8) -> np.ndarray:
    """The first principal components, reshaped as images."""
    return pca.components_[:count].reshape(-1, *shape)


# --------------------------------------------------------------------------- linear baseline


@dataclass(frozen=True)
class Baseline:
    """Cross-validated accuracy of a linear model, with a Wilson interval over every image."""

    accuracy: float
    low: float
    high: float
    correct: int
    n: int
    folds: int
    fold_accuracies: tuple[float, ...]
    majority: float  # accuracy of always answering the larger class


def linear_baseline(
    thumbs: Thumbnails,
    folds: int = 5,
    seed: int = DEFAULT_SEED,
    c: float = 0.01,
    confidence: float = 0.95,
) -> Baseline:
    """Logistic regression on standardised thumbnails, stratified k-fold, out-of-fold accuracy."""

    y = thumbs.y
    smallest = int(np.bincount(y).min())
    if smallest < folds:
        raise ValueError(f"a class has {smallest} images: too few for {folds}-fold validation")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(model, thumbs.X, y, cv=splitter)
    right = predicted == y
    per_fold = tuple(float(right[test].mean()) for _, test in splitter.split(thumbs.X, y))
    low, high = wilson(int(right.sum()), len(y), z=stats.z_value(confidence))
    return Baseline(
        accuracy=float(right.mean()),
        low=low,
        high=high,
        correct=int(right.sum()),
        n=len(y),
        folds=folds,
        fold_accuracies=per_fold,
        majority=float(np.bincount(y).max() / len(y)),
    )


# --------------------------------------------------------------------------- suspicious labels


def suspicious_labels(
    thumbs: Thumbnails, k: int = 7, components: int = 20, top: int = 8, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """The images whose label disagrees most with their k nearest neighbours in PCA space."""

    if len(thumbs.labels) <= k:
        raise ValueError(f"{len(thumbs.labels)} images: too few for {k} neighbours")
    coords = fit_pca(thumbs, components, seed).transform(thumbs.X)
    distances, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(coords).kneighbors(coords)
    distances, neighbours = distances[:, 1:], neighbours[:, 1:]  # drop each image itself
    weights = 1.0 / (distances + 1e-9)
    other = thumbs.labels[neighbours] != thumbs.labels[:, None]
    frame = pd.DataFrame(
        {
            "path": thumbs.paths,
            "label": thumbs.labels,
            "disagreement": other.mean(axis=1),
            "weighted": (weights * other).sum(axis=1) / weights.sum(axis=1),
            "neighbours_say": [
                pd.Series(thumbs.labels[row]).value_counts().sort_index().idxmax()
                for row in neighbours
            ],
        }
    )
    ranked = frame.sort_values(["weighted", "disagreement", "path"], ascending=[False, False, True])
    return ranked.head(top).reset_index().rename(columns={"index": "row"})


# --------------------------------------------------------------------------- figures


def plot_samples(
    images: np.ndarray, labels: Sequence[int], class_names: Sequence[str], columns: int = 4
) -> Figure:
    """A grid of images (pixel values 0-255) titled with their label number and class name."""

    count = len(images)
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label in zip(axes.flat, images, labels, strict=False):
        ax.imshow(np.clip(np.asarray(image), 0, 255).astype("uint8"))
        ax.set_title(f"{int(label)}: {class_names[int(label)]}", fontsize=10)
    fig.suptitle("Sample images with their labels", fontweight="bold")
    fig.tight_layout()
    return fig


def plot_class_balance(counts: pd.Series) -> Figure:
    """A bar chart of images per class, each bar labelled with its count."""

    fig, ax = plt.subplots(figsize=(5, 3.5))
    bars = ax.bar([str(name) for name in counts.index], counts.to_numpy(), color=["C0", "C1"])
    ax.bar_label(bars, padding=2)
    ax.set(title="Class balance", xlabel="class", ylabel="images")
    ax.margins(y=0.15)
    fig.tight_layout()
    return fig


def plot_sizes(sizes: pd.DataFrame, model_size: int) -> Figure:
    """Width against height per class, and the aspect ratios, before resizing to model_size."""

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, rows in sizes.groupby("label"):
        left.scatter(rows["width"], rows["height"], s=12, alpha=0.6, label=str(name))
    left.scatter([model_size], [model_size], marker="x", s=80, color="black", label="model input")
    left.set(title="Image sizes before resizing", xlabel="width (px)", ylabel="height (px)")
    left.legend()
    right.hist(sizes["aspect"], bins=30, color="C2")
    right.axvline(1.0, color="black", linestyle="--", label="square (model input)")
    right.set(title="Aspect ratios", xlabel="width / height", ylabel="images")
    right.legend()
    fig.tight_layout()
    return fig


def plot_resize_effect(path: Path, size: int) -> Figure:
    """One image as stored and as the model sees it after the book's one resize."""

    with Image.open(path) as image:
        original = np.asarray(image.convert("RGB"))
    resized = images.decode_and_resize(str(path), size).numpy()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4))
    left.imshow(original)
    left.grid(False)
    left.set(
        title=f"stored: {original.shape[1]} x {original.shape[0]}", xlabel="x (px)", ylabel="y (px)"
    )
    right.imshow(np.clip(resized, 0, 255).astype("uint8"))
    right.grid(False)
    right.set(title=f"model input: {size} x {size}", xlabel="x (px)", ylabel="y (px)")
    fig.tight_layout()
    return fig


def plot_mean_faces(means: dict[str, np.ndarray]) -> Figure:
    """Each class's mean image, and their difference (where the classes differ on average)."""

    names = list(means)
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(3.2 * (len(names) + 1), 3.4))
    for ax, name in zip(axes, names, strict=False):
        ax.imshow(means[name], cmap="gray", vmin=0, vmax=1)
        ax.grid(False)
        ax.set(title=f"mean {name}", xlabel="x", ylabel="y")
    difference = means[names[0]] - means[names[-1]]
    bound = float(np.abs(difference).max()) or 1.0
    image = axes[-1].imshow(difference, cmap="coolwarm", vmin=-bound, vmax=bound)
    axes[-1].grid(False)
    axes[-1].set(title=f"{names[0]} - {names[-1]}", xlabel="x", ylabel="y")
    fig.colorbar(image, ax=axes[-1], fraction=0.046)
    fig.tight_layout()
    return fig


def plot_eigenfaces(pca: PCA, shape: Sequence[int], count: int = 8) -> Figure:
    """The first principal components as images, with the variance each explains."""

    faces = eigenfaces(pca, shape, count)
    columns = min(4, len(faces))
    rows = int(np.ceil(len(faces) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.8 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for index, (ax, face) in enumerate(zip(axes.flat, faces, strict=False)):
        bound = float(np.abs(face).max()) or 1.0
        ax.imshow(face, cmap="coolwarm", vmin=-bound, vmax=bound)
        share = pca.explained_variance_ratio_[index]
        ax.set_title(f"PC{index + 1} ({share:.0%})", fontsize=10)
    fig.suptitle("Eigenfaces: the first principal components", fontweight="bold")
    fig.tight_layout()
    return fig


def plot_projection(pca: PCA, thumbs: Thumbnails) -> Figure:
    """Every image projected on the first two principal components, coloured by class."""

    coords = pca.transform(thumbs.X)[:, :2]
    fig, ax = plt.subplots(figsize=(6, 5))
    for name in thumbs.class_names:
        chosen = thumbs.labels == name
        ax.scatter(coords[chosen, 0], coords[chosen, 1], s=14, alpha=0.7, label=name)
    share = pca.explained_variance_ratio_
    ax.set(
        title="Images on the first two principal components",
        xlabel=f"PC1 ({share[0]:.0%} of the variance)",
        ylabel=f"PC2 ({share[1]:.0%} of the variance)",
    )
    ax.legend(title="class")
    fig.tight_layout()
    return fig


def plot_suspicious(
    clean_dir: Path, suspects: pd.DataFrame, columns: int = 4, title: str = "Suspicious labels"
) -> Figure:
    """Images (rows with path, label) titled with their label and, if known, their neighbours' vote."""

    rows = max(1, int(np.ceil(len(suspects) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(2.7 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (_, row) in zip(axes.flat, suspects.iterrows(), strict=False):
        with Image.open(Path(clean_dir) / row["path"]) as image:
            ax.imshow(np.asarray(image.convert("RGB")))
        caption = f"labelled {row['label']}"
        if "neighbours_say" in row.index:
            caption += f"\nneighbours: {row['neighbours_say']} ({row['disagreement']:.0%})"
        ax.set_title(caption, fontsize=8, pad=4)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout(h_pad=1.5)
    return fig


def linear_weights(thumbs: Thumbnails, c: float = 0.01) -> np.ndarray:
    """The baseline's weights, fitted on every thumbnail, as an image (per standardised pixel)."""

    features = StandardScaler().fit_transform(thumbs.X)
    model = LogisticRegression(C=c, max_iter=5000).fit(features, thumbs.y)
    return model.coef_[0].reshape(thumbs.shape)


def plot_weights(weights: np.ndarray, class_names: Sequence[str]) -> Figure:
    """A linear model's weights as an image: red pixels vote for label 1, blue for label 0."""

    image = weights if weights.ndim == 2 else weights.mean(axis=-1)
    bound = float(np.abs(image).max()) or 1.0
    fig, ax = plt.subplots(figsize=(4.6, 4))
    shown = ax.imshow(image, cmap="coolwarm", vmin=-bound, vmax=bound)
    ax.grid(False)
    ax.set(title="The linear baseline's weights", xlabel="x (thumbnail pixel)", ylabel="y")
    bar = fig.colorbar(shown, ax=ax, fraction=0.046)
    bar.set_label(f"weight (> 0: {class_names[1]}, < 0: {class_names[0]})")
    fig.tight_layout()
    return fig
