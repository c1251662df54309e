"""Chapter 4's model (helpers.taught) and helpers.model: parameter counts by formula, pictures, save/load."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

import helpers  # (quietens TensorFlow before Keras is imported)
from helpers import model as cnn
from helpers.taught import build_model, build_regularised_model, compile_model


def expected_parameters(side: int) -> int:
    """The CNN's parameter count at side x side x 3, from the layer formulas written out here."""
    after_conv1 = side - 2
    after_pool1 = after_conv1 // 2
    after_conv2 = after_pool1 - 2
    after_pool2 = after_conv2 // 2
    after_conv3 = after_pool2 - 2
    after_pool3 = after_conv3 // 2
    flat = after_pool3 * after_pool3 * 16
    conv = (3 * 3 * 3 + 1) * 16 + (3 * 3 * 16 + 1) * 32 + (3 * 3 * 32 + 1) * 16
    dense = (flat + 1) * 256 + (256 + 1) * 1
    return conv + dense


@pytest.mark.parametrize("side", [256, 64])
def test_parameter_count_matches_formula(side: int) -> None:
    model = build_model((side, side, 3))
    assert model.count_params() == expected_parameters(side)
    assert int(cnn.hand_layer_table((side, side, 3))["parameters"].sum()) == expected_parameters(
        side
    )


def test_paper_parameter_count() -> None:
    assert expected_parameters(256) == cnn.PAPER_PARAMETERS


def test_hand_table_matches_keras() -> None:
    model = build_model((48, 40, 3))
    hand = cnn.hand_layer_table((48, 40, 3))
    keras_table = cnn.keras_layer_table(model)
    assert list(hand["layer"]) == list(keras_table["layer"])
    assert list(hand["output shape"]) == list(keras_table["output shape"])
    assert list(hand["parameters"]) == list(keras_table["parameters"])


def test_the_model_takes_pixels_as_the_files_hold_them() -> None:
    """Chapter 3: the division by 255 is the model's first layer, not the data pipeline's."""
    model = build_model((32, 32, 3))
    first = model.layers[0]
    assert isinstance(first, keras.layers.Rescaling) and first.name == "rescale"
    pixels = np.array([[[[0.0, 127.5, 255.0]]]], dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(first(pixels)), [[[[0, 0.5, 1]]]])


def test_regularised_model_has_same_weights_count() -> None:
    plain = build_model((64, 64, 3))
    regular = build_regularised_model((64, 64, 3), dropout=0.3, seed=1)
    names = [type(layer).__name__ for layer in regular.layers]
    assert names[:3] == ["RandomFlip", "RandomRotation", "RandomZoom"]
    assert names.count("Dropout") == 2
    assert regular.count_params() == plain.count_params()


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        cnn.hand_layer_table((16, 16, 3))
    with pytest.raises(ValueError, match="height, width, channels"):
        cnn.hand_layer_table((64, 64))


def test_architecture_and_compile_config_compare_separate_builds() -> None:
    first = compile_model(build_model((32, 32, 3)))
    second = compile_model(build_model((32, 32, 3)))
    assert cnn.architecture(first) == cnn.architecture(second)
    assert cnn.compile_config(first) == cnn.compile_config(second)
    assert cnn.architecture(first) != cnn.architecture(
        build_regularised_model((32, 32, 3), dropout=0.2, augment=False)
    )


def test_layered_view_gives_an_image_and_leaves_layers_untouched() -> None:
    model = build_model((32, 32, 3))
    image = cnn.layered_view(model)
    assert isinstance(image, Image.Image)
    assert image.width > 50 and image.height > 50
    assert not any(hasattr(layer, "output_shape") for layer in model.layers)


def test_visualkeras_with_its_own_defaults_warns_nothing_once_helpers_is_imported() -> None:
    """visualkeras 0.2.0 calls its default legend_text_spacing_offset deprecated; helpers silences
    that warning at import, so a chapter's download carries no library warning."""
    import warnings

    import visualkeras

    model = build_model((32, 32, 3))
    with warnings.catch_warnings(record=True) as caught, cnn._with_output_shapes(model):
        helpers.env.quiet_logs()  # again: pytest drops the filters set while it collected
        visualkeras.layered_view(model)  # defaults: the call a reader would write
    assert [str(w.message) for w in caught] == []


def test_layer_chain_lists_every_layer_with_its_shape_and_weights() -> None:
    import matplotlib

    matplotlib.use("Agg")
    model = build_model((32, 32, 3))
    rows = cnn.layer_rows(model)
    assert rows[0] == {"name": "image", "type": "Input", "shape": (32, 32, 3), "params": 0}
    assert [row["name"] for row in rows[1:]] == [layer.name for layer in model.layers]
    assert rows[-1]["shape"] == (1,) and sum(r["params"] for r in rows) == model.count_params()
    figure = cnn.plot_layer_chain(model)
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert any("conv1" in text and "Conv2D" in text for text in texts)
    assert len(figure.axes[0].patches) == len(rows)  # one box a layer


def test_save_and_load_round_trip(tmp_path) -> None:
    model = build_model((32, 32, 3))
    images = np.random.default_rng(0).uniform(0, 255, size=(4, 32, 32, 3)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # default safe_mode=True
    np.testing.assert_array_equal(
        model.predict(images, verbose=0), loaded.predict(images, verbose=0)
    )
    assert cnn.architecture(loaded) == cnn.architecture(model)


def test_output_size_formulas() -> None:
    assert cnn.conv_output_size(256, 3) == 254
    assert cnn.conv_output_size(7, 3, stride=2) == 3
    assert cnn.pool_output_size(125) == 62
    assert cnn.pool_output_size(6, window=3) == 2
    assert cnn.conv_parameters(3, 3, 16) == 448
    assert cnn.dense_parameters(256, 1) == 257


def test_keras_3_warns_against_the_originals_input_shape_argument() -> None:
    """Chapter 4 declares the input with keras.Input because of this warning."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keras.layers.Conv2D(16, (3, 3), activation="relu", input_shape=(256, 256, 3))
    assert any("Input(shape)" in str(warning.message) for warning in caught)


@pytest.mark.filterwarnings("ignore:The legend_text_spacing_offset:UserWarning")
def test_visualkeras_alone_stops_on_keras_3_layers() -> None:
    """Chapter 4 says visualkeras 0.2.0 reads the Keras 2 `output_shape`: when this test fails,
    visualkeras has been fixed, and the chapter's sentence and helpers.model.layered_view can go."""
    import visualkeras

    with pytest.raises(AttributeError, match="output_shape"):
        visualkeras.layered_view(build_model((32, 32, 3)))
