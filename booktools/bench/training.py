"""training: images/s training the CNN through the original's pipeline against the book's."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from booktools.bench.core import link_images, register, time_epochs
from helpers.profiles import Profile


def original_pipeline(
    folder: Path, class_names: list[str], size: int, batch: int, seed: int
) -> Any:
    """The original's loading: image_dataset_from_directory (decodes every epoch), then x / 255."""
    from helpers import leak

    return leak.original_pipeline(folder, size, batch, seed, class_names=class_names)


def without_rescaling(model: Any) -> Any:
    """The same layers without the Rescaling layer: the original's model, scaled outside."""
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.Rescaling)]
    return keras.Sequential([keras.Input(shape=model.input_shape[1:]), *layers])


def training_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the training benchmark."""
    parser.add_argument("--epochs", type=int, default=3, help="per pipeline, first one untimed")
    parser.add_argument("--rounds", type=int, default=3, help="alternate the pipelines this often")


@register(
    "training",
    "images/s training the CNN: the original's pipeline against the book's cached one",
    training_arguments,
)
def bench_training(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """Train the same model on the same training images through both pipelines; compare speed."""
    from tqdm import tqdm

    from helpers import pipeline
    from helpers.env import seed_everything
    from helpers.taught import build_model, compile_model

    if args.epochs < 2:
        raise ValueError("--epochs must be at least 2: the first epoch is a warm-up")
    data = pipeline.make_datasets(profile)
    rows = data.frame[data.frame["subset"] == "train"]
    clean_dir = pipeline.clean_folder(profile)
    paths = [clean_dir / rel for rel in rows["path"]]
    scratch = Path(tempfile.mkdtemp(prefix=".bench-", dir=profile.artifacts))
    seconds: dict[str, list[float]] = {"original": [], "book": []}
    try:
        folder = link_images(paths, list(rows["label"]), scratch / "train")
        size, batch = profile.image_size, profile.batch_size
        pipelines = {
            # the original: decode + resize every epoch, scale in the pipeline, no Rescaling layer
            "original": lambda: (
                original_pipeline(folder, data.class_names, size, batch, profile.seed),
                without_rescaling(build_model(profile.input_shape)),
            ),
            # the book: decoded once and cached, scaled by the model's Rescaling layer
            "book": lambda: (data.train, build_model(profile.input_shape)),
        }
        steps = [(r, name) for r in range(args.rounds) for name in pipelines]
        for _, name in tqdm(steps, desc="training benchmark", unit="run"):
            seed_everything(profile.seed)
            dataset, model = pipelines[name]()
            compile_model(model)
            seconds[name] += time_epochs(model, dataset, len(paths), args.epochs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # epochs are short: the median is the headline; the fastest epoch is what load can't slow down
    original, book = (len(paths) / min(seconds[name]) for name in ("original", "book"))
    median = {name: len(paths) / float(np.median(seconds[name])) for name in seconds}
    result = {
        "images": len(paths),
        "image_size": profile.image_size,
        "batch_size": profile.batch_size,
        "epochs": args.epochs,
        "rounds": args.rounds,
        "original_images_per_second": round(original, 2),
        "book_images_per_second": round(book, 2),
        "ratio": round(book / original, 3),
        "median_original_images_per_second": round(median["original"], 2),
        "median_book_images_per_second": round(median["book"], 2),
        "median_ratio": round(median["book"] / median["original"], 3),
        "cpu_load_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    print(
        f"\ntraining benchmark, profile {profile.name}: {len(paths)} training images of "
        f"{size}x{size}, batches of {batch}, {args.epochs} epochs per run (first untimed), "
        f"{args.rounds} round(s) alternating; median epoch (fastest in brackets)"
    )
    print(
        f"  original pipeline (decode every epoch, map x/255): {median['original']:8.1f} "
        f"images/s ({original:.1f})"
    )
    print(
        f"  book pipeline (decoded once, cached, Rescaling):   {median['book']:8.1f} "
        f"images/s ({book:.1f})"
    )
    verdict = "not slower" if median["book"] >= median["original"] else "SLOWER"
    print(
        f"  ratio book / original: {median['book'] / median['original']:.2f} "
        f"({book / original:.2f})  ({verdict})"
    )
    if result["cpu_load_1min"] is not None:
        print(f"  load average during the run: {result['cpu_load_1min']} on {os.cpu_count()} CPUs")
    return result
