"""Benchmarks: `python -m booktools.bench [NAME] [--profile full|smoke] [options]`.

Without a NAME every benchmark runs, in one go. The figures are saved in
artifacts/<P>/bench_<name>.json; the performance page's tables are written from them whenever
the site is built (booktools.perf). Each
benchmark is a function registered under a name with `@register(...)`; `python -m
booktools.bench --list` shows them. To add one, write `def bench_x(profile, args) -> dict` in this
module, decorate it with `@register("x", "what it measures", arguments=...)`, and print its table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.env import out_of_memory
from helpers.profiles import PROFILES, Profile, get_profile
from helpers.store import atomic_write_text


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
    from booktools.book import machine_description

    path = profile.artifacts / f"bench_{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = {
        "benchmark": name,
        "profile": profile.name,
        "when": time.time(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_description(),
        **result,
    }
    atomic_write_text(path, json.dumps(stamped, indent=2) + "\n")
    return path


def load_result(profile: Profile, name: str) -> dict[str, Any] | None:
    """A benchmark's last saved result, or None if it has never been run."""
    from booktools.perf import read_json

    return read_json(profile.artifacts / f"bench_{name}.json")


# --- running a measurement in a fresh process, for an honest peak RSS -----------------------------

CHILD_MARK = "@@bench-result@@ "
RSS_MARK = "@@bench-maxrss@@ "
MEMORY_MARK = "@@bench-memoryerror@@ "
# a MemoryError in the child is one marked line for the parent to raise again, not a traceback
CHILD_CODE = (
    "import importlib, json, sys\n"
    "import helpers\n"
    "module, name = sys.argv[1].split(':')\n"
    "try:\n"
    "    result = getattr(importlib.import_module(module), name)(**json.loads(sys.argv[2]))\n"
    "except MemoryError as error:\n"
    f"    print({MEMORY_MARK!r} + ' '.join(str(error).split()), flush=True)\n"
    "    sys.exit(1)\n"
    f"print({CHILD_MARK!r} + json.dumps(result), flush=True)\n"
)
# Linux carries a process's peak RSS across fork and exec, so a child started by this (large,
# TensorFlow-holding) process would report at least this process's size. A tiny launcher,
# importing only os and sys, forks the measured child instead and reports that child's rusage.
LAUNCHER_CODE = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.executable, [sys.executable, '-c', *sys.argv[1:]])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    f"print({RSS_MARK!r} + str(usage.ru_maxrss), flush=True)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


@dataclass(frozen=True)
class ChildRun:
    """What a function returned in a fresh Python process, its wall time and its peak RSS."""

    result: Any
    seconds: float
    peak_rss_mb: float


def max_rss_mb(maxrss: int) -> float:
    """ru_maxrss in MB: kilobytes on Linux, bytes on macOS."""
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


def marked(output: str, mark: str) -> str | None:
    """The text after the last line of the child's output that starts with `mark`, or None."""
    lines = [line[len(mark) :] for line in output.splitlines() if line.startswith(mark)]
    return lines[-1] if lines else None


def run_in_child(target: str, env: dict[str, str | None] | None = None, **kwargs: Any) -> ChildRun:
    """Call `module:function(**kwargs)` in a fresh interpreter; its wall time and its own peak RSS.

    `env` changes the child's environment (None as a value removes the variable). A MemoryError
    in the child is raised here again, with the child's message; any other failure of the child
    is a RuntimeError.
    """
    from helpers.paths import ROOT

    arguments = [CHILD_CODE, target, json.dumps(kwargs)]
    posix = hasattr(os, "fork") and hasattr(os, "wait4")
    launcher = [sys.executable, "-c", LAUNCHER_CODE] if posix else [sys.executable, "-c"]
    environment = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    start = time.perf_counter()
    result = subprocess.run(
        [*launcher, *arguments], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=environment
    )
    seconds = time.perf_counter() - start
    found, maxrss = marked(result.stdout, CHILD_MARK), marked(result.stdout, RSS_MARK)
    memory = marked(result.stdout, MEMORY_MARK)
    if memory is not None:
        raise MemoryError(f"{target} in its own process: {memory}" if memory else target)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"{target} failed in its own process (exit {result.returncode})")
    # no per-child rusage (Windows): report none rather than a wrong figure
    peak = max_rss_mb(int(maxrss)) if maxrss is not None else float("nan")
    return ChildRun(json.loads(found), seconds, round(peak, 1))


def median_rate(count: int, seconds: list[float]) -> float:
    """Items per second over the median of several timed runs."""
    return count / float(np.median(seconds))


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
    from helpers import split

    return split.original_pipeline(folder, size, batch, seed, class_names=class_names)


def time_epochs(model: Any, dataset: Any, images: int, epochs: int) -> list[float]:
    """Fit for `epochs`; return each epoch's training seconds, the first (warm-up) one left out."""
    from helpers.train import ThroughputMeter

    meter = ThroughputMeter(images)
    model.fit(dataset, epochs=epochs, callbacks=[meter], shuffle=False, verbose=0)
    return meter.seconds[1:]


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
    from helpers.model import build_model, compile_model

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


# --- inference: classify_image one by one against classify_images in batches ----------------------


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


# --- memory: the streaming statistics at 1x and 10x the data ------------------------------------


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

    from helpers import eda

    data = keras.utils.image_dataset_from_directory(
        folder, image_size=(image_size, image_size), batch_size=batch_size, verbose=False
    )
    images = len(data.file_paths)
    compute = (
        eda.streaming_channel_stats if method == "streaming" else eda.concatenated_channel_stats
    )
    next(iter(data.take(1)))  # warm the pipeline so both methods start from the same state
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    compute(data.map(lambda x, y: (x / 255, y)))
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


def draw_faces(
    dest: Path, count: int, side: int, seed: int, chunk: int = 100, like_downloads: bool = True
) -> None:
    """dest/<class>/faceNNNNNN.png: `count` fresh generated faces, side x side (sample_faces)."""
    from PIL import Image
    from tqdm import tqdm

    from helpers import synthetic

    for start in tqdm(range(0, count, chunk), desc=f"drawing {count} faces", unit="chunk"):
        sample = synthetic.sample_faces(
            min(chunk, count - start), seed + start, side, like_downloads=like_downloads
        )
        for offset, (image, label) in enumerate(zip(sample.images, sample.labels, strict=True)):
            target = dest / synthetic.CLASS_NAMES[int(label)] / f"face{start + offset:06d}.png"
            target.parent.mkdir(exist_ok=True)
            Image.fromarray(image).save(target)


def ensure_scaled_images(profile: Profile, factor: int, chunk: int = 100) -> Path:
    """data/<P>-x<factor>/clean/: factor times P's clean image count of fresh generated faces."""
    from helpers import eda, pipeline, synthetic
    from helpers.store import build_once

    sizes = eda.image_sizes(pipeline.ensure_clean(profile) / "manifest.csv")
    count = len(sizes) * factor
    side = int(np.median(sizes[["width", "height"]].to_numpy()))  # a typical clean image's side
    stamp = {
        "step": "scaled images",
        "source": profile.source,
        "images": count,
        "side": side,
        "seed": profile.seed,
        "generator": synthetic.GENERATOR_VERSION,
    }
    folder = profile.data.with_name(f"{profile.folder_name}-x{factor}") / "clean"
    return build_once(
        folder, stamp, lambda dest: draw_faces(dest, count, side, profile.seed, chunk)
    )


