"""The split (helpers.split, chapter 3's assign), its pipelines (helpers.datasets), the leak (helpers.leak)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import datasets, images, leak, split
from helpers.taught import assign, subset_targets


def write_images(folder: Path, count: int, seed: int, size: int = 12) -> list[Path]:
    """Random-noise PNGs (all different) in one class folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        pixels = rng.integers(0, 256, size=(size, size + index % 3, 3), dtype=np.uint8)
        path = folder / f"img{index:03d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def fake_keys(clean_dir: Path, frame: pd.DataFrame) -> tuple[list[str], list[int]]:
    """Content keys: the file's bytes for exact duplicates; random, far-apart perceptual hashes."""
    exact = [split.file_digest(clean_dir / rel) for rel in frame["path"]]
    rng = np.random.default_rng(len(frame))
    hashes = [int(h) for h in rng.integers(0, 2**63, size=len(frame), dtype=np.int64)]
    for i, a in enumerate(hashes):  # no two closer than the near-duplicate net
        assert all((a ^ b).bit_count() > images.NEAR_DUPLICATE_BITS for b in hashes[i + 1 :])
    return exact, hashes


@pytest.fixture
def clean_dir(tmp_path: Path) -> Path:
    """A clean folder: 23 happy and 17 sad noise images."""
    root = tmp_path / "clean"
    write_images(root / "happy", 23, seed=1)
    write_images(root / "sad", 17, seed=2)
    return root


def test_subsets_are_disjoint_and_cover_every_file(clean_dir: Path) -> None:
    frame = split.split_frame(clean_dir, seed=3, keys=fake_keys)
    assert frame["path"].is_unique
    assert set(frame["path"]) == {f"{p.parent.name}/{p.name}" for p in clean_dir.glob("*/*.png")}
    assert set(frame["subset"]) == set(split.SUBSETS)
    assert list(frame.columns) == list(split.COLUMNS)


def test_classes_are_stratified_within_one_image(clean_dir: Path) -> None:
    frame = split.split_frame(clean_dir, fractions=(0.6, 0.2, 0.2), seed=3, keys=fake_keys)
    for label, rows in frame.groupby("label"):
        counts = rows["subset"].value_counts()
        for subset, fraction in zip(split.SUBSETS, (0.6, 0.2, 0.2), strict=True):
            assert abs(counts.get(subset, 0) - fraction * len(rows)) <= 1, (label, subset)


def test_split_depends_on_seed_only(clean_dir: Path) -> None:
    first = split.split_frame(clean_dir, seed=3, keys=fake_keys)
    again = split.split_frame(clean_dir, seed=3, keys=fake_keys)
    other = split.split_frame(clean_dir, seed=4, keys=fake_keys)
    pd.testing.assert_frame_equal(first, again)
    assert not first["subset"].equals(other["subset"])


def test_exact_duplicates_stay_in_one_subset(clean_dir: Path) -> None:
    originals = sorted((clean_dir / "happy").glob("*.png"))[:4]
    for index, original in enumerate(originals):
        for copy in range(3):
            shutil.copy(original, clean_dir / "happy" / f"copy{index}_{copy}.png")
    frame = split.split_frame(clean_dir, seed=5, keys=fake_keys)
    spans = frame.groupby("group")["subset"].nunique()
    assert spans.max() == 1
    assert frame.groupby("group").size().max() == 4  # each original and its three copies


def test_near_duplicate_hashes_are_grouped_transitively() -> None:
    exact = ["a", "b", "c", "d", "a"]
    hashes = [0b0, 0b111, 0b111111, 0xFFFF_0000_0000_0000, 0xFFFF]
    groups = images.duplicate_groups(exact, hashes, max_bits=3)
    # 0 ~ 0b111 (3 bits) ~ 0b111111 (3 bits); row 4 shares row 0's exact key; row 3 is alone
    assert groups[0] == groups[1] == groups[2] == groups[4]
    assert groups[3] != groups[0]


def test_group_spanning_classes_stays_together(tmp_path: Path) -> None:
    root = tmp_path / "clean"
    write_images(root / "happy", 10, seed=1)
    write_images(root / "sad", 10, seed=2)
    shutil.copy(root / "happy" / "img000.png", root / "sad" / "same_as_happy.png")
    frame = split.split_frame(root, seed=1, keys=fake_keys)
    shared = frame[frame["path"].isin(["happy/img000.png", "sad/same_as_happy.png"])]
    assert shared["group"].nunique() == 1
    assert shared["subset"].nunique() == 1


