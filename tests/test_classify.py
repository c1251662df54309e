"""Tests for helpers.classify: decoding as training does, bad inputs, and the command line."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from helpers import classify, images, profiles
from helpers.__main__ import main as command_line
from helpers.paths import ROOT

SIDE = 32  # the model's input; test images are 64 px so the resize is exercised
CLASSES = ("happy", "sad")


# --- tiny models and images made here ----------------------------------------------------------


def halves_model(colour: float = 1.0, green: float = 3.0):
    """A fixed linear model: logit = colour*(R_top - R_bottom + B_bottom - B_top) + green*(G_top - G_bottom).

    Channel means are in [0, 1] (after the model's own Rescaling), so a red-over-blue picture
    scores logit 2 (P = 0.88), its BGR twin -2 and its quarter turn 0: it notices channel order
    and orientation, as a model trained on upright RGB faces does.
    """
    import keras

    top = np.zeros((SIDE, SIDE, 1), dtype="float32")
    top[: SIDE // 2] = 1.0
    sign = 2 * top - 1  # +1 on the top half, -1 on the bottom half
    half = SIDE * SIDE / 2
    weights = np.concatenate([colour * sign, green * sign, -colour * sign], axis=2) / half
    model = keras.Sequential(
        [
            keras.Input((SIDE, SIDE, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.layers[-1].set_weights([weights.reshape(-1, 1), np.zeros(1, dtype="float32")])
    return model


def red_over_blue(side: int = 64) -> np.ndarray:
    """Top half pure red, bottom half pure blue (uint8 RGB)."""
    image = np.zeros((side, side, 3), dtype=np.uint8)
    image[: side // 2, :, 0] = 255
    image[side // 2 :, :, 2] = 255
    return image


def light_over_dark(side: int = 64) -> np.ndarray:
    """A gray picture: light top half, dark bottom half (uint8 RGB, R = G = B)."""
    image = np.full((side, side, 3), 30, dtype=np.uint8)
    image[: side // 2] = 230
    return image


def save(array: np.ndarray, path: Path, **kwargs) -> Path:
    """Save a uint8 array with Pillow."""
    Image.fromarray(array).save(path, **kwargs)
    return path


@pytest.fixture(scope="module")
def model():
    return halves_model()


def probability(path: Path, model) -> float:
    return classify.classify_image(path, model, CLASSES).probability


# --- the result equals the training pipeline's ---------------------------------------------------


def test_same_probability_as_the_training_pipeline(tmp_path):
    import keras

    from helpers.taught import build_model

    keras.utils.set_random_seed(0)
    path = tmp_path / "model.keras"
    build_model((SIDE, SIDE, 3)).save(path)
    model = classify.load_model(path)
    rng = np.random.default_rng(0)
    picture = save(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8), tmp_path / "face.png")
    tensor = images.decode_and_resize(picture, SIDE)
    expected = float(model.predict(np.asarray(tensor)[None], verbose=0)[0, 0])
    result = classify.classify_image(picture, model, CLASSES)
    assert result.probability == pytest.approx(expected, abs=1e-6)
    assert result.class_name == CLASSES[int(expected > 0.5)]
    assert result.path == picture


def test_bgr_would_change_the_answer(model, tmp_path):
    """The check below can fail: reading the file as cv2 does (BGR) flips the class."""
    rgb = save(red_over_blue(), tmp_path / "rgb.png")
    result = classify.classify_image(rgb, model, CLASSES)
    assert result.class_name == "sad" and result.probability == pytest.approx(0.881, abs=0.01)
    bgr = cv2.imread(str(rgb)).astype("float32")  # the paper's way
    wrong = float(model.predict(cv2.resize(bgr, (SIDE, SIDE))[None], verbose=0)[0, 0])
    assert wrong < 0.2


# --- twins: the same picture stored differently ---------------------------------------------------


def write_rgba(tmp_path: Path) -> tuple[Path, Path]:
    """An RGBA file with a transparent corner and its RGB twin with that corner white."""
    base = red_over_blue()
    alpha = np.full(base.shape[:2], 255, dtype=np.uint8)
    alpha[:8, :8] = 0
    rgba = save(np.dstack([base, alpha]), tmp_path / "rgba.png")
    twin = base.copy()
    twin[:8, :8] = 255
    return rgba, save(twin, tmp_path / "rgba_twin.png")


def write_cmyk(tmp_path: Path) -> tuple[Path, Path]:
    """A CMYK JPEG and its plain RGB twin."""
    base = red_over_blue()
    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(base).convert("CMYK").save(cmyk, quality=95)
    assert Image.open(cmyk).mode == "CMYK"
    return cmyk, save(base, tmp_path / "cmyk_twin.png")


def write_16bit(tmp_path: Path) -> tuple[Path, Path]:
    """A 16-bit-per-channel RGB PNG (written by OpenCV, which takes BGR) and its 8-bit twin."""
    base = red_over_blue()
    wide = tmp_path / "wide.png"
    cv2.imwrite(str(wide), base[..., ::-1].astype(np.uint16) * 257)
    return wide, save(base, tmp_path / "wide_twin.png")


def write_exif_rotated(tmp_path: Path) -> tuple[Path, Path]:
    """A JPEG stored on its side with EXIF orientation 6 (turn 90 degrees clockwise to view)."""
    base = red_over_blue()
    stored = np.ascontiguousarray(np.rot90(base, 1))  # counter-clockwise: the camera's raw pixels
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = save(stored, tmp_path / "rotated.jpg", quality=95, exif=exif.tobytes())
    return rotated, save(base, tmp_path / "rotated_twin.jpg", quality=95)


def write_grayscale(tmp_path: Path) -> tuple[Path, Path]:
    """A one-channel PNG and its three-channel twin."""
    base = light_over_dark()
    gray = save(base[..., 0], tmp_path / "gray.png")
    assert Image.open(gray).mode == "L"
    return gray, save(base, tmp_path / "gray_twin.png")


def write_gray_16bit(tmp_path: Path) -> tuple[Path, Path]:
    """A 16-bit grayscale PNG and its 8-bit RGB twin."""
    base = light_over_dark()
    gray = tmp_path / "gray16.png"
    cv2.imwrite(str(gray), base[..., 0].astype(np.uint16) * 257)
    return gray, save(base, tmp_path / "gray16_twin.png")


@pytest.mark.parametrize(
    "write",
    [write_rgba, write_cmyk, write_16bit, write_exif_rotated, write_grayscale, write_gray_16bit],
)
def test_twins_get_the_same_answer(write, model, tmp_path):
    odd, plain = write(tmp_path)
    expected = classify.classify_image(plain, model, CLASSES)
    result = classify.classify_image(odd, model, CLASSES)
    assert abs(expected.probability - 0.5) > 0.3  # a clear answer, so a class flip would show
    assert result.class_name == expected.class_name
    assert result.probability == pytest.approx(expected.probability, abs=0.02)


def test_ignoring_exif_would_change_the_answer(model, tmp_path):
    """The EXIF twin test can fail: the stored (sideways) pixels score near 0.5, not 0.88."""
    rotated, _ = write_exif_rotated(tmp_path)
    sideways = np.asarray(Image.open(rotated).convert("RGB"), dtype="float32")
    raw = float(model.predict(cv2.resize(sideways, (SIDE, SIDE))[None], verbose=0)[0, 0])
    assert abs(raw - probability(rotated, model)) > 0.3


# --- bad inputs ------------------------------------------------------------------------------------


def huge_png(path: Path, side: int = 60_000) -> Path:
    """A PNG whose header claims side x side pixels (a decompression bomb), a few bytes long."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )
    return path


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, type[Exception], str]]:
    """Each kind of bad input, with the error it must raise and a phrase of its message."""
    good = save(red_over_blue(), tmp_path / "good.png").read_bytes()
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "page.jpg").write_text("<!DOCTYPE html><html><body>Not found</body></html>")
    (tmp_path / "truncated.png").write_bytes(good[: len(good) // 2])
    return {
        "missing": (tmp_path / "nope.jpg", FileNotFoundError, "no such file"),
        "directory": (tmp_path / "folder", ValueError, "directory"),
        "empty": (tmp_path / "empty.jpg", ValueError, "empty"),
        "not an image": (tmp_path / "page.jpg", ValueError, "HTML"),
        "truncated": (tmp_path / "truncated.png", ValueError, "cannot be decoded"),
        "huge": (huge_png(tmp_path / "huge.png"), ValueError, "pixels"),
    }


@pytest.mark.parametrize(
    "kind", ["missing", "directory", "empty", "not an image", "truncated", "huge"]
)
def test_bad_inputs_raise_clear_errors(kind, model, tmp_path):
    path, error, phrase = bad_files(tmp_path)[kind]
    with pytest.raises(error) as caught:
        classify.classify_image(path, model, CLASSES)
    message = str(caught.value)
    assert str(path) in message and phrase in message
    assert "\n" not in message


def test_max_pixels_refuses_before_decoding(tmp_path):
    path = save(red_over_blue(), tmp_path / "big.png")
    with pytest.raises(ValueError, match="exceeds the limit"):
        classify.read_image(path, (SIDE, SIDE), max_pixels=100)


def test_batch_keeps_order_and_reports_failures(model, tmp_path):
    files = bad_files(tmp_path)
    good = save(red_over_blue(), tmp_path / "a.png")
    gray = save(light_over_dark(), tmp_path / "b.png")
    paths = [good, files["missing"][0], gray, files["truncated"][0], good]
    results = classify.classify_images(paths, model, CLASSES, batch_size=2)
    assert [r.path for r in results] == paths
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["Prediction", "Failure", "Prediction", "Failure", "Prediction"]
    assert results[0].probability == pytest.approx(probability(good, model), abs=1e-6)
    assert results[1].problem == "no such file"


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        classify.load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="directory"):
        classify.load_model(tmp_path)
    old_format = tmp_path / "model.h5"
    old_format.write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ValueError, match=r"\.keras"):
        classify.load_model(old_format)
    junk = tmp_path / "junk.keras"
    junk.write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable Keras model"):
        classify.load_model(junk)