def scaled_data(profile: Profile, factor: int, regenerate: bool) -> tuple[Path, dict[str, Any]]:
    """The cached `factor`x data set, and how long generating (or finding) it took."""
    from helpers.store import STAMP_FILE

    folder = profile.data.with_name(f"{profile.folder_name}-x{factor}") / "clean"
    stamp = folder / STAMP_FILE
    if regenerate and folder.exists():
        shutil.rmtree(folder)
    before = stamp.stat().st_mtime if stamp.is_file() else None
    start = time.perf_counter()
    folder = ensure_scaled_images(profile, factor)
    seconds = time.perf_counter() - start
    cached = before is not None and stamp.stat().st_mtime == before
    info: dict[str, Any] = {"seconds": round(seconds, 1), "cached": cached}
    earlier = (load_result(profile, "memory") or {}).get("generation", {}).get(str(factor), {})
    if cached and earlier.get("generated_seconds"):
        info["generated_seconds"] = earlier["generated_seconds"]  # from the run that drew it
    elif not cached:
        info["generated_seconds"] = round(seconds, 1)
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
            "booktools.bench:measure_stats",
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


# --- clean-scale: cleaning and its near-pair search from 1,000 to 100,000 images -----------------

SCALE_SIZES = (1000, 4000, 16000, 64000, 100000)
SCALE_SIDE = 96  # the 96 x 96 JPEG faces ...
SCALE_MIN_SIDE = 64  # ... cleaned with --min-side 64
SCALE_CHUNK = 1000  # faces drawn, and cached, per folder
SCALE_QUALITY = 90
SCALE_KEYS = "keys.npz"  # beside the class folders: each face's file, perceptual hash and SHA-256
MATRIX_BYTES_PER_PAIR = 9  # the all-pairs step's peak: an N x N uint64 XOR, then its uint8 counts
# the all-pairs step runs where its estimate is at most this share of the free memory
MATRIX_SHARE = 0.5
# the two near-pair searches: images.near_pairs_by_matrix (cleaning before) and near_pairs (after)
WHEN = {"all pairs": "before", "near_pairs": "after"}
# the module each kind of child imports: an idle process with it is the floor of its peak RSS
IDLE_IMPORTS = {"clean": "helpers.clean", "search": "helpers.images", "split": "helpers.split"}


