"""Tests for helpers.train: a one-epoch run on a tiny data set writes its files where the profile says."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import helpers  # noqa: F401  (quietens TensorFlow before Keras is imported)
from helpers import classify, datasets, pipeline, profiles, split, train
from helpers.model import architecture
from helpers.taught import build_model, overfitting

SIDE = 32


def make_tiny_split(clean_dir: Path, per_class: int = 6) -> pd.DataFrame:
    """Bright 'happy' and dark 'sad' squares with noise, split 4/1/1 per class."""
    rng = np.random.default_rng(0)
    rows = []
    for label, level in (("happy", 200), ("sad", 50)):
        (clean_dir / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(level, 20, size=(SIDE, SIDE, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(clean_dir / label / f"{i}.png")
            subset = "train" if i < per_class - 2 else ("val" if i == per_class - 2 else "test")
            rows.append((f"{label}/{i}.png", label, subset, len(rows)))
    return pd.DataFrame(rows, columns=list(split.COLUMNS))


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A profile whose data/ and artifacts/ live under tmp_path, with its split and pipelines."""
    monkeypatch.setattr(profiles, "data_dir", lambda name: tmp_path / "data" / name)
    monkeypatch.setattr(profiles, "artifacts_dir", lambda name: tmp_path / "artifacts" / name)
    profile = profiles.Profile(
        name="tiny", faces_per_class=6, image_size=SIDE, epochs=1, batch_size=4
    )
    clean_dir = profile.data / "clean"
    frame = make_tiny_split(clean_dir)
    split.write_split(frame, profile.split_folder)
    data = datasets.datasets_from_frame(frame, clean_dir, SIDE, profile.batch_size, profile.seed)
    return profile, data


def test_one_epoch_writes_model_history_logs_and_card_into_the_runs_folder(tiny) -> None:
    profile, data = tiny
    result = train.train_model(profile, datasets=data)
    folder = profile.artifacts / "baseline"
    assert not folder.is_relative_to(helpers.ROOT)  # the profile points under tmp_path
    assert result.folder == folder and result.model_path == pipeline.model_path(profile)
    assert result.model_path == folder / "model.keras" and result.model_path.is_file()
    assert result.checkpoint == folder / "best.keras" and result.checkpoint.is_file()
    history = train.load_history(profile)
    assert list(history["epoch"]) == [1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.columns)
    summary = json.loads(result.history_json.read_text())
    assert summary["best_epoch"] == 1 and summary["train_images"] == 8
    events = list(result.log_dir.rglob("events.out.tfevents.*"))
    assert {path.parent.name for path in events} == {"train", "validation"}
    assert sorted(p.name for p in profile.artifacts.iterdir()) == ["baseline"], (
        "the staging folder must be gone"
    )
    assert result.images_per_second > 0
    assert pipeline.model_is_current(profile)
    card = classify.read_card(result.model_path)
    assert card.class_names == ("happy", "sad") and card.input_shape == (SIDE, SIDE, 3)
    assert (card.profile_name, card.source, card.min_side) == ("tiny", "synthetic", 100)


def test_saved_model_predicts_like_the_trained_one(tiny) -> None:
    profile, data = tiny
    result = train.train_model(profile, datasets=data)
    images, _ = next(iter(data.test))
    loaded = keras.saving.load_model(result.model_path)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), result.model.predict(images, verbose=0), rtol=0, atol=0
    )


def test_comparison_run_keeps_the_baseline_alone(tiny) -> None:
    profile, data = tiny
    result = train.train_model(profile, datasets=data, run_name="augmented", **train.AUGMENTED)
    assert result.folder == profile.artifacts / "augmented" and result.history_csv.is_file()
    assert not pipeline.model_path(profile).exists()
    assert not pipeline.model_is_current(profile)
    assert any(type(layer).__name__ == "RandomFlip" for layer in result.model.layers)


def test_model_goes_stale_when_the_split_changes(tiny) -> None:
    profile, data = tiny
    train.train_model(profile, datasets=data)
    assert pipeline.model_is_current(profile)
    csv = profile.split_folder / split.SPLIT_FILE
    csv.write_text(csv.read_text().replace(",test,", ",val,", 1))
    assert not pipeline.model_is_current(profile)


def test_new_model_is_the_chapter_four_model_with_the_same_start(tiny) -> None:
    profile, _ = tiny
    config = train.run_config(profile)
    first, second = train.new_model(config), train.new_model(config)
    assert architecture(first) == architecture(build_model(profile.input_shape))
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_seed_sets_the_start_and_the_regularised_model_shares_it(tiny) -> None:
    profile, _ = tiny
    config = train.run_config(profile)
    assert train.run_config(profile, seed=7).seed == 7 and config.seed == profile.seed
    baseline = {layer.name: layer.get_weights() for layer in train.new_model(config).layers}
    other = train.new_model(train.run_config(profile, seed=7)).get_weights()
    assert not np.array_equal(other[0], baseline["conv1"][0])
    regularised = train.new_model(train.run_config(profile, **train.AUGMENTED))
    for layer in regularised.layers:  # chapter 5 compares runs from the same starting weights
        for a, b in zip(layer.get_weights(), baseline.get(layer.name, []), strict=False):
            np.testing.assert_array_equal(a, b)
    assert {layer.name for layer in regularised.layers if layer.get_weights()} == {
        name for name, weights in baseline.items() if weights
    }


