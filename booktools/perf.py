"""The performance page's figures: the model's analytic FLOP count and the generated Markdown table.

Nothing here measures anything. `python -m booktools.bench` measures and saves
artifacts/<P>/bench_<name>.json; `write_performance_page` only reads those files (and the last
build's timings.json) and writes the generated/performance.md that book/performance.md includes,
into each site's staged source tree. A benchmark that has never been run gets one honest line instead of a table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.paths import artifacts_dir
from helpers.store import atomic_write_text

PAGE_PROFILE = "full"
# The benchmarks the page reports, in page order (booktools.bench registers one under each name).
PAGE_BENCHMARKS = (
    "chapters",
    "onednn",
    "training",
    "inference",
    "memory",
    "fer",
    "compute",
    "face-crop",
    "streaming",
    "clean-scale",
)
# backward pass ~ 2x forward (gradients for the inputs and for the weights), so training ~ 3x
TRAINING_PASSES = 3


# --- the compute bound: floating-point operations per image, from the layer shapes ---------------


def layer_macs(input_shape: tuple[int, int, int]) -> list[dict[str, Any]]:
    """Multiply-accumulates of each conv and dense layer of the book's CNN, from its shapes."""
    from helpers.model import ARCHITECTURE, conv_output_size, pool_output_size

    height, width, channels = (int(side) for side in input_shape)
    if min(height, width, channels) < 1:
        raise ValueError(f"input_shape must be positive (height, width, channels): {input_shape}")
    features = 0
    rows = []
    for kind, size in ARCHITECTURE:
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


# --- the generated page --------------------------------------------------------------------------


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file's content, or None if it is missing or unreadable (a half-written file)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def measured_line(record: dict[str, Any]) -> str:
    """'Measured on <date>, on <machine>.' for one benchmark's record."""
    date = record.get("date") or record.get("measured") or "an unknown date"
    machine = record.get("machine") or "an undescribed machine"
    return f"Measured {date}, on {machine}."


def table(header: tuple[str, ...], rows: list[tuple[Any, ...]], right_from: int = 1) -> list[str]:
    """A Markdown table; columns from `right_from` on are right-aligned (numbers)."""
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def section_chapters(record: dict[str, Any]) -> list[str]:
    """Per-chapter execution time of the last full build."""
    chapters = record.get("chapters", {})
    rows = [
        (name, f"{entry['seconds']:.0f}", entry["measured"]) for name, entry in chapters.items()
    ]
    rows.append(("**total**", f"**{sum(e['seconds'] for e in chapters.values()):.0f}**", ""))
    last = record.get("last_run", {})
    jobs = int(last.get("jobs", 1))
    shared = (
        f" The runner executes {jobs} chapters at a time, so each chapter's seconds include "
        f"sharing the processor; the last run took {last['wall_seconds']:.0f} s of wall time."
        if jobs > 1 and "wall_seconds" in last
        else ""
    )
    return [
        "### Executing each chapter",
        "",
        f"The last `{record.get('profile', PAGE_PROFILE)}` build of each chapter, on "
        f"{record.get('machine', 'an undescribed machine')}.{shared}",
        "",
        *table(("chapter", "seconds", "measured"), rows),
    ]


