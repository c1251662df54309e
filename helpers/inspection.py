"""Under the hood, the pictures and measures of chapter 7: filters, feature maps, where saliency falls.

Grad-CAM itself is taught in chapter 7 (helpers.taught.grad_cam); this module draws its maps and
measures them against boxes.

Named `inspection`, not `inspect`: a module called `inspect.py` inside helpers/ replaces the
standard library's `inspect` whenever helpers/ itself is on sys.path (running a helpers file
by path does that), and NumPy, dataclasses and Keras then fail to import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels (x1, y1 exclusive)
EXPRESSION_PARTS: tuple[str, ...] = ("mouth", "brows")  # the landmark boxes of the expression


# --- filters and biases ---------------------------------------------------------------------


def symmetric_limit(*arrays: np.ndarray) -> float:
    """The largest |value| over all arrays: one colour scale [-limit, limit] shared by them."""
    limit = max(float(np.max(np.abs(array))) for array in arrays)
    return limit if limit > 0 else 1.0


def grid_shape(count: int, max_cols: int | None = None) -> tuple[int, int]:
    """Rows and columns of a near-square grid with room for exactly `count` panels."""
    if count < 1:
        raise ValueError(f"need at least one panel, got {count}")
    cols = math.ceil(math.sqrt(count))
    if max_cols is not None:
        cols = min(cols, max_cols)
    return math.ceil(count / cols), cols


def filters_as_rgb(kernel: np.ndarray, limit: float) -> np.ndarray:
    """Map RGB filters (h, w, 3, n) to displayable patches (n, h, w, 3): 0 -> grey, ±limit -> 0/1."""
    if kernel.ndim != 4 or kernel.shape[2] != 3:
        raise ValueError(f"expected first-layer RGB filters (h, w, 3, n), got {kernel.shape}")
    patches = 0.5 + 0.5 * np.moveaxis(kernel, -1, 0) / limit
    return np.clip(patches, 0.0, 1.0)


def plot_filters_rgb(kernel: np.ndarray, limit: float, title: str):
    """Each first-layer filter as a small RGB patch, all on one colour scale."""

    patches = filters_as_rgb(kernel, limit)
    rows, cols = grid_shape(len(patches), max_cols=8)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.5 * rows + 0.6), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(patches):
            ax.imshow(patches[index], interpolation="nearest")
            ax.set_title(f"filter {index}", fontsize=8)
    fig.suptitle(f"{title}\n(grey = 0, colour scale ±{limit:.3f} shared)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_filters_per_channel(
    kernel: np.ndarray, limit: float, title: str, channel_names: Sequence[str] = ("R", "G", "B")
):
    """Every filter's weights per input channel (rows) on one diverging colour scale."""

    if kernel.ndim != 4 or kernel.shape[2] != len(channel_names):
        raise ValueError(
            f"kernel shape {kernel.shape} does not have {len(channel_names)} input channels"
        )
    channels, count = kernel.shape[2], kernel.shape[3]
    fig, axes = plt.subplots(
        channels, count, figsize=(0.7 * count + 1.2, 0.8 * channels + 0.9), squeeze=False
    )
    image = None
    for row in range(channels):
        for col in range(count):
            ax = axes[row, col]
            image = ax.imshow(
                kernel[:, :, row, col],
                cmap="RdBu_r",
                vmin=-limit,
                vmax=limit,
                interpolation="nearest",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if row == 0:
                ax.set_title(str(col), fontsize=8)
            if col == 0:
                ax.set_ylabel(channel_names[row])
    fig.suptitle(f"{title} (columns: filters, rows: input channels)", fontsize=10)
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    return fig


def plot_weight_distributions(
    before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray], title: str
):
    """Histograms of each layer's kernel weights before and after training, one panel a layer."""

    names = list(before)
    if set(names) != set(after):
        raise ValueError(f"layers differ: {sorted(before)} vs {sorted(after)}")
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=True):
        values = np.concatenate([np.ravel(before[name]), np.ravel(after[name])])
        bins = np.linspace(values.min(), values.max(), 41)
        ax.hist(np.ravel(before[name]), bins=bins, alpha=0.6, label="untrained")
        ax.hist(np.ravel(after[name]), bins=bins, alpha=0.6, label="trained")
        ax.set_title(name)
        ax.set_xlabel("weight")
        ax.set_ylabel("count")
    axes.flat[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# --- feature maps ---------------------------------------------------------------------------


def plot_channel_slices(image: np.ndarray, maps: np.ndarray):
    """The image, the original's maps[..., :3] (three channels shown as one RGB picture), and
    channels 0, 1 and 2 one by one, maps[..., i]."""

    if maps.ndim != 3 or maps.shape[-1] < 3:
        raise ValueError(f"expected feature maps (height, width, channels >= 3), got {maps.shape}")
    fig, axes = plt.subplots(1, 5, figsize=(13, 3.2))
    first = maps[..., :3]
    axes[0].imshow(np.clip(image, 0, 255).astype(np.uint8))
    axes[0].set_title("the image", fontsize=9)
    axes[1].imshow(first / max(float(first.max()), 1e-9))
    axes[1].set_title("the original's [..., :3]:\none false-colour picture", fontsize=9)
    for channel in range(3):
        axes[channel + 2].imshow(maps[..., channel], cmap="gray")
        axes[channel + 2].set_title(f"[..., {channel}]: channel {channel}", fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_feature_maps(maps: np.ndarray, title: str, max_cols: int = 8):
    """One panel per channel (maps[..., i]), the grid sized to the channel count."""

    if maps.ndim != 3:
        raise ValueError(f"expected feature maps (height, width, channels), got {maps.shape}")
    channels = maps.shape[-1]
    rows, cols = grid_shape(channels, max_cols=max_cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows + 0.5), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < channels:
            ax.imshow(maps[..., index], cmap="viridis")
            ax.set_title(f"channel {index}", fontsize=8)
    fig.suptitle(f"{title}: {channels} channels, {maps.shape[0]}x{maps.shape[1]} px each")
    fig.tight_layout()
    return fig


# --- saliency -------------------------------------------------------------------------------


def box_mask(shape: tuple[int, int], boxes: Sequence[Box]) -> np.ndarray:
    """Boolean (height, width) mask of the union of boxes (x0, y0, x1, y1), clipped to the image."""
    height, width = shape
    mask = np.zeros((height, width), dtype=bool)
    for box in boxes:
        if len(box) != 4:
            raise ValueError(f"a box is (x0, y0, x1, y1), got {box!r}")
        x0, y0, x1, y1 = box
        if x1 < x0 or y1 < y0:
            raise ValueError(f"box {box!r} has x1 < x0 or y1 < y0")
        left, top = max(0, math.floor(x0)), max(0, math.floor(y0))
        right, bottom = min(width, math.ceil(x1)), min(height, math.ceil(y1))
        mask[top:bottom, left:right] = True
    return mask


def saliency_share(saliency: np.ndarray, mask: np.ndarray) -> float:
    """Fraction of the total saliency inside the mask (NaN when the map is all zero)."""
    saliency = np.asarray(saliency, dtype=np.float64)
    if saliency.shape != mask.shape:
        raise ValueError(f"saliency {saliency.shape} and mask {mask.shape} differ in shape")
    if np.any(saliency < 0):
        raise ValueError("saliency must be non-negative")
    total = saliency.sum()
    return float(saliency[mask].sum() / total) if total > 0 else math.nan


def area_share(mask: np.ndarray) -> float:
    """Fraction of the image's pixels the mask covers: the share a uniform map would give it."""
    return float(np.mean(mask))


def plot_saliency(
    images: np.ndarray,
    cams: np.ndarray,
    titles: Sequence[str],
    cols: int = 4,
    landmarks: Sequence[Mapping] | None = None,
    parts: Sequence[str] = EXPRESSION_PARTS,
    title: str = "Grad-CAM: where the evidence for the predicted class lies",
):
    """Each image with its saliency laid over it, opaque where strong, clear where zero.

    The overlay's opacity follows the map, so the face stays visible where the model puts no
    evidence; one colour bar, shared by every panel (each map is scaled to its own peak, 1).
    """

    count = len(images)
    if count == 0:
        return None  # nothing to show (a model with no mistakes on a small test set)
    cols = max(1, min(cols, count))
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.6 * cols + 0.8, 3.0 * rows + 0.4), squeeze=False
    )
    overlay = None
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            ax.imshow(np.clip(images[index], 0, 255).astype(np.uint8))
            cam = np.clip(cams[index], 0, 1)
            overlay = ax.imshow(cam, cmap="inferno", alpha=0.15 + 0.7 * cam, vmin=0, vmax=1)
            ax.set_title(titles[index], fontsize=8)
            for name in parts if landmarks is not None else ():
                x0, y0, x1, y1 = landmarks[index][name]
                ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="cyan", lw=1))
    fig.suptitle(title + (" (cyan: the generator's mouth and brow boxes)" if landmarks else ""))
    fig.tight_layout(rect=(0, 0, 0.92, 1))
    if overlay is not None:
        bar_axis = fig.add_axes((0.93, 0.15, 0.015, 0.7))
        bar = fig.colorbar(overlay, cax=bar_axis)
        bar.set_label("Grad-CAM, 1 = the map's peak (opaque = strong)")
    return fig