def test_a_new_pipeline_built_after_seeding_repeats_the_batch_order(tiny) -> None:
    profile, data = tiny
    frame, clean_dir = data.frame, profile.data / "clean"

    def order(pipeline) -> list[list[float]]:
        return [np.asarray(images).mean(axis=(1, 2, 3)).round(3).tolist() for images, _ in pipeline]

    keras.utils.set_random_seed(profile.seed)
    first = datasets.datasets_from_frame(frame, clean_dir, SIDE, profile.batch_size, profile.seed)
    epoch_1, epoch_2 = order(first.train), order(first.train)
    keras.utils.set_random_seed(profile.seed)
    again = datasets.datasets_from_frame(frame, clean_dir, SIDE, profile.batch_size, profile.seed)
    assert order(again.train) == epoch_1  # a new pipeline starts at epoch 1's order
    assert epoch_2 != epoch_1  # a used one has moved on: chapter 5's runs each build their own


def test_bad_settings_are_refused(tiny) -> None:
    profile, _ = tiny
    with pytest.raises(ValueError, match="epochs"):
        train.run_config(profile, epochs=0)
    with pytest.raises(ValueError, match="run_name"):
        train.run_config(profile, run_name="../x")
    with pytest.raises(ValueError, match="dropout"):
        train.run_config(profile, dropout=1.5)
    with pytest.raises(FileNotFoundError, match="not been trained"):
        train.load_history(profile, "never")


def test_h5_save_warns_legacy_and_leaves_no_file(tmp_path) -> None:
    path = tmp_path / "legacy.h5"
    messages = train.h5_save_warnings(path)
    assert any("legacy" in message for message in messages)
    assert not path.exists()


def history(val_loss: list[float]) -> pd.DataFrame:
    """A made-up history whose training loss falls steadily, with the given validation losses."""
    epochs = len(val_loss)
    return pd.DataFrame(
        {
            "epoch": range(1, epochs + 1),
            "loss": np.linspace(0.7, 0.1, epochs),
            "accuracy": np.linspace(0.5, 1.0, epochs),
            "val_loss": val_loss,
            "val_accuracy": np.linspace(0.5, 0.9, epochs),
        }
    )


def test_overfitting_is_a_rise_that_lasts_or_a_gap_beyond_noise() -> None:
    rising = overfitting(history([0.7, 0.5, 0.4, 0.5, 0.6, 0.7, 0.8]), val_images=40)
    assert (rising.best_epoch, rising.epochs) == (3, 7)
    assert rising.later_rise == pytest.approx(1.0) and rising.rose
    falling = overfitting(history([0.7, 0.6, 0.5, 0.4, 0.3]), val_images=40)
    assert falling.best_epoch == 5 and falling.later_rise == 0 and not falling.rose
    late = overfitting(history([0.7, 0.6, 0.5, 0.4, 0.6]), val_images=40)
    assert late.later_rise == pytest.approx(0.5) and not late.rose  # one epoch is not a trend
    # at epoch 4 of 5: training 0.875, validation 0.8 of 40 images: a gap inside the noise
    assert late.best_epoch == 4 and late.gap == pytest.approx(0.075)
    assert late.gap_low < 0 < late.gap_high
    assert not late.beyond_noise
    wide = history([0.7, 0.6, 0.5]).assign(accuracy=1.0, val_accuracy=0.6)
    found = overfitting(wide, val_images=400)  # 40 points above a 400-image validation figure
    assert found.beyond_noise and found.gap_low > 0.3
    assert found.gap_low < found.gap < found.gap_high


def test_plot_curves_draws_both_metrics_for_each_run() -> None:
    figure = train.plot_learning_curves(
        {"a": history([0.7, 0.6, 0.5]), "b": history([0.6, 0.5, 0.6])}
    )
    accuracy, loss = figure.axes
    assert len(accuracy.lines) == len(loss.lines) == 4
    assert accuracy.get_xlabel() == loss.get_xlabel() == "epoch"


def test_extra_callbacks_and_learning_rate_reach_the_run(tiny) -> None:
    profile, data = tiny
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    result = train.train_model(
        profile,
        datasets=data,
        run_name="lr_test",
        epochs=2,
        learning_rate=0.01,
        callbacks=[plateau],
    )
    assert result.config.learning_rate == 0.01
    assert "learning_rate" in result.history.columns  # ReduceLROnPlateau logs the rate
    assert result.history["learning_rate"].iloc[0] == pytest.approx(0.01)
    stamp = json.loads((result.folder / ".stamp.json").read_text())
    assert stamp["config"]["learning_rate"] == 0.01  # a run at another rate is another run


def test_throughput_is_the_median_epoch_after_the_first() -> None:
    meter = train.ThroughputMeter(images_per_epoch=100)
    meter.seconds = [30.0, 9.0, 2.0, 2.5, 2.0]  # tracing; a recompilation; three steady epochs
    assert meter.images_per_second() == pytest.approx(100 / 2.25)
    meter.seconds = [4.0]  # one epoch: all there is
    assert meter.images_per_second() == pytest.approx(25.0)
    meter.seconds = []
    assert np.isnan(meter.images_per_second())
