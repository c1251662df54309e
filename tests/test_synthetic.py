"""Tests for helpers.synthetic: faces, samples and the synthetic web downloads."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from helpers import synthetic
from helpers.paths import NOTEBOOKS
from helpers.synthetic import (
    CLASS_NAMES,
    CSV_COLUMNS,
    CSV_NAME,
    MAX_SIDE,
    MIN_SIDE,
    THUMBNAIL_MAX,
    draw_face,
    generate_downloads,
    landmarks_from_row,
    sample_faces,
)

FACES = 6
SEED = 7


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny downloads folder, generated once for the module."""
    return generate_downloads(tmp_path_factory.mktemp("downloads"), FACES, SEED)


def read_rows(folder: Path) -> list[dict[str, str]]:
    """faces.csv as a list of dicts."""
    with open(folder / CSV_NAME, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def members(folder: Path, label: str) -> dict[str, bytes]:
    """Name -> bytes of one class zip, in zip order."""
    with zipfile.ZipFile(folder / f"{label}.zip") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def check_inside(marks: dict, width: int, height: int) -> None:
    """Every landmark coordinate lies inside the image, boxes are ordered."""
    for name, values in marks.items():
        xs, ys = np.asarray(values[0::2]), np.asarray(values[1::2])
        assert np.all((xs >= 0) & (xs <= width - 1)), (name, values, width)
        assert np.all((ys >= 0) & (ys <= height - 1)), (name, values, height)
        if len(values) == 4:
            assert values[0] <= values[2] and values[1] <= values[3], (name, values)


@pytest.mark.parametrize("valence", [-1.0, -0.3, 0.0, 0.6, 1.0])
def test_draw_face_gives_rgb_image_and_landmarks_inside_it(valence: float) -> None:
    image, marks = draw_face(valence, np.random.default_rng(11), size=96)
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8
    assert {"left_eye", "right_eye", "mouth", "brows", "face"} <= set(marks)
    check_inside(marks, 96, 96)
    assert marks["left_eye"][0] < marks["right_eye"][0]
    face = marks["face"]
    for name in ("mouth", "brows"):
        x0, y0, x1, y1 = marks[name]
        assert face[0] <= x0 and x1 <= face[2] and face[1] <= y0 and y1 <= face[3], name


def test_draw_face_rejects_valence_outside_range() -> None:
    with pytest.raises(ValueError, match="valence"):
        draw_face(1.5, np.random.default_rng(0))


def test_expression_follows_valence() -> None:
    """Happy: mouth corners above its centre; sad: below, and the brows' inner ends raised."""
    shapes = synthetic.expression  # the face-local outlines the expression moves
    who = shapes._identity(np.random.default_rng(5))
    for valence, corners_up in ((0.8, True), (-0.8, False)):
        upper, _, _ = shapes._mouth_outline(who, synthetic.Expression(valence))
        corner_y, centre_y = upper[0, 1], upper[len(upper) // 2, 1]
        assert (corner_y < centre_y) == corners_up  # y grows downwards
    for side in (-1, 1):
        sad = shapes._brow_outline(who, synthetic.Expression(-0.8), side)
        calm = shapes._brow_outline(who, synthetic.Expression(0.0), side)
        angry = shapes._brow_outline(who, synthetic.Expression(0.0, anger=1.0), side)
        surprised = shapes._brow_outline(who, synthetic.Expression(0.0, surprise=1.0), side)
        assert sad[0, 1] < calm[0, 1] - 0.1  # the inner end (first point) is lifted
        assert angry[0, 1] > calm[0, 1] + 0.1  # ... and pulled down in anger
        assert surprised[:, 1].mean() < calm[:, 1].mean() - 0.1  # the whole brow goes up


def test_the_mouth_variants_occur_on_both_sides() -> None:
    """Closed smiles, open-mouthed crying and teeth on both sides: teeth are no shortcut."""
    rng = np.random.default_rng(3)
    faces = [synthetic.sample_expression(rng, sign * 0.8) for sign in (1, -1) for _ in range(300)]
    happy, sad = faces[:300], faces[300:]
    for group in (happy, sad):
        shares = {k: np.mean([f.variants()[k] for f in group]) for k in synthetic.VARIANTS}
        assert 0.15 < shares["mouth_open"] < 0.85 and shares["teeth"] > 0.1, shares
    assert not any(f.tears for f in happy) and not any(f.crinkle for f in sad)
    assert any(f.tears for f in sad) and any(f.crinkle for f in happy)
    closed = synthetic.sample_expression(np.random.default_rng(0), 0.02)
    assert closed.valence == 0.02


def test_the_annotator_errs_more_on_weak_expressions() -> None:
    error = synthetic.annotator_error(np.array([0.0, 0.1, 0.3, 1.0]))
    assert error[0] == pytest.approx(0.5) and np.all(np.diff(error) < 0)
    assert error[-1] == pytest.approx(synthetic.ANNOTATOR_FLOOR, abs=1e-3)
    sample = sample_faces(400, seed=9, size=16, like_downloads=False)
    wrong = sample.labels != sample.true_labels
    weak = np.abs(sample.valence) < 0.15
    assert wrong[weak].mean() > 3 * wrong[~weak].mean()


def test_weak_expressions_have_their_share() -> None:
    rng = np.random.default_rng(4)
    strengths = np.array([synthetic.sample_strength(rng) for _ in range(4000)])
    expected = synthetic.AMBIGUOUS_SHARE * (0.3 - 0.02) / (synthetic.AMBIGUOUS_MAX - 0.02)
    assert abs(np.mean(strengths < 0.3) - expected) < 0.03


def test_four_expressions_are_balanced_and_distinct() -> None:
    sample = synthetic.sample_expression_faces(40, seed=2, size=32)
    assert sample.class_names == synthetic.EXPRESSIONS
    assert np.bincount(sample.true_labels).tolist() == [10, 10, 10, 10]
    assert sample.images.shape == (40, 32, 32, 3)
    faces = sample.expressions
    surprised = [f for f, t in zip(faces, sample.true_labels, strict=True) if t == 2]
    angry = [f for f, t in zip(faces, sample.true_labels, strict=True) if t == 3]
    assert all(f.surprise > 0 and f.anger == 0 for f in surprised)
    assert all(f.anger > 0 and f.surprise == 0 for f in angry)
    with pytest.raises(ValueError, match="names must be"):
        synthetic.sample_expression_faces(4, seed=2, size=32, names=("happy", "bored"))


def test_every_background_photo_ships_and_decodes() -> None:
    photos = synthetic.background_photos()
    assert len(photos) == len(synthetic.BACKGROUND_PHOTOS) > 3
    assert all(p.ndim == 3 and p.shape[2] == 3 and min(p.shape[:2]) >= 160 for p in photos)


def test_chapter_6_probes_are_never_a_background_of_the_generator() -> None:
    """Chapter 6 probes with images the model never saw in any role: no background photo."""
    source = (NOTEBOOKS / "06_evaluation.md").read_text(encoding="utf-8")
    probes = set(re.findall(r'(?:shipped / |get_sample_data\()"([^"]+)"', source))
    assert len(probes) >= 3, f"chapter 6's shipped probe files were not found: {probes}"
    backgrounds = {Path(path).name for _, path in synthetic.BACKGROUND_PHOTOS}
    assert not probes & backgrounds
    assert "lfw_subset" in source  # its real faces come from LFW, which the generator never reads
    generator = "".join(
        p.read_text(encoding="utf-8") for p in Path(synthetic.__file__).parent.glob("*.py")
    )
    assert "lfw" not in generator.lower()


@pytest.mark.parametrize("like_downloads", [True, False])
def test_sample_faces_shapes_and_labels(like_downloads: bool) -> None:
    sample = sample_faces(12, seed=3, size=40, like_downloads=like_downloads)
    assert sample.images.shape == (12, 40, 40, 3) and sample.images.dtype == np.uint8
    assert len(sample) == 12 and len(sample.landmarks) == 12
    assert set(np.unique(sample.true_labels)) == {0, 1}
    assert np.sum(sample.true_labels == 0) == 6  # balanced classes
    for marks in sample.landmarks:
        check_inside(marks, 40, 40)


def test_fresh_faces_are_squashed_like_the_downloads() -> None:
    """A downloads-like face has the web photos' aspect ratios, so its face box is not square."""
    squashed = sample_faces(16, seed=4, size=64).landmarks
    square = sample_faces(16, seed=4, size=64, like_downloads=False).landmarks

    def aspect(marks: dict) -> float:
        x0, y0, x1, y1 = marks["face"]
        return (x1 - x0) / (y1 - y0)

    spread = np.std([aspect(m) for m in squashed])
    assert spread > 2 * np.std([aspect(m) for m in square])


def test_valence_sign_drives_label_without_noise() -> None:
    sample = sample_faces(30, seed=5, size=24, label_noise=0.0)
    np.testing.assert_array_equal(sample.labels, sample.true_labels)
    np.testing.assert_array_equal(sample.true_labels, (sample.valence < 0).astype(int))
    assert CLASS_NAMES[0] == "happy" and np.all(sample.valence[sample.labels == 0] > 0)


def test_label_noise_rate_is_close_to_the_requested_rate() -> None:
    sample = sample_faces(400, seed=8, size=16, label_noise=0.25, like_downloads=False)
    rate = np.mean(sample.labels != sample.true_labels)
    assert 0.18 < rate < 0.32  # +- 3 standard deviations of a binomial(400, 0.25) share


def test_sample_faces_is_deterministic_and_seeds_do_not_overlap() -> None:
    first = sample_faces(8, seed=1, size=32)
    again = sample_faces(8, seed=1, size=32)
    other = sample_faces(8, seed=2, size=32)
    np.testing.assert_array_equal(first.images, again.images)
    hashes = {image.tobytes() for image in first.images}
    assert not hashes & {image.tobytes() for image in other.images}
    assert not set(first.valence) & set(other.valence)


def test_every_kind_is_in_every_class_zip(downloads: Path) -> None:
    rows = read_rows(downloads)
    for label in CLASS_NAMES:
        kinds = {row["kind"] for row in rows if row["class"] == label}
        assert kinds == set(synthetic.ALL_KINDS), label


def test_csv_rows_match_zip_members(downloads: Path) -> None:
    rows = read_rows(downloads)
    assert list(rows[0]) == list(CSV_COLUMNS)
    for label in CLASS_NAMES:
        names = [row["file"] for row in rows if row["class"] == label]
        zipped = members(downloads, label)
        assert names == list(zipped)
        assert len({name.lower() for name in names}) == len(names)
        assert all("/" not in name and "\\" not in name for name in names)
    faces = [row for row in rows if row["kind"] == "face"]
    assert len(faces) == 2 * (FACES - len(synthetic.VARIANT_KINDS))


def test_files_decode_as_their_kind_says(downloads: Path) -> None:
    rows = read_rows(downloads)
    for label in CLASS_NAMES:
        zipped = members(downloads, label)
        for row in (r for r in rows if r["class"] == label):
            check_file(row, zipped[row["file"]], downloads)


def check_file(row: dict[str, str], data: bytes, folder: Path) -> None:
    """One file's bytes agree with its kind, size and landmarks."""
    kind = row["kind"]
    if kind == "zero_byte":
        assert data == b""
        return
    if kind == "svg":
        assert data.startswith(b"<svg") and row["width"] == ""
        return
    if kind == "html_as_jpg":
        assert data.startswith(b"<!DOCTYPE html>") and row["file"].lower().endswith(".jpg")
        return
    if kind == "truncated_jpeg":
        assert data.startswith(b"\xff\xd8") and not data.endswith(b"\xff\xd9")
        with pytest.raises(OSError):
            Image.open(io.BytesIO(data)).load()
        return
    picture = Image.open(io.BytesIO(data))
    picture.load()
    shown = ImageOps.exif_transpose(picture)
    width, height = int(row["width"]), int(row["height"])
    assert shown.size == (width, height), row
    check_inside(landmarks_from_row(row), width, height)
    assert row["label_flipped"] == str(int(row["true_class"] != row["class"]))
    assert (float(row["valence"]) > 0) == (row["true_class"] == "happy")
    expected_mode = {"cmyk_jpeg": "CMYK", "rgba_png": "RGBA"}
    if kind in expected_mode:
        assert picture.mode == expected_mode[kind]
    if kind == "rgba_png":
        alpha = np.asarray(picture)[..., 3]
        assert alpha.min() == 0 and alpha.max() == 255
    if kind == "png16":
        assert data[24] == 16  # the IHDR bit depth
    if kind == "gif":
        assert picture.format == "GIF" and picture.n_frames >= 2
    if kind == "webp":
        assert picture.format == "WEBP"
    if kind == "exif_rotated":
        assert picture.getexif().get(0x0112) in (3, 6, 8)
    if kind == "thumbnail":
        assert max(width, height) <= THUMBNAIL_MAX
    if kind in ("face", "near_duplicate", "exif_rotated", "cmyk_jpeg", "gif", "png16"):
        assert min(width, height) >= MIN_SIDE and max(width, height) <= MAX_SIDE
    if kind.endswith("duplicate"):
        source_class, source_name = row["duplicate_of"].split("/", 1)
        original = members(folder, source_class)[source_name]
        if kind == "near_duplicate":
            assert source_class == row["class"] and original != data
            assert width * height < np.prod(Image.open(io.BytesIO(original)).size)
        else:
            assert original == data
            assert (source_class == row["class"]) == (kind == "exact_duplicate")


def test_some_labels_are_wrong_in_the_full_profile_counts() -> None:
    counts = synthetic.kind_counts(155)
    rejected = sum(counts[kind] for kind in synthetic.REJECTED_KINDS)
    total = 155 + rejected + counts["cross_class_duplicate"]
    assert 175 <= total <= 185
    assert 0.12 <= (rejected + counts["cross_class_duplicate"]) / total <= 0.17
    weak = synthetic.annotator_error(np.linspace(0.02, synthetic.AMBIGUOUS_MAX, 200)).mean()
    strong = synthetic.annotator_error(np.linspace(synthetic.AMBIGUOUS_MAX, 1.0, 200)).mean()
    share = synthetic.AMBIGUOUS_SHARE
    assert (share * weak + (1 - share) * strong) * 155 >= 3  # wrong labels expected per class


def test_generation_is_deterministic_for_a_seed(downloads: Path, tmp_path: Path) -> None:
    again = generate_downloads(tmp_path / "again", FACES, SEED)
    for name in ("happy.zip", "sad.zip", CSV_NAME):
        assert (again / name).read_bytes() == (downloads / name).read_bytes(), name
    other = generate_downloads(tmp_path / "other", FACES, SEED + 1)
    assert (other / "happy.zip").read_bytes() != (downloads / "happy.zip").read_bytes()


def test_too_few_faces_for_every_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="faces_per_class"):
        generate_downloads(tmp_path, 3, SEED)


def test_landmarks_from_row_is_empty_without_a_face(downloads: Path) -> None:
    rows = read_rows(downloads)
    svg = next(row for row in rows if row["kind"] == "svg")
    assert landmarks_from_row(svg) == {}
    face = next(row for row in rows if row["kind"] == "face")
    assert set(landmarks_from_row(face)) == {"left_eye", "right_eye", "mouth", "brows", "face"}
