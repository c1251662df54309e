"""helpers.faces: the offline Haar detector, the crop around the largest face, and where they run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image
from sklearn.datasets import load_sample_images
from tiny_models import averaging_model

from helpers import classify, clean, faces, synthetic
from helpers.__main__ import main as command_line

HOPPER_FACE = (145, 99, 384, 338)  # where the detector found her face when this test was written


def hopper() -> np.ndarray:
    """Grace Hopper's portrait, which ships with matplotlib: one real face."""
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


def test_the_detector_finds_a_real_face_and_none_in_a_flower() -> None:
    boxes = faces.detect_faces(hopper())
    assert len(boxes) == 1 and faces.iou(boxes[0], HOPPER_FACE) > 0.8
    assert faces.detect_faces(load_sample_images().images[1]) == []  # the flower


def test_the_crop_is_a_square_around_the_largest_face_inside_the_image() -> None:
    image = hopper()
    crop, fate, box = faces.crop_to_face(image)
    assert fate == faces.ONE_FACE and box is not None
    x0, y0, x1, y1 = box
    assert x1 - x0 == y1 - y0 == crop.shape[0] == crop.shape[1]
    assert 0 <= x0 and 0 <= y0 and x1 <= image.shape[1] and y1 <= image.shape[0]
    fx0, fy0, fx1, fy1 = faces.detect_faces(image)[0]
    assert x0 <= fx0 and y0 <= fy0 and fx1 <= x1 and fy1 <= y1  # the face is inside, with margin
    blank = np.full((200, 300, 3), 128, np.uint8)
    same, fate, box = faces.crop_to_face(blank)
    assert fate == faces.NO_FACE and box is None and same is blank


def test_crop_box_stays_inside_small_images_and_two_faces_keep_the_largest() -> None:
    assert faces.crop_box((0, 0, 90, 90), (100, 120)) == (0, 0, 100, 100)
    assert faces.crop_box((80, 10, 100, 30), (100, 100)) == (68, 4, 100, 36)  # pushed inside
    portrait = np.asarray(Image.fromarray(hopper()).resize((256, 300)))
    wide = np.full((600, 1200, 3), 90, np.uint8)
    wide[50:350, 50:306] = portrait  # small
    wide[0:600, 600:1112] = np.asarray(Image.fromarray(hopper()).resize((512, 600)))  # large
    crop, fate, box = faces.crop_to_face(wide)
    assert fate == faces.SEVERAL_FACES and box[0] >= 600  # the larger face


def test_iou() -> None:
    assert faces.iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert faces.iou((0, 0, 10, 10), (10, 10, 20, 20)) == 0.0
    assert faces.iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)


def test_scene_folder_is_a_two_class_photo_source_with_true_boxes(tmp_path) -> None:
    root = synthetic.write_scene_folder(tmp_path / "scenes", faces_per_class=3, seed=1)
    files = sorted(root.glob("*/*.jpg"))
    assert [p.parent.name for p in files] == ["happy"] * 3 + ["sad"] * 3
    rows = (root / synthetic.SCENES_CSV).read_text().splitlines()
    assert len(rows) == 7 and rows[0].startswith("class,file,valence,face_x0")
    with Image.open(files[0]) as image:
        assert image.size == synthetic.SCENE_SIZE


def test_cleaning_crops_photos_to_their_face_and_records_what_it_found(tmp_path) -> None:
    src = tmp_path / "raw"
    for label, picture in (("happy", hopper()), ("sad", np.full((300, 400, 3), 60, np.uint8))):
        (src / label).mkdir(parents=True)
        Image.fromarray(picture).save(src / label / "one.png")
        Image.fromarray(np.roll(picture, 7, axis=1)).save(src / label / "two.png")
    manifest = clean.clean(src, tmp_path / "clean", crop_faces=True, near_threshold=0)
    kept = manifest.set_index("source")
    assert kept.loc["happy/one.png", "face"] == faces.ONE_FACE
    assert kept.loc["sad/one.png", "face"] == faces.NO_FACE
    with Image.open(tmp_path / "clean" / kept.loc["happy/one.png", "output"]) as image:
        assert image.size[0] == image.size[1] < 512  # the square around the face
    with Image.open(tmp_path / "clean" / kept.loc["sad/one.png", "output"]) as image:
        assert image.size == (400, 300)  # no face: kept whole
    plain = clean.clean(src, tmp_path / "plain", near_threshold=0)
    assert (plain["face"] == "").all()


def test_classify_crops_like_cleaning_when_the_card_says_so(tmp_path, capsys) -> None:
    model = averaging_model(32, weights=(4.0, 0.0, -4.0))
    path = tmp_path / "model.keras"
    model.save(path)
    card = {"class_names": ["a", "b"], "input_shape": [32, 32, 3], "min_side": 1, "profile": "t",
            "source": "x", "trained": "now", "crop_faces": True}  # fmt: skip
    path.with_name(classify.CARD_FILE).write_text(json.dumps(card))
    photo = tmp_path / "hopper.png"
    Image.fromarray(hopper()).save(photo)
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((200, 200, 3), 50, np.uint8)).save(blank)
    cropped = classify.classify_image(photo, model, ["a", "b"], crop_faces=True)
    whole = classify.classify_image(photo, model, ["a", "b"])
    crop, _, _ = faces.crop_to_face(hopper())
    by_hand = classify.classify_image(_save(crop, tmp_path / "crop.png"), model, ["a", "b"])
    assert cropped.face == faces.ONE_FACE and whole.face == ""
    assert cropped.probability == pytest.approx(by_hand.probability, abs=1e-6)
    assert abs(cropped.probability - whole.probability) > 1e-4  # the crop changed what it saw
    assert command_line(["classify", "--model", str(path), str(photo), str(blank)]) == 0
    out, err = capsys.readouterr()
    assert "on face crops" in err and f"note: {blank}: no face found, classified whole" in err
    assert len(out.splitlines()) == 2


def _save(pixels: np.ndarray, path):
    """Write pixels as a PNG and return the path."""
    Image.fromarray(pixels).save(path)
    return path


def test_a_photo_source_is_cropped_by_default_and_the_environment_overrides(
    tmp_path, monkeypatch
) -> None:
    from helpers import profiles

    root = synthetic.write_scene_folder(tmp_path / "photos", faces_per_class=10, seed=2)
    monkeypatch.delenv(profiles.CROP_ENV_VAR, raising=False)
    assert profiles.get_profile("smoke", root).crop_faces
    assert not profiles.get_profile("smoke", "synthetic").crop_faces
    monkeypatch.setenv(profiles.CROP_ENV_VAR, "0")
    assert not profiles.get_profile("smoke", root).crop_faces
    monkeypatch.setenv(profiles.CROP_ENV_VAR, "yes")
    with pytest.raises(ValueError, match="must be 1"):
        profiles.get_profile("smoke", root)
