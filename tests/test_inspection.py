"""Tests for helpers.inspection on tiny models made here: filters, feature maps, saliency share."""

from __future__ import annotations

import math

import numpy as np
import pytest

import helpers  # noqa: F401  (quietens TensorFlow before it is imported)
from helpers import inspection


def tiny_model(size: int = 12, channels: int = 3):
    """A small Sequential model shaped like the book's (conv, pool, conv, pool, dense)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(shape=(size, size, channels)),
            layers.Rescaling(1 / 255),
            layers.Conv2D(4, 3, activation="relu", name="conv_a"),
            layers.MaxPooling2D(name="pool_a"),
            layers.Conv2D(6, 3, activation="relu", name="conv_b"),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


def spot_model(size: int = 10):
    """A model whose evidence for class 1 is exactly the pixel brightness (a 1x1 identity conv)."""
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(size, size, 1)),
            layers.Conv2D(1, 1, activation="relu", name="identity"),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.layers[0].set_weights([np.ones((1, 1, 1, 1), "float32"), np.zeros(1, "float32")])
    model.layers[2].set_weights([np.ones((size * size, 1), "float32"), np.full(1, -0.5, "float32")])
    return model


def test_keras3_sequential_has_no_model_input() -> None:
    """The failure the chapter works around (if Keras fixes it, the prose must change)."""
    with pytest.raises(AttributeError, match="never been called"):
        _ = tiny_model().input


def test_untrained_biases_are_zero_and_shapes() -> None:
    first = inspection.conv_layers(tiny_model())[0]
    kernel, bias = inspection.filters_and_biases(first)
    assert kernel.shape == (3, 3, 3, 4)
    np.testing.assert_array_equal(bias, np.zeros(4))


def test_conv_layers_requires_a_conv() -> None:
    import keras

    dense_only = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="no Conv2D"):
        inspection.conv_layers(dense_only)


def test_feature_maps_one_map_per_channel() -> None:
    model = tiny_model()
    image = np.random.default_rng(0).uniform(0, 255, size=(12, 12, 3)).astype("float32")
    maps = inspection.feature_maps(model, image)
    assert list(maps) == ["conv_a", "conv_b"]
    assert maps["conv_a"].shape == (10, 10, 4)
    assert maps["conv_b"].shape == (3, 3, 6)


def test_feature_maps_match_the_model_itself() -> None:
    import keras

    model = tiny_model()
    image = np.random.default_rng(1).uniform(0, 255, size=(12, 12, 3)).astype("float32")
    maps = inspection.feature_maps(model, image, ["conv_a"])
    by_hand = keras.Sequential(model.layers[:2])(image[None])
    np.testing.assert_allclose(maps["conv_a"], np.asarray(by_hand)[0], rtol=1e-5, atol=1e-6)


def test_feature_maps_reject_wrong_shape_and_name() -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match="does not match"):
        inspection.feature_maps(model, np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="no layer named"):
        inspection.feature_maps(model, np.zeros((12, 12, 3)), ["nope"])


@pytest.mark.parametrize(
    "count, expected", [(1, (1, 1)), (4, (2, 2)), (16, (4, 4)), (32, (6, 6)), (5, (2, 3))]
)
def test_grid_shape_fits_every_channel(count: int, expected: tuple[int, int]) -> None:
    rows, cols = inspection.grid_shape(count)
    assert (rows, cols) == expected
    assert rows * cols >= count > (rows - 1) * cols


def test_plot_feature_maps_one_panel_per_channel() -> None:
    import matplotlib.pyplot as plt

    fig = inspection.plot_feature_maps(np.zeros((5, 5, 6)), "test")
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled == [f"channel {index}" for index in range(6)]
    plt.close(fig)


def test_filters_as_rgb_maps_zero_to_grey_and_limit_to_white() -> None:
    kernel = np.zeros((3, 3, 3, 2))
    kernel[0, 0, :, 1] = 0.2
    patches = inspection.filters_as_rgb(kernel, limit=0.2)
    assert patches.shape == (2, 3, 3, 3)
    np.testing.assert_allclose(patches[0], 0.5)
    np.testing.assert_allclose(patches[1, 0, 0], 1.0)
    assert inspection.symmetric_limit(kernel, -2 * kernel) == pytest.approx(0.4)


def test_box_mask_union_and_clipping() -> None:
    mask = inspection.box_mask((10, 10), [(0, 0, 2, 2), (1, 1, 3, 3), (8, 8, 20, 20)])
    assert mask.sum() == 4 + 4 - 1 + 4
    assert inspection.area_share(mask) == pytest.approx(11 / 100)
    with pytest.raises(ValueError, match="x1 < x0"):
        inspection.box_mask((10, 10), [(5, 0, 2, 2)])


def test_saliency_share_known_answers() -> None:
    mask = inspection.box_mask((20, 20), [(5, 5, 10, 15)])
    uniform = np.ones((20, 20))
    assert inspection.saliency_share(uniform, mask) == pytest.approx(inspection.area_share(mask))
    inside = mask.astype(float)
    assert inspection.saliency_share(inside, mask) == pytest.approx(1.0)
    assert inspection.saliency_share(1.0 - inside, mask) == pytest.approx(0.0)
    half = uniform.copy()
    half[mask] = 3.0  # 50 px at 3 against 350 px at 1
    assert inspection.saliency_share(half, mask) == pytest.approx(150 / 500)
    assert math.isnan(inspection.saliency_share(np.zeros((20, 20)), mask))
    with pytest.raises(ValueError, match="non-negative"):
        inspection.saliency_share(-uniform, mask)


def test_grad_cam_finds_the_bright_spot() -> None:
    images = np.zeros((1, 10, 10, 1), "float32")
    images[0, 6:9, 1:4] = 1.0
    cams, probabilities = inspection.grad_cam(spot_model(), images)
    assert cams.shape == (1, 10, 10)
    assert cams.min() >= 0.0 and cams.max() == pytest.approx(1.0)
    assert probabilities[0] > 0.5  # nine bright pixels outweigh the -0.5 bias
    mask = inspection.box_mask((10, 10), [(1, 6, 4, 9)])
    assert inspection.saliency_share(cams[0], mask) > 0.9
    assert inspection.area_share(mask) == pytest.approx(0.09)


def test_grad_cam_explaining_the_other_class_gives_nothing_here() -> None:
    images = np.zeros((1, 10, 10, 1), "float32")
    images[0, 2, 2] = 1.0
    cams, _ = inspection.grad_cam(spot_model(), images, target=[0])
    np.testing.assert_array_equal(cams, 0.0)  # every pixel speaks for class 1, none for class 0


def test_grad_cam_on_the_tiny_model_shapes() -> None:
    images = np.random.default_rng(2).uniform(0, 255, size=(3, 12, 12, 3)).astype("float32")
    cams, probabilities = inspection.grad_cam(tiny_model(), images)
    assert cams.shape == (3, 12, 12)
    assert probabilities.shape == (3,)
    assert np.all((cams >= 0) & (cams <= 1))


def test_region_shares_on_a_map_that_lies_on_the_mouth() -> None:
    cam = np.zeros((20, 20))
    cam[15:18, 6:14] = 1.0  # all the saliency inside the mouth box
    marks = {"mouth": (5, 14, 15, 19), "brows": (4, 4, 16, 7), "face": (2, 2, 18, 20)}
    table = inspection.region_shares(cam[None], [marks])
    row = table.iloc[0]
    assert row["expression_saliency"] == pytest.approx(1.0)
    assert row["expression_area"] == pytest.approx((10 * 5 + 12 * 3) / 400)
    assert row["face_saliency"] == pytest.approx(1.0)
    assert row["face_area"] == pytest.approx(16 * 18 / 400)
    with pytest.raises(ValueError, match="lack"):
        inspection.region_shares(cam[None], [{"mouth": (0, 0, 1, 1)}])


def test_grad_cam_batches_give_the_same_maps() -> None:
    images = np.random.default_rng(3).uniform(0, 255, size=(5, 12, 12, 3)).astype("float32")
    model = tiny_model()
    whole, p_whole = inspection.grad_cam(model, images, batch_size=5)
    pieces, p_pieces = inspection.grad_cam(model, images, batch_size=2)
    np.testing.assert_allclose(whole, pieces, atol=1e-5)
    np.testing.assert_allclose(p_whole, p_pieces, atol=1e-6)
    with pytest.raises(ValueError, match="targets"):
        inspection.grad_cam(model, images, target=[0, 1])


def test_channel_correlations_known_signs_and_silent_channels() -> None:
    ramp = np.tile(np.arange(6.0), (5, 1))
    maps = np.stack([ramp, -2 * ramp + 1, np.zeros_like(ramp)], axis=-1)
    table = inspection.channel_correlations(maps, {"ramp": ramp})
    assert table["corr. with ramp"].iloc[0] == pytest.approx(1.0)
    assert table["corr. with ramp"].iloc[1] == pytest.approx(-1.0)
    assert math.isnan(table["corr. with ramp"].iloc[2])
    with pytest.raises(ValueError, match="reference"):
        inspection.channel_correlations(maps, {"small": ramp[:2]})
