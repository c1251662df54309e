"""Benchmarks: `python -m helpers.bench NAME [--profile full|smoke] [options]`.

Each benchmark is a function registered under a name with `@register(...)`; `python -m
helpers.bench --list` shows them. To add one, write `def bench_x(profile, args) -> dict` in this
module, decorate it with `@register("x", "what it measures", arguments=...)`, and print its table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.profiles import PROFILES, Profile, get_profile


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: the function, a one-line description and its extra arguments."""

    name: str
    run: Callable[[Profile, argparse.Namespace], dict[str, Any]]
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


BENCHMARKS: dict[str, Benchmark] = {}


def register(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] | None = None
) -> Callable:
    """Add a benchmark function to the registry under `name`."""

    def decorate(function: Callable[[Profile, argparse.Namespace], dict[str, Any]]) -> Callable:
        if name in BENCHMARKS:
            raise ValueError(f"a benchmark named {name!r} is already registered")
        BENCHMARKS[name] = Benchmark(name, function, help, arguments)
        return function

    return decorate


def save_result(profile: Profile, name: str, result: dict[str, Any]) -> Path:
    """Keep a benchmark's last result in artifacts/<P>/bench_<name>.json."""
    path = profile.artifacts / f"bench_{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = {"benchmark": name, "profile": profile.name, "when": time.time(), **result}
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(stamped, indent=2) + "\n")
    os.replace(temporary, path)
    return path


# --- training: the original's pipeline against the book's ---------------------------------------


def link_images(paths: list[Path], labels: list[str], folder: Path) -> Path:
    """A <folder>/<class>/ tree of links to the given images, for image_dataset_from_directory."""
    for index, (path, label) in enumerate(zip(paths, labels, strict=True)):
        target = folder / label / f"{index:05d}{path.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.symlink_to(path.resolve())
        except OSError:  # no symlinks (some Windows setups): copy instead
            shutil.copyfile(path, target)
    return folder


def original_pipeline(
    folder: Path, class_names: list[str], size: int, batch: int, seed: int
) -> Any:
    """The original's loading: image_dataset_from_directory (decodes every epoch), then x / 255."""
    import keras

    data = keras.utils.image_dataset_from_directory(
        folder,
        class_names=class_names,
        image_size=(size, size),
        batch_size=batch,
        shuffle=True,
        seed=seed,
        verbose=False,
    )
    return data.map(lambda x, y: (x / 255, y))


def time_epochs(model: Any, dataset: Any, images: int, epochs: int) -> list[float]:
    """Fit for `epochs`; return each epoch's training seconds, the first (warm-up) one left out."""
    from helpers.train import ThroughputMeter

    meter = ThroughputMeter(images)
    model.fit(dataset, epochs=epochs, callbacks=[meter], shuffle=False, verbose=0)
    return meter.seconds[1:]


def training_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the training benchmark."""
    parser.add_argument("--epochs", type=int, default=3, help="per pipeline, first one untimed")
    parser.add_argument("--rounds", type=int, default=2, help="alternate the pipelines this often")


@register(
    "training",
    "images/s training the CNN: the original's pipeline against the book's cached one",
    training_arguments,
)
def bench_training(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """Train the same model on the same training images through both pipelines; compare speed."""
    from tqdm import tqdm

    from helpers import split
    from helpers.env import seed_everything
    from helpers.model import build_model, compile_model

    if args.epochs < 2:
        raise ValueError("--epochs must be at least 2: the first epoch is a warm-up")
    data = split.make_datasets(profile)
    rows = data.frame[data.frame["subset"] == "train"]
    clean_dir = split.clean_folder(profile)
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
                build_model(profile.input_shape, rescale=False),
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
    # the fastest epoch of each: on a shared machine, other jobs only ever slow an epoch down
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
        f"{args.rounds} round(s) alternating; fastest epoch (median in brackets)"
    )
    print(
        f"  original pipeline (decode every epoch, map x/255): {original:8.1f} images/s "
        f"({median['original']:.1f})"
    )
    print(
        f"  book pipeline (decoded once, cached, Rescaling):   {book:8.1f} images/s "
        f"({median['book']:.1f})"
    )
    verdict = "not slower" if book >= original else "SLOWER"
    print(
        f"  ratio book / original: {book / original:.2f} "
        f"({median['book'] / median['original']:.2f})  ({verdict})"
    )
    if result["cpu_load_1min"] is not None:
        print(f"  load average during the run: {result['cpu_load_1min']} on {os.cpu_count()} CPUs")
    return result


# --- command line ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: run one registered benchmark and save its result."""
    import helpers  # noqa: F401  (quietens TensorFlow before it is imported)

    parser = argparse.ArgumentParser(
        prog="python -m helpers.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    commands = parser.add_subparsers(dest="name", metavar="NAME")
    for bench in BENCHMARKS.values():
        sub = commands.add_parser(bench.name, help=bench.help, description=bench.help)
        sub.add_argument(
            "--profile", choices=sorted(PROFILES), help="default: $BOOK_PROFILE or full"
        )
        if bench.arguments:
            bench.arguments(sub)
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for bench in BENCHMARKS.values():
            print(f"{bench.name:12}  {bench.help}")
        return 0 if args.list else 2
    profile = get_profile(args.profile)
    try:
        result = BENCHMARKS[args.name].run(profile, args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    path = save_result(profile, args.name, result)
    print(f"  saved to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
