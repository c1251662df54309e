"""Pictures and tables of chapter 4's CNN: its layers by hand and by Keras, its diagrams.

The model itself, and its compile step, are chapter 4's `# @save` cells (helpers.taught:
`build_model`, `compile_model`); chapter 5 adds the regularised variant.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keras
import matplotlib.pyplot as plt
import pandas as pd
import visualkeras
from matplotlib.patches import FancyBboxPatch
from PIL import Image

from helpers.taught import build_model

PAPER_INPUT_SHAPE: tuple[int, int, int] = (256, 256, 3)
PAPER_PARAMETERS = 3_696_625  # model.summary() in the original tutorial, at 256x256x3


def _check_input_shape(input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """Refuse an input shape the three conv/pool stages cannot shrink to at least 1x1."""
    if len(input_shape) != 3 or any(int(side) < 1 for side in input_shape):
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    height, width, channels = (int(side) for side in input_shape)
    if min(height, width) < 22:
        raise ValueError(
            f"input_shape {input_shape!r} is too small: three 3x3 convolutions and 2x2 poolings "
            "need at least 22x22 pixels"
        )
    return height, width, channels


@functools.cache
def layer_list() -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Chapter 4's layers after the input, as (kind, size), read from each layer's settings.

    conv = (filters, kernel), pool = (window,), dense = (units,). `hand_layer_table` derives every
    output shape and parameter count from this list with the formulas, without Keras's shapes.
    """
    kinds = []
    for layer in build_model().layers:
        if isinstance(layer, keras.layers.Conv2D):
            kinds.append(("conv", (layer.filters, layer.kernel_size[0])))
        elif isinstance(layer, keras.layers.MaxPooling2D):
            kinds.append(("pool", (layer.pool_size[0],)))
        elif isinstance(layer, keras.layers.Flatten):
            kinds.append(("flatten", ()))
        elif isinstance(layer, keras.layers.Dense):
            kinds.append(("dense", (layer.units,)))
    return tuple(kinds)


def architecture(model: keras.Model) -> list[tuple[str, dict[str, Any]]]:
    """Each layer's class and configuration, for comparing two models defined separately."""
    return [(type(layer).__name__, layer.get_config()) for layer in model.layers]


def compile_config(model: keras.Model) -> dict[str, Any]:
    """What a model was compiled with (optimizer minus its auto-numbered name, loss, metrics)."""
    config = model.get_compile_config()
    if not config:
        raise ValueError(f"model {model.name!r} is not compiled")
    config["optimizer"]["config"].pop("name", None)
    return config


# --- hand formulas for chapter 4's layer table -------------------------------------------------


def conv_output_size(size: int, kernel: int, stride: int = 1) -> int:
    """Side of a 'valid' convolution's output: floor((size - kernel) / stride) + 1."""
    return (size - kernel) // stride + 1


def pool_output_size(size: int, window: int = 2, stride: int | None = None) -> int:
    """Side of a max-pooling output (stride defaults to the window): floor((size - p) / s) + 1."""
    return (size - window) // (stride or window) + 1


def conv_parameters(kernel: int, channels_in: int, filters: int) -> int:
    """A conv layer's weights: one kernel x kernel x channels_in block per filter, plus a bias."""
    return (kernel * kernel * channels_in + 1) * filters


def dense_parameters(inputs: int, units: int) -> int:
    """A dense layer's weights: one weight per input per unit, plus a bias per unit."""
    return (inputs + 1) * units


def hand_layer_table(input_shape: tuple[int, int, int] = PAPER_INPUT_SHAPE) -> pd.DataFrame:
    """Every layer's output shape and parameter count, from the formulas alone (no Keras)."""
    height, width, channels = _check_input_shape(input_shape)
    features = 0
    rows = []
    for kind, size in layer_list():
        if kind == "conv":
            filters, kernel = size
            params = conv_parameters(kernel, channels, filters)
            formula = f"({kernel}·{kernel}·{channels} + 1)·{filters}"
            height, width = conv_output_size(height, kernel), conv_output_size(width, kernel)
            channels = filters
        elif kind == "pool":
            (window,) = size
            height, width = pool_output_size(height, window), pool_output_size(width, window)
            params, formula = 0, "no weights"
        elif kind == "flatten":
            features = height * width * channels
            params, formula = 0, f"{height}·{width}·{channels} = {features} features"
        else:
            (units,) = size
            params = dense_parameters(features, units)
            formula = f"({features} + 1)·{units}"
            features = units
        shape = (height, width, channels) if kind in ("conv", "pool") else (features,)
        rows.append(
            {"layer": kind, "output shape": shape, "parameters": params, "formula": formula}
        )
    return pd.DataFrame(rows)