def section_onednn(record: dict[str, Any]) -> list[str]:
    """Training and prediction speed with oneDNN as the book sets it and with it off."""
    book, off = record["book"], record["off"]
    flags = ", ".join(record.get("cpu_flags", [])) or "not read"
    default = (
        "turns it on by itself on this processor (it has AVX-512 VNNI), so the book's setting "
        "changes nothing here"
        if "avx512_vnni" in record.get("cpu_flags", []) or "amx_tile" in record.get("cpu_flags", [])
        else "leaves it off on this processor (no AVX-512 VNNI or AMX), so the book's setting "
        "is what turns it on"
    )
    return [
        "### oneDNN on",
        "",
        "`import helpers` sets `TF_ENABLE_ONEDNN_OPTS=1` unless you have set it yourself: "
        f"TensorFlow {record['tensorflow']} uses its oneDNN kernels by default only on CPUs with "
        f"AVX-512 VNNI or AMX, and it {default} (CPU flags seen: {flags}). Each figure is the "
        f"median over {record['rounds']} fresh processes per setting, alternated, "
        f"{record['epochs'] - 1} timed epochs each. " + measured_line(record),
        "",
        *table(
            ("TF_ENABLE_ONEDNN_OPTS", "oneDNN", "training images/s", "predicting images/s"),
            [
                (
                    "as the book sets it (1)",
                    "on" if book["onednn"] else "off",
                    f"{book['train_images_per_second']:.1f}",
                    f"{book['predict_images_per_second']:.1f}",
                ),
                (
                    "0",
                    "on" if off["onednn"] else "off",
                    f"{off['train_images_per_second']:.1f}",
                    f"{off['predict_images_per_second']:.1f}",
                ),
                (
                    "**ratio**",
                    "",
                    f"**{record['train_ratio']:.2f}**",
                    f"**{record['predict_ratio']:.2f}**",
                ),
            ],
            right_from=2,
        ),  # fmt: skip
    ]


def section_training(record: dict[str, Any]) -> list[str]:
    """Training throughput through the original's pipeline and the book's."""
    rows = [
        (
            "original (decode every epoch, map x/255)",
            f"{record['median_original_images_per_second']:.1f}",
            f"{record['original_images_per_second']:.1f}",
        ),
        (
            "book (decoded once, cached, Rescaling layer)",
            f"{record['median_book_images_per_second']:.1f}",
            f"{record['book_images_per_second']:.1f}",
        ),
        (
            "**ratio book / original**",
            f"**{record['median_ratio']:.2f}**",
            f"{record['ratio']:.2f}",
        ),
    ]
    return [
        "### Training: the original's pipeline against the book's",
        "",
        f"{record['images']} training images of {record['image_size']}x{record['image_size']} "
        f"pixels, batches of {record['batch_size']}, {record['epochs']} epochs per run (the first "
        f"untimed), {record['rounds']} rounds alternating the pipelines. " + measured_line(record),
        "",
        *table(("pipeline", "images/s, median epoch", "images/s, fastest epoch"), rows),
    ]


def section_inference(record: dict[str, Any]) -> list[str]:
    """Inference throughput of classify_image one by one against classify_images in batches."""
    rows = [
        ("`classify_image`, one file at a time", f"{record['single_images_per_second']:.1f}"),
        (
            f"`classify_images`, batches of {record['batch_size']}",
            f"{record['batched_images_per_second']:.1f}",
        ),
        ("**ratio batched / one by one**", f"**{record['ratio']:.2f}**"),
    ]
    return [
        "### Inference: one file at a time or in batches",
        "",
        f"{record['images']} files from disk (decoding included), the saved model, median of "
        f"{record['runs']} runs after a warm-up. " + measured_line(record),
        "",
        *table(("how", "images/s (median)"), rows),
    ]


def generation_note(factor: str, info: dict[str, Any]) -> str:
    """One sentence on how long the larger data set took to generate (or that it was cached)."""
    made = info.get("generated_seconds")
    if made and not info.get("cached"):
        return f"The {factor}x data set was generated for this run in {made:.0f} s."
    if made:
        return (
            f"The {factor}x data set was generated by an earlier run in {made:.0f} s, then cached."
        )
    return f"The {factor}x data set was cached; the time it took to generate was not recorded."


def section_memory(record: dict[str, Any]) -> list[str]:
    """Peak memory of the streaming channel statistics at 1x and 10x the data."""
    rows = [
        (
            f"{row['scale']}x",
            row["method"],
            row["images"],
            f"{row['seconds']:.1f}",
            f"{row['child_peak_rss_mb']:.0f}",
            f"{row['rss_growth_mb']:.0f}",
            f"{row['python_peak_mb']:.1f}",
        )
        for row in record["rows"]
    ]
    notes = [generation_note(f, info) for f, info in record.get("generation", {}).items()]
    header = (
        "data",
        "method",
        "images",
        "seconds",
        "peak RSS, MB",
        "RSS growth, MB",
        "Python peak, MB",
    )
    return [
        "### Streaming statistics: memory at 1x and 10x the data",
        "",
        "Each measurement ran in a fresh process. Peak RSS is that whole process's (Python, "
        "TensorFlow and the data pipeline); RSS growth is how far the peak rose while the "
        "statistics ran; the Python peak is what the statistics' own arrays took (tracemalloc). "
        + " ".join(notes)
        + " "
        + measured_line(record),
        "",
        *table(header, rows, right_from=2),
    ]


