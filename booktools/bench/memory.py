"""memory: time and peak memory of the streaming channel statistics at 1x and 10x the data."""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from booktools.bench import faces
from booktools.bench.core import max_rss_mb, register, run_in_child
from helpers.profiles import Profile


def memory_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the memory benchmark."""
    parser.add_argument("--factor", type=int, default=10, help="the larger data set's multiple")
    parser.add_argument(
        "--regenerate", action="store_true", help="draw the larger data set again, timing it"
    )
    parser.add_argument(
        "--no-original", action="store_true", help="skip the original's concatenation at 1x"
    )


def measure_stats(folder: str, method: str, image_size: int, batch_size: int) -> dict[str, Any]:
    """Time and peak memory of one channel-statistics method over a folder (in a fresh process)."""
    import resource
    import tracemalloc

    import keras

    from helpers.taught import channel_stats

    def concatenated(batches: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The original tutorial's way, per channel: every image in memory at once."""
        everything = np.concatenate([batch / 255.0 for batch in batches])
        axes = (0, 1, 2)  # float64 accumulators: float32 sums over millions of values drift
        mean = everything.mean(axis=axes, dtype=np.float64)
        return mean, everything.std(axis=axes, dtype=np.float64)

    data = keras.utils.image_dataset_from_directory(
        folder, image_size=(image_size, image_size), batch_size=batch_size, verbose=False
    )
    images = len(data.file_paths)
    compute = channel_stats if method == "streaming" else concatenated
    next(iter(data.take(1)))  # warm the pipeline so both methods start from the same state
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    compute(x.numpy() for x, _ in data)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "images": images,
        "method": method,
        "seconds": round(seconds, 2),
        "python_peak_mb": round(peak / 2**20, 1),
        "rss_growth_mb": round(max_rss_mb(after - before), 1),
    }


def scaled_data(profile: Profile, factor: int, regenerate: bool) -> tuple[Path, dict[str, Any]]:
    """`factor` times the profile's clean image count of fresh faces at a typical clean side.

    Returns their folder and how they came to be: this call's seconds, whether they were cached,
    and the seconds drawing them took (now or in an earlier run).
    """
    from helpers import eda, pipeline

    sizes = eda.image_sizes(pipeline.ensure_clean(profile) / "manifest.csv")
    side = int(np.median(sizes[["width", "height"]].to_numpy()))  # a typical clean image's side
    kind = faces.FaceKind(side, "PNG")
    if regenerate:
        shutil.rmtree(faces.kind_folder(profile, kind), ignore_errors=True)
    folder, drawn = faces.first_faces(profile, kind, len(sizes) * factor)
    info = {
        "seconds": drawn["seconds"],
        "cached": not drawn["drawn_now"],
        "generated_seconds": drawn["drawing_seconds"],
    }
    return folder, info


@register(
    "memory", "peak memory of the streaming statistics at 1x and 10x the data", memory_arguments
)
def bench_memory(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """measure_stats on the clean data and on `factor` times more, each in a fresh process."""
    from helpers import pipeline

    if args.factor < 2:
        raise ValueError("--factor must be at least 2")
    runs = [(1, pipeline.ensure_clean(profile), "streaming")]
    if not args.no_original:
        runs.append((1, runs[0][1], "concatenate"))
    folder, generation = scaled_data(profile, args.factor, args.regenerate)
    runs.append((args.factor, folder, "streaming"))
    rows = []
    for scale, source, method in runs:
        print(
            f"  statistics by {method} over the {scale}x data, in a fresh process ...", flush=True
        )
        child = run_in_child(
            "booktools.bench.memory:measure_stats",
            folder=str(source),
            method=method,
            image_size=profile.image_size,
            batch_size=profile.batch_size,
        )
        label = "streaming" if method == "streaming" else "concatenate (original)"
        rows.append(
            {
                **child.result,
                "scale": scale,
                "method": label,
                "child_peak_rss_mb": child.peak_rss_mb,
            }
        )
    made = generation.get("generated_seconds")
    how = (
        f"generated in {made:.0f} s" + (" (cached since)" if generation["cached"] else "")
        if made
        else f"cached, found in {generation['seconds']:.1f} s (generation time not recorded)"
    )
    print(f"\nstreaming statistics, profile {profile.name}; the {args.factor}x data set: {how}")
    print(
        f"  {'data':>5} {'method':24} {'images':>7} {'seconds':>8} {'peak RSS MB':>12} "
        f"{'growth MB':>10} {'Python MB':>10}"
    )
    for row in rows:
        print(
            f"  {row['scale']:>4}x {row['method']:24} {row['images']:>7} {row['seconds']:>8.1f} "
            f"{row['child_peak_rss_mb']:>12.0f} {row['rss_growth_mb']:>10.0f} "
            f"{row['python_peak_mb']:>10.1f}"
        )
    return {"factor": args.factor, "generation": {str(args.factor): generation}, "rows": rows}
