"""Exploratory statistics: streaming channel statistics equal numpy's, sizes, PCA, baseline, suspects."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import eda

matplotlib.use("Agg")


def batches_of(values: np.ndarray, sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut an array into (images, labels) batches of the given, unequal sizes."""
    edges = np.cumsum([0, *sizes])
    return [
        (values[a:b], np.zeros(b - a, dtype=np.int32))
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]


def test_streaming_stats_equal_numpy_on_unequal_batches() -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 255, size=(23, 5, 4, 3)).astype(np.float32)
    values[..., 2] += 1000.0  # a channel with a large offset: naive sums of squares lose precision
    mean, std = eda.streaming_channel_stats(batches_of(values, [7, 1, 10, 5]), scale=1 / 255)
    np.testing.assert_allclose(mean, (values / 255).mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(std, (values / 255).std(axis=(0, 1, 2)), rtol=1e-6)
    overall = eda.overall_stats(mean, std)
    np.testing.assert_allclose(overall, ((values / 255).mean(), (values / 255).std()), rtol=1e-6)


def test_streaming_stats_read_a_tf_dataset_and_match_the_concatenating_way() -> None:
    import tensorflow as tf

    values = np.random.default_rng(1).uniform(0, 255, size=(10, 3, 3, 3)).astype(np.float32)
    labels = np.arange(10, dtype=np.int32)
    dataset = tf.data.Dataset.from_tensor_slices((values, labels)).batch(4)
    streamed = eda.streaming_channel_stats(dataset)
    concatenated = eda.concatenated_channel_stats(dataset)
    np.testing.assert_allclose(streamed, concatenated, rtol=1e-5)


def test_merging_partial_results_is_order_free() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(3, 2, size=(50, 3)), rng.normal(-1, 5, size=(7, 3))
    left = eda.RunningStats().update(a).merge(eda.RunningStats().update(b))
    right = eda.RunningStats().update(b).merge(eda.RunningStats().update(a))
    np.testing.assert_allclose(left.mean, right.mean)
    np.testing.assert_allclose(left.std, np.concatenate([a, b]).std(axis=0))


def test_empty_dataset_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no images"):
        eda.streaming_channel_stats([])


def write_faces(root: Path, per_class: int = 12, flip: str | None = None) -> Path:
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
    if flip:  # one sad-looking face filed as happy
        pixels = np.full((16, 20, 3), 110, dtype=np.uint8)
        pixels[8:] = 30
        Image.fromarray(pixels).save(root / "happy" / flip)
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


def test_thumbnails_mean_faces_and_pca(tmp_path: Path) -> None:
    thumbs = eda.load_thumbnails(write_faces(tmp_path / "clean"), size=8)
    assert thumbs.X.shape == (24, 64) and 0 <= thumbs.X.min() and thumbs.X.max() <= 1
    assert thumbs.class_names == ["happy", "sad"]
    means = eda.mean_faces(thumbs)
    assert means["happy"][-1].mean() > means["sad"][-1].mean()  # bright against dark lower half
    pca = eda.fit_pca(thumbs, components=5)
    assert eda.eigenfaces(pca, thumbs.shape, 3).shape == (3, 8, 8)
    # the first component is the brightness of the lower half: it separates the classes
    first = pca.transform(thumbs.X)[:, 0]
    assert min(first[thumbs.y == 0]) > max(first[thumbs.y == 1]) or max(first[thumbs.y == 0]) < min(
        first[thumbs.y == 1]
    )


def test_linear_baseline_separates_an_easy_task(tmp_path: Path) -> None:
    thumbs = eda.load_thumbnails(write_faces(tmp_path / "clean"), size=8)
    result = eda.linear_baseline(thumbs, folds=3)
    assert result.accuracy == 1.0 and result.correct == result.n == 24
    assert result.low < 1.0 == result.high
    assert result.majority == 0.5 and len(result.fold_accuracies) == 3


def test_linear_baseline_refuses_too_few_images_per_fold(tmp_path: Path) -> None:
    thumbs = eda.load_thumbnails(write_faces(tmp_path / "clean", per_class=3), size=8)
    with pytest.raises(ValueError, match="too few for 5-fold"):
        eda.linear_baseline(thumbs, folds=5)


def test_suspicious_labels_find_the_flipped_face(tmp_path: Path) -> None:
    root = write_faces(tmp_path / "clean", flip="zz_flipped.png")
    thumbs = eda.load_thumbnails(root, size=8)
    suspects = eda.suspicious_labels(thumbs, k=5, components=5, top=3)
    first = suspects.iloc[0]
    assert first["path"] == "happy/zz_flipped.png"
    assert first["neighbours_say"] == "sad" and first["disagreement"] == 1.0
    assert list(suspects["weighted"]) == sorted(suspects["weighted"], reverse=True)


def test_figures_have_titles_and_labelled_axes(tmp_path: Path) -> None:
    root = write_faces(tmp_path / "clean", per_class=6)
    thumbs = eda.load_thumbnails(root, size=8)
    pca = eda.fit_pca(thumbs, components=4)
    sizes = eda.image_sizes(root)
    figures = [
        eda.plot_class_balance(sizes["label"].value_counts().sort_index()),
        eda.plot_sizes(sizes, model_size=16),
        eda.plot_projection(pca, thumbs),
        eda.plot_mean_faces(eda.mean_faces(thumbs)),
        eda.plot_resize_effect(root / "happy" / "happy00.png", 16),
    ]
    for figure in figures:
        for ax in figure.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    grid = eda.plot_samples(np.zeros((3, 4, 4, 3)), [0, 1, 0], ["happy", "sad"], columns=2)
    assert [ax.get_title() for ax in grid.axes[:3]] == ["0: happy", "1: sad", "0: happy"]
    assert grid.get_suptitle()