# --- the command line ------------------------------------------------------------------------------


def write_card(model_path: Path, class_names: tuple[str, str], min_side: int = 8) -> Path:
    """The model.json a trained model carries (train.model_card), for a model made by a test."""
    card = {
        "class_names": list(class_names), "positive_class": class_names[1],
        "input_shape": [64, 64, 3], "min_side": min_side, "profile": "test",
        "source": "synthetic", "trained": "2000-01-02 03:04 UTC",
    }  # fmt: skip
    path = model_path.with_name(classify.CARD_FILE)
    path.write_text(json.dumps(card), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A model with a card naming its classes 'cats' and 'dogs' (label 1 = dogs)."""
    path = tmp_path_factory.mktemp("model") / "model.keras"
    halves_model().save(path)
    write_card(path, ("cats", "dogs"))
    return path


def cli(*args: str) -> int:
    """`python -m helpers classify ARGS`, in this process."""
    return command_line(["classify", *args])


def test_cli_prints_the_models_own_class_names(saved_model, tmp_path, capsys):
    good = save(red_over_blue(), tmp_path / "good.png")
    status = cli("--model", str(saved_model), str(good), str(good))
    out, err = capsys.readouterr()
    assert status == 0
    assert err.splitlines() == [
        f"model: {saved_model} (profile test, source synthetic, classes cats and dogs, "
        "trained 2000-01-02 03:04 UTC)"
    ]
    lines = out.splitlines()
    assert len(lines) == 2
    path, name, prob = lines[0].split("\t")
    assert (path, name) == (str(good), "dogs") and prob.startswith("P(dogs)=0.88")


def test_cli_reports_each_bad_file_and_exits_2(saved_model, tmp_path, capsys):
    files = bad_files(tmp_path)
    good = save(red_over_blue(), tmp_path / "good.png")
    tiny = save(red_over_blue(side=4), tmp_path / "tiny.png")  # under the card's min_side of 8
    bad = [path for path, _, _ in files.values()] + [tiny]
    status = cli("--model", str(saved_model), str(good), *map(str, bad))
    out, err = capsys.readouterr()
    assert status == 2
    assert len(out.splitlines()) == 1 and out.startswith(str(good))
    errors = err.splitlines()[1:]  # after the line naming the model
    assert len(errors) == len(bad)
    for line, path in zip(errors, bad, strict=True):
        assert line.startswith(f"error: {path}: ")
    assert errors[-1].endswith(
        "too small (4 x 4 pixels; the model learned from images of at least 8 pixels a side)"
    )
    assert "Traceback" not in err


def test_cli_without_a_card_needs_the_class_names(tmp_path, capsys):
    bare = tmp_path / "bare.keras"
    halves_model().save(bare)
    good = save(red_over_blue(), tmp_path / "good.png")
    assert cli("--model", str(bare), str(good)) == 2
    out, err = capsys.readouterr()
    assert out == "" and "no model card beside the model" in err and "--classes" in err
    assert cli("--model", str(bare), "--classes", "left", "right", str(good)) == 0
    assert capsys.readouterr().out.split("\t")[1] == "right"


def test_cli_missing_model(tmp_path, capsys):
    good = save(red_over_blue(), tmp_path / "good.png")
    status = cli("--model", str(tmp_path / "none.keras"), str(good))
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert (
        err.strip()
        == f"error: {tmp_path / 'none.keras'}: no such model file (train one first, chapter 5)"
    )


def test_cli_default_model_is_the_current_sources_baseline(tmp_path, monkeypatch):
    from shape_sources import make_shape_folder

    monkeypatch.delenv(profiles.ENV_VAR, raising=False)
    monkeypatch.delenv(profiles.SOURCE_ENV_VAR, raising=False)
    assert (
        classify.default_model(None, None)
        == ROOT / "artifacts" / "full" / "baseline" / "model.keras"
    )
    shapes = make_shape_folder(tmp_path / "shapes", per_class=10)
    chosen = profiles.get_profile("smoke", shapes)
    assert (
        classify.default_model("smoke", str(shapes))
        == chosen.artifacts / "baseline" / "model.keras"
    )
    monkeypatch.setenv(profiles.SOURCE_ENV_VAR, str(shapes))
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    assert classify.default_model(None, None) == chosen.artifacts / "baseline" / "model.keras"


@pytest.mark.skipif(
    not (ROOT / "helpers" / "__main__.py").is_file(), reason="no helpers/__main__.py"
)
def test_python_m_helpers_classify_in_a_fresh_process(saved_model, tmp_path):
    good = save(red_over_blue(), tmp_path / "good.png")
    missing = tmp_path / "missing.png"
    result = subprocess.run(
        [sys.executable, "-m", "helpers", "classify", "--model", str(saved_model), str(good), str(missing)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout.splitlines()[0].split("\t")[:2] == [str(good), "dogs"]
    model_line, error = result.stderr.strip().splitlines()
    assert (
        model_line.startswith(f"model: {saved_model} (")
        and error == f"error: {missing}: no such file"
    )
