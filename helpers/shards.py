"""Decoded images on disk, for data larger than memory: TFRecord shards, streamed in the cached order.

The cached pipeline (chapter 3's `cached_pipeline`, helpers.taught) decodes every image once and
keeps it in memory, size x size x 3 float32 (0.75 MB at 256 px). When that cache would not fit,
helpers.datasets.datasets_from_frame streams instead:

- `write_shards` decodes and resizes each image once, exactly as the cached pipeline does,
  rounds it to uint8 (a quarter of the bytes; every streamed pixel is within 0.5 of the cached
  one) and writes it with its key (the path relative to the clean folder) and label as one
  record of a TFRecord shard. An index (index.csv) gives each record's shard and byte offset.
  The folder is built once (helpers.store.build_once) and rebuilt when the files, their order
  or labels, the size or this module's format change.
- `stream_pipeline` reads the records back with parallel reads, parses them, batches and
  prefetches; memory holds a few batches, whatever the number of images.

The order is the cached pipeline's. That pipeline shuffles with `shuffle(n, seed)`, whose order
depends only on its seed, its buffer and the number of elements, never on what they are (see
helpers.leak.replay_order). The stream runs that same shuffle over the record numbers 0..n-1
(n int64 in memory, not n images) and reads each record at its offset in its shard, so the
training set comes in the same order as the cached one, epoch by epoch, for the same seed; the
validation and test sets come in split.csv's order, like theirs.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from helpers.images import decode_and_resize
from helpers.paths import shown
from helpers.store import atomic_save, build_once, files_digest, read_stamp

if TYPE_CHECKING:
    import tensorflow as tf

SHARD_VERSION = 1  # bump when the records, the index or the decoding change: shards are rebuilt
IMAGES_PER_SHARD = 256  # 48 MB shards at 256 px
PARALLEL_READS = 4  # records read at once (on a 2-core machine four read faster than one or two)
WRITE_AHEAD = 8  # decoded images waiting to be written
INDEX_FILE = "index.csv"
INDEX_COLUMNS: tuple[str, ...] = ("key", "label", "shard", "offset", "bytes")
# a TFRecord record on disk: 8-byte length, 4-byte CRC of the length, the data, 4-byte CRC of it
RECORD_FRAMING = 16


def shard_name(number: int) -> str:
    """The file name of shard `number`."""
    return f"shard-{number:05d}.tfrecord"


# --------------------------------------------------------------------------- writing


def rows_digest(keys: Sequence[str], labels: Sequence[int]) -> str:
    """SHA-256 over the (key, label) rows in order: the shards' order and labels, for the stamp."""
    digest = hashlib.sha256()
    for key, label in zip(keys, labels, strict=True):
        digest.update(f"{key}\t{int(label)}\n".encode())
    return digest.hexdigest()


def common_folder(paths: Sequence[Path]) -> Path:
    """The deepest folder holding every one of the paths."""
    return Path(os.path.commonpath([Path(p).parent for p in paths]))


def write_shards(
    paths: Sequence[str | Path],
    labels: Sequence[int],
    size: int,
    folder: Path,
    images_per_shard: int = IMAGES_PER_SHARD,
    root: Path | None = None,
) -> Path:
    """folder/: the images resized to size x size as uint8 TFRecord shards + index.csv, built once.

    Each record's key is its path relative to `root` (default: the folder the paths share).
    """
    if not paths:
        raise ValueError("no images to write into shards")
    if len(paths) != len(labels):
        raise ValueError(f"{len(paths)} paths but {len(labels)} labels")
    if images_per_shard < 1:
        raise ValueError(f"images_per_shard must be at least 1, got {images_per_shard}")
    files = [Path(p) for p in paths]
    root = Path(root) if root is not None else common_folder(files)
    keys = [path.relative_to(root).as_posix() for path in files]
    labels = [int(label) for label in labels]
    stamp = {
        "step": "shards",
        "version": SHARD_VERSION,
        "size": size,
        "images_per_shard": images_per_shard,
        "files": files_digest(files, root),
        "rows": rows_digest(keys, labels),
    }

    def build(dest: Path) -> None:
        write_records(dest, files, labels, keys, size, images_per_shard)

    return build_once(Path(folder), stamp, build)


