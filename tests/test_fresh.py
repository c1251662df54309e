"""helpers.fresh and pipeline.ensure_fresh: one fresh draw per profile, drawn once, scored alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import helpers  # noqa: F401  (quietens TensorFlow before Keras is imported)
from helpers import fresh, pipeline, profiles, synthetic


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> profiles.Profile:
    """A synthetic profile with a fresh draw of six 32-pixel faces, under tmp_path."""
    monkeypatch.setattr(profiles, "data_dir", lambda name: tmp_path / "data" / name)
    monkeypatch.setattr(profiles, "artifacts_dir", lambda name: tmp_path / "artifacts" / name)
    return profiles.Profile("tiny", 12, 32, 1, 8, fresh_faces=6, seed=7)


def test_the_draw_is_the_generators_faces_with_their_truth(tiny: profiles.Profile) -> None:
    faces = pipeline.comparison_set(tiny)
    expected = synthetic.sample_faces(6, tiny.seed + pipeline.FRESH_SEED_OFFSET, 32)
    assert faces.images.shape == (6, 32, 32, 3) and faces.drawn and len(faces) == 6
    assert np.array_equal(faces.images, expected.images)
    assert np.array_equal(faces.labels, expected.labels)
    assert np.array_equal(faces.targets, expected.true_labels)
    assert np.allclose(faces.table["valence"], expected.valence)
    assert faces.landmarks is not None and len(faces.landmarks) == 6
    for stored, drawn in zip(faces.landmarks, expected.landmarks, strict=True):
        assert set(stored) == set(fresh.MARK_NAMES)
        assert all(np.allclose(stored[name], drawn[name], atol=0.006) for name in stored)
    assert not set(synthetic.LANDMARK_COLUMNS) & set(faces.table.columns)
    for marks in faces.landmarks:  # chapter 7 measures saliency inside these boxes
        for name in ("mouth", "brows", "face"):
            x0, y0, x1, y1 = marks[name]
            assert 0 <= x0 <= x1 <= 32 and 0 <= y0 <= y1 <= 32
    assert faces.name == "6 fresh faces"


def test_drawn_once_then_read_back(tiny: profiles.Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = pipeline.ensure_fresh(tiny)
    before = (folder / fresh.IMAGES_FILE).stat().st_mtime_ns
    monkeypatch.setattr(fresh, "write_fresh_faces", lambda *a: pytest.fail("drawn again"))
    assert pipeline.ensure_fresh(tiny) == folder
    assert (folder / fresh.IMAGES_FILE).stat().st_mtime_ns == before


def test_chapter_13s_draw_of_expressions_is_its_own(tiny: profiles.Profile) -> None:
    names = ("happy", "sad", "surprised", "angry")
    faces = pipeline.comparison_set(tiny, expressions=names)
    expected = synthetic.sample_expression_faces(
        6, tiny.seed + pipeline.FRESH_SEED_OFFSET, 32, names, like_downloads=False
    )
    assert np.array_equal(faces.images, expected.images)
    assert np.array_equal(faces.targets, expected.true_labels)
    assert np.allclose(faces.table["anger"], [face.anger for face in expected.expressions])
    assert np.allclose(faces.table["surprise"], [face.surprise for face in expected.expressions])
    folder = pipeline.ensure_fresh(tiny, names)
    assert folder != pipeline.ensure_fresh(tiny)  # the two-class draw is kept apart
    assert "surprise" not in pipeline.comparison_set(tiny).table  # and unchanged


def test_a_damaged_draw_is_refused_in_one_line(tiny: profiles.Profile) -> None:
    folder = pipeline.ensure_fresh(tiny)
    table = folder / fresh.TABLE_FILE
    table.write_text("\n".join(table.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(ValueError, match="5 rows"):
        fresh.read_fresh_faces(folder, 6)


def test_other_sources_cannot_draw(tiny: profiles.Profile) -> None:
    import dataclasses

    photos = dataclasses.replace(tiny, source="/photos", source_kind="folder")
    with pytest.raises(ValueError, match="only the synthetic source"):
        pipeline.ensure_fresh(photos)


def test_other_sources_compare_on_their_test_split(
    tiny: profiles.Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    from types import SimpleNamespace

    import tensorflow as tf

    images = np.arange(5 * 4 * 4 * 3, dtype=np.float32).reshape(5, 4, 4, 3) % 256
    labels = np.array([0, 1, 1, 0, 1])
    test = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2)
    monkeypatch.setattr(pipeline, "make_datasets", lambda profile: SimpleNamespace(test=test))
    photos = dataclasses.replace(tiny, source="/photos", source_kind="folder")
    faces = pipeline.comparison_set(photos)
    assert np.array_equal(faces.images, images) and np.array_equal(faces.targets, labels)
    assert not faces.drawn and faces.table is None
    assert faces.name == "the test split (5 images)"
