"""Chapter 2: streaming channel statistics equal numpy's; thumbnails, the linear baseline, sizes, figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import eda
from helpers.taught import channel_stats, linear_baseline, thumbnails

matplotlib.use("Agg")


def batches_of(values: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """Cut an array into image batches of the given, unequal sizes."""
    edges = np.cumsum([0, *sizes])
    return [values[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def test_channel_stats_equal_numpy_on_unequal_batches() -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 255, size=(23, 5, 4, 3)).astype(np.float32)
    values[..., 2] += 1000.0  # a channel with a large offset: naive sums of squares lose precision
    mean, std = channel_stats(batches_of(values, [7, 1, 10, 5]))
    scaled = values.astype(np.float64) / 255
    np.testing.assert_allclose(mean, scaled.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(std, scaled.std(axis=(0, 1, 2)), rtol=1e-12)


def test_channel_stats_read_a_tf_dataset_in_either_order() -> None:
    import tensorflow as tf

    values = np.random.default_rng(1).uniform(0, 255, size=(10, 3, 3, 3)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices(values).batch(4)
    forward = channel_stats(dataset, scale=1)
    backward = channel_stats(batches_of(values[::-1], [1, 6, 3]), scale=1)
    np.testing.assert_allclose(forward, backward, rtol=1e-12)
    np.testing.assert_allclose(forward[0], values.mean(axis=(0, 1, 2), dtype=np.float64))


def test_channel_stats_of_gray_batches_give_one_channel() -> None:
    mean, std = channel_stats([np.full((2, 4, 4, 1), 51.0)])
    np.testing.assert_allclose((mean, std), ([0.2], [0.0]))


def test_thumbnails_are_gray_rows_in_the_unit_range() -> None:
    images = np.zeros((3, 64, 48, 3), dtype=np.uint8)
    images[1] = 255
    images[2, 32:] = 255  # lower half white
    rows = thumbnails(images, size=8)
    assert rows.shape == (3, 64) and rows.dtype == np.float32
    np.testing.assert_allclose(rows[0], 0.0)
    np.testing.assert_allclose(rows[1], 1.0, atol=1e-3)  # luma weights sum to 0.9999
    lower = rows[2].reshape(8, 8)
    np.testing.assert_allclose(lower[:3], 0.0, atol=1e-6)
    np.testing.assert_allclose(lower[5:], 1.0, atol=1e-3)


def test_linear_baseline_separates_an_easy_task_and_gives_probabilities() -> None:
    rng = np.random.default_rng(4)
    images = rng.integers(90, 130, size=(24, 16, 16, 3)).astype(np.float32)
    labels = np.repeat([0, 1], 12)
    images[labels == 0, 8:] = 220  # label 0: a bright lower half, label 1: a dark one
    images[labels == 1, 8:] = 30
    model = linear_baseline().fit(thumbnails(images, size=8), labels)
    probability = model.predict_proba(thumbnails(images, size=8))[:, 1]
    assert probability.shape == (24,)
    assert (probability[labels == 1] > 0.5).all() and (probability[labels == 0] < 0.5).all()


def write_faces(root: Path, per_class: int = 12) -> Path:
    """Two classes told apart by a bright (happy) or dark (sad) lower half; sizes vary."""
    rng = np.random.default_rng(3)
    for label, level in (("happy", 220), ("sad", 30)):
        folder = root / label
        folder.mkdir(parents=True)
        for index in range(per_class):
            width, height = 20 + index, 16 + 2 * (index % 3)
            pixels = rng.integers(90, 130, size=(height, width, 3), dtype=np.uint8)
            pixels[height // 2 :] = level
            Image.fromarray(pixels).save(folder / f"{label}{index:02d}.png")
    return root


def test_image_sizes_from_folder_and_manifest_agree(tmp_path: Path) -> None:
    root = write_faces(tmp_path / "clean", per_class=4)
    from_folder = eda.image_sizes(root)
    assert len(from_folder) == 8
    row = from_folder.set_index("path").loc["happy/happy01.png"]
    assert (row["width"], row["height"]) == (21, 18)
    assert row["aspect"] == pytest.approx(21 / 18)
    manifest = pd.DataFrame(
        {
            "source": [f"{p}.jpg" for p in from_folder["path"]] + ["sad/junk.svg"],
            "class": list(from_folder["label"]) + ["sad"],
            "sha256": "x",
            "status": ["kept"] * 8 + ["rejected"],
            "reason": [""] * 8 + ["not an image"],
            "output": list(from_folder["path"]) + [""],
        }
    )
    manifest.to_csv(root / "manifest.csv", index=False)
    from_manifest = eda.image_sizes(root / "manifest.csv")
    pd.testing.assert_frame_equal(
        from_manifest.sort_values("path").reset_index(drop=True),
        from_folder.sort_values("path").reset_index(drop=True),
    )


def test_figures_have_titles_and_labelled_axes(tmp_path: Path) -> None:
    root = write_faces(tmp_path / "clean", per_class=6)
    sizes = eda.image_sizes(root)
    coords = np.random.default_rng(5).normal(size=(12, 2))
    means = {"happy": np.zeros((8, 8)), "sad": np.ones((8, 8))}
    figures = [
        eda.plot_class_balance(sizes["label"].value_counts().sort_index()),
        eda.plot_sizes(sizes, model_size=16),
        eda.plot_projection(coords, np.repeat([0, 1], 6), ["happy", "sad"], [0.3, 0.2]),
        eda.plot_mean_faces(means),
        eda.plot_resize_effect(root / "happy" / "happy00.png", 16),
        eda.plot_weights(np.ones((8, 8)), ["happy", "sad"]),
    ]
    for figure in figures:
        for ax in figure.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    grid = eda.plot_samples(np.zeros((3, 4, 4, 3)), [0, 1, 0], ["happy", "sad"], columns=2)
    assert [ax.get_title() for ax in grid.axes[:3]] == ["0: happy", "1: sad", "0: happy"]
    assert grid.get_suptitle()
