"""Chapter 2's plumbing: image sizes before resizing, and the figures of its exploratory checks.

The chapter itself defines what it teaches (helpers.taught: `channel_stats`, `thumbnails`,
`linear_baseline`); these are the file listing and the plotting boilerplate around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from helpers import images, split

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from sklearn.decomposition import PCA

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

    faces = pca.components_[:count].reshape(-1, *shape)
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


def plot_projection(
    coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str], shares: Sequence[float]
) -> Figure:
    """Images at their coordinates on the first two principal components, coloured by class."""

    fig, ax = plt.subplots(figsize=(6, 5))
    for label, name in enumerate(class_names):
        chosen = np.asarray(labels) == label
        ax.scatter(coords[chosen, 0], coords[chosen, 1], s=14, alpha=0.7, label=name)
    ax.set(
        title="Images on the first two principal components",
        xlabel=f"PC1 ({shares[0]:.0%} of the variance)",
        ylabel=f"PC2 ({shares[1]:.0%} of the variance)",
    )
    ax.legend(title="class")
    fig.tight_layout()
    return fig


def plot_suspicious(
    paths: Sequence[str | Path],
    labels: Sequence[str],
    disagreement: Sequence[float] | None = None,
    columns: int = 4,
    title: str = "Suspicious labels",
) -> Figure:
    """Images titled with their label and, if given, the share of neighbours that disagree."""

    rows = max(1, int(np.ceil(len(paths) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(2.7 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    shares = [None] * len(paths) if disagreement is None else list(disagreement)
    for ax, path, label, share in zip(axes.flat, paths, labels, shares, strict=False):
        with Image.open(path) as image:
            ax.imshow(np.asarray(image.convert("RGB")))
        caption = f"labelled {label}"
        if share is not None:
            caption += f"\n{share:.0%} of neighbours disagree"
        ax.set_title(caption, fontsize=8, pad=4)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout(h_pad=1.5)
    return fig


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