def clean_scale_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the clean-scale benchmark."""
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=list(SCALE_SIZES),
        help="numbers of images (default: %(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes drawing the faces"
    )


def scale_folder(profile: Profile) -> Path:
    """data/<P>-cleanscale/: the faces in chunks, the sources of N images, the clean copies."""
    return profile.data.with_name(f"{profile.folder_name}-cleanscale")


def chunk_stamp(start: int, count: int, seed: int) -> dict[str, Any]:
    """What a chunk of faces is drawn from: its first index, the seed, the size, the generator."""
    from helpers import synthetic

    return {
        "step": "clean-scale faces",
        "start": start,
        "faces": count,
        "side": SCALE_SIDE,
        "quality": SCALE_QUALITY,
        "seed": seed,
        "generator": synthetic.GENERATOR_VERSION,
    }


def draw_chunk(dest: Path, start: int, count: int, seed: int) -> None:
    """Faces start .. start + count - 1 as JPEGs in dest/<class>/, their keys in keys.npz."""
    import hashlib

    from helpers import images, synthetic

    sample = synthetic.sample_faces(count, seed + start, SCALE_SIDE)
    names, hashes, digests = [], [], []
    for offset, (image, label) in enumerate(zip(sample.images, sample.labels, strict=True)):
        name = f"{synthetic.CLASS_NAMES[int(label)]}/face{start + offset:06d}.jpg"
        data = synthetic.encode_image(image, "JPEG", SCALE_QUALITY)
        (dest / name).parent.mkdir(exist_ok=True)
        (dest / name).write_bytes(data)
        names.append(name)
        hashes.append(images.perceptual_hash(images.load_rgb(dest / name)))  # what clean sees
        digests.append(hashlib.sha256(data).hexdigest())
    np.savez(dest / SCALE_KEYS, names=names, phash=images.hash_array(hashes), sha256=digests)


def ensure_face_chunk(folder: str, start: int, count: int, seed: int) -> str:
    """folder/faces-<start>/, drawn first if it is missing (a pool's task: names, not objects)."""
    from helpers.store import build_once

    target = Path(folder) / f"faces-{start:06d}"
    stamp = chunk_stamp(start, count, seed)
    return str(build_once(target, stamp, lambda dest: draw_chunk(dest, start, count, seed)))


def ensure_scale_faces(
    profile: Profile, count: int, workers: int
) -> tuple[list[Path], dict[str, Any]]:
    """The chunks holding `count` faces, the missing ones drawn by `workers` processes; timing."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    from helpers.store import is_current

    folder = scale_folder(profile)
    starts = list(range(0, count, SCALE_CHUNK))
    chunks = [folder / f"faces-{start:06d}" for start in starts]
    missing = [
        start
        for start, chunk in zip(starts, chunks, strict=True)
        if not is_current(chunk, chunk_stamp(start, SCALE_CHUNK, profile.seed))
    ]
    begin = time.perf_counter()
    drawing = f"drawing {len(missing) * SCALE_CHUNK} faces"
    if workers > 1 and len(missing) > 1:
        context = multiprocessing.get_context("spawn")  # no fork of a process that may hold TF
        with ProcessPoolExecutor(min(workers, len(missing)), mp_context=context) as pool:
            tasks = [
                pool.submit(ensure_face_chunk, str(folder), start, SCALE_CHUNK, profile.seed)
                for start in missing
            ]
            for task in tqdm(as_completed(tasks), total=len(tasks), desc=drawing, unit="chunk"):
                task.result()
    else:
        for start in tqdm(missing, desc=drawing, unit="chunk", disable=not missing):
            ensure_face_chunk(str(folder), start, SCALE_CHUNK, profile.seed)
    seconds = time.perf_counter() - begin
    drawn = len(missing) * SCALE_CHUNK
    info: dict[str, Any] = {"faces": len(chunks) * SCALE_CHUNK, "drawn_now": drawn}
    if drawn:
        info["drawing"] = {
            "faces": drawn,
            "seconds": round(seconds, 1),
            "faces_per_second": round(drawn / seconds, 1),
            "workers": min(workers, len(missing)),  # processes drawing
        }
    return chunks, info


def scale_keys(chunks: list[Path], count: int) -> dict[str, np.ndarray]:
    """The first `count` faces' keys (file names within their chunk, hashes, SHA-256s)."""
    parts = [np.load(chunk / SCALE_KEYS) for chunk in chunks[: -(-count // SCALE_CHUNK)]]
    keys = {name: np.concatenate([part[name] for part in parts])[:count] for name in parts[0]}
    keys["chunk"] = np.repeat(np.arange(len(parts)), SCALE_CHUNK)[:count]
    return keys


def ensure_scale_source(profile: Profile, chunks: list[Path], count: int) -> Path:
    """data/<P>-cleanscale/raw-<N>/: the first N faces as <class>/ links, keys.npz beside them."""
    from helpers.store import build_once, read_stamp

    used = chunks[: -(-count // SCALE_CHUNK)]
    stamp = {"step": "clean-scale source", "faces": count, "chunks": [read_stamp(c) for c in used]}

    def build(dest: Path) -> None:
        keys = scale_keys(used, count)
        paths = [used[c] / name for c, name in zip(keys["chunk"], keys["names"], strict=True)]
        link_images(paths, [str(name).split("/")[0] for name in keys["names"]], dest)
        np.savez(dest / SCALE_KEYS, **{k: v for k, v in keys.items() if k != "chunk"})

    return build_once(scale_folder(profile) / f"raw-{count}", stamp, build)


def matrix_bytes(count: int) -> int:
    """The all-pairs step's estimated peak for `count` hashes: 9 bytes for each of N x N pairs."""
    return MATRIX_BYTES_PER_PAIR * count * count


def available_memory() -> int:
    """Bytes a new process can have without swapping (MemAvailable on Linux); 0 where unknown."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 0


def install_search(search: str) -> Callable[..., np.ndarray]:
    """Make images.near_pairs the search named ('all pairs': the old N x N step); return it."""
    from helpers import images

    if search not in WHEN:
        raise ValueError(f"unknown search {search!r}: choose one of {', '.join(WHEN)}")
    if search == "all pairs":
        images.near_pairs = images.near_pairs_by_matrix  # what duplicate_groups calls
    return images.near_pairs


def clean_child(src: str, dest: str, search: str) -> dict[str, Any]:
    """In a fresh process: clean src into dest (--min-side 64) with one near-pair search, timed."""
    import hashlib

    from helpers import clean

    install_search(search)
    start = time.perf_counter()
    manifest = clean.clean(src, dest, min_side=SCALE_MIN_SIDE)
    seconds = time.perf_counter() - start
    verdicts = manifest["reason"].replace("", clean.KEPT).value_counts()
    written = (Path(dest) / clean.MANIFEST).read_bytes()
    return {
        "seconds": round(seconds, 2),
        "verdicts": {str(reason): int(count) for reason, count in verdicts.items()},
        "manifest_sha256": hashlib.sha256(written).hexdigest(),
    }


def near_pairs_child(keys: str, search: str) -> dict[str, Any]:
    """In a fresh process: one near-pair search over saved hashes, timed; then its traced peak."""
    import hashlib
    import tracemalloc

    from helpers.images import NEAR_DUPLICATE_BITS

    hashes = np.load(keys)["phash"]
    find = install_search(search)
    start = time.perf_counter()
    pairs = find(hashes, NEAR_DUPLICATE_BITS)
    seconds = time.perf_counter() - start
    found, digest = len(pairs), hashlib.sha256(pairs.astype(np.int64).tobytes()).hexdigest()
    del pairs
    tracemalloc.start()  # a second, traced search: what it allocates, without the interpreter
    find(hashes, NEAR_DUPLICATE_BITS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": round(seconds, 3),
        "pairs": found,
        "pairs_sha256": digest,
        "traced_peak_mb": round(peak / 2**20, 2),
    }


def groups_child(keys: str) -> dict[str, Any]:
    """In a fresh process: the split's duplicate_groups and assign_subsets over saved keys, timed."""
    import pandas as pd

    from helpers import split
    from helpers.profiles import DEFAULT_SEED

    saved = np.load(keys)
    names = saved["names"].tolist()
    start = time.perf_counter()
    groups = split.duplicate_groups(saved["sha256"].tolist(), saved["phash"])
    grouped = time.perf_counter()
    frame = pd.DataFrame({"path": names, "label": [name.split("/")[0] for name in names]})
    split.assign_subsets(frame, groups, split.DEFAULT_FRACTIONS, DEFAULT_SEED)
    assigned = time.perf_counter()
    sizes = np.bincount(groups)
    return {
        "groups_seconds": round(grouped - start, 3),
        "assign_seconds": round(assigned - grouped, 3),
        "groups": len(sizes),
        "largest_group": int(sizes.max()),
    }


def idle_child(module: str) -> dict[str, Any]:
    """In a fresh process: import a module and do nothing (the peak RSS of doing nothing)."""
    import importlib

    importlib.import_module(module)
    return {}


def idle_rss() -> dict[str, float]:
    """The peak RSS (MB) of an idle process with each kind of child's imports."""
    found = {}
    for kind, module in IDLE_IMPORTS.items():
        found[kind] = run_in_child("booktools.bench:idle_child", module=module).peak_rss_mb
    return found


def measured(child: ChildRun, idle: float) -> dict[str, Any]:
    """A child's figures with its peak RSS, and how far that is above the idle process's."""
    above = round(child.peak_rss_mb - idle, 1)
    return {**child.result, "peak_rss_mb": child.peak_rss_mb, "above_idle_mb": above}


def measure_size(
    count: int, source: Path, scratch: Path, free: int, idle: dict[str, float]
) -> dict[str, Any]:
    """Every measurement at one size, each in a fresh process: clean, the search alone, the split."""
    keys = str(source / SCALE_KEYS)
    estimate = matrix_bytes(count)
    fits = 0 < estimate <= MATRIX_SHARE * free
    row: dict[str, Any] = {"images": count, "matrix_gib": round(estimate / 2**30, 2)}
    for search in WHEN if fits else ["near_pairs"]:
        when = WHEN[search]
        dest = scratch / f"clean-{count}-{when}"
        print(f"  {count} images: clean with {search} ...", flush=True)
        child = run_in_child(
            "booktools.bench:clean_child", src=str(source), dest=str(dest), search=search
        )
        shutil.rmtree(dest, ignore_errors=True)
        row[f"clean_{when}"] = measured(child, idle["clean"])
        print(f"  {count} images: the near-pair step alone, {search} ...", flush=True)
        child = run_in_child("booktools.bench:near_pairs_child", keys=keys, search=search)
        row[f"search_{when}"] = measured(child, idle["search"])
    print(f"  {count} images: split.duplicate_groups and assign_subsets ...", flush=True)
    child = run_in_child("booktools.bench:groups_child", keys=keys)
    row["split"] = measured(child, idle["split"])
    if fits:
        row["same_manifest"] = (
            row["clean_before"]["manifest_sha256"] == row["clean_after"]["manifest_sha256"]
        )
        row["same_pairs"] = (
            row["search_before"]["pairs_sha256"] == row["search_after"]["pairs_sha256"]
        )
    if hasattr(os, "getloadavg"):
        row["load_1min"] = round(os.getloadavg()[0], 2)  # other work slows a single run down
    return row


def growth_exponent(points: list[tuple[int, float]]) -> float | None:
    """b in value = a N^b, by least squares on log value against log N (None below two sizes)."""
    usable = [(n, value) for n, value in points if value and value > 0]
    if len(usable) < 2:
        return None
    sizes, values = zip(*usable, strict=True)
    return round(float(np.polyfit(np.log(sizes), np.log(values), 1)[0]), 2)


# the table of exponents: a line per step (its part of a row), a column per measure (its field)
MEMORY = {"peak RSS": "peak_rss_mb", "above idle": "above_idle_mb"}
SCALE_CURVES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("clean, all pairs (before)", "clean_before", {"seconds": "seconds", **MEMORY}),
    ("clean, near_pairs (after)", "clean_after", {"seconds": "seconds", **MEMORY}),
    (
        "all pairs alone",
        "search_before",
        {"seconds": "seconds", **MEMORY, "traced": "traced_peak_mb"},
    ),
    (
        "near_pairs alone",
        "search_after",
        {"seconds": "seconds", **MEMORY, "traced": "traced_peak_mb"},
    ),
    ("split.duplicate_groups", "split", {"seconds": "groups_seconds", **MEMORY}),
    ("split.assign_subsets", "split", {"seconds": "assign_seconds"}),
)
EXPONENT_COLUMNS = ("seconds", "peak RSS", "above idle", "traced")


def scale_exponents(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """The fitted growth exponent of every curve, over the sizes where it was measured."""
    return {
        name: {
            column: growth_exponent([(r["images"], r[part][field]) for r in rows if part in r])
            for column, field in fields.items()
        }
        for name, part, fields in SCALE_CURVES
    }


def print_clean_table(rows: list[dict[str, Any]]) -> None:
    """Clean's seconds and peak RSS before and after, its verdicts, and whether they agree."""
    print(
        f"\nclean (--min-side {SCALE_MIN_SIDE}), before (all pairs) and after (near_pairs):\n"
        f"  {'images':>7} {'before s':>9} {'MB':>7} {'after s':>9} {'MB':>7}  {'manifests':10} "
        "verdicts (after)"
    )
    for row in rows:
        after = row["clean_after"]
        if "clean_before" in row:
            before = row["clean_before"]
            then = f"{before['seconds']:>9.1f} {before['peak_rss_mb']:>7.0f}"
            same = "identical" if row["same_manifest"] else "DIFFER"
        else:
            then, same = f"{'needs ~' + format(row['matrix_gib'], '.1f') + ' GiB':>17}", "-"
        verdicts = ", ".join(f"{n} {reason}" for reason, n in after["verdicts"].items())
        print(
            f"  {row['images']:>7} {then} {after['seconds']:>9.1f} {after['peak_rss_mb']:>7.0f}"
            f"  {same:10} {verdicts}"
        )


def print_search_table(rows: list[dict[str, Any]]) -> None:
    """The near-pair step alone: seconds, peak RSS and traced peak of both searches."""
    print(
        "\nthe near-pair step alone, on the same files' perceptual hashes (6 bits):\n"
        f"  {'images':>7} {'pairs':>7} {'all pairs s':>12} {'MB':>7} {'traced':>8} "
        f"{'near_pairs s':>13} {'MB':>6} {'traced':>7}  same pairs"
    )
    for row in rows:
        after = row["search_after"]
        if "search_before" in row:
            before = row["search_before"]
            then = (
                f"{before['seconds']:>12.2f} {before['peak_rss_mb']:>7.0f} "
                f"{before['traced_peak_mb']:>8.0f}"
            )
            same = "yes" if row["same_pairs"] else "NO"
        else:
            then = f"{'skipped: needs ~' + format(row['matrix_gib'], '.1f') + ' GiB':>29}"
            same = "-"
        print(
            f"  {row['images']:>7} {after['pairs']:>7} {then} {after['seconds']:>13.3f} "
            f"{after['peak_rss_mb']:>6.0f} {after['traced_peak_mb']:>7.1f}  {same}"
        )


def print_split_table(rows: list[dict[str, Any]]) -> None:
    """The split's grouping and assignment over the same keys."""
    print(
        "\nthe split's grouping and assignment (split.duplicate_groups, split.assign_subsets):\n"
        f"  {'images':>7} {'groups s':>9} {'assign s':>9} {'MB':>6} {'groups':>7} {'largest':>8}"
    )
    for row in rows:
        part = row["split"]
        print(
            f"  {row['images']:>7} {part['groups_seconds']:>9.2f} {part['assign_seconds']:>9.2f} "
            f"{part['peak_rss_mb']:>6.0f} {part['groups']:>7} {part['largest_group']:>8}"
        )


def print_exponents(exponents: dict[str, dict[str, float | None]]) -> None:
    """The fitted exponents: a line per step, a column per measure ('-': not measured or fitted)."""
    print(
        "\ngrowth exponents b of a N^b (least squares on log-log, over the sizes measured; "
        "memory as the process's peak RSS, that minus an idle process's, and the search's "
        "traced allocations):\n" + f"  {'':28}" + "".join(f"{c:>11}" for c in EXPONENT_COLUMNS)
    )
    for name, values in exponents.items():
        cells = [values.get(column) for column in EXPONENT_COLUMNS]
        shown = "".join(f"{'-' if v is None else format(v, '.2f'):>11}" for v in cells)
        print(f"  {name:28}{shown}")


def generation_line(generation: dict[str, Any]) -> str:
    """How the faces came to be: drawn now or cached, and how fast the last drawing went."""
    drawing = generation.get("drawing")
    how = (
        f"drawing {drawing['faces']} took {drawing['seconds']:.0f} s, "
        f"{drawing['faces_per_second']:.0f} faces/s with {drawing['workers']} process(es)"
        if drawing
        else "drawing time not recorded"
    )
    return f"{generation['faces']} faces ({'drawn now' if generation['drawn_now'] else 'cached'}; {how})"


@register(
    "clean-scale",
    "clean's seconds and peak memory from 1,000 to 100,000 images, its near-pair step before/after",
    clean_scale_arguments,
)
def bench_clean_scale(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """How cleaning grows with the number of images, before and after the all-pairs step went.

    N synthetic faces (helpers.synthetic.sample_faces: drawn at a web photo's size and JPEG
    quality, squashed to 96 x 96 like the book's fresh samples), saved as JPEG in class folders
    and cached in 1,000-face chunks, are cleaned by helpers.clean.clean(src, dest, min_side=64)
    in a fresh process for each N: once as now (images.near_pairs, multi-index hashing) and, where
    its estimated 9 N^2 bytes fit in half the free memory, once with the old all-pairs step
    (images.near_pairs_by_matrix) in its place; the two manifests are compared byte for byte.
    Then the near-pair step alone runs on the same files' perceptual hashes, each search in a
    fresh process (its seconds, the process's peak RSS and, from a second traced run, what the
    search itself allocated), and so do split.duplicate_groups and split.assign_subsets. An idle
    process with each child's imports gives the floor of its peak RSS, since at small N the
    interpreter and its libraries are most of it. The growth exponent b of a N^b is fitted to each
    curve (time, peak RSS, peak RSS above idle, traced peak) by least squares on log-log.
    """
    sizes = sorted(set(args.sizes))
    if min(sizes) < 2 or args.workers < 1:
        raise ValueError("--sizes must be at least 2 images each, --workers at least 1")
    from helpers.store import scratch_dir

    chunks, generation = ensure_scale_faces(profile, max(sizes), args.workers)
    if not generation["drawn_now"]:  # all cached: keep the figures of the last drawing
        earlier = (load_result(profile, "clean-scale") or {}).get("generation", {})
        if earlier.get("drawing"):
            generation["drawing"] = earlier["drawing"]
    free = available_memory()
    idle = idle_rss()
    scratch = scratch_dir(scale_folder(profile), ".clean-")
    try:
        rows = [
            measure_size(n, ensure_scale_source(profile, chunks, n), scratch, free, idle)
            for n in sizes
        ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    exponents = scale_exponents(rows)
    print(
        f"\nclean-scale, profile {profile.name}: {generation_line(generation)}; "
        f"{SCALE_SIDE}x{SCALE_SIDE} JPEG (quality {SCALE_QUALITY}); every figure from a fresh "
        f"process; the all-pairs step runs where 9 N^2 bytes fit in half the free memory "
        f"({free / 2**30:.1f} GiB free)"
    )
    print(
        "peak RSS in MB; an idle process with the same imports: "
        + ", ".join(f"{kind} {mb:.0f} MB" for kind, mb in idle.items())
        + (
            "; load average (1 min) after each size: "
            + ", ".join(str(row["load_1min"]) for row in rows)
            if all("load_1min" in row for row in rows)
            else ""
        )
    )
    print_clean_table(rows)
    print_search_table(rows)
    print_split_table(rows)
    print_exponents(exponents)
    return {
        "sizes": sizes,
        "side": SCALE_SIDE,
        "min_side": SCALE_MIN_SIDE,
        "free_memory_gib": round(free / 2**30, 1),
        "idle_rss_mb": idle,
        "generation": generation,
        "rows": rows,
        "exponents": exponents,
    }


# --- fer: the FER-2013 importer on a generated 300 MB file ----------------------------------------


def fer_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the FER benchmark."""
    parser.add_argument("--rows", type=int, default=35_887, help="rows (FER-2013 has 35,887)")


def fer_in_child(rows: int, folder: str) -> dict[str, Any]:
    """In a fresh process: write a FER-format CSV of `rows` rows, then import it, timed."""
    from helpers import fer

    work = Path(folder)
    start = time.perf_counter()
    source = fer.write_fer_like_csv(work / "fer2013.csv", rows=rows, seed=0, malformed_every=1000)
    generated = time.perf_counter()
    report = fer.import_fer2013(source, work / "raw", progress=False)
    seconds = time.perf_counter() - generated
    return {
        "rows": rows,
        "csv_mb": source.stat().st_size / 1e6,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "images_written": report.total_written,
        "malformed": len(report.malformed),
        "generation_seconds": generated - start,
    }


@register(
    "fer", "the FER-2013 importer's rows/s and peak RSS on a generated 300 MB CSV", fer_arguments
)
def bench_fer(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """Generate a FER-format CSV and import it, in a fresh process; throughput and peak memory."""
    if args.rows < 1:
        raise ValueError("--rows must be at least 1")
    profile.artifacts.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".bench-fer-", dir=profile.artifacts))
    try:
        print(f"  writing a {args.rows}-row FER-format CSV, then importing it ...", flush=True)
        child = run_in_child("booktools.bench:fer_in_child", rows=args.rows, folder=str(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures = child.result
    result = {
        "rows": figures["rows"],
        "csv_mb": round(figures["csv_mb"], 1),
        "generation_seconds": round(figures["generation_seconds"], 1),
        "seconds": round(figures["seconds"], 1),
        "rows_per_s": round(figures["rows_per_s"], 1),
        "csv_mb_per_s": round(figures["csv_mb"] / figures["seconds"], 2),
        "images_written": figures["images_written"],
        "malformed": figures["malformed"],
        "child_peak_rss_mb": child.peak_rss_mb,
        "child_seconds": round(child.seconds, 1),
    }
    print(
        f"\nFER importer: {result['rows']} rows, {result['csv_mb']:.0f} MB CSV "
        f"(generated in {result['generation_seconds']:.0f} s)\n"
        f"  import: {result['seconds']:.1f} s, {result['rows_per_s']:.0f} rows/s, "
        f"{result['csv_mb_per_s']:.1f} MB/s, peak RSS of the process {result['child_peak_rss_mb']:.0f} MB"
    )
    return result


# --- compute: FLOPs per training image against this CPU's measured matmul peak --------------------


def compute_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the compute benchmark."""
    parser.add_argument("--size", type=int, default=2048, help="side of the square matrices")
    parser.add_argument("--runs", type=int, default=7, help="timed multiplications (median)")


def matmul_gflops(multiply: Callable[[], Any], size: int, runs: int) -> float:
    """GFLOP/s of a size x size float32 matrix product (2 size^3 operations), median of runs."""
    multiply()  # warm-up: thread pools, first-call set-up
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        multiply()
        seconds.append(time.perf_counter() - start)
    return 2 * size**3 / float(np.median(seconds)) / 1e9


def measured_peaks(size: int, runs: int) -> dict[str, float]:
    """The float32 matmul rate of NumPy's BLAS and of TensorFlow on this machine, in GFLOP/s."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    ta, tb = tf.constant(a), tf.constant(b)
    return {
        "numpy": matmul_gflops(lambda: a @ b, size, runs),
        "tensorflow": matmul_gflops(lambda: tf.linalg.matmul(ta, tb).numpy(), size, runs),
    }


@register(
    "compute",
    "FLOPs per training image, the CPU's measured matmul peak, the fraction training reaches",
    compute_arguments,
)
def bench_compute(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """The compute bound: analytic FLOPs per image x measured images/s against the matmul peak."""
    from booktools import perf

    if args.size < 64 or args.runs < 1:
        raise ValueError("--size must be at least 64 and --runs at least 1")
    forward = perf.forward_flops(profile.input_shape)
    training = perf.training_flops(profile.input_shape)
    peaks = measured_peaks(args.size, args.runs)
    source = max(peaks, key=peaks.__getitem__)
    peak = peaks[source]
    result: dict[str, Any] = {
        "image_size": profile.image_size,
        "layers": perf.layer_macs(profile.input_shape),
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


# --- oneDNN: the book's setting against TensorFlow's default on CPUs without AVX-512 VNNI --------


def onednn_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the oneDNN benchmark."""
    parser.add_argument("--epochs", type=int, default=3, help="per run, the first one untimed")
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternate the two settings this often"
    )


def onednn_child(profile_name: str, source: str, epochs: int) -> dict[str, Any]:
    """In a fresh process: train the book's CNN for some epochs and predict the test set, timed."""
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    from helpers import pipeline
    from helpers.env import seed_everything
    from helpers.model import build_model, compile_model

    chosen = get_profile(profile_name, source)
    data = pipeline.make_datasets(chosen)
    train_images = int((data.frame["subset"] == "train").sum())
    test_images = int((data.frame["subset"] == "test").sum())
    seed_everything(chosen.seed)
    model = compile_model(build_model(chosen.input_shape))
    seconds = time_epochs(model, data.train, train_images, epochs)
    model.predict(data.test, verbose=0)  # warm-up: tracing, the cache
    start = time.perf_counter()
    for _ in range(3):
        model.predict(data.test, verbose=0)
    predict_seconds = (time.perf_counter() - start) / 3
    return {
        "onednn": bool(_pywrap_util_port.IsMklEnabled()),
        "variable": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "tensorflow": tf.__version__,
        "train_seconds": seconds,
        "train_images": train_images,
        "predict_seconds": predict_seconds,
        "test_images": test_images,
    }


def cpu_flags() -> list[str]:
    """The CPU features that decide TensorFlow's oneDNN default (AVX-512 VNNI, AMX), if listed."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return []
    flags = next(
        (line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), ""
    )
    wanted = ("avx2", "avx512f", "avx512_vnni", "amx_tile")
    return [flag for flag in wanted if flag in flags.split()]


@register(
    "onednn",
    "training and predicting images/s with oneDNN as the book sets it, and with it off",
    onednn_arguments,
)
def bench_onednn(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """The same model and data in fresh processes: TF_ENABLE_ONEDNN_OPTS as the book sets it, and 0."""
    from helpers import pipeline

    if args.epochs < 2:
        raise ValueError("--epochs must be at least 2: the first epoch is a warm-up")
    pipeline.make_datasets(profile)  # build the data once, outside the timed processes
    settings = {"book": None, "off": "0"}  # None: unset, so helpers sets it to 1
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in settings}
    for _ in range(args.rounds):
        for name, value in settings.items():
            child = run_in_child(
                "booktools.bench:onednn_child",
                env={"TF_ENABLE_ONEDNN_OPTS": value},
                profile_name=profile.name,
                source=profile.source,
                epochs=args.epochs,
            )
            runs[name].append(child.result)
    figures: dict[str, Any] = {}
    for name, results in runs.items():
        train = [s for r in results for s in r["train_seconds"]]
        predict = [r["predict_seconds"] for r in results]
        figures[name] = {
            "onednn": results[0]["onednn"],
            "train_images_per_second": round(
                results[0]["train_images"] / float(np.median(train)), 2
            ),
            "predict_images_per_second": round(
                results[0]["test_images"] / float(np.median(predict)), 2
            ),
        }
    ratio_train = (
        figures["book"]["train_images_per_second"] / figures["off"]["train_images_per_second"]
    )
    ratio_predict = (
        figures["book"]["predict_images_per_second"] / figures["off"]["predict_images_per_second"]
    )
    result = {
        "image_size": profile.image_size,
        "batch_size": profile.batch_size,
        "epochs": args.epochs,
        "rounds": args.rounds,
        "tensorflow": runs["book"][0]["tensorflow"],
        "cpu_flags": cpu_flags(),
        "book": figures["book"],
        "off": figures["off"],
        "train_ratio": round(ratio_train, 3),
        "predict_ratio": round(ratio_predict, 3),
    }
    print(
        f"\noneDNN benchmark, profile {profile.name}: {profile.image_size} px, batches of "
        f"{profile.batch_size}, {args.epochs} epochs per run (first untimed), {args.rounds} "
        f"round(s) alternating, fresh processes; CPU flags {', '.join(result['cpu_flags']) or '?'}"
    )
    for name, label in (
        ("book", "as the book sets it (TF_ENABLE_ONEDNN_OPTS=1)"),
        ("off", "TF_ENABLE_ONEDNN_OPTS=0"),
    ):
        row = figures[name]
        print(
            f"  {label:48} oneDNN {'on ' if row['onednn'] else 'off'}  train "
            f"{row['train_images_per_second']:7.1f} images/s, predict "
            f"{row['predict_images_per_second']:7.1f} images/s"
        )
    print(f"  ratio, book / off: training {ratio_train:.2f}, predicting {ratio_predict:.2f}")
    return result


# --- face crops: what the detector finds, and what cropping does to accuracy on scenes ----------


def face_crop_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the face-crop benchmark."""
    parser.add_argument("--drawn", type=int, default=60, help="drawn faces to detect")
    parser.add_argument("--faces", type=int, default=155, help="scenes per class to train on")


def face_found(rgb: np.ndarray, truth: tuple[float, ...]) -> bool:
    """Whether the detector's largest box overlaps the true face box (IoU >= 0.3)."""
    from helpers import faces

    boxes = faces.detect_faces(rgb)
    return bool(boxes) and faces.iou(boxes[0], truth) >= 0.3


def detection_figures(drawn: int, seed: int) -> dict[str, Any]:
    """Faces found in the package photos and in drawn faces (by thirds of skin brightness)."""
    from matplotlib import cbook
    from PIL import Image
    from sklearn.datasets import load_sample_images

    from helpers import faces, synthetic

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        hopper = np.asarray(Image.open(handle).convert("RGB"))
    photos = {"grace_hopper.jpg (one face)": hopper}
    samples = load_sample_images()
    for name, image in zip(("china.jpg", "flower.jpg"), samples.images, strict=True):
        photos[f"{name} (no face)"] = image
    found_in_photos = {name: len(faces.detect_faces(image)) for name, image in photos.items()}
    rows = []
    for index in range(drawn):
        rng = np.random.default_rng([seed, index])
        valence = float(rng.uniform(-1, 1))
        image, marks = synthetic.draw_face(valence, rng, 256)
        x0, y0, x1, y1 = (int(v) for v in marks["face"])
        cheeks = image[
            y0 + (y1 - y0) // 4 : y1 - (y1 - y0) // 4, x0 + (x1 - x0) // 4 : x1 - (x1 - x0) // 4
        ]
        rows.append((float(cheeks.mean()), face_found(image, marks["face"])))
    rows.sort()
    thirds = np.array_split(np.array([found for _, found in rows]), 3)
    return {
        "photos": found_in_photos,
        "drawn": drawn,
        "drawn_found": int(sum(found for _, found in rows)),
        "drawn_found_by_skin_third": [int(third.sum()) for third in thirds],
        "drawn_per_third": [len(third) for third in thirds],
    }


def scene_source(faces_per_class: int, seed: int) -> Path:
    """_build/bench/scenes-<n>-<seed>/: faces small in larger scenes (synthetic), built once."""
    from helpers import synthetic
    from helpers.paths import BUILD
    from helpers.store import build_once

    stamp = {"faces": faces_per_class, "seed": seed, "generator": synthetic.GENERATOR_VERSION}
    folder = BUILD / "bench" / f"scenes-{faces_per_class}-{seed}"
    return build_once(
        folder, stamp, lambda dest: synthetic.write_scene_folder(dest, faces_per_class, seed)
    )


def accuracy_on_scenes(profile: Profile, source: Path, crop: bool) -> dict[str, Any]:
    """Train the baseline on the scene source with or without face crops; its test accuracy."""
    import dataclasses

    from helpers import classify, clean, evaluate, pipeline

    chosen = dataclasses.replace(get_profile(profile.name, source), crop_faces=crop)
    model_path = pipeline.ensure_model(chosen)
    model = classify.load_model(model_path)
    y_true, y_prob = evaluate.predict_dataset(model, pipeline.make_datasets(chosen).test)
    accuracy = evaluate.proportion(int((evaluate.to_labels(y_prob) == y_true).sum()), len(y_true))
    manifest = clean.read_manifest(pipeline.clean_folder(chosen))
    fates = manifest.loc[manifest["status"] == clean.KEPT, "face"].value_counts().to_dict()
    return {
        "test_images": len(y_true),
        "accuracy": round(accuracy.value, 4),
        "low": round(accuracy.low, 4),
        "high": round(accuracy.high, 4),
        "fates": {fate or "not cropped": int(count) for fate, count in fates.items()},
    }


@register(
    "face-crop",
    "faces found by the detector, and test accuracy on faces in scenes with and without crops",
    face_crop_arguments,
)
def bench_face_crop(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """Detection on package photos and drawn faces; then chapter 6's accuracy on scenes, both ways."""
    import cv2

    if args.drawn < 3 or args.faces < 20:
        raise ValueError("--drawn must be at least 3 and --faces at least 20")
    detected = detection_figures(args.drawn, profile.seed)
    source = scene_source(args.faces, profile.seed)
    runs = {
        name: accuracy_on_scenes(profile, source, crop)
        for name, crop in (("whole", False), ("cropped", True))
    }
    result = {
        "opencv": cv2.__version__,
        "epochs": profile.epochs,
        **detected,
        "scenes_per_class": args.faces,
        **runs,
    }
    print(f"\nface detector (OpenCV {cv2.__version__} Haar cascade):")
    for name, count in detected["photos"].items():
        print(f"  {name:30} {count} face(s) found")
    per_third = ", ".join(
        f"{found}/{total}"
        for found, total in zip(
            detected["drawn_found_by_skin_third"], detected["drawn_per_third"], strict=True
        )
    )
    print(
        f"  drawn faces: {detected['drawn_found']} of {args.drawn} found; by skin brightness, "
        f"darkest to lightest third: {per_third}"
    )
    print(
        f"\nscenes ({args.faces} per class, faces 25-40% of the width), baseline trained for "
        f"{profile.epochs} epochs, test accuracy (95% Wilson interval):"
    )
    for name, run in runs.items():
        print(
            f"  {name:8} {run['accuracy']:.3f} ({run['low']:.3f}-{run['high']:.3f}) on "
            f"{run['test_images']} test images; kept images: {run['fates']}"
        )
    return result


# --- streaming: the training pipeline cached in memory against streamed from shards, 1x-100x -----

STREAM_FACTORS = (1, 10, 100)
SAFE_MEMORY_FRACTION = 0.5  # the cached run is skipped when its cache would take more than this


def streaming_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the streaming benchmark."""
    parser.add_argument(
        "--factors",
        type=int,
        nargs="+",
        default=list(STREAM_FACTORS),
        help="data sizes, as multiples of the profile's training set",
    )
    parser.add_argument(
        "--side", type=int, default=64, help="side of the drawn faces (resized to the profile's)"
    )
    parser.add_argument("--epochs", type=int, default=2, help="passes over each pipeline, timed")


def available_memory_bytes() -> int | None:
    """The memory available to a new process (MemAvailable on Linux), else the machine's, or None."""
    from helpers.split import physical_memory_bytes

    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return physical_memory_bytes()


def ensure_drawn_faces(profile: Profile, count: int, side: int) -> Path:
    """data/<P>-faces<count>-<side>px/clean/: `count` fresh faces drawn square at side px, once."""
    from helpers import synthetic
    from helpers.store import build_once

    stamp = {
        "step": "drawn faces",
        "images": count,
        "side": side,
        "seed": profile.seed,
        "generator": synthetic.GENERATOR_VERSION,
    }
    folder = profile.data.with_name(f"{profile.folder_name}-faces{count}-{side}px") / "clean"
    return build_once(
        folder,
        stamp,
        lambda dest: draw_faces(dest, count, side, profile.seed, like_downloads=False),
    )


def labelled_files(folder: Path) -> tuple[list[str], list[int]]:
    """Every image of a <class>/ folder tree, sorted, and its label (index of the sorted classes)."""
    from helpers import split

    frame = split.list_images(folder)
    names = sorted(frame["label"].unique())
    return [str(folder / p) for p in frame["path"]], [names.index(x) for x in frame["label"]]


def evict_from_page_cache(files: list[Path]) -> bool:
    """Have the kernel drop the files' cached pages, so the next read is from disk; False if not."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for path in files:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # pages not yet written to disk cannot be dropped
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            return False
        finally:
            os.close(descriptor)
    return True


def timed_passes(dataset: Any, epochs: int) -> tuple[int, list[float]]:
    """Iterate a batched (images, labels) dataset `epochs` times: images per pass, seconds of each."""
    images, seconds = 0, []
    for _ in range(epochs):
        start = time.perf_counter()
        images = sum(int(labels.shape[0]) for _, labels in dataset)
        seconds.append(time.perf_counter() - start)
    return images, seconds


def stream_cached_child(
    folder: str, image_size: int, batch_size: int, seed: int, epochs: int
) -> dict[str, Any]:
    """In a fresh process: the book's cached training pipeline over a folder, iterated and timed."""
    from helpers import split

    paths, labels = labelled_files(Path(folder))
    evicted = evict_from_page_cache([Path(p) for p in paths])
    dataset = split.pipeline(paths, labels, image_size, batch_size, shuffle_seed=seed)
    images, seconds = timed_passes(dataset, epochs)
    return {"images": images, "epoch_seconds": seconds, "evicted": evicted}


def stream_write_child(folder: str, shards_dir: str, image_size: int) -> dict[str, Any]:
    """In a fresh process: a folder's images written as TFRecord shards (helpers.shards), timed."""
    import tensorflow as tf  # noqa: F401  (imported before the clock starts, as in the others)

    from helpers import shards

    paths, labels = labelled_files(Path(folder))
    start = time.perf_counter()
    written = shards.write_shards(paths, labels, image_size, Path(shards_dir), root=Path(folder))
    seconds = time.perf_counter() - start
    size = sum(path.stat().st_size for path in written.iterdir())
    return {"images": len(paths), "seconds": seconds, "shard_mb": size / 2**20}


def stream_read_child(shards_dir: str, batch_size: int, seed: int, epochs: int) -> dict[str, Any]:
    """In a fresh process: the streamed training pipeline over written shards, iterated and timed."""
    from helpers import shards

    folder = Path(shards_dir)
    evicted = evict_from_page_cache(sorted(folder.glob("shard-*.tfrecord")))
    dataset = shards.stream_pipeline(folder, batch_size, shuffle_seed=seed)
    images, seconds = timed_passes(dataset, epochs)
    return {"images": images, "epoch_seconds": seconds, "evicted": evicted}


def pass_row(factor: int, method: str, child: ChildRun, **extra: Any) -> dict[str, Any]:
    """A table row from a child that iterated a pipeline: images/s of each pass, its peak RSS."""
    images = child.result["images"]
    return {
        "factor": factor,
        "method": method,
        "images": images,
        "images_per_second": [round(images / s, 1) for s in child.result["epoch_seconds"]],
        "peak_rss_mb": child.peak_rss_mb,
        "first_pass_from_disk": child.result["evicted"],
        **extra,
    }


def streaming_rows(
    profile: Profile, factor: int, count: int, args: argparse.Namespace, scratch: Path
) -> list[dict[str, Any]]:
    """At one data size: the cached pipeline, the shards' writing and the stream, fresh processes."""
    from helpers import split

    size, batch = profile.image_size, profile.batch_size
    start = time.perf_counter()
    folder = ensure_drawn_faces(profile, count, args.side)
    print(f"  {factor}x: {count} faces ready in {time.perf_counter() - start:.0f} s", flush=True)
    cache_mb = split.cache_bytes(count, size) / 2**20
    available = available_memory_bytes()
    rows = []
    if available is not None and cache_mb > SAFE_MEMORY_FRACTION * available / 2**20:
        rows.append(
            {
                "factor": factor,
                "method": "cached in memory",
                "images": count,
                "cache_mb": round(cache_mb),
                "skipped": f"its cache would need {cache_mb / 1024:.1f} GiB of the "
                f"{available / 2**30:.1f} GiB available",
            }
        )
    else:
        print(f"  {factor}x: the cached pipeline, in a fresh process ...", flush=True)
        child = run_in_child(
            "booktools.bench:stream_cached_child",
            folder=str(folder),
            image_size=size,
            batch_size=batch,
            seed=profile.seed,
            epochs=args.epochs,
        )
        rows.append(pass_row(factor, "cached in memory", child, cache_mb=round(cache_mb)))
    shard_mb = count * size * size * 3 / 2**20  # uint8 pixels; the records add about 0.1 %
    free_mb = shutil.disk_usage(scratch).free / 2**20
    if shard_mb > 0.9 * free_mb:
        skipped = f"its shards would need {shard_mb:,.0f} MB of the {free_mb:,.0f} MB free on disk"
        return [
            *rows,
            {
                "factor": factor,
                "method": "streamed from shards",
                "images": count,
                "skipped": skipped,
            },
        ]
    target = scratch / f"x{factor}"
    print(f"  {factor}x: writing the shards, then streaming them, fresh processes ...", flush=True)
    written = run_in_child(
        "booktools.bench:stream_write_child",
        folder=str(folder),
        shards_dir=str(target),
        image_size=size,
    )
    rows.append(
        {
            "factor": factor,
            "method": "writing shards",
            "images": written.result["images"],
            "images_per_second": [round(count / written.result["seconds"], 1)],
            "peak_rss_mb": written.peak_rss_mb,
            "shard_mb": round(written.result["shard_mb"]),
        }
    )
    read = run_in_child(
        "booktools.bench:stream_read_child",
        shards_dir=str(target),
        batch_size=batch,
        seed=profile.seed,
        epochs=args.epochs,
    )
    rows.append(pass_row(factor, "streamed from shards", read))
    shutil.rmtree(target, ignore_errors=True)
    return rows


def streaming_note(row: dict[str, Any]) -> str:
    """The last column of a streaming table row: what was skipped, or the memory or disk it takes."""
    if "skipped" in row:
        return f"skipped: {row['skipped']}"
    if "shard_mb" in row:
        return f"shards {row['shard_mb']:,} MB on disk"
    note = f"cache {row['cache_mb']:,} MB" if "cache_mb" in row else ""
    return note + ("" if row["first_pass_from_disk"] else " (pass 1 may read the page cache)")


def print_streaming_table(rows: list[dict[str, Any]], epochs: int) -> None:
    """The table: data size, method, images, images/s of each pass, peak RSS, and a note."""
    passes = "".join(f" {f'pass {n + 1} img/s':>13}" for n in range(epochs))
    print(f"  {'data':>5} {'method':21} {'images':>7}{passes} {'peak RSS MB':>12}  note")
    for row in rows:
        rates = row.get("images_per_second", [])
        cells = "".join(
            f" {rates[n]:>13,.1f}" if n < len(rates) else f" {'-':>13}" for n in range(epochs)
        )
        peak = f"{row['peak_rss_mb']:>12,.0f}" if "peak_rss_mb" in row else f"{'-':>12}"
        print(
            f"  {row['factor']:>4}x {row['method']:21} {row['images']:>7,}{cells} {peak}  "
            f"{streaming_note(row)}"
        )


def peak_line(rows: list[dict[str, Any]], method: str) -> str:
    """Peak RSS of one method at each data size, and the largest over the smallest."""
    peaks = [
        (r["factor"], r["peak_rss_mb"])
        for r in rows
        if r["method"] == method and "peak_rss_mb" in r
    ]
    if not peaks:
        return f"{method}: not run"
    sizes = ", ".join(f"{factor}x {peak:,.0f} MB" for factor, peak in peaks)
    return f"{method}: {sizes} (largest / smallest {peaks[-1][1] / peaks[0][1]:.2f})"


@register(
    "streaming",
    "training pipeline images/s and peak RSS, cached in memory against streamed from TFRecord "
    "shards, at 1x, 10x and 100x the training set",
    streaming_arguments,
)
def bench_streaming(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """Iterate the training pipeline both ways over growing data, each run in a fresh process."""
    from helpers import pipeline

    if args.epochs < 1 or args.side < 8 or min(args.factors) < 1:
        raise ValueError("--epochs and --factors must be at least 1, --side at least 8")
    base = int((pipeline.ensure_split(profile)["subset"] == "train").sum())
    profile.artifacts.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".bench-stream-", dir=profile.artifacts))
    rows: list[dict[str, Any]] = []
    try:
        for factor in sorted(set(args.factors)):
            rows += streaming_rows(profile, factor, base * factor, args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    available = available_memory_bytes()
    print(
        f"\nstreaming benchmark, profile {profile.name}: the training pipeline ({base} images at "
        f"1x) at {profile.image_size} px in batches of {profile.batch_size}, iterated {args.epochs} "
        f"time(s) without a model; faces drawn at {args.side} px; each run in a fresh process; "
        "the page cache dropped before pass 1 (later passes of the stream may read it: shards "
        "that fit in memory stay there)"
    )
    print_streaming_table(rows, args.epochs)
    for method in ("cached in memory", "streamed from shards"):
        print(f"  peak RSS, {peak_line(rows, method)}")
    return {
        "image_size": profile.image_size,
        "batch_size": profile.batch_size,
        "side": args.side,
        "epochs": args.epochs,
        "train_images": base,
        "available_memory_mb": round(available / 2**20) if available else None,
        "rows": rows,
    }


# --- command line ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The command line: no NAME runs every benchmark; NAME runs one with its own options."""
    parser = argparse.ArgumentParser(
        prog="python -m booktools.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--profile", choices=sorted(PROFILES), help="default: $BOOK_PROFILE or full"
    )
    commands = parser.add_subparsers(dest="name", metavar="NAME")
    for bench in BENCHMARKS.values():
        sub = commands.add_parser(bench.name, help=bench.help, description=bench.help)
        sub.add_argument(
            "--profile",
            choices=sorted(PROFILES),
            default=argparse.SUPPRESS,
            help="default: $BOOK_PROFILE or full",
        )
        if bench.arguments:
            bench.arguments(sub)
    return parser


def run_benchmark(name: str, profile: Profile, args: argparse.Namespace) -> bool:
    """Run one benchmark and save its figures; False (with the reason printed) if it failed."""
    start = time.perf_counter()
    print(f"\n=== {name}: {BENCHMARKS[name].help}", flush=True)
    try:
        result = BENCHMARKS[name].run(profile, args)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {name}: {error}", file=sys.stderr)
        return False
    except MemoryError as error:
        print(f"error: {out_of_memory(f'running the benchmark {name}', error)}", file=sys.stderr)
        return False
    result["benchmark_seconds"] = round(time.perf_counter() - start, 1)
    path = save_result(profile, name, result)
    print(f"  saved to {path} ({result['benchmark_seconds']:.0f} s)")
    return True


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: run one benchmark, or all of them; then rewrite the page's tables."""
    import helpers  # noqa: F401  (quietens TensorFlow before it is imported)
    from booktools import perf

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        for bench in BENCHMARKS.values():
            print(f"{bench.name:12}  {bench.help}")
        return 0
    try:
        profile = get_profile(args.profile)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.name:
        plan = [(args.name, args)]
    else:  # every benchmark with its default options, in registry order
        plan = [(name, parser.parse_args([name])) for name in BENCHMARKS]
    start = time.perf_counter()
    failed = [name for name, options in plan if not run_benchmark(name, profile, options)]
    if not args.name:
        print(
            f"\n=== all benchmarks, profile {profile.name}, {time.perf_counter() - start:.0f} s\n"
        )
        print(perf.performance_markdown(profile.artifacts))
    print(
        f"the performance page shows the {perf.PAGE_PROFILE} profile's saved figures the next "
        "time the site is built (python -m booktools.book --no-execute)"
    )
    if failed and not args.name:  # one benchmark has said why already, in its one line
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
