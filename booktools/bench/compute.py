"""compute: FLOPs per training image against this CPU's measured matrix-multiplication peak."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from booktools.bench.core import load_result, register
from helpers.profiles import Profile


def compute_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the compute benchmark."""
    parser.add_argument("--size", type=int, default=2048, help="side of the square matrices")
    parser.add_argument("--runs", type=int, default=7, help="timed multiplications (median)")


def matmul_gflops(
    multiply: Callable[[], Any], size: int, runs: int, fastest: bool = False
) -> float:
    """GFLOP/s of a size x size float32 matrix product (2 size^3 operations), median of runs
    (or their fastest: the run other work on the machine slowed least).
    """
    multiply()  # warm-up: thread pools, first-call set-up
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        multiply()
        seconds.append(time.perf_counter() - start)
    return 2 * size**3 / float(min(seconds) if fastest else np.median(seconds)) / 1e9


def measured_peaks(size: int, runs: int, fastest: bool = False) -> dict[str, float]:
    """The float32 matmul rate of NumPy's BLAS and of TensorFlow on this machine, in GFLOP/s."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    ta, tb = tf.constant(a), tf.constant(b)
    return {
        "numpy": matmul_gflops(lambda: a @ b, size, runs, fastest),
        "tensorflow": matmul_gflops(lambda: tf.linalg.matmul(ta, tb).numpy(), size, runs, fastest),
    }


@register(
    "compute",
    "FLOPs per training image, the CPU's measured matmul peak, the fraction training reaches",
    compute_arguments,
)
def bench_compute(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """The compute bound: analytic FLOPs per image x measured images/s against the matmul peak."""
    from booktools import flops

    if args.size < 64 or args.runs < 1:
        raise ValueError("--size must be at least 64 and --runs at least 1")
    forward = flops.forward_flops(profile.input_shape)
    training = flops.training_flops(profile.input_shape)
    peaks = measured_peaks(args.size, args.runs)
    source = max(peaks, key=peaks.__getitem__)
    peak = peaks[source]
    result: dict[str, Any] = {
        "image_size": profile.image_size,
        "layers": flops.layer_macs(profile.input_shape),
        "forward_gflop": forward / 1e9,
        "training_gflop": training / 1e9,
        "peak_gflops": round(peak, 2),
        "peak_source": f"{source}, {args.size}x{args.size}",
        "peak_runs": args.runs,
        "peaks_gflops": {name: round(value, 2) for name, value in peaks.items()},
        "bound_images_per_second": round(peak * 1e9 / training, 1),
        "cpu_load_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    trained = load_result(profile, "training")
    if trained and trained.get("image_size") == profile.image_size:
        rate = trained["book_images_per_second"]
        median = trained["median_book_images_per_second"]
        achieved = rate * training / 1e9
        result.update(
            training_images_per_second=rate,
            achieved_gflops=round(achieved, 2),
            fraction_of_peak=round(achieved / peak, 4),
            median_training_images_per_second=median,
            median_achieved_gflops=round(median * training / 1e9, 2),
            median_fraction_of_peak=round(median * training / 1e9 / peak, 4),
        )
    print(
        f"\ncompute bound, {profile.image_size}x{profile.image_size} images:\n"
        f"  forward pass {forward / 1e9:.3f} GFLOP, training ~{training / 1e9:.3f} GFLOP per image\n"
        f"  measured float32 matmul peak: "
        + ", ".join(f"{name} {value:.1f}" for name, value in peaks.items())
        + f" GFLOP/s (median of {args.runs}); ceiling {result['bound_images_per_second']:.0f} images/s"
    )
    if "fraction_of_peak" in result:
        print(
            f"  training at {result['median_training_images_per_second']:.1f} images/s (median "
            f"epoch) = {result['median_achieved_gflops']:.1f} GFLOP/s, "
            f"{result['median_fraction_of_peak']:.0%} of the peak (fastest epoch "
            f"{result['training_images_per_second']:.1f} images/s, "
            f"{result['fraction_of_peak']:.0%})"
        )
    else:
        print("  no training throughput saved for this image size: run the training benchmark")
    return result
