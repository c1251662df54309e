"""Chapter 7's Grad-CAM (helpers.taught) and helpers.inspection, on tiny models made here."""

from __future__ import annotations

import math

import numpy as np
import pytest

import helpers  # noqa: F401  (quietens TensorFlow before it is imported)
from helpers import inspection
from helpers.taught import grad_cam


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


def test_keras3_sequential_has_no_model_input_but_has_inputs() -> None:
    """Chapter 7's prose: model.input fails on a Sequential, called or not; model.inputs works."""
    import keras

    model = tiny_model()
    model(np.zeros((1, 12, 12, 3), "float32"))  # called once: still no `input`
    with pytest.raises(AttributeError, match="never been called"):
        _ = model.input
    extractor = keras.Model(model.inputs[0], model.get_layer("conv_a").output)
    image = np.random.default_rng(1).uniform(0, 255, size=(1, 12, 12, 3)).astype("float32")
    by_hand = keras.Sequential(model.layers[:2])(image)  # rescale, then conv_a
    np.testing.assert_allclose(extractor(image), by_hand, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "count, expected", [(1, (1, 1)), (4, (2, 2)), (16, (4, 4)), (32, (6, 6)), (5, (2, 3))]
)
def test_grid_shape_fits_every_channel(count: int, expected: tuple[int, int]) -> None:
    rows, cols = inspection.grid_shape(count)
    assert (rows, cols) == expected
    assert rows * cols >= count > (rows - 1) * cols


def test_plot_channel_slices_and_an_empty_saliency_plot() -> None:
    import matplotlib.pyplot as plt

    fig = inspection.plot_channel_slices(np.zeros((6, 6, 3)), np.ones((4, 4, 5)))
    assert "[..., :3]" in fig.axes[1].get_title() and fig.axes[4].get_title().startswith("[..., 2]")
    plt.close(fig)
    assert inspection.plot_saliency(np.zeros((0, 4, 4, 3)), np.zeros((0, 4, 4)), []) is None


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
    cams, probabilities = grad_cam(spot_model(), images)
    assert cams.shape == (1, 10, 10)
    assert cams.min() >= 0.0 and cams.max() == pytest.approx(1.0)
    assert probabilities[0] > 0.5  # nine bright pixels outweigh the -0.5 bias
    mask = inspection.box_mask((10, 10), [(1, 6, 4, 9)])
    assert inspection.saliency_share(cams[0], mask) > 0.9
    assert inspection.area_share(mask) == pytest.approx(0.09)


def test_grad_cam_explains_the_predicted_class_even_when_it_is_class_0() -> None:
    images = np.zeros((1, 10, 10, 1), "float32")  # no bright pixel: P(class 1) < 0.5
    images[0, 2, 2] = 0.1
    cams, probabilities = grad_cam(spot_model(), images)
    assert probabilities[0] < 0.5
    np.testing.assert_array_equal(cams, 0.0)  # every pixel speaks for class 1, none for class 0


def test_grad_cam_on_a_model_loaded_from_its_file(tmp_path) -> None:
    """A loaded Sequential's layers hold one graph per layer added; the maps must not change."""
    import keras

    model = tiny_model()
    images = np.random.default_rng(4).uniform(0, 255, size=(3, 12, 12, 3)).astype("float32")
    model.save(tmp_path / "tiny.keras")
    loaded = keras.models.load_model(tmp_path / "tiny.keras")
    for layer_name in (None, "conv_a"):
        cams, probabilities = grad_cam(model, images, layer_name=layer_name)
        again, p_again = grad_cam(loaded, images, layer_name=layer_name)
        np.testing.assert_allclose(again, cams, atol=1e-5)
        np.testing.assert_allclose(p_again, probabilities, atol=1e-6)
        assert cams.max() > 0


def test_grad_cam_on_the_tiny_model_shapes() -> None:
    images = np.random.default_rng(2).uniform(0, 255, size=(3, 12, 12, 3)).astype("float32")
    cams, probabilities = grad_cam(tiny_model(), images)
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
    whole, p_whole = grad_cam(model, images, batch_size=5)
    pieces, p_pieces = grad_cam(model, images, batch_size=2)
    np.testing.assert_allclose(whole, pieces, atol=1e-5)
    np.testing.assert_allclose(p_whole, p_pieces, atol=1e-6)


def test_channel_correlations_known_signs_and_silent_channels() -> None:
    ramp = np.tile(np.arange(6.0), (5, 1))
    maps = np.stack([ramp, -2 * ramp + 1, np.zeros_like(ramp)], axis=-1)
    table = inspection.channel_correlations(maps, {"ramp": ramp})
    assert table["corr. with ramp"].iloc[0] == pytest.approx(1.0)
    assert table["corr. with ramp"].iloc[1] == pytest.approx(-1.0)
    assert math.isnan(table["corr. with ramp"].iloc[2])
    with pytest.raises(ValueError, match="reference"):
        inspection.channel_correlations(maps, {"small": ramp[:2]})
