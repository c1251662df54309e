"""Streaming from TFRecord shards: the split's images, in the cached pipeline's order, chosen by size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_split import fake_keys, write_images

import helpers  # noqa: F401  (quietens TensorFlow before it is imported)
from helpers import datasets, images, shards, split
from helpers.taught import cached_pipeline

SIZE, BATCH, SEED = 8, 5, 3


@pytest.fixture
def clean_dir(tmp_path: Path) -> Path:
    """A clean folder of 24 happy and 18 sad noise images (all different), under tmp_path/clean."""
    root = tmp_path / "clean"
    write_images(root / "happy", 24, seed=11)
    write_images(root / "sad", 18, seed=12)
    return root


@pytest.fixture
def frame(clean_dir: Path) -> pd.DataFrame:
    """The clean folder's split table."""
    return split.split_frame(clean_dir, seed=SEED, keys=fake_keys)


def rows_of(frame: pd.DataFrame, clean_dir: Path, subset: str) -> tuple[list[str], list[int]]:
    """One subset's file paths and integer labels (sorted class names), in split.csv's order."""
    rows = frame[frame["subset"] == subset]
    names = sorted(frame["label"].unique())
    return [str(clean_dir / p) for p in rows["path"]], [names.index(x) for x in rows["label"]]


def one_pass(dataset: object) -> list[np.ndarray]:
    """One iteration over a batched dataset, each component concatenated over the batches."""
    batches = [[np.asarray(part) for part in batch] for batch in dataset]
    return [np.concatenate(parts) for parts in zip(*batches, strict=True)]


def keys_of(dataset: object) -> list[str]:
    """The keys one pass over a dataset built with keys=True yields, in order."""
    return [key.decode("utf-8") for key in one_pass(dataset)[2]]


def test_streamed_subsets_are_the_cached_ones_rounded(frame: pd.DataFrame, clean_dir: Path) -> None:
    cached = datasets.datasets_from_frame(frame, clean_dir, SIZE, BATCH, SEED, stream=False)
    streamed = datasets.datasets_from_frame(frame, clean_dir, SIZE, BATCH, SEED, stream=True)
    assert (cached.streamed, streamed.streamed) == (False, True)
    assert streamed.class_names == cached.class_names
    for subset in split.SUBSETS:
        assert (clean_dir.parent / "shards" / str(SIZE) / subset / shards.INDEX_FILE).is_file()
        for epoch in range(2):  # the training set is reshuffled: both follow the same orders
            images, labels = one_pass(getattr(streamed, subset))
            expected, expected_labels = one_pass(getattr(cached, subset))
            assert images.dtype == np.float32 and labels.dtype == np.int32, subset
            assert images.shape == expected.shape == (len(labels), SIZE, SIZE, 3)
            np.testing.assert_array_equal(labels, expected_labels, err_msg=f"{subset} {epoch}")
            assert np.abs(images - expected).max() <= 0.5, f"{subset}, epoch {epoch}"
            np.testing.assert_array_equal(images, np.round(expected))


