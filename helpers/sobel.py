"""The Sobel chapter: edge kernels, convolution versus cross-correlation, and Sobel edge channels."""

from __future__ import annotations

import matplotlib.cbook as cbook
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator
from PIL import Image

# Sobel kernels as a CNN layer (and OpenCV) apply them, i.e. by cross-correlation:
# SOBEL_X estimates the derivative along x (left to right), so it lights up vertical edges;
# SOBEL_Y estimates the derivative along y (top to bottom), so it lights up horizontal edges.
SOBEL_X: np.ndarray = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
SOBEL_Y: np.ndarray = SOBEL_X.T.copy()
SOBEL_KERNELS: dict[str, np.ndarray] = {
    "vertical edges (x)": SOBEL_X,
    "horizontal edges (y)": SOBEL_Y,
}
# The sum of a Sobel kernel's positive weights: dividing by it keeps a response within the
# input's range (an edge from 0 to 255 gives at most 255).
SOBEL_GAIN = 4.0


def _check_2d(array: np.ndarray, what: str) -> np.ndarray:
    """Return array as float64, or raise ValueError if it is not a 2-D array."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (height, width), got shape {array.shape}")
    return array


def rotate180(kernel: np.ndarray) -> np.ndarray:
    """The kernel turned by 180 degrees (flipped up-down and left-right)."""
    return np.rot90(_check_2d(kernel, "kernel"), 2)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luminance of an RGB image (ITU-R BT.601 weights, as OpenCV uses) as float64."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        return image
    if image.ndim != 3 or image.shape[-1] not in (3, 4):
        raise ValueError(f"expected a (height, width, 3) RGB image, got shape {image.shape}")
    return image[..., :3] @ np.array([0.299, 0.587, 0.114])


def grace_hopper() -> np.ndarray:
    """The Grace Hopper portrait that ships with matplotlib, as a (600, 512, 3) uint8 RGB array."""

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


def interior(array: np.ndarray, margin: int = 1) -> np.ndarray:
    """The array without a border of `margin` pixels, where padding choices differ."""
    if margin < 1:
        raise ValueError(f"margin must be at least 1, got {margin}")
    return np.asarray(array)[margin:-margin, margin:-margin]


def gradient_magnitude(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Edge strength sqrt(gx^2 + gy^2) from the two directional derivatives."""
    if np.shape(gx) != np.shape(gy):
        raise ValueError(f"gx and gy differ in shape: {np.shape(gx)} vs {np.shape(gy)}")
    return np.hypot(gx, gy)


def sobel_weights(in_channels: int = 1) -> np.ndarray:
    """Conv2D kernel (3, 3, in_channels, 2): output 0 is SOBEL_X, output 1 is SOBEL_Y, per channel."""
    if in_channels < 1:
        raise ValueError(f"in_channels must be at least 1, got {in_channels}")
    kernel = np.zeros((3, 3, in_channels, 2), dtype=np.float32)
    kernel[:, :, :, 0] = SOBEL_X[:, :, None]
    kernel[:, :, :, 1] = SOBEL_Y[:, :, None]
    return kernel


def edge_channels(images):
    """Sobel x and y of the images' luminance, divided by SOBEL_GAIN (a TensorFlow op for tf.data).

    Takes float images (batch, height, width, 3) or (height, width, 3) in [0, 255]; returns the
    same leading shape with 2 channels in [-255, 255]. Borders are mirrored (as cv2's default).
    """
    import tensorflow as tf

    images = tf.cast(tf.convert_to_tensor(images), tf.float32)  # uint8 pixels too
    single = images.shape.rank == 3
    if single:
        images = images[tf.newaxis]
    if images.shape.rank != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected RGB images (batch, height, width, 3), got {images.shape}")
    # tf.image.rgb_to_grayscale's weights, as a product and a sum: its matrix product, fused with
    # the cast of uint8 pixels, makes oneDNN print a warning on CPUs without AVX-512
    gray = tf.reduce_sum(images * tf.constant([0.2989, 0.5870, 0.1140]), axis=-1, keepdims=True)
    padded = tf.pad(gray, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
    kernel = tf.constant(sobel_weights(1) / SOBEL_GAIN)
    edges = tf.nn.conv2d(padded, kernel, strides=1, padding="VALID")
    return edges[0] if single else edges


def with_edge_channels(images):
    """RGB pixels followed by their two Sobel edge channels: (…, 3) -> (…, 5)."""
    import tensorflow as tf

    images = tf.cast(tf.convert_to_tensor(images), tf.float32)  # uint8 pixels too
    return tf.concat([images, edge_channels(images)], axis=-1)


def add_edge_channels(dataset):
    """Map a tf.data dataset of (images, labels) batches to (images + edge channels, labels)."""
    import tensorflow as tf

    return dataset.map(
        lambda images, labels: (with_edge_channels(images), labels),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


# --- pictures and the convergence experiment's table ------------------------------------------


def plot_kernels(kernels: dict[str, np.ndarray], title: str = "Sobel kernels"):
    """Each kernel as a small diverging heat map with its values written in the cells."""

    fig, axes = plt.subplots(
        1, len(kernels), figsize=(4.0 * len(kernels), 3.6), squeeze=False, layout="constrained"
    )
    limit = max(float(np.abs(k).max()) for k in kernels.values())
    image = None
    for ax, (name, kernel) in zip(axes.flat, kernels.items(), strict=True):
        image = ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (row, col), value in np.ndenumerate(kernel):
            colour = "white" if abs(value) > limit / 2 else "black"
            ax.text(col, row, f"{value:g}", ha="center", va="center", fontsize=12, color=colour)
        ax.set_title(name)
        ax.set_xlabel("column (x)")
        ax.set_ylabel("row (y)")
        ax.set_xticks(range(kernel.shape[1]))
        ax.set_yticks(range(kernel.shape[0]))
        ax.grid(False)
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    fig.suptitle(title)
    return fig


def plot_panels(
    panels: dict[str, np.ndarray], title: str, cols: int = 3, signed: set[str] | None = None
):
    """Images side by side; those named in `signed` on a symmetric blue-white-red scale."""

    signed = signed or set()
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (name, image) in zip(axes.flat, panels.items(), strict=False):
        if name in signed:
            limit = float(np.percentile(np.abs(image), 99.5)) or 1.0
            ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        elif image.ndim == 3:
            ax.imshow(image)
        else:
            ax.imshow(image, cmap="gray")
        ax.set_title(name, fontsize=10)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_seed_curves(
    curves: dict[str, list[list[float]]], title: str, metric: str = "validation loss"
):
    """One thin line per run (epochs on x), one colour per input, and each input's mean in bold."""

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for (name, runs), colour in zip(curves.items(), ("C0", "C1", "C2", "C3"), strict=False):
        values = np.asarray(runs, dtype=float)
        epochs = np.arange(1, values.shape[1] + 1)
        for run in values:
            ax.plot(epochs, run, color=colour, alpha=0.35, lw=1)
        ax.plot(epochs, values.mean(axis=0), "-o", color=colour, lw=2.5,
                label=f"{name}: mean of {len(values)} runs")  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel=metric, title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
