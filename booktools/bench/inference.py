"""inference: images/s classifying files, classify_image one by one against classify_images."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from booktools.bench.core import median_rate, register
from helpers.profiles import Profile


def inference_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the inference benchmark."""
    parser.add_argument("--images", type=int, default=64, help="files classified per run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each way (median)")
    parser.add_argument("--batch-size", type=int, default=32, help="classify_images' batch size")


def sample_files(profile: Profile, count: int) -> list[Path]:
    """Up to `count` of the profile's image files, test set first (files the model never saw)."""
    from helpers import pipeline

    frame = pipeline.ensure_split(profile)
    order = frame.sort_values("subset", key=lambda column: column != "test", kind="stable")
    folder = pipeline.clean_folder(profile)
    return [folder / rel for rel in order["path"].head(count)]


@register(
    "inference",
    "images/s classifying files: classify_image one by one vs batched",
    inference_arguments,
)
def bench_inference(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """Classify the same files one at a time and in batches, from disk; median images/s of each."""
    from tqdm import tqdm

    from helpers import classify

    if args.images < 1 or args.runs < 1 or args.batch_size < 1:
        raise ValueError("--images, --runs and --batch-size must be at least 1")
    from helpers import pipeline

    path = pipeline.ensure_model(profile)
    model, names = classify.load_model(path), classify.read_card(path).class_names
    paths = sample_files(profile, args.images)
    classify.classify_image(paths[0], model, names)  # warm-up: the first call builds the graph
    classify.classify_images(paths[: args.batch_size], model, names, batch_size=args.batch_size)
    seconds: dict[str, list[float]] = {"single": [], "batched": []}
    for _ in tqdm(range(args.runs), desc="inference benchmark", unit="run"):
        start = time.perf_counter()
        for path in paths:
            classify.classify_image(path, model, names)
        seconds["single"].append(time.perf_counter() - start)
        start = time.perf_counter()
        classify.classify_images(paths, model, names, batch_size=args.batch_size)
        seconds["batched"].append(time.perf_counter() - start)
    single, batched = (median_rate(len(paths), seconds[key]) for key in ("single", "batched"))
    print(
        f"\ninference, {len(paths)} files of {profile.name}, median of {args.runs} runs:\n"
        f"  classify_image one by one: {single:8.1f} images/s\n"
        f"  classify_images, batch {args.batch_size}:  {batched:8.1f} images/s  "
        f"(ratio {batched / single:.2f})"
    )
    return {
        "images": len(paths),
        "runs": args.runs,
        "batch_size": args.batch_size,
        "single_images_per_second": round(single, 2),
        "batched_images_per_second": round(batched, 2),
        "ratio": round(batched / single, 3),
        "single_seconds": [round(value, 3) for value in seconds["single"]],
        "batched_seconds": [round(value, 3) for value in seconds["batched"]],
    }
