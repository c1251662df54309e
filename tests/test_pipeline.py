"""helpers.pipeline: every step builds its output once, reuses it, and rebuilds it when an input changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import helpers  # noqa: F401  (quietens TensorFlow before Keras is imported)
from helpers import pipeline, profiles, split, store, synthetic, train

FACES = 12


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> profiles.Profile:
    """A synthetic profile small enough to build every step in seconds, under tmp_path."""
    monkeypatch.setattr(profiles, "data_dir", lambda name: tmp_path / "data" / name)
    monkeypatch.setattr(profiles, "artifacts_dir", lambda name: tmp_path / "artifacts" / name)
    return profiles.Profile("tiny", FACES, 32, 1, 8, seed=7)


def times(folder: Path) -> dict[Path, int]:
    """Every file's modification time under a folder: unchanged means not rebuilt."""
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}


def test_downloads_are_generated_once_and_again_for_new_settings(
    tiny: profiles.Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = pipeline.ensure_downloads(tiny)
    assert folder == tiny.data / "downloads" and (folder / "happy.zip").is_file()
    before = times(folder)
    calls = []
    monkeypatch.setattr(synthetic, "generate_downloads", lambda *a: calls.append(a))
    assert pipeline.ensure_downloads(tiny) == folder and calls == [] and times(folder) == before
    root = tiny.data.parent
    monkeypatch.undo()
    monkeypatch.setattr(profiles, "data_dir", lambda name: root / name)
    reseeded = profiles.Profile("tiny", FACES, 32, 1, 8, seed=8)
    pipeline.ensure_downloads(reseeded)
    assert store.read_stamp(folder)["seed"] == 8
    assert sorted(p.name for p in tiny.data.iterdir()) == ["downloads"]  # no staging left


def test_each_step_reuses_its_output_until_an_input_changes(tiny: profiles.Profile) -> None:
    clean_dir = pipeline.ensure_clean(tiny)
    frame = pipeline.ensure_split(tiny)
    raw = tiny.data / "raw"
    built = {name: times(folder) for name, folder in (("raw", raw), ("clean", clean_dir))}
    split_csv = tiny.split_folder / split.SPLIT_FILE
    split_time = split_csv.stat().st_mtime_ns
    # a second pass does no work: nothing is rewritten, the split reads back equal
    assert pipeline.ensure_split(tiny).equals(frame)
    assert times(raw) == built["raw"] and times(clean_dir) == built["clean"]
    assert split_csv.stat().st_mtime_ns == split_time
    # one clean file changes: the split is rebuilt, the raw and clean folders are not
    victim = clean_dir / frame["path"].iloc[0]
    victim.write_bytes(victim.read_bytes())
    pipeline.ensure_split(tiny)
    assert split_csv.stat().st_mtime_ns != split_time
    # a raw file changes: cleaning runs again (and gives back the original PNG)
    first_raw = sorted(
        p for p in raw.rglob("*") if p.is_file() and "/" in p.relative_to(raw).as_posix()
    )[0]
    first_raw.write_bytes(first_raw.read_bytes())
    pipeline.ensure_clean(tiny)
    assert times(clean_dir) != built["clean"]


def test_the_model_is_trained_once_and_reused_like_chapter_fives(tiny: profiles.Profile) -> None:
    """What chapter 5's model must satisfy so that the later chapters reuse it: current, not retrained."""
    path = pipeline.ensure_model(tiny)
    assert path == tiny.artifacts / "baseline" / "model.keras"
    assert pipeline.model_is_current(tiny)
    before = path.stat().st_mtime_ns
    assert pipeline.ensure_model(tiny) == path and path.stat().st_mtime_ns == before
    stamp = train.load_stamp(tiny)
    assert stamp["config"] == train.run_config(tiny).as_dict()
    assert stamp["split_sha256"] == train.split_digest(tiny)


def test_a_kept_run_is_trained_once_read_back_whole_and_retrained_when_its_settings_change(
    tiny: profiles.Profile,
) -> None:
    """Chapter 5's second seed is chapter 12's second member: trained once, the same when read back."""
    trained = pipeline.ensure_run(tiny, "seed_9", seed=9)
    model = trained.model_path
    before = model.stat().st_mtime_ns
    again = pipeline.ensure_run(tiny, "seed_9", seed=9)
    assert model.stat().st_mtime_ns == before, "a current run is read back, not trained again"
    assert again.config == trained.config and again.best_epoch == trained.best_epoch
    pd.testing.assert_frame_equal(again.history, trained.history, check_dtype=False)
    for a, b in zip(again.model.get_weights(), trained.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    alike = pipeline.retrain(tiny, "seed_9_again", seed=9)  # the same seed, the same run
    np.testing.assert_array_equal(alike.history["loss"], trained.history["loss"])
    other = pipeline.ensure_run(tiny, "seed_9", seed=9, learning_rate=1e-2)
    assert model.stat().st_mtime_ns != before and other.config.learning_rate == 1e-2


def test_a_kept_run_is_stale_once_the_training_code_changes(
    tiny: profiles.Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing chapter 4's model (then `make sync`) must not leave an old run to be reused."""
    model = pipeline.ensure_run(tiny, "seed_9", seed=9).model_path
    before = model.stat().st_mtime_ns
    monkeypatch.setattr(train, "training_code_digest", lambda: "edited")
    pipeline.ensure_run(tiny, "seed_9", seed=9)
    assert model.stat().st_mtime_ns != before, "trained again after the code changed"
    assert train.load_stamp(tiny, "seed_9")["code_sha256"] == "edited"


def test_datasets_follow_the_written_split(tiny: profiles.Profile) -> None:
    data = pipeline.make_datasets(tiny)
    frame = pipeline.ensure_split(tiny)
    assert data.frame.equals(frame)
    assert not data.streamed and not pipeline.shards_folder(tiny).exists()  # far below the limit
    assert data.class_names == sorted(frame["label"].unique())
    counts = {name: sum(len(y) for _, y in getattr(data, name)) for name in split.SUBSETS}
    assert counts == frame["subset"].value_counts().to_dict()