def section_fer(record: dict[str, Any]) -> list[str]:
    """The FER-2013 importer's throughput and peak memory on a generated CSV."""
    rows = [
        ("rows", f"{record['rows']:,}"),
        ("CSV size", f"{record['csv_mb']:.0f} MB"),
        ("generating the CSV (not part of an import)", f"{record['generation_seconds']:.0f} s"),
        ("import time", f"{record['seconds']:.0f} s"),
        ("throughput", f"{record['rows_per_s']:.0f} rows/s ({record['csv_mb_per_s']:.1f} MB/s)"),
        ("images written", f"{record['images_written']:,}"),
        ("peak RSS of the importing process", f"{record['child_peak_rss_mb']:.0f} MB"),
    ]
    return [
        "### Importing a FER-2013 file",
        "",
        "A generated FER-format CSV of random faces (the real file's row count), imported in a "
        "fresh process. " + measured_line(record),
        "",
        *table(("figure", "value"), rows),
    ]


def section_compute(record: dict[str, Any]) -> list[str]:
    """The compute bound: FLOPs per training image against the measured matmul peak."""
    side = record["image_size"]
    rows = [
        (
            f"forward pass, one {side}x{side} image (2 x multiply-accumulates)",
            f"{record['forward_gflop']:.3f} GFLOP",
        ),
        (
            f"training, one image (forward + backward ~ {TRAINING_PASSES} x forward)",
            f"{record['training_gflop']:.3f} GFLOP",
        ),
        (
            f"measured float32 matmul peak ({record['peak_source']}, median of "
            f"{record['peak_runs']} runs)",
            f"{record['peak_gflops']:.1f} GFLOP/s",
        ),
        (
            "ceiling on training throughput at that peak",
            f"{record['bound_images_per_second']:.0f} images/s",
        ),
    ]
    if record.get("training_images_per_second"):
        rows += [
            (
                "measured training throughput (book pipeline, median epoch; fastest epoch)",
                f"{record['median_training_images_per_second']:.1f}; "
                f"{record['training_images_per_second']:.1f} images/s",
            ),
            (
                "achieved (median epoch; fastest epoch)",
                f"{record['median_achieved_gflops']:.1f}; {record['achieved_gflops']:.1f} GFLOP/s",
            ),
            (
                "**fraction of the measured peak** (median epoch; fastest epoch)",
                f"**{record['median_fraction_of_peak']:.0%}**; {record['fraction_of_peak']:.0%}",
            ),
        ]
    else:
        rows.append(("measured training throughput", "not measured (run the training benchmark)"))
    layers = [(row["layer"], f"{row['macs']:,}") for row in record.get("layers", [])]
    return [
        "### The compute bound",
        "",
        "The peak is this machine's measured matrix-multiplication rate, not a datasheet figure "
        "(see {ref}`performance-compute-bound`). " + measured_line(record),
        "",
        *table(("figure", "value"), rows),
        *(["", *table(("layer", "multiply-accumulates per image"), layers)] if layers else []),
    ]


