"""Tests for helpers.sobel: the flip identity, OpenCV agreement, the Keras layer, edge channels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.signal import convolve2d, correlate2d

import helpers  # noqa: F401  (quietens TensorFlow before it is imported)
from helpers import sobel


def convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """SciPy's 2-D convolution, same size, zero padding (chapter 8's call)."""
    return convolve2d(image, kernel, mode="same")


def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """SciPy's 2-D cross-correlation, same size, zero padding (chapter 8's call)."""
    return correlate2d(image, kernel, mode="same")


def opencv_sobel(image: np.ndarray, axis: str) -> np.ndarray:
    """cv2.Sobel along x or y, 3 x 3, in float64 (chapter 8's call)."""
    dx, dy = (1, 0) if axis == "x" else (0, 1)
    return cv2.Sobel(image, cv2.CV_64F, dx, dy, ksize=3)


@pytest.fixture
def image() -> np.ndarray:
    """A small random grayscale image with a bright square (so it has real edges)."""
    rng = np.random.default_rng(0)
    picture = rng.uniform(0, 50, size=(20, 24))
    picture[5:14, 6:15] += 200
    return picture


def test_kernels_are_antisymmetric_under_rotation() -> None:
    for kernel in (sobel.SOBEL_X, sobel.SOBEL_Y):
        np.testing.assert_array_equal(sobel.rotate180(kernel), -kernel)


def test_convolve_equals_correlate_with_rotated_kernel(image: np.ndarray) -> None:
    kernel = np.arange(9, dtype=float).reshape(3, 3)  # no symmetry at all
    np.testing.assert_allclose(convolve(image, kernel), correlate(image, sobel.rotate180(kernel)))
    assert not np.allclose(convolve(image, kernel), correlate(image, kernel))


def test_convolve_and_correlate_differ_by_sign_for_sobel(image: np.ndarray) -> None:
    for kernel in (sobel.SOBEL_X, sobel.SOBEL_Y):
        np.testing.assert_allclose(convolve(image, kernel), -correlate(image, kernel))


def test_correlate_sobel_x_is_positive_on_a_dark_to_bright_step() -> None:
    step = np.zeros((5, 6))
    step[:, 3:] = 1.0
    response = correlate(step, sobel.SOBEL_X)
    assert response[2, 2] == pytest.approx(4.0)  # 1 + 2 + 1 across the step, left to right
    assert response[2, 0] == 0.0


@pytest.mark.parametrize("axis, kernel", [("x", sobel.SOBEL_X), ("y", sobel.SOBEL_Y)])
def test_opencv_agrees_with_correlate_on_interior(
    image: np.ndarray, axis: str, kernel: np.ndarray
) -> None:
    np.testing.assert_allclose(
        sobel.interior(opencv_sobel(image, axis)),
        sobel.interior(correlate(image, kernel)),
        atol=1e-9,
    )


def test_keras_layer_reproduces_correlate(image: np.ndarray) -> None:
    import keras

    layer = keras.layers.Conv2D(2, (3, 3), padding="same", use_bias=False, trainable=False)
    layer.build((None, None, None, 1))
    layer.set_weights([sobel.sobel_weights(in_channels=1)])
    out = np.asarray(layer(image[None, :, :, None].astype("float32")))[0]
    assert out.shape == (*image.shape, 2)
    for index, kernel in enumerate((sobel.SOBEL_X, sobel.SOBEL_Y)):
        np.testing.assert_allclose(
            sobel.interior(out[..., index]),
            sobel.interior(correlate(image, kernel)),
            rtol=1e-4,
            atol=1e-2,
        )
    assert not layer.trainable


def test_gradient_magnitude() -> None:
    np.testing.assert_allclose(sobel.gradient_magnitude(np.array([3.0]), np.array([4.0])), [5.0])
    with pytest.raises(ValueError, match="shape"):
        sobel.gradient_magnitude(np.zeros(2), np.zeros(3))


def test_to_gray_and_shape_errors() -> None:
    rgb = np.zeros((4, 5, 3))
    rgb[..., 1] = 100.0
    np.testing.assert_allclose(sobel.to_gray(rgb), 58.7)
    with pytest.raises(ValueError, match="RGB"):
        sobel.to_gray(np.zeros((4, 5, 2)))
    with pytest.raises(ValueError, match="2-D"):
        sobel.rotate180(np.zeros((3, 3, 2)))


def test_edge_channels_match_opencv_everywhere(image: np.ndarray) -> None:
    rgb = np.repeat(image[:, :, None], 3, axis=2).astype("float32")  # gray stays gray
    edges = np.asarray(sobel.edge_channels(rgb[None]))[0] * sobel.SOBEL_GAIN
    assert edges.shape == (*image.shape, 2)
    gray = sobel.to_gray(rgb)
    np.testing.assert_allclose(edges[..., 0], opencv_sobel(gray, "x"), rtol=1e-4, atol=0.05)
    np.testing.assert_allclose(edges[..., 1], opencv_sobel(gray, "y"), rtol=1e-4, atol=0.05)


def test_with_edge_channels_keeps_pixels_and_adds_two() -> None:
    rgb = np.random.default_rng(1).uniform(0, 255, size=(2, 8, 9, 3)).astype("float32")
    out = np.asarray(sobel.with_edge_channels(rgb))
    assert out.shape == (2, 8, 9, 5)
    np.testing.assert_array_equal(out[..., :3], rgb)
    assert np.abs(out[..., 3:]).max() <= 255.0 + 1e-3


def test_edge_channels_reject_grayscale_batches() -> None:
    with pytest.raises(ValueError, match="RGB"):
        sobel.edge_channels(np.zeros((1, 8, 8, 1), dtype="float32"))


def test_a_seed_starts_both_inputs_alike_but_for_the_first_convolution() -> None:
    """Chapter 8's prose: with one seed, 3- and 5-channel models differ only in conv1's start."""
    import keras

    from helpers.taught import build_model

    built = {}
    for channels in (3, 5):
        keras.utils.set_random_seed(7)
        built[channels] = build_model((32, 32, channels))
    for raw, edged in zip(built[3].layers, built[5].layers, strict=True):
        pairs = zip(raw.get_weights(), edged.get_weights(), strict=True)
        same = [np.array_equal(a, b) for a, b in pairs]
        assert all(same) == (raw.name != "conv1"), raw.name


def test_plot_seed_curves_one_line_per_run_and_a_mean() -> None:
    import matplotlib.pyplot as plt

    fig = sobel.plot_seed_curves({"a": [[3, 2, 1], [3, 2, 2]], "b": [[1, 1, 1]]}, "curves")
    assert len(fig.axes[0].lines) == 2 + 1 + 1 + 1
    plt.close(fig)
