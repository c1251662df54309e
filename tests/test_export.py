"""The model outside Keras: ONNX and LiteRT files that predict what Keras predicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_classify import write_card
from tiny_models import averaging_model

from helpers import export, store
from helpers.__main__ import main as command_line


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    """A tiny trained-looking model with its card (classes 'cats' and 'dogs')."""
    path = tmp_path_factory.mktemp("model") / "model.keras"
    averaging_model(side=64, weights=(4.0, -2.0, -1.0)).save(path)
    write_card(path, ("cats", "dogs"))
    return path


@pytest.fixture(scope="module")
def exported(saved_model: Path, tmp_path_factory) -> dict[str, Path]:
    """The three files export_model writes, in a folder of their own."""
    return export.export_model(saved_model, tmp_path_factory.mktemp("export"))


def pixels(count: int, seed: int = 0) -> np.ndarray:
    """Random 0-255 float32 images of the tiny model's size, reddish and bluish by turns."""
    rng = np.random.default_rng(seed)
    batch = rng.uniform(0, 255, (count, 64, 64, 3))
    batch[0::2, ..., 2] *= 0.1  # little blue: the tiny model says "dogs"
    batch[1::2, ..., 0] *= 0.1  # little red: "cats"
    return batch.astype(np.float32)


def test_both_files_predict_what_keras_predicts(saved_model: Path, exported: dict[str, Path]):
    from helpers import classify

    batch = pixels(6)
    keras_p = np.asarray(classify.load_model(saved_model)(batch, training=False)).reshape(-1)
    assert keras_p.min() < 0.5 < keras_p.max(), "the inputs must reach both decisions"
    for name in (export.ONNX_FILE, export.TFLITE_FILE):
        check = export.parity(exported[name], keras_p, batch)
        assert check.images == 6 and check.flips == 0, check
        assert check.max_difference < 1e-5, check
        assert check.megabytes == pytest.approx(exported[name].stat().st_size / 1e6)


def test_parity_counts_flipped_decisions(exported: dict[str, Path]):
    batch = pixels(4, seed=1)
    own = export.OnnxModel(exported[export.ONNX_FILE]).predict(batch)
    opposite = 1 - own  # a "reference" that decides the other way on every image
    check = export.parity(exported[export.ONNX_FILE], opposite, batch)
    assert check.flips == int(np.sum(np.abs(own - 0.5) > 0)) and check.max_difference > 0
    with pytest.raises(ValueError, match="4 outputs for 3 images"):
        export.parity(exported[export.ONNX_FILE], opposite[:3], batch)


def test_the_card_names_the_classes_and_vouches_for_each_file(exported: dict[str, Path]):
    card = json.loads(exported[export.CARD_FILE].read_text(encoding="utf-8"))
    assert card["class_names"] == ["cats", "dogs"] and card["positive_class"] == "dogs"
    assert card["input_shape"] == [64, 64, 3] and card["min_side"] == 8
    assert card["onnx_input_name"] == export.OnnxModel(exported[export.ONNX_FILE]).input_name
    for name in (export.ONNX_FILE, export.TFLITE_FILE):
        assert card["files"][name]["sha256"] == store.file_sha256(exported[name])
    assert "bilinear" in card["preprocessing"] and card["test_metrics"] is None


def test_the_command_writes_the_files_and_lists_them(saved_model: Path, tmp_path, capsys):
    dest = tmp_path / "for another project"
    (dest / "keep.txt").parent.mkdir()
    (dest / "keep.txt").write_text("the reader's own file")
    assert command_line(["export", "--model", str(saved_model), str(dest)]) == 0
    out, err = capsys.readouterr()
    assert err.strip() == f"model: {saved_model}"
    assert [line.split("\t")[0] for line in out.splitlines()] == [
        str(dest / name) for name in (export.ONNX_FILE, export.TFLITE_FILE, export.CARD_FILE)
    ]
    assert (dest / "keep.txt").read_text() == "the reader's own file", "nothing else is touched"


def test_the_command_refuses_a_missing_model_in_one_line(tmp_path, capsys):
    status = command_line(
        ["export", "--model", str(tmp_path / "none.keras"), str(tmp_path / "out")]
    )
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {tmp_path / 'none.keras'}: no such model file (train one first, chapter 5)"
    )
    assert not (tmp_path / "out").exists()


def test_the_card_carries_the_test_metrics_it_is_given(
    exported: dict[str, Path], saved_model: Path, tmp_path: Path
):
    import shutil

    from helpers import classify

    for name in (export.ONNX_FILE, export.TFLITE_FILE):  # a folder of its own: the fixture's stays
        shutil.copy2(exported[name], tmp_path / name)
    metrics_file = tmp_path / "metrics.json"
    metrics_file.write_text(json.dumps({"profile": "test", "test": {"n": 3, "accuracy": 0.5}}))
    metrics = export.read_metrics(metrics_file)
    assert metrics == {"n": 3, "accuracy": 0.5}
    assert export.read_metrics(metrics_file.with_name("none.json")) is None
    card_path = export.write_card(
        metrics_file.parent, classify.read_card(saved_model), "image", metrics
    )
    assert json.loads(card_path.read_text())["test_metrics"] == metrics
    # a metric a small test set leaves undefined (no image called positive) is NaN: the card
    # must stay JSON a browser's JSON.parse reads, so it is written as null
    undefined = {"n": 3, "precision": {"value": float("nan"), "low": float("inf")}}
    card_path = export.write_card(
        metrics_file.parent, classify.read_card(saved_model), "image", undefined
    )
    text = card_path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["test_metrics"]["precision"] == {"value": None, "low": None}