def test_a_group_belongs_to_the_class_of_most_of_its_files_and_ties_go_to_the_first_name() -> None:
    """Each class's groups (by that rule) fill exactly its targets: a group counts for its owner."""
    labels = ["happy"] * 12 + ["sad"] * 11
    groups = list(range(20)) + [20, 20, 20]  # 20 single files, then one group of three
    labels[20:23] = ["sad", "happy", "sad"]  # two sad, one happy: a sad group
    labels[18:20], groups[18:20] = ["happy", "sad"], [19, 19]  # one of each: a tie, so happy's
    files = pd.DataFrame({"path": [f"f{i}" for i in range(23)], "label": labels})
    owner = {g: "happy" for g in range(20)} | {20: "sad"}
    owner.update({g: labels[g] for g in range(18)})
    fractions = dict(zip(split.SUBSETS, split.DEFAULT_FRACTIONS, strict=True))
    subsets = assign(files, np.array(groups), fractions, seed=2)
    for label in ("happy", "sad"):
        mine = [owner[g] == label for g in groups]
        counts = subsets[mine].value_counts().reindex(split.SUBSETS, fill_value=0).to_numpy()
        targets = subset_targets(sum(mine), split.DEFAULT_FRACTIONS)
        np.testing.assert_array_equal(counts, targets, err_msg=label)
    assert subsets.groupby(np.array(groups)).nunique().max() == 1  # groups stay whole


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({}, "holds no images"),
        ({"happy": 5}, "one class only"),
        ({"happy": 5, "sad": 2}, "fewer images than the 3 subsets"),
    ],
)
def test_bad_folders_are_clear_errors(tmp_path: Path, layout: dict[str, int], message: str) -> None:
    root = tmp_path / "clean"
    root.mkdir()
    for label, count in layout.items():
        write_images(root / label, count, seed=count)
    with pytest.raises(ValueError, match=message):
        split.split_frame(root, keys=fake_keys)


