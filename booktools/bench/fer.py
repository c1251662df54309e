"""fer: the FER-2013 importer's rows/s and peak memory on a generated 300 MB CSV."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from booktools.bench.core import register, run_in_child
from helpers.profiles import Profile


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
        child = run_in_child("booktools.bench.fer:fer_in_child", rows=args.rows, folder=str(work))
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
