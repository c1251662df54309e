"""Profiles, paths and setup: one place for sizes, paths independent of the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import env, paths, profiles


def test_profile_name_prefers_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(profiles.ENV_VAR, raising=False)
    assert profiles.profile_name() == "full"
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    assert profiles.profile_name() == "smoke"
    assert profiles.profile_name("full") == "full"


def test_unknown_profile_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown profile 'huge': choose one of full, smoke"):
        profiles.get_profile("huge")
    monkeypatch.setenv(profiles.ENV_VAR, "typo")
    with pytest.raises(ValueError, match="unknown profile 'typo'"):
        profiles.get_profile()


def test_profiles_keep_their_data_apart() -> None:
    full, smoke = profiles.get_profile("full"), profiles.get_profile("smoke")
    assert full.data != smoke.data and full.artifacts != smoke.artifacts
    assert full.data == paths.ROOT / "data" / "full"
    assert smoke.input_shape == (smoke.image_size, smoke.image_size, 3)


def test_paths_do_not_depend_on_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = paths.data_dir("smoke")
    monkeypatch.chdir(tmp_path)
    assert paths.data_dir("smoke") == before
    assert (paths.ROOT / "helpers" / "paths.py").is_file()
    assert os.getcwd() != str(paths.ROOT)


def test_setup_applies_overrides_and_rejects_unknown_ones() -> None:
    profile = env.setup("smoke", epochs=7, batch_size=None)
    assert profile.epochs == 7
    assert profile.batch_size == profiles.get_profile("smoke").batch_size
    with pytest.raises(ValueError, match="unknown profile setting"):
        env.setup("smoke", learning_rate=0.1)


def test_seed_everything_makes_numpy_and_keras_repeatable() -> None:
    import keras
    import numpy as np

    env.seed_everything(3)
    first = (np.random.rand(3), keras.random.uniform((3,)).numpy())
    env.seed_everything(3)
    second = (np.random.rand(3), keras.random.uniform((3,)).numpy())
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
