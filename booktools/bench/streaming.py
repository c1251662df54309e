"""streaming: the training pipeline cached in memory against streamed from shards, 1x to 100x."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from booktools.bench import faces
from booktools.bench.core import ChildRun, register, run_in_child
from booktools.machine import memory_bytes
from helpers.profiles import Profile

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
    from helpers.taught import cached_pipeline

    paths, labels = labelled_files(Path(folder))
    evicted = evict_from_page_cache([Path(p) for p in paths])
    dataset = cached_pipeline(paths, labels, image_size, batch_size, shuffle_seed=seed)
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
    from helpers import datasets

    size, batch = profile.image_size, profile.batch_size
    start = time.perf_counter()
    folder, _ = faces.first_faces(profile, faces.FaceKind(args.side, like_downloads=False), count)
    print(f"  {factor}x: {count} faces ready in {time.perf_counter() - start:.0f} s", flush=True)
    cache_mb = datasets.cache_bytes(count, size) / 2**20
    available = memory_bytes("available")
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
            "booktools.bench.streaming:stream_cached_child",
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
        "booktools.bench.streaming:stream_write_child",
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
        "booktools.bench.streaming:stream_read_child",
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
    available = memory_bytes("available")
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