def section_face_crop(record: dict[str, Any]) -> list[str]:
    """Faces the detector finds, and chapter 6's accuracy on faces in scenes with and without crops."""
    thirds = ", ".join(
        f"{found} of {total}"
        for found, total in zip(
            record["drawn_found_by_skin_third"], record["drawn_per_third"], strict=True
        )
    )
    photos = [(name, count) for name, count in record["photos"].items()]
    runs = [
        (
            name,
            f"{run['accuracy']:.3f} ({run['low']:.3f}-{run['high']:.3f})",
            run["test_images"],
            ", ".join(f"{fate} {count}" for fate, count in run["fates"].items()),
        )
        for name, run in (
            ("whole scenes", record["whole"]),
            ("cropped to the face", record["cropped"]),
        )
    ]
    return [
        "### Finding the face",
        "",
        f"OpenCV {record['opencv']}'s Haar cascade (chapter 1). Drawn faces found: "
        f"{record['drawn_found']} of {record['drawn']}; by skin brightness, darkest to lightest "
        f"third: {thirds}. " + measured_line(record),
        "",
        *table(("package photo", "faces found"), photos),
        "",
        f"Faces small inside 640 x 480 scenes, {record['scenes_per_class']} per class, the "
        f"baseline trained for {record['epochs']} epochs; test accuracy with its 95% Wilson "
        "interval:",
        "",
        *table(("images", "test accuracy", "test images", "kept images"), runs),
    ]


def _rate(values: list[float] | None, index: int) -> str:
    """One pass's images/s from a row's list, or a dash where that pass was not measured."""
    return f"{values[index]:,.0f}" if values and len(values) > index else "-"


def section_streaming(record: dict[str, Any]) -> list[str]:
    """The training pipeline cached in memory against streamed from shards, at 1x to 100x."""
    rows = []
    for row in record["rows"]:
        rates = row.get("images_per_second")
        if row.get("skipped"):
            note = f"not run: {row['skipped']}"
        elif "shard_mb" in row:
            note = f"{row['shard_mb']:,} MB of shards on disk"
        elif "cache_mb" in row:
            note = f"cache {row['cache_mb']:,} MB"
        else:
            note = ""
        rss = f"{row['peak_rss_mb']:,.0f}" if "peak_rss_mb" in row else "-"
        rows.append(
            (
                f"{row['factor']}x",
                row["method"],
                f"{row['images']:,}",
                _rate(rates, 0),
                _rate(rates, 1),
                rss,
                note,
            )
        )
    header = ("data", "method", "images", "pass 1, img/s", "pass 2, img/s", "peak RSS, MB", "note")
    return [
        "### Streaming the training set from shards: speed and memory at 1x to 100x",
        "",
        f"The training pipeline ({record['train_images']} images at 1x, {record['image_size']} px, "
        f"batches of {record['batch_size']}) iterated without a model, cached in memory and "
        "streamed from TFRecord shards, each run in a fresh process with the page cache dropped "
        "first (later passes of the stream may read shards the page cache kept). The cache's peak "
        "memory grows with the data; the stream's stays flat. " + measured_line(record),
        "",
        *table(header, rows, right_from=2),
    ]


def _clean_cell(run: dict[str, Any] | None, matrix_gib: float) -> tuple[str, str]:
    """Seconds and peak RSS of one clean run, or why it was not run (the all-pairs matrix)."""
    if not run:
        return f"not run: needs ~{matrix_gib:,.1f} GiB", "-"
    return f"{run['seconds']:,.1f}", f"{run['peak_rss_mb']:,.0f}"


def _chaining_note(row: dict[str, Any]) -> list[str]:
    """What the duplicate rule (not the search) did at the largest size, as a paragraph."""
    verdicts = (row.get("clean_after") or {}).get("verdicts", {})
    conflicting, images = verdicts.get("conflicting labels", 0), row["images"]
    if not conflicting:
        return []
    largest = (row.get("split") or {}).get("largest_group", 0)
    return [
        f"At {images:,} images, {conflicting:,} files ({100 * conflicting / images:.0f}%) were "
        "rejected as conflicting labels (the all-pairs step gives the same verdicts wherever it "
        "ran): near pairs chain (A near B, B near "
        f"C) into groups, the largest of {largest:,} files, that join different generated faces "
        "of both classes. That is a limit of the duplicate rule at this scale, not of the search.",
        "",
    ]