def keras_layer_table(model: keras.Model) -> pd.DataFrame:
    """Every weighted or reshaping layer's output shape and parameter count, as Keras reports them."""
    kinds = {"Conv2D": "conv", "MaxPooling2D": "pool", "Flatten": "flatten", "Dense": "dense"}
    rows = [
        {
            "layer": kinds[type(layer).__name__],
            "name": layer.name,
            "output shape": tuple(int(side) for side in layer.output.shape[1:]),
            "parameters": layer.count_params(),
        }
        for layer in model.layers
        if type(layer).__name__ in kinds
    ]
    return pd.DataFrame(rows)


# --- pictures -----------------------------------------------------------------------------------


@contextmanager
def _with_output_shapes(model: keras.Model) -> Iterator[None]:
    """Give every layer the Keras 2 `output_shape` attribute visualkeras 0.2.0 reads, then remove it."""
    added = []
    for layer in model.layers:
        if not hasattr(layer, "output_shape"):
            layer.output_shape = tuple(layer.output.shape)
            added.append(layer)
    try:
        yield
    finally:
        for layer in added:
            del layer.output_shape


def layered_view(model: keras.Model, **kwargs: Any) -> Image.Image:
    """visualkeras' layered picture of a Keras 3 model, with a legend (the layer types' colours)."""

    options: dict[str, Any] = {
        "legend": True,
        "legend_text_spacing_offset": 0,  # no extra room for the legend text
        "scale_xy": 1.0,
        "scale_z": 1.5,
        "max_z": 60,
        "spacing": 20,
    }
    options.update(kwargs)
    with _with_output_shapes(model):  # its deprecation warning: see helpers.env.quiet_logs
        image = visualkeras.layered_view(model, **options)
    return image.convert("RGB")


def layer_rows(model: keras.Model) -> list[dict[str, Any]]:
    """Name, type, output shape and parameter count of every layer, in order (input first)."""
    rows = [
        {"name": "image", "type": "Input", "shape": tuple(model.inputs[0].shape[1:]), "params": 0}
    ]
    rows += [
        {
            "name": layer.name,
            "type": type(layer).__name__,
            "shape": tuple(layer.output.shape[1:]),
            "params": layer.count_params(),
        }
        for layer in model.layers
    ]
    return rows


def plot_layer_chain(model: keras.Model, title: str = "The CNN as a graph of layers") -> Any:
    """The model's graph drawn as the chain a Sequential model is: one box a layer, with shapes.

    keras.utils.plot_model draws the same with Graphviz's `dot`, a system program; this needs
    only matplotlib.
    """

    rows = layer_rows(model)
    height = 0.62 * len(rows) + 0.8
    figure, axes = plt.subplots(figsize=(5.4, height))
    axes.set(xlim=(0, 10), ylim=(len(rows) - 0.4, -0.9), title=title)
    axes.axis("off")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    kinds = sorted({row["type"] for row in rows})
    for index, row in enumerate(rows):
        colour = colours[kinds.index(row["type"]) % len(colours)]
        box = FancyBboxPatch(
            (0.6, index - 0.3), 8.8, 0.6, boxstyle="round,pad=0.02,rounding_size=0.15",
            facecolor=colour, alpha=0.22, edgecolor=colour, linewidth=1.2,
        )  # fmt: skip
        axes.add_patch(box)
        shape = str(row["shape"])
        params = f"{row['params']:,} parameters" if row["params"] else "no weights"
        axes.text(0.9, index, f"{row['name']}  ·  {row['type']}", va="center", fontsize=9.5,
                  fontweight="bold")  # fmt: skip
        axes.text(9.1, index, f"{shape}   {params}", va="center", ha="right", fontsize=8.5)
        if index:
            axes.annotate("", xy=(5, index - 0.31), xytext=(5, index - 0.69),
                          arrowprops={"arrowstyle": "->", "color": "0.35"})  # fmt: skip
    figure.tight_layout()
    return figure


def picture_figure(picture: Image.Image | Path, title: str, width: float = 7.0) -> Any:
    """A titled matplotlib figure of a diagram (no axes: a diagram has none), for the book."""

    image = Image.open(picture) if isinstance(picture, str | Path) else picture
    height = width * image.height / image.width
    figure, axes = plt.subplots(figsize=(width, height + 0.5))
    axes.imshow(image)
    axes.set_title(title)
    axes.axis("off")
    figure.tight_layout()
    return figure
