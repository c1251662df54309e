"""clean-scale: cleaning and its near-pair search from 1,000 to 100,000 images, before and after.

The faces come from the benchmarks' one face-drawer (booktools.bench.faces), drawn once in chunks.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from booktools.bench import faces
from booktools.bench.core import ChildRun, register, run_in_child
from booktools.machine import memory_bytes
from helpers.profiles import Profile

SCALE_SIZES = (1000, 4000, 16000, 64000, 100000)
SCALE_SIDE = 96  # the 96 x 96 JPEG faces ...
SCALE_MIN_SIDE = 64  # ... cleaned with --min-side 64
SCALE_QUALITY = 90
SCALE_KIND = faces.FaceKind(SCALE_SIDE, "JPEG", SCALE_QUALITY)  # drawn like the downloads
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


def matrix_bytes(count: int) -> int:
    """The all-pairs step's estimated peak for `count` hashes: 9 bytes for each of N x N pairs."""
    return MATRIX_BYTES_PER_PAIR * count * count


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
    """In a fresh process: the split's duplicate_groups and chapter 3's assign over saved keys, timed."""
    import pandas as pd

    from helpers import split
    from helpers.profiles import DEFAULT_SEED
    from helpers.taught import assign

    saved = np.load(keys)
    names = saved["names"].tolist()
    start = time.perf_counter()
    groups = split.duplicate_groups(saved["sha256"].tolist(), saved["phash"])
    grouped = time.perf_counter()
    frame = pd.DataFrame({"path": names, "label": [name.split("/")[0] for name in names]})
    assign(
        frame, groups, dict(zip(split.SUBSETS, split.DEFAULT_FRACTIONS, strict=True)), DEFAULT_SEED
    )
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
        found[kind] = run_in_child(
            "booktools.bench.clean_scale:idle_child", module=module
        ).peak_rss_mb
    return found


def measured(child: ChildRun, idle: float) -> dict[str, Any]:
    """A child's figures with its peak RSS, and how far that is above the idle process's."""
    above = round(child.peak_rss_mb - idle, 1)
    return {**child.result, "peak_rss_mb": child.peak_rss_mb, "above_idle_mb": above}


def measure_size(
    count: int, source: Path, scratch: Path, free: int, idle: dict[str, float]
) -> dict[str, Any]:
    """Every measurement at one size, each in a fresh process: clean, the search alone, the split."""
    keys = str(source / faces.KEYS)
    estimate = matrix_bytes(count)
    fits = 0 < estimate <= MATRIX_SHARE * free
    row: dict[str, Any] = {"images": count, "matrix_gib": round(estimate / 2**30, 2)}
    for search in WHEN if fits else ["near_pairs"]:
        when = WHEN[search]
        dest = scratch / f"clean-{count}-{when}"
        print(f"  {count} images: clean with {search} ...", flush=True)
        child = run_in_child(
            "booktools.bench.clean_scale:clean_child",
            src=str(source),
            dest=str(dest),
            search=search,
        )
        shutil.rmtree(dest, ignore_errors=True)
        row[f"clean_{when}"] = measured(child, idle["clean"])
        print(f"  {count} images: the near-pair step alone, {search} ...", flush=True)
        child = run_in_child(
            "booktools.bench.clean_scale:near_pairs_child", keys=keys, search=search
        )
        row[f"search_{when}"] = measured(child, idle["search"])
    print(f"  {count} images: split.duplicate_groups and chapter 3's assign ...", flush=True)
    child = run_in_child("booktools.bench.clean_scale:groups_child", keys=keys)
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
    ("taught.assign (chapter 3)", "split", {"seconds": "assign_seconds"}),
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
        "\nthe split's grouping and assignment (split.duplicate_groups, chapter 3's assign):\n"
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
    """How the faces came to be: drawn now or cached, and how long drawing them took."""
    now = generation["drawn_now"]
    how = f"drawn now, {generation['seconds']:.0f} s with {generation['workers']} process(es)"
    return (
        f"{generation['faces']} faces ({how if now else 'cached'}; drawing them took "
        f"{generation['drawing_seconds']:.0f} s of one process's time)"
    )


@register(
    "clean-scale",
    "clean's seconds and peak memory from 1,000 to 100,000 images, its near-pair step before/after",
    clean_scale_arguments,
)
def bench_clean_scale(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """How cleaning grows with the number of images, before and after the all-pairs step went.

    N synthetic faces (helpers.synthetic.sample_faces: drawn at a web photo's size and JPEG
    quality, squashed to 96 x 96 like the book's fresh samples), saved as JPEG in class folders
    and cached in chunks (booktools.bench.faces), are cleaned by
    helpers.clean.clean(src, dest, min_side=64) in a fresh process for each N: once as now
    (images.near_pairs, multi-index hashing) and, where its estimated 9 N^2 bytes fit in half the
    free memory, once with the old all-pairs step (images.near_pairs_by_matrix) in its place; the
    two manifests are compared byte for byte.
    Then the near-pair step alone runs on the same files' perceptual hashes, each search in a
    fresh process (its seconds, the process's peak RSS and, from a second traced run, what the
    search itself allocated), and so do split.duplicate_groups and chapter 3's assign. An idle
    process with each child's imports gives the floor of its peak RSS, since at small N the
    interpreter and its libraries are most of it. The growth exponent b of a N^b is fitted to each
    curve (time, peak RSS, peak RSS above idle, traced peak) by least squares on log-log.
    """
    sizes = sorted(set(args.sizes))
    if min(sizes) < 2 or args.workers < 1:
        raise ValueError("--sizes must be at least 2 images each, --workers at least 1")
    from helpers.store import scratch_dir

    # every face drawn at once (in parallel), each size then links the first N of them
    _, generation = faces.ensure_chunks(profile, SCALE_KIND, max(sizes), args.workers)
    free = memory_bytes("available") or 0
    idle = idle_rss()
    scratch = scratch_dir(faces.kind_folder(profile, SCALE_KIND), ".clean-")
    try:
        rows = [
            measure_size(n, faces.first_faces(profile, SCALE_KIND, n)[0], scratch, free, idle)
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
