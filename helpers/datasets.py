"""The tf.data pipelines of a split: cached in memory (chapter 3's `cached_pipeline`), or streamed.

`datasets_from_frame` builds the train/val/test pipelines of a split table. Chapter 3's cached
pipeline decodes every image once and keeps it in memory; when that cache would exceed
`cache_limit_bytes()`, the decoded images are written as TFRecord shards and streamed from disk
(helpers.shards), in the same order. helpers.pipeline's `make_datasets` calls it for a profile.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import tensorflow as tf

from helpers import shards
from helpers.paths import shown
from helpers.split import SUBSETS
from helpers.taught import cached_pipeline

CACHE_LIMIT_ENV = "BOOK_CACHE_LIMIT_MB"  # overrides the limit above which the pipelines stream
CACHE_LIMIT_CAP = 4 * 2**30  # the default limit: this, or a quarter of the memory if less


@dataclass
class Datasets:
    """The three pipelines of one split, with the class names their integer labels follow."""

    train: tf.data.Dataset
    val: tf.data.Dataset
    test: tf.data.Dataset
    class_names: list[str]
    frame: pd.DataFrame
    streamed: bool = False  # True: read from TFRecord shards on disk; False: cached in memory


def cache_bytes(images: int, size: int) -> int:
    """Bytes the in-memory cache of `images` decoded images takes: size x size x 3 float32 each."""
    return images * size * size * 3 * 4


def physical_memory_bytes() -> int | None:
    """This machine's memory in bytes, or None where the system does not say (Windows)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def cache_limit_bytes() -> int:
    """The largest cache kept in memory: $BOOK_CACHE_LIMIT_MB, else min(4 GiB, a quarter of RAM)."""
    value = os.environ.get(CACHE_LIMIT_ENV, "").strip()
    if value:
        problem = f"${CACHE_LIMIT_ENV} must be a number of megabytes (0 or more), got {value!r}"
        try:
            megabytes = float(value)
        except ValueError:
            raise ValueError(problem) from None
        if not 0 <= megabytes < math.inf:
            raise ValueError(problem)
        return int(megabytes * 2**20)
    memory = physical_memory_bytes()
    return CACHE_LIMIT_CAP if memory is None else min(CACHE_LIMIT_CAP, memory // 4)


def chooses_streaming(images: int, size: int, shards_dir: Path) -> bool:
    """Whether the cache of `images` would exceed the limit; if so, one line says so and where."""
    need, limit = cache_bytes(images, size), cache_limit_bytes()
    if need <= limit:
        return False
    print(
        f"streaming: caching {images} images at {size} px in memory would take "
        f"{need / 2**20:,.0f} MB, above the limit of {limit / 2**20:,.0f} MB (${CACHE_LIMIT_ENV}); "
        f"the decoded images are read from TFRecord shards in {shown(shards_dir)}"
    )
    return True


def datasets_from_frame(
    frame: pd.DataFrame,
    clean_dir: Path,
    size: int,
    batch_size: int,
    seed: int,
    stream: bool | None = None,
    shards_dir: Path | None = None,
) -> Datasets:
    """Build the train/val/test pipelines of a split table whose paths are under clean_dir.

    stream: True reads the images from TFRecord shards under shards_dir/<size>/<subset>/
    (default: clean_dir's sibling shards/), False caches them in memory, None decides by the
    cache's size against cache_limit_bytes(). Either way the same images in the same order
    (streamed pixels are the cached ones rounded to whole numbers: helpers.shards).
    """
    class_names = sorted(frame["label"].unique())
    index = {name: i for i, name in enumerate(class_names)}
    shards_dir = Path(shards_dir) if shards_dir is not None else Path(clean_dir).parent / "shards"
    if stream is None:
        stream = chooses_streaming(len(frame), size, shards_dir / str(size))
    built = {}
    for subset in SUBSETS:
        rows = frame[frame["subset"] == subset]
        if rows.empty:
            raise ValueError(f"the split has no {subset!r} images: rebuild it with more data")
        paths = [str(Path(clean_dir) / rel) for rel in rows["path"]]
        labels = [index[label] for label in rows["label"]]
        shuffle_seed = seed if subset == "train" else None
        if stream:
            folder = shards.write_shards(
                paths, labels, size, shards_dir / str(size) / subset, root=Path(clean_dir)
            )
            built[subset] = shards.stream_pipeline(folder, batch_size, shuffle_seed=shuffle_seed)
        else:
            built[subset] = cached_pipeline(paths, labels, size, batch_size, shuffle_seed)
    return Datasets(class_names=class_names, frame=frame, streamed=stream, **built)
