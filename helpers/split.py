"""The leak-free split: stratified by class, by file, duplicates kept together; tf.data pipelines.

Chapter 3 builds it; the later chapters read it through helpers.pipeline's `ensure_split` and
`make_datasets`, which build it (once) with `split_frame` and `write_split`. The pipelines cache
the decoded images in memory, or stream them from TFRecord shards on disk (helpers.shards) when
that cache would exceed `cache_limit_bytes()`.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers import store
from helpers.images import duplicate_groups
from helpers.paths import shown
from helpers.profiles import DEFAULT_SEED
from helpers.store import atomic_write_text

if TYPE_CHECKING:
    import tensorflow as tf

SUBSETS: tuple[str, ...] = ("train", "val", "test")
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.7, 0.15, 0.15)
IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif"})
SPLIT_VERSION = 1  # bump when the splitting rules change, so every split.csv is rebuilt
SPLIT_FILE = "split.csv"
COLUMNS: tuple[str, ...] = ("path", "label", "subset", "group")
CACHE_LIMIT_ENV = "BOOK_CACHE_LIMIT_MB"  # overrides the limit above which the pipelines stream
CACHE_LIMIT_CAP = 4 * 2**30  # the default limit: this, or a quarter of the memory if less


# --------------------------------------------------------------------------- finding the images


def list_images(clean_dir: Path) -> pd.DataFrame:
    """Every image in <clean_dir>/<class>/, as rows (path relative to clean_dir, label), sorted."""
    clean_dir = Path(clean_dir)
    if not clean_dir.is_dir():
        raise FileNotFoundError(f"{clean_dir} is not a folder: run the cleaning step first")
    rows = [
        (f"{folder.name}/{file.name}", folder.name)
        for folder in sorted(p for p in clean_dir.iterdir() if p.is_dir())
        for file in sorted(folder.iterdir())
        if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES
    ]
    return pd.DataFrame(rows, columns=["path", "label"])


def check_splittable(frame: pd.DataFrame, clean_dir: Path, subsets: int = len(SUBSETS)) -> None:
    """Refuse data a stratified split cannot work with: no images, one class, a tiny class."""
    if frame.empty:
        raise ValueError(f"{clean_dir} holds no images in class folders (<class>/<image>.png)")
    counts = frame["label"].value_counts().sort_index()
    if len(counts) < 2:
        raise ValueError(
            f"{clean_dir} holds one class only ({counts.index[0]!r}): a classifier needs two"
        )
    small = counts[counts < subsets]
    if not small.empty:
        raise ValueError(
            f"class(es) {dict(small)} in {clean_dir} have fewer images than the {subsets} subsets "
            "they must be split into"
        )


def check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    """Validate train/val/test fractions: three positive numbers that add up to 1."""
    values = tuple(float(f) for f in fractions)
    if len(values) != len(SUBSETS) or any(f <= 0 for f in values):
        raise ValueError(f"fractions must be three positive numbers (train, val, test): {values}")
    if not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise ValueError(f"fractions must add up to 1, got {values} (sum {sum(values):.4f})")
    return values


# --------------------------------------------------------------------------- duplicate groups

# (clean folder, table of paths) -> (exact content key, 64-bit perceptual hash) per row
KeyFunction = Callable[[Path, pd.DataFrame], tuple[list[str], list[int]]]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes: the key that finds exact duplicates."""
    return store.file_sha256(path)


def content_keys(clean_dir: Path, frame: pd.DataFrame) -> tuple[list[str], list[int]]:
    """Exact (sha256 of pixels' file) and perceptual keys for every row, via helpers.images."""
    from helpers import images

    exact, perceptual = [], []
    for rel in frame["path"]:
        path = Path(clean_dir) / rel
        exact.append(file_digest(path))
        perceptual.append(int(images.perceptual_hash(images.load_rgb(path))))
    return exact, perceptual


# --------------------------------------------------------------------------- the split itself


def subset_targets(count: int, fractions: Sequence[float]) -> np.ndarray:
    """How many of `count` images each subset gets (largest remainder, at least one each)."""
    raw = np.asarray(fractions, dtype=float) * count
    targets = np.floor(raw).astype(int)
    for index in np.argsort(-(raw - targets), kind="stable")[: count - targets.sum()]:
        targets[index] += 1
    while (targets == 0).any():  # a tiny class: take one from the largest subset
        targets[np.argmax(targets)] -= 1
        targets[np.argmin(targets)] += 1
    return targets


def group_owners(frame: pd.DataFrame) -> pd.Series:
    """Each group's class, by group id: the class of most of its files (on a tie, the first name).

    A group that mixes classes (the same picture in both folders) belongs to its majority class.
    """
    counts = frame.groupby(["group", "label"]).size().rename("files").reset_index()
    counts = counts.sort_values(
        ["group", "files", "label"], ascending=[True, False, True], kind="stable"
    )
    return counts.drop_duplicates("group").set_index("group")["label"]


