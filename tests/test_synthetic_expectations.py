"""What is true of the synthetic faces, checked here rather than asserted in the chapters.

The chapters state these results in prose computed from their run, with wording for either
outcome, because a reader's photos may behave otherwise. On the book's own generator they are
expected to hold, and a change to the generator that breaks one should be noticed: these tests
build a small synthetic data set the way the book does and check each expectation on it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedKFold, cross_val_predict

import helpers  # noqa: F401  (quietens TensorFlow before Keras is imported)
from helpers import clean, images, leak, pipeline, profiles, split
from helpers.taught import linear_baseline, thumbnails


@pytest.fixture(scope="module")
def synthetic_clean(tmp_path_factory: pytest.TempPathFactory):
    """A small synthetic profile's clean folder and manifest, built as chapter 1 builds them."""
    root = tmp_path_factory.mktemp("synthetic")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(profiles, "data_dir", lambda name: root / "data" / name)
        patch.setattr(profiles, "artifacts_dir", lambda name: root / "artifacts" / name)
        profile = dataclasses.replace(profiles.get_profile("smoke", "synthetic"), name="expect")
        clean_dir = pipeline.ensure_clean(profile)
        yield profile, clean_dir, clean.read_manifest(clean_dir)


def test_cleaning_refuses_between_a_twentieth_and_a_third_of_the_downloads(synthetic_clean) -> None:
    _, _, manifest = synthetic_clean
    refused = float(np.mean(manifest["status"] != clean.KEPT))
    assert 0.05 < refused < 0.30, refused  # chapter 1 compares this share with the original's


def test_kept_images_are_distinct_pictures_by_their_hashes(synthetic_clean) -> None:
    _, clean_dir, manifest = synthetic_clean
    kept = manifest[manifest["status"] == clean.KEPT]
    hashes = [images.perceptual_hash(images.load_rgb(clean_dir / out)) for out in kept["output"]]
    between = images.pairwise_distances(hashes)
    assert between.min() > clean.NEAR_THRESHOLD
    assert 26 <= np.median(between) <= 38  # unrelated pictures: about half of the 64 bits differ


def test_the_classes_look_alike_to_pixel_statistics_and_a_linear_model(synthetic_clean) -> None:
    profile, clean_dir, _ = synthetic_clean
    data = keras.utils.image_dataset_from_directory(
        clean_dir, image_size=(profile.image_size,) * 2, shuffle=False, verbose=False
    )
    X = np.concatenate([thumbnails(images) for images, _ in data])
    y = np.concatenate([labels.numpy() for _, labels in data])
    means = [X[y == label].mean(axis=0) for label in (0, 1)]
    assert np.abs(means[0] - means[1]).max() < 0.25  # chapter 2: the mean faces
    coords = PCA(n_components=20, random_state=profile.seed).fit_transform(X)[:, :2]
    centres = [coords[y == label].mean(axis=0) for label in (0, 1)]
    spread = np.sqrt(np.mean([coords[y == label].var(axis=0).sum() for label in (0, 1)]))
    assert np.linalg.norm(centres[0] - centres[1]) / spread < 0.5  # the PCA map does not separate
    folds = StratifiedKFold(5, shuffle=True, random_state=profile.seed)
    accuracy = np.mean(cross_val_predict(linear_baseline(), X, y, cv=folds) == y)
    assert accuracy < 0.8  # whole thumbnails: far from a useful classifier


def test_the_originals_split_leaks_on_the_generated_faces(synthetic_clean) -> None:
    profile, clean_dir, _ = synthetic_clean
    images_count = len(split.list_images(clean_dir))
    report = leak.count_leak(
        clean_dir,
        batch_size=leak.leak_batch_size(images_count),
        image_size=profile.image_size,
        epochs=profile.epochs,
        seed=profile.seed,
    )
    assert 0 < report.test_in_train <= report.test_in_train_any_epoch <= report.test_images
    assert report.val_in_train > 0


def test_expectations_are_built_where_the_test_put_them(synthetic_clean) -> None:
    profile, clean_dir, _ = synthetic_clean
    assert not Path(clean_dir).is_relative_to(helpers.ROOT) and profile.generated