def uint8_images(paths: Sequence[Path], size: int) -> Iterator[np.ndarray]:
    """Each image decoded and resized as the cached pipeline does, rounded to uint8, in order."""
    import tensorflow as tf

    def load(path: tf.Tensor) -> tf.Tensor:
        return tf.saturate_cast(tf.round(decode_and_resize(path, size)), tf.uint8)

    dataset = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    dataset = dataset.map(
        tf.autograph.experimental.do_not_convert(load), num_parallel_calls=tf.data.AUTOTUNE
    )
    # a fixed read-ahead: AUTOTUNE's grows over a long write (+200 MB over 20,000 images at 256 px)
    return dataset.prefetch(WRITE_AHEAD).as_numpy_iterator()


def serialize(image: np.ndarray, key: str, label: int) -> bytes:
    """One record: the uint8 pixels (raw bytes), the key and the label, as a tf.train.Example."""
    import tensorflow as tf

    feature = {
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.tobytes()])),
        "key": tf.train.Feature(bytes_list=tf.train.BytesList(value=[key.encode("utf-8")])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_shard(path: Path, records: Iterable[bytes]) -> list[int]:
    """Write records into one TFRecord file; the bytes each takes on disk, checked against its size."""
    import tensorflow as tf

    sizes = []

    def save(temporary: Path) -> None:
        with tf.io.TFRecordWriter(str(temporary)) as writer:
            for record in records:
                writer.write(record)
                sizes.append(len(record) + RECORD_FRAMING)
        if temporary.stat().st_size != sum(sizes):  # the index's offsets would be wrong
            raise RuntimeError(f"{path.name}: TFRecord wrote an unexpected layout")

    atomic_save(path, save)
    return sizes


def serialized(
    rows: Iterable[tuple[np.ndarray, str, int]], names: list[tuple[str, int]]
) -> Iterator[bytes]:
    """Each (image, key, label) row as a record, noting its key and label in `names` on the way."""
    for image, key, label in rows:
        names.append((key, label))
        yield serialize(image, key, label)


def write_records(
    dest: Path,
    paths: Sequence[Path],
    labels: Sequence[int],
    keys: Sequence[str],
    size: int,
    images_per_shard: int,
) -> None:
    """Fill dest with the shards and their index, one decoded image in memory at a time."""
    rows = zip(uint8_images(paths, size), keys, labels, strict=True)
    index: list[tuple[str, int, int, int, int]] = []
    for number in itertools.count():
        first = next(rows, None)
        if first is None:
            break
        chunk = itertools.chain([first], itertools.islice(rows, images_per_shard - 1))
        names: list[tuple[str, int]] = []  # (key, label) of each record, as it is written
        sizes = write_shard(dest / shard_name(number), serialized(chunk, names))
        offsets = np.cumsum([0, *sizes[:-1]])
        for (key, label), offset, length in zip(names, offsets, sizes, strict=True):
            index.append((key, label, number, int(offset), length))
    frame = pd.DataFrame(index, columns=list(INDEX_COLUMNS))
    atomic_save(dest / INDEX_FILE, lambda path: frame.to_csv(path, index=False))


# --------------------------------------------------------------------------- reading


def read_index(folder: Path) -> pd.DataFrame:
    """A shard folder's index (key, label, shard, offset, bytes), after checking its shards' sizes."""
    folder = Path(folder)
    stamp = read_stamp(folder)
    if not stamp or stamp.get("step") != "shards" or not (folder / INDEX_FILE).is_file():
        raise FileNotFoundError(f"{shown(folder)}: no shards (write them with write_shards)")
    if stamp.get("version") != SHARD_VERSION:
        raise ValueError(
            f"{shown(folder)}: shards of format {stamp.get('version')}, this code reads "
            f"{SHARD_VERSION}: write them again with write_shards"
        )
    index = pd.read_csv(folder / INDEX_FILE, dtype={"key": str}, keep_default_na=False)
    check_shard_sizes(folder, index)
    return index


def check_shard_sizes(folder: Path, index: pd.DataFrame) -> None:
    """Refuse shards that are missing or not the size their index says (truncated, or appended to)."""
    expected = (index["offset"] + index["bytes"]).groupby(index["shard"]).max()
    for number, wanted in expected.items():
        path = folder / shard_name(int(number))
        found = path.stat().st_size if path.is_file() else None
        if found != wanted:
            what = "missing" if found is None else f"{found} bytes where its index says {wanted}"
            raise ValueError(
                f"{shown(path)} is {what}: the shards are damaged; delete {shown(folder)} "
                "and run again to have them written anew"
            )


def image_size(folder: Path) -> int:
    """The side of the images in a shard folder, from its stamp."""
    return int(read_stamp(Path(folder))["size"])


def record_at(filename: tf.Tensor, offset: tf.Tensor) -> tf.data.Dataset:
    """The one record that starts at byte `offset` of a TFRecord file (TensorFlow checks its CRCs).

    tf.data.TFRecordDataset reads files from their start; the op under it takes a byte offset.
    """
    import tensorflow as tf

    variant = tf.raw_ops.TFRecordDatasetV2(
        filenames=filename, compression_type="", buffer_size=0, byte_offsets=offset
    )
    return tf.data.experimental.from_variant(variant, tf.TensorSpec([], tf.string)).take(1)


def parse_record(record: tf.Tensor, size: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """A record's image (float32 in [0, 255], like the cached pipeline's), label (int32) and key."""
    import tensorflow as tf

    features = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "key": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
    }
    fields = tf.io.parse_single_example(record, features)
    image = tf.reshape(tf.io.decode_raw(fields["image"], tf.uint8), (size, size, 3))
    return tf.cast(image, tf.float32), tf.cast(fields["label"], tf.int32), fields["key"]


def stream_pipeline(
    folder: Path,
    batch_size: int,
    shuffle_seed: int | None = None,
    num_parallel_reads: int = PARALLEL_READS,
    keys: bool = False,
) -> tf.data.Dataset:
    """Read the shards in the cached pipeline's order (shuffled like it with a seed), batch, prefetch.

    Yields (images, labels) batches, or (images, labels, keys) with `keys`.
    """
    import tensorflow as tf

    folder = Path(folder)
    index = read_index(folder)
    size, count = image_size(folder), len(index)
    files = tf.constant([str(folder / shard_name(n)) for n in range(int(index["shard"].max()) + 1)])
    shard_of = tf.constant(index["shard"].to_numpy(np.int64))
    offset_of = tf.constant(index["offset"].to_numpy(np.int64))
    order = tf.data.Dataset.range(count)
    if shuffle_seed is not None:  # the cached pipeline's call, on record numbers instead of images
        order = order.shuffle(count, seed=shuffle_seed, reshuffle_each_iteration=True)
    records = order.interleave(
        lambda i: record_at(tf.gather(files, shard_of[i]), offset_of[i]),
        cycle_length=num_parallel_reads,
        num_parallel_calls=num_parallel_reads,
        deterministic=True,
    )
    # a record that cannot be read would otherwise just be missing: fail instead
    records = records.apply(tf.data.experimental.assert_cardinality(count))

    def parse(record: tf.Tensor) -> tuple[tf.Tensor, ...]:
        image, label, key = parse_record(record, size)
        return (image, label, key) if keys else (image, label)

    records = records.map(
        tf.autograph.experimental.do_not_convert(parse), num_parallel_calls=tf.data.AUTOTUNE
    )
    return records.batch(batch_size).prefetch(tf.data.AUTOTUNE)
