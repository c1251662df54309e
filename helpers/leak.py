"""The original tutorial's split, replayed: take/skip on a loader that reshuffles every pass.

Chapter 3 measures how the original's split (image_dataset_from_directory, then take/skip 70/20/10
of its batches) let test images into training: `count_leak` counts, image by image, what each
pass over "train", "val" and "test" yields; `replay_passes` lists the files without decoding a
pixel (`replay_order`); `plot_pass_membership` draws them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np


@dataclass(frozen=True)
class LeakReport:
    """What the original's take/skip split does, counted image by image over separate passes."""

    images: int
    batch_size: int
    batches: int
    train_batches: int
    val_batches: int
    test_batches: int
    epochs: int
    test_images: int  # images one pass over "test" yields
    test_in_train: int  # of those, how many the first pass over "train" also yielded
    test_in_train_any_epoch: int  # ... that any of `epochs` passes over "train" yielded
    val_in_train: int  # "val" images (one pass) that the first pass over "train" yielded
    distinct_in_test_passes: int  # distinct images over two passes over "test"

    def as_dict(self) -> dict[str, Any]:
        """The report as a plain dictionary (for tables and glue)."""
        return asdict(self)


def image_keys(dataset: Iterable[Any]) -> list[str]:
    """One content hash per image of a batched (images, labels) dataset, in the order seen."""
    keys = []
    for images, _ in dataset:
        for image in np.asarray(images):
            keys.append(hashlib.blake2b(np.ascontiguousarray(image).tobytes()).hexdigest())
    return keys


def leak_batch_size(images: int, preferred: int = 32, batches: int = 10) -> int:
    """The original's batch size (32) if it gives at least 10 batches, else one giving 10."""
    if images >= preferred * (batches - 1) + 1:
        return preferred
    return max(1, images // batches)


def original_pipeline(
    directory: Path,
    image_size: int,
    batch_size: int,
    seed: int | None,
    shuffle: bool = True,
    class_names: list[str] | None = None,
) -> Any:
    """The original's loading: image_dataset_from_directory (decodes every epoch), then x / 255.

    The returned dataset keeps `file_paths`, like the loader's own, for counting images.
    """
    import keras

    data = keras.utils.image_dataset_from_directory(
        directory,
        class_names=class_names,
        batch_size=batch_size,
        image_size=(image_size, image_size),
        shuffle=shuffle,
        seed=seed,
        verbose=False,
    )
    scaled = data.map(lambda x, y: (x / 255, y))
    scaled.file_paths = data.file_paths
    return scaled


def replay_order(
    file_paths: Sequence[str], batch_size: int, seed: int | None, shuffle: bool = True
) -> Any:
    """The original loader's batches of file paths, in its order, without decoding a pixel.

    image_dataset_from_directory shuffles the list of (path, label) pairs with
    `shuffle(buffer_size=8 * batch_size, seed=seed)` before it decodes anything, and a shuffle's
    order depends only on its seed, its buffer and the number of elements, never on what they
    are. The same shuffle over the same paths therefore yields the same order in every pass, at
    the cost of listing strings (tests/test_split.py checks it against the decoded pipeline).
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(list(file_paths))
    if shuffle:
        dataset = dataset.shuffle(buffer_size=8 * batch_size, seed=seed)
    return dataset.batch(batch_size)


def path_keys(dataset: Iterable[Any]) -> list[str]:
    """The file paths of a batched dataset of paths, in the order one pass yields them."""
    return [path.decode("utf-8") for batch in dataset for path in np.asarray(batch)]


def replay_passes(
    directory: Path,
    batch_size: int = 32,
    image_size: int = 256,
    epochs: int = 1,
    shuffle: bool = True,
    seed: int | None = None,
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """The files each pass of the original's split yields, in the order training meets them.

    The original: the shuffled loader, then take/skip 70/20/10 of its batches. The loader gives
    the file list and the number of batches; the passes are replayed on the paths (replay_order):
    `epochs` passes over "train", one over "val", two over "test". Returns the passes (name ->
    files) and the sizes (images, batches, train/val/test batches).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a folder of class folders")
    if shuffle and seed is None:
        seed = 1  # a replay needs the seed the loader was given
    data = original_pipeline(directory, image_size, batch_size, seed, shuffle=shuffle)
    batches = int(data.cardinality())
    train_size, val_size, test_size = int(batches * 0.7), int(batches * 0.2), int(batches * 0.1)
    if min(train_size, test_size) < 1:
        raise ValueError(
            f"{batches} batches of {batch_size} give no test batch: use a smaller batch size"
        )
    order = replay_order(data.file_paths, batch_size, seed, shuffle=shuffle)
    train = order.take(train_size)
    val = order.skip(train_size).take(val_size)
    test = order.skip(train_size + val_size).take(test_size)
    # every `for` over a dataset is a new iteration: training passes first, then validation, test
    passes = {f"train, epoch {e + 1}": path_keys(train) for e in range(max(1, epochs))}
    passes["val"] = path_keys(val)
    passes["test, pass 1"] = path_keys(test)
    passes["test, pass 2"] = path_keys(test)
    sizes = {
        "images": len(data.file_paths),
        "batch_size": batch_size,
        "batches": batches,
        "train_batches": train_size,
        "val_batches": val_size,
        "test_batches": test_size,
        "epochs": max(1, epochs),
    }
    return passes, sizes


def count_leak(
    directory: Path,
    batch_size: int = 32,
    image_size: int = 256,
    epochs: int = 1,
    shuffle: bool = True,
    seed: int | None = None,
) -> LeakReport:
    """Reproduce the original's split (shuffled loader, take/skip 70/20/10) and count leaks."""
    passes, sizes = replay_passes(directory, batch_size, image_size, epochs, shuffle, seed)
    first_train = set(passes["train, epoch 1"])
    seen_in_training = set().union(*(set(v) for k, v in passes.items() if k.startswith("train")))
    test_keys, second_test = passes["test, pass 1"], passes["test, pass 2"]
    return LeakReport(
        **sizes,
        test_images=len(test_keys),
        test_in_train=sum(key in first_train for key in test_keys),
        test_in_train_any_epoch=sum(key in seen_in_training for key in test_keys),
        val_in_train=sum(key in first_train for key in passes["val"]),
        distinct_in_test_passes=len(set(test_keys) | set(second_test)),
    )


def plot_pass_membership(passes: dict[str, list[str]], title: str) -> Any:
    """Which files each pass yields: one row a pass, one column a file (sorted), dark = in it."""

    files = sorted(set().union(*(set(v) for v in passes.values())))
    column = {name: index for index, name in enumerate(files)}
    grid = np.zeros((len(passes), len(files)))
    for row, members in enumerate(passes.values()):
        grid[row, [column[name] for name in members]] = 1
    test = np.asarray([column[name] for name in passes["test, pass 1"]])
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(passes) + 1.6))
    ax.imshow(grid, aspect="auto", cmap="Greys", interpolation="nearest", vmin=0, vmax=1.4)
    ax.vlines(test, -0.5, len(passes) - 0.5, colors="C3", linewidth=0.6, alpha=0.5)
    ax.set_yticks(range(len(passes)), list(passes))
    ax.set(
        title=title, xlabel=f"the {len(files)} files, sorted by name (red: in the first test pass)"
    )
    ax.set_xticks([])
    ax.grid(False)
    fig.tight_layout()
    return fig