def test_streams_yield_the_split_rows_over_several_shards(
    frame: pd.DataFrame, clean_dir: Path, tmp_path: Path
) -> None:
    for subset in ("val", "test"):
        paths, labels = rows_of(frame, clean_dir, subset)
        folder = shards.write_shards(paths, labels, SIZE, tmp_path / subset, images_per_shard=2)
        assert len(list(folder.glob("shard-*.tfrecord"))) == -(-len(paths) // 2)
        _, got_labels, got_keys = one_pass(shards.stream_pipeline(folder, BATCH, keys=True))
        rows = frame[frame["subset"] == subset]
        assert [k.decode() for k in got_keys] == list(rows["path"])
        assert got_labels.tolist() == labels


def test_training_order_is_the_cached_shuffle_reproduced(
    frame: pd.DataFrame, clean_dir: Path, tmp_path: Path
) -> None:
    paths, labels = rows_of(frame, clean_dir, "train")
    folder = shards.write_shards(paths, labels, SIZE, tmp_path / "train", images_per_shard=6)
    assert len(list(folder.glob("shard-*.tfrecord"))) == 5  # 28 images
    cached = cached_pipeline(paths, labels, SIZE, BATCH, shuffle_seed=SEED)
    streamed = shards.stream_pipeline(folder, BATCH, shuffle_seed=SEED, keys=True)
    epochs = []
    for _ in range(3):
        images, got_labels, keys = one_pass(streamed)
        expected, expected_labels = one_pass(cached)
        assert np.abs(images - expected).max() <= 0.5  # the images are all different
        np.testing.assert_array_equal(got_labels, expected_labels)
        epochs.append([key.decode() for key in keys])
    train_keys = sorted(frame.loc[frame["subset"] == "train", "path"])
    assert all(sorted(epoch) == train_keys for epoch in epochs)  # each a permutation of the rows
    assert epochs[0] != epochs[1] != epochs[2]
    rebuilt = shards.stream_pipeline(folder, BATCH, shuffle_seed=SEED, keys=True)
    assert [keys_of(rebuilt) for _ in range(3)] == epochs  # a second build: the same sequence
    other = shards.stream_pipeline(folder, BATCH, shuffle_seed=SEED + 1, keys=True)
    assert keys_of(other) != epochs[0]


def test_the_pipelines_stream_by_themselves_above_the_cache_limit(
    frame: pd.DataFrame,
    clean_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    need = datasets.cache_bytes(len(frame), SIZE)
    assert need == len(frame) * SIZE * SIZE * 3 * 4
    monkeypatch.delenv(datasets.CACHE_LIMIT_ENV, raising=False)
    assert not datasets.datasets_from_frame(frame, clean_dir, SIZE, BATCH, SEED).streamed
    monkeypatch.setenv(
        datasets.CACHE_LIMIT_ENV, str(need / 2**20)
    )  # exactly the need: still cached
    assert not datasets.datasets_from_frame(frame, clean_dir, SIZE, BATCH, SEED).streamed
    assert capsys.readouterr().out == ""
    assert not (clean_dir.parent / "shards").exists()
    monkeypatch.setenv(datasets.CACHE_LIMIT_ENV, str((need - 1024) / 2**20))
    data = datasets.datasets_from_frame(frame, clean_dir, SIZE, BATCH, SEED)
    assert data.streamed
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and line.startswith("streaming:")
    assert f"caching {len(frame)} images at {SIZE} px" in line
    assert datasets.CACHE_LIMIT_ENV in line and str(clean_dir.parent / "shards" / str(SIZE)) in line
    assert sum(len(y) for _, y in data.train) == (frame["subset"] == "train").sum()


def test_the_cache_limit_is_a_quarter_of_memory_up_to_4_gib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(datasets.CACHE_LIMIT_ENV, raising=False)
    for memory, limit in ((8 * 2**30, 2 * 2**30), (64 * 2**30, 4 * 2**30), (None, 4 * 2**30)):
        monkeypatch.setattr(datasets, "physical_memory_bytes", lambda memory=memory: memory)
        assert datasets.cache_limit_bytes() == limit
    monkeypatch.setenv(datasets.CACHE_LIMIT_ENV, "1.5")
    assert datasets.cache_limit_bytes() == 3 * 2**19
    for bad in ("lots", "-1", "inf"):
        monkeypatch.setenv(datasets.CACHE_LIMIT_ENV, bad)
        with pytest.raises(ValueError, match="must be a number of megabytes"):
            datasets.cache_limit_bytes()


def times(folder: Path) -> dict[str, int]:
    """Each file's modification time in a folder: unchanged means not rewritten."""
    return {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}


def test_shards_are_rebuilt_when_the_files_change_and_reused_otherwise(
    frame: pd.DataFrame, clean_dir: Path, tmp_path: Path
) -> None:
    paths, labels = rows_of(frame, clean_dir, "val")
    target = tmp_path / "shards" / "val"
    folder = shards.write_shards(paths, labels, SIZE, target, root=clean_dir)
    before = times(folder)
    assert shards.write_shards(paths, labels, SIZE, target, root=clean_dir) == folder
    assert times(folder) == before  # reused
    write_images(tmp_path / "new", 1, seed=99)  # one file rewritten with other pixels
    Path(paths[0]).write_bytes((tmp_path / "new" / "img000.png").read_bytes())
    shards.write_shards(paths, labels, SIZE, target, root=clean_dir)
    assert times(folder) != before
    first = one_pass(shards.stream_pipeline(folder, BATCH))[0][0]
    assert np.abs(first - images.decode_and_resize(paths[0], SIZE).numpy()).max() <= 0.5
    changes = {
        "a file fewer": (paths[1:], labels[1:]),
        "another order": (paths[::-1], labels[::-1]),
        "other labels": (paths[::-1], [1 - y for y in labels[::-1]]),
    }
    for change, (new_paths, new_labels) in changes.items():
        before = times(folder)
        shards.write_shards(new_paths, new_labels, SIZE, target, root=clean_dir)
        assert times(folder) != before, change
        _, got_labels, keys = one_pass(shards.stream_pipeline(folder, BATCH, keys=True))
        expected = [Path(p).relative_to(clean_dir).as_posix() for p in new_paths]
        assert [k.decode() for k in keys] == expected and got_labels.tolist() == new_labels
    assert list(target.parent.iterdir()) == [folder]  # no staging folder left behind


def test_damaged_shards_are_clear_errors(
    frame: pd.DataFrame, clean_dir: Path, tmp_path: Path
) -> None:
    import tensorflow as tf

    paths, labels = rows_of(frame, clean_dir, "train")
    with pytest.raises(FileNotFoundError, match="no shards"):
        shards.stream_pipeline(tmp_path / "nothing", BATCH)
    folder = shards.write_shards(paths, labels, SIZE, tmp_path / "train", images_per_shard=10)
    shard = folder / shards.shard_name(1)
    data = shard.read_bytes()
    shard.write_bytes(data[:-100])  # truncated
    with pytest.raises(
        ValueError, match=r"shard-00001\.tfrecord is \d+ bytes where its index says"
    ):
        shards.stream_pipeline(folder, BATCH)
    shard.unlink()
    with pytest.raises(ValueError, match=r"shard-00001\.tfrecord is missing.*delete .*train"):
        shards.stream_pipeline(folder, BATCH)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # same size, one byte changed: TFRecord's checksum finds it
    shard.write_bytes(bytes(flipped))
    with pytest.raises(tf.errors.DataLossError, match="corrupted record"):
        one_pass(shards.stream_pipeline(folder, BATCH, shuffle_seed=SEED))


def test_write_shards_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no images"):
        shards.write_shards([], [], SIZE, tmp_path / "s")
    with pytest.raises(ValueError, match="2 paths but 1 labels"):
        shards.write_shards(["a.png", "b.png"], [0], SIZE, tmp_path / "s")