# --- where the saliency falls ----------------------------------------------------------------


def region_shares(
    cams: np.ndarray, landmarks: Sequence[Mapping], parts: Sequence[str] = EXPRESSION_PARTS
):
    """Per image: saliency share and area share of the expression boxes and of the face box."""

    if len(cams) != len(landmarks):
        raise ValueError(f"{len(cams)} saliency maps but {len(landmarks)} landmark sets")
    rows = []
    for cam, marks in zip(cams, landmarks, strict=True):
        missing = [name for name in (*parts, "face") if name not in marks]
        if missing:
            raise ValueError(f"landmarks lack {missing}: have {sorted(marks)}")
        expression = box_mask(cam.shape, [marks[name] for name in parts])
        face = box_mask(cam.shape, [marks["face"]])
        rows.append(
            {
                "expression_saliency": saliency_share(cam, expression),
                "expression_area": area_share(expression),
                "face_saliency": saliency_share(cam, face),
                "face_area": area_share(face),
            }
        )
    return pd.DataFrame(rows)


def channel_correlations(maps: np.ndarray, references: Mapping[str, np.ndarray]):
    """Pearson correlation of each channel's map with each reference image (NaN: silent channel)."""

    if maps.ndim != 3:
        raise ValueError(f"expected feature maps (height, width, channels), got {maps.shape}")
    table = {}
    for name, reference in references.items():
        if np.shape(reference) != maps.shape[:2]:
            raise ValueError(
                f"reference {name!r} is {np.shape(reference)}, the maps are {maps.shape[:2]}"
            )
        flat = np.ravel(reference)
        table[f"corr. with {name}"] = [
            float(np.corrcoef(maps[..., c].ravel(), flat)[0, 1])
            if maps[..., c].std() > 0 and flat.std() > 0
            else math.nan
            for c in range(maps.shape[-1])
        ]
    return pd.DataFrame(table, index=pd.RangeIndex(maps.shape[-1], name="channel"))
