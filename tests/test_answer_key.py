"""helpers.answer_key: the generator's truth, mapped to the model's pixels and drawn afresh."""

from __future__ import annotations

import numpy as np
import pytest

import helpers  # noqa: F401  (quietens TensorFlow before Keras is imported)
from helpers import answer_key, images, synthetic


def test_scale_landmarks_uses_pixel_centres() -> None:
    marks = {"mouth": (10.0, 20.0, 30.0, 40.0), "nose": (5.0, 6.0)}
    scaled = synthetic.scale_landmarks(marks, 0.5, 2.0)
    assert scaled == {"mouth": (4.75, 40.5, 14.75, 80.5), "nose": (2.25, 12.5)}


def test_draw_personal_faces_writes_readable_files(tmp_path) -> None:
    paths = answer_key.draw_personal_faces(tmp_path / "faces", [0.8, -0.8], seed=5, size=40)
    assert [p.name for p in paths] == ["face_0_valence_+0.80.png", "face_1_valence_-0.80.png"]
    assert images.load_rgb(paths[0]).shape == (40, 40, 3)
    assert not [p for p in (tmp_path / "faces").iterdir() if p.name.startswith(".")]


def test_open_key_says_in_one_line_when_a_source_has_none(tmp_path, capsys) -> None:
    from shape_sources import make_shape_folder

    from helpers import profiles

    assert answer_key.open_key(profiles.get_profile("smoke"), "anything") is not None
    other = profiles.get_profile("smoke", make_shape_folder(tmp_path / "shapes", per_class=10))
    assert answer_key.open_key(other, "checking the valence") is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Skipped for this source (folder): checking")


def test_mouth_versions_differ_only_around_the_mouth() -> None:
    versions, marks = answer_key.mouth_versions(3, seed=8, size=96)
    assert versions.shape == (3, len(answer_key.MOUTH_VERSIONS), 96, 96, 3)
    for face, face_marks in zip(versions, marks, strict=True):
        changed = np.abs(face.astype(int) - face[0].astype(int)).max(axis=(0, 3))  # per row
        x0, y0, x1, y1 = face_marks[0]["face"]
        assert changed[: int(y0)].max() <= 40  # above the face: JPEG ringing at most
        assert all(m["face"] == face_marks[0]["face"] for m in face_marks)  # same pose and size
        up_teeth, up_closed = face[0].astype(int), face[1].astype(int)
        assert np.abs(up_teeth - up_closed).sum() > 0  # the teeth do change the picture


def test_mouth_effects_average_each_change_over_the_other() -> None:
    # columns in MOUTH_VERSIONS order: (up, teeth), (up, none), (down, teeth), (down, none)
    p = np.array([[0.1, 0.2, 0.7, 0.9], [0.5, 0.5, 0.5, 0.5]])
    effects = answer_key.mouth_effects(p)
    np.testing.assert_allclose(effects["curve turned down"], [(0.6 + 0.7) / 2, 0.0])
    np.testing.assert_allclose(effects["teeth shown"], [(-0.1 - 0.2) / 2, 0.0])
    with pytest.raises(ValueError, match="expected"):
        answer_key.mouth_effects(p[:, :3])