def section_clean_scale(record: dict[str, Any]) -> list[str]:
    """Cleaning 1,000 to 100,000 images with the all-pairs step and with near_pairs."""
    rows = []
    for row in record["rows"]:
        before = _clean_cell(row.get("clean_before"), row["matrix_gib"])
        after = _clean_cell(row.get("clean_after"), row["matrix_gib"])
        same = {True: "identical", False: "differ"}.get(row.get("same_manifest"), "-")
        search = row.get("search_after") or {}
        rows.append((f"{row['images']:,}", *before, *after, same, f"{search.get('pairs', 0):,}"))
    header = (
        "images",
        "before, s",
        "before, peak MB",
        "after, s",
        "after, peak MB",
        "manifests",
        "near pairs",
    )
    exponents = [
        (step, *(f"{values[m]:.2f}" if m in values else "-" for m in ("seconds", "above idle")))
        for step, values in record["exponents"].items()
    ]
    idle = record["idle_rss_mb"]["clean"]
    return [
        "### Cleaning at scale: the all-pairs step against near_pairs",
        "",
        f"`clean --min-side {record['min_side']}` on {record['side']} x {record['side']} JPEG "
        "faces drawn by the generator, each run in a fresh process; *before* is the old all-pairs "
        "step (the full N x N matrix), run only where it fits in half the free memory, *after* is "
        f"`images.near_pairs`. An idle process with clean's imports peaks at {idle:,.0f} MB. "
        + measured_line(record),
        "",
        *table(header, rows, right_from=1),
        "",
        *_chaining_note(record["rows"][-1]),
        "Growth exponents b of a N^b, fitted by least squares on log-log over the sizes measured "
        "(memory as the peak RSS above an idle process's):",
        "",
        *table(("step", "time", "memory"), exponents, right_from=1),
    ]


SECTIONS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "chapters": section_chapters,
    "onednn": section_onednn,
    "training": section_training,
    "inference": section_inference,
    "memory": section_memory,
    "fer": section_fer,
    "compute": section_compute,
    "face-crop": section_face_crop,
    "streaming": section_streaming,
    "clean-scale": section_clean_scale,
}

MISSING = {
    "chapters": "No `full` build has been timed on this machine yet "
    "(`python -m booktools.book --profile full`), so there are no chapter times.",
    "onednn": "The oneDNN benchmark has never been run here (`python -m booktools.bench onednn`).",
    "training": "The training benchmark has never been run here "
    "(`python -m booktools.bench training`).",
    "inference": "The inference benchmark has never been run here "
    "(`python -m booktools.bench inference`).",
    "memory": "The streaming statistics' memory has never been measured here "
    "(`python -m booktools.bench memory`).",
    "fer": "The FER-2013 importer has never been benchmarked here (`python -m booktools.bench fer`).",
    "compute": "The compute bound has never been measured here (`python -m booktools.bench compute`).",
    "face-crop": "The face detector and crops have never been measured here "
    "(`python -m booktools.bench face-crop`).",
    "streaming": "The streaming pipeline has never been benchmarked here "
    "(`python -m booktools.bench streaming`).",
    "clean-scale": "Cleaning at scale has never been benchmarked here "
    "(`python -m booktools.bench clean-scale`).",
}


def benchmark_record(artifacts: Path, name: str) -> dict[str, Any] | None:
    """One benchmark's saved figures; the chapter times come from the last build's timings.json."""
    if name == "chapters":
        return read_json(artifacts / "timings.json")
    return read_json(artifacts / f"bench_{name}.json")


def performance_markdown(artifacts: Path) -> str:
    """The generated page's Markdown: one section per measured benchmark, one line per missing one."""
    lines: list[str] = []
    missing: list[str] = []
    for name in PAGE_BENCHMARKS:
        record = benchmark_record(artifacts, name)
        if not record:
            missing.append(f"- {MISSING[name]}")
            continue
        try:
            lines += [*SECTIONS[name](record), ""]
        except (KeyError, TypeError, ValueError, AttributeError):  # written by an older version
            missing.append(
                f"- The saved `{name}` figures are in an older format; "
                f"run `python -m booktools.bench {name}` again."
            )
    if missing:
        lines += ["### Not measured yet", "", *missing, ""]
    return "\n".join(lines)


def write_performance_page(dest: Path, artifacts: Path | None = None) -> Path:
    """Write the performance tables the page includes, from the saved figures only (fast)."""
    dest = Path(dest)
    text = performance_markdown(artifacts or artifacts_dir(PAGE_PROFILE))
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest, text)
    return dest
