"""The book's CNN in floating-point operations, counted from its layer shapes (no measuring).

The compute bound of the performance page: FLOPs per training image, against a measured peak
(booktools.bench.compute, booktools.bench.quick). See book/performance.md for the formulas.
"""

from __future__ import annotations

from typing import Any

# backward pass ~ 2x forward (gradients for the inputs and for the weights), so training ~ 3x
TRAINING_PASSES = 3


def layer_macs(input_shape: tuple[int, int, int]) -> list[dict[str, Any]]:
    """Multiply-accumulates of each conv and dense layer of the book's CNN, from its shapes."""
    from helpers.model import conv_output_size, layer_list, pool_output_size

    height, width, channels = (int(side) for side in input_shape)
    if min(height, width, channels) < 1:
        raise ValueError(f"input_shape must be positive (height, width, channels): {input_shape}")
    features = 0
    rows = []
    for kind, size in layer_list():
        if kind == "conv":
            filters, kernel = size
            height, width = conv_output_size(height, kernel), conv_output_size(width, kernel)
            if min(height, width) < 1:
                raise ValueError(f"input_shape {input_shape} is too small for the model")
            macs = height * width * filters * kernel * kernel * channels
            rows.append({"layer": f"conv {kernel}x{kernel}x{channels}->{filters}", "macs": macs})
            channels = filters
        elif kind == "pool":
            (window,) = size
            height, width = pool_output_size(height, window), pool_output_size(width, window)
        elif kind == "flatten":
            features = height * width * channels
        else:
            (units,) = size
            rows.append({"layer": f"dense {features}->{units}", "macs": features * units})
            features = units
    return rows


def forward_flops(input_shape: tuple[int, int, int]) -> int:
    """Floating-point operations of one image's forward pass: 2 per multiply-accumulate."""
    return 2 * sum(row["macs"] for row in layer_macs(input_shape))


def training_flops(input_shape: tuple[int, int, int]) -> int:
    """Floating-point operations to train on one image: forward + backward ~ 3x the forward pass."""
    return TRAINING_PASSES * forward_flops(input_shape)