def test_missing_folder_and_bad_fractions_are_clear_errors(clean_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        split.split_frame(tmp_path / "nowhere", keys=fake_keys)
    with pytest.raises(ValueError, match="add up to 1"):
        split.split_frame(clean_dir, fractions=(0.7, 0.2, 0.2), keys=fake_keys)
    with pytest.raises(ValueError, match="three positive numbers"):
        split.split_frame(clean_dir, fractions=(0.8, 0.2), keys=fake_keys)


def test_subset_targets_add_up_and_give_each_subset_an_image() -> None:
    fractions = np.array([0.7, 0.15, 0.15])
    for count in range(3, 60):
        targets = subset_targets(count, fractions)
        assert targets.sum() == count and targets.min() >= 1
        if count >= 7:  # large enough for 15% to round to at least one image
            assert np.abs(targets - fractions * count).max() < 1


def test_real_keys_group_a_resized_copy_with_its_original(clean_dir: Path) -> None:
    original = clean_dir / "sad" / "img004.png"
    with Image.open(original) as image:  # the same picture, four times larger
        image.resize((image.width * 4, image.height * 4), Image.BILINEAR).save(
            clean_dir / "sad" / "bigger_copy.png"
        )
    frame = split.split_frame(clean_dir, seed=3)
    pair = frame[frame["path"].isin(["sad/img004.png", "sad/bigger_copy.png"])]
    assert pair["group"].nunique() == 1 and pair["subset"].nunique() == 1
    assert frame["group"].nunique() == len(frame) - 1  # noise images are never near each other


# --------------------------------------------------------------------------- pipelines


def test_decode_and_resize_matches_keras_loader(clean_dir: Path) -> None:
    import keras

    data = keras.utils.image_dataset_from_directory(
        clean_dir, image_size=(9, 9), batch_size=64, shuffle=False, verbose=False
    )
    loaded, _ = next(iter(data))
    for index, path in enumerate(data.file_paths[:5]):
        ours = images.decode_and_resize(path, 9).numpy()
        assert ours.dtype == np.float32 and ours.shape == (9, 9, 3)
        np.testing.assert_array_equal(ours, loaded[index].numpy())
    assert data.class_names == ["happy", "sad"]


def test_decode_and_resize_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such image file"):
        images.decode_and_resize(str(tmp_path / "absent.png"), 8)
    broken = tmp_path / "page.png"
    broken.write_text("<html>not a picture</html>")
    with pytest.raises(ValueError, match="page.png: cannot be decoded as an image"):
        images.decode_and_resize(broken, 8)


def test_datasets_follow_the_split(clean_dir: Path) -> None:
    frame = split.split_frame(clean_dir, seed=3, keys=fake_keys)
    built = datasets.datasets_from_frame(frame, clean_dir, size=8, batch_size=5, seed=3)
    assert built.class_names == ["happy", "sad"]
    for subset in split.SUBSETS:
        dataset = getattr(built, subset)
        labels = np.concatenate([y.numpy() for _, y in dataset])
        images = np.concatenate([x.numpy() for x, _ in dataset])
        rows = frame[frame["subset"] == subset]
        assert labels.dtype == np.int32
        assert sorted(labels.tolist()) == sorted((rows["label"] == "sad").astype(int).tolist())
        assert images.shape == (len(rows), 8, 8, 3) and images.dtype == np.float32
        assert 0 <= images.min() and images.max() <= 255 and images.max() > 1
    first = np.concatenate([y.numpy() for _, y in built.test])
    second = np.concatenate([y.numpy() for _, y in built.test])
    np.testing.assert_array_equal(first, second)  # evaluation order never changes


def test_pipelines_are_disjoint_by_pixels_and_only_training_reshuffles(clean_dir: Path) -> None:
    """What chapter 3 once asserted on the book's data: checked by content, as the leak is counted."""
    frame = split.split_frame(clean_dir, seed=3, keys=fake_keys)
    built = datasets.datasets_from_frame(frame, clean_dir, size=8, batch_size=5, seed=3)
    keys = {name: leak.image_keys(getattr(built, name)) for name in split.SUBSETS}
    for name in split.SUBSETS:
        assert len(keys[name]) == len(set(keys[name])) == (frame["subset"] == name).sum()
    assert not set(keys["train"]) & set(keys["val"])
    assert not set(keys["train"]) & set(keys["test"]) and not set(keys["val"]) & set(keys["test"])
    assert leak.image_keys(built.val) == keys["val"] and leak.image_keys(built.test) == keys["test"]
    again = leak.image_keys(built.train)
    assert sorted(again) == sorted(keys["train"]) and again != keys["train"]  # same, reordered


# --------------------------------------------------------------------------- the leak


@pytest.fixture
def leak_dir(tmp_path: Path) -> Path:
    """40 different images: 10 batches of 4, so take/skip gives 7/2/1 batches like the original."""
    root = tmp_path / "leak"
    write_images(root / "happy", 20, seed=7, size=6)
    write_images(root / "sad", 20, seed=8, size=6)
    return root


def test_no_leak_without_shuffling(leak_dir: Path) -> None:
    report = leak.count_leak(leak_dir, batch_size=4, image_size=6, epochs=3, shuffle=False)
    assert (report.images, report.batches) == (40, 10)
    assert (report.train_batches, report.val_batches, report.test_batches) == (7, 2, 1)
    assert report.test_images == 4
    assert report.test_in_train == report.test_in_train_any_epoch == report.val_in_train == 0
    assert report.distinct_in_test_passes == 4


def test_reshuffling_leaks_test_images_into_training(leak_dir: Path) -> None:
    report = leak.count_leak(leak_dir, batch_size=4, image_size=6, epochs=20, seed=1)
    assert report.test_images == 4
    assert report.test_in_train <= report.test_in_train_any_epoch <= report.test_images
    # twenty passes over 28 of 40 reshuffled images see practically every image
    assert report.test_in_train_any_epoch == report.test_images
    assert report.distinct_in_test_passes > report.test_images  # "test" changes between passes


def test_replaying_the_shuffle_on_paths_gives_the_decoded_pipelines_order(leak_dir: Path) -> None:
    """count_leak replays the loader's shuffle on file paths: same files, same order, every pass."""
    import keras

    keras.utils.set_random_seed(3)
    data = leak.original_pipeline(leak_dir, image_size=6, batch_size=4, seed=5)
    replay = leak.replay_order(data.file_paths, batch_size=4, seed=5)
    datasets = {"decoded": (data.take(7), data.skip(7).take(2), data.skip(9).take(1))}
    datasets["replayed"] = (replay.take(7), replay.skip(7).take(2), replay.skip(9).take(1))
    passes = {}
    for name, (train, val, test) in datasets.items():
        keys = leak.image_keys if name == "decoded" else leak.path_keys
        passes[name] = [keys(train), keys(train), keys(val), keys(test)]
    # the loader's pixels of each file (the same decoding, chapter 2 checks), hashed like image_keys
    hash_of = {
        path: leak.image_keys([(images.decode_and_resize(path, 6).numpy()[None] / 255, None)])[0]
        for path in data.file_paths
    }
    assert len(set(hash_of.values())) == len(hash_of)  # 40 different images
    replayed = [[hash_of[path] for path in one_pass] for one_pass in passes["replayed"]]
    assert replayed == passes["decoded"]
    assert passes["replayed"][0] != passes["replayed"][1]  # a new order every pass


def test_leak_batch_size_gives_ten_batches() -> None:
    assert leak.leak_batch_size(303) == 32
    assert leak.leak_batch_size(80) == 8
    assert leak.leak_batch_size(5) == 1


# --------------------------------------------------------------------------- test-set size