def assign_subsets(
    frame: pd.DataFrame, groups: np.ndarray, fractions: Sequence[float], seed: int
) -> pd.Series:
    """Give whole duplicate groups to subsets, class by class, to hit each class's targets."""
    rng = np.random.default_rng(seed)
    frame = frame.assign(group=groups)
    owner = group_owners(frame)
    sizes = frame.groupby("group").size()
    subset_of_group: dict[int, str] = {}
    for label in sorted(owner.unique()):
        members = owner.index[owner == label].to_numpy()
        members = members[rng.permutation(len(members))]  # random order, then big groups first
        members = members[np.argsort(-sizes.loc[members].to_numpy(), kind="stable")]
        member_sizes = sizes.loc[members].to_numpy()
        targets = subset_targets(int(member_sizes.sum()), fractions)
        filled = np.zeros(len(SUBSETS), dtype=int)
        for group, size in zip(members.tolist(), member_sizes.tolist(), strict=True):
            index = int(np.argmax(targets - filled))
            subset_of_group[group] = SUBSETS[index]
            filled[index] += size
    return frame["group"].map(subset_of_group).rename("subset")


def split_frame(
    clean_dir: Path,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = DEFAULT_SEED,
    keys: KeyFunction | None = None,
) -> pd.DataFrame:
    """The split of a clean folder as a table (path, label, subset, group); nothing is written."""
    fractions = check_fractions(fractions)
    frame = list_images(clean_dir)
    check_splittable(frame, Path(clean_dir))
    exact, perceptual = (keys or content_keys)(Path(clean_dir), frame)
    groups = duplicate_groups(exact, perceptual)
    subset = assign_subsets(frame, groups, fractions, seed)
    return frame.assign(subset=subset.to_numpy(), group=groups)[list(COLUMNS)]


def write_split(frame: pd.DataFrame, folder: Path) -> Path:
    """Write a split table as folder/split.csv (the pipeline builds the folder, see helpers.pipeline)."""
    path = Path(folder) / SPLIT_FILE
    atomic_write_text(path, frame.to_csv(index=False))
    return path


def read_split(folder: Path) -> pd.DataFrame:
    """folder/split.csv as a table (path, label, subset, group)."""
    path = Path(folder) / SPLIT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no split (build it with helpers.pipeline.ensure_split)")
    return pd.read_csv(path)


OFFICIAL_SUBSETS = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}


def official_split_of(raw_dir: Path, clean_dir: Path) -> pd.DataFrame:
    """FER-2013's own split of a clean folder (path, label, subset), from raw/usage.csv.

    usage.csv names raw files; the cleaning manifest maps each raw file to its clean output, so
    an image rejected by cleaning has no row. Training -> train, PublicTest -> val (the public
    leaderboard), PrivateTest -> test (the final ranking).
    """
    from helpers import clean, fer  # fer and clean import nothing of this module

    usage_file = Path(raw_dir) / fer.USAGE_FILE
    if not usage_file.is_file():
        raise FileNotFoundError(f"{usage_file}: no official split (only FER-2013 sources have one)")
    usage = pd.read_csv(usage_file)[["file", "usage"]]
    manifest = clean.read_manifest(Path(clean_dir))
    kept = manifest.loc[manifest["status"] == "kept", ["source", "class", "output"]]
    joined = usage.merge(
        kept, left_on="file", right_on="source", how="inner", validate="one_to_one"
    )
    frame = pd.DataFrame(
        {
            "path": joined["output"].to_numpy(),
            "label": joined["class"].to_numpy(),
            "subset": joined["usage"].map(OFFICIAL_SUBSETS).to_numpy(),
        }
    )
    return frame.sort_values("path", ignore_index=True)


# --------------------------------------------------------------------------- tf.data pipelines


def decode_and_resize(path: tf.Tensor | str | Path, size: int) -> tf.Tensor:
    """Read, decode to RGB and resize to (size, size, 3) float32 in [0, 255], like Keras's loader."""
    import tensorflow as tf

    if isinstance(path, str | Path):  # a file named from Python: check it and say what is wrong
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such image file")
        try:
            return _decode_and_resize(tf.constant(str(path)), size)
        except tf.errors.InvalidArgumentError as error:
            reason = error.message.splitlines()[0]
            raise ValueError(f"{path}: cannot be decoded as an image ({reason})") from None
    return _decode_and_resize(path, size)


def _decode_and_resize(path: tf.Tensor, size: int) -> tf.Tensor:
    """The decoding and the one resize (bilinear, aspect ratio not kept), on a path tensor."""
    import tensorflow as tf

    data = tf.io.read_file(path)
    image = tf.image.decode_image(data, channels=3, expand_animations=False)
    image = tf.image.resize(image, (size, size), method="bilinear")
    image.set_shape((size, size, 3))
    return image


@dataclass
class Datasets:
    """The three pipelines of one split, with the class names their integer labels follow."""

    train: tf.data.Dataset
    val: tf.data.Dataset
    test: tf.data.Dataset
    class_names: list[str]
    frame: pd.DataFrame
    streamed: bool = False  # True: read from TFRecord shards on disk; False: cached in memory


def pipeline(
    paths: Sequence[str],
    labels: Sequence[int],
    size: int,
    batch_size: int,
    shuffle_seed: int | None = None,
) -> tf.data.Dataset:
    """Decode once, cache, shuffle (train only: give a seed), batch and prefetch."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(
        (tf.constant(list(paths), tf.string), tf.constant(list(labels), tf.int32))
    )
    load = tf.autograph.experimental.do_not_convert(lambda p, y: (_decode_and_resize(p, size), y))
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(paths), seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


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
    from helpers import shards

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
            built[subset] = pipeline(paths, labels, size, batch_size, shuffle_seed=shuffle_seed)
    return Datasets(class_names=class_names, frame=frame, streamed=stream, **built)


# --------------------------------------------------------------------------- the original's leak


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
