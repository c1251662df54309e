"""The performance page's sections: one Markdown writer per set of saved figures (no measuring).

Each `section_<name>(record)` turns one saved record (a benchmark's bench_<name>.json, or the
runner's timings.json for "chapters") into the lines of its section; booktools.perf puts them in
page order. `table`, `measured_line` and `read_json` are the small helpers they share.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from booktools.flops import TRAINING_PASSES


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


def section_machine(facts: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """The machine the figures come from: processor, cores, AVX-512, memory, the software."""
    flags = facts.get("cpu_flags", [])
    wide = [flag for flag in flags if flag.startswith(("avx512", "amx"))]
    vectors = f"yes ({', '.join(wide)})" if wide else ("no (AVX2)" if "avx2" in flags else "no")
    memory = f"{facts['memory_gib']:.1f} GiB" if facts.get("memory_gib") else "not read"
    rows = [
        ("processor", facts.get("cpu", "not read")),
        ("cores (logical)", facts.get("cores", "not read")),
        ("AVX-512", vectors),
        ("memory", memory),
        ("software", f"TensorFlow {record['tensorflow']}, Python {facts.get('python', '?')}, "
                     f"{facts.get('system', '?')}"),
    ]  # fmt: skip
    return ["### This machine", "", *table(("", "this machine"), rows, right_from=2)]


def section_quick(record: dict[str, Any]) -> list[str]:
    """The build's own measurement: training against its two ceilings, prediction, oneDNN."""
    side, batch = record["image_size"], record["batch_size"]
    bound = (
        f"compute bound: the matmul peak ({record['peak_gflops']:.0f} GFLOP/s, "
        f"{record['peak_source']}) over {record['training_gflop']:.3f} GFLOP per training image"
    )
    rows = [
        (
            "training, through the book's cached pipeline",
            f"{record['train_pipeline_images_per_second']:.1f}",
            f"**{record['pipeline_of_memory']:.2f}** of the in-memory rate, "
            f"**{record['pipeline_of_bound']:.0%}** of the bound",
        ),
        (
            "training, the same images in memory as whole batches (the input costs nothing)",
            f"{record['train_memory_images_per_second']:.1f}",
            f"{record['memory_of_bound']:.0%} of the bound",
        ),
        (bound, f"{record['bound_images_per_second']:.0f}", ""),
        (
            f"predicting, batches of {batch} in memory",
            f"{record['predict_images_per_second']:.1f}",
            "",
        ),
    ]
    onednn = record["onednn"]
    ratios = (record["onednn_train_ratio"], record["onednn_predict_ratio"])
    load = record.get("cpu_load_1min")
    return [
        *section_machine(record.get("machine_facts", {}), record),
        "",
        "### Training and predicting, measured by the build",
        "",
        "After executing its chapters, a full build trains the book's CNN from fresh weights on "
        f"its {record['images']} training images ({side}x{side} pixels, batches of {batch}) in two "
        "fresh processes, which start together and then take turns, each timing its work while "
        "the other waits, and times prediction (`booktools.bench.quick`"
        + (f", {took:.0f} s in all" if (took := record.get("measure_seconds")) else "")
        + "). The "
        "in-memory rate is the ceiling any input pipeline can reach; the compute bound is the "
        "ceiling of the processor (see {ref}`performance-compute-bound`). Each rate is the "
        f"fastest of {record['rounds']} epochs (3 runs for prediction), the one other work slowed "
        "least"
        + (f"; the load average was {load:.1f} at the end" if load is not None else "")
        + ". "
        + measured_line(record),
        "",
        *table(("measured", "images/s", "ratio"), rows),
        "",
        "The second process differs only in `TF_ENABLE_ONEDNN_OPTS=0` (training from memory): "
        f"TensorFlow {onednn_default(record.get('machine_facts', {}).get('cpu_flags', []))}.",
        "",
        *onednn_table(onednn["book"], onednn["off"], ratios),
    ]


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
        f"The last `{record.get('profile', 'full')}` build of each chapter, on "
        f"{record.get('machine', 'an undescribed machine')}.{shared}",
        "",
        *table(("chapter", "seconds", "measured"), rows),
    ]


def onednn_default(flags: list[str]) -> str:
    """Why the book's TF_ENABLE_ONEDNN_OPTS matters (or not) on a CPU with these flags."""
    if "avx512_vnni" in flags or "amx_tile" in flags:
        return (
            "turns it on by itself on this processor (it has AVX-512 VNNI), so the book's setting "
            "changes nothing here"
        )
    return (
        "leaves it off on this processor (no AVX-512 VNNI or AMX), so the book's setting is what "
        "turns it on"
    )


def onednn_table(
    book: dict[str, Any], off: dict[str, Any], ratios: tuple[float, float]
) -> list[str]:
    """Training and predicting images/s with oneDNN as the book sets it and off, and the ratios."""
    rows = [
        (
            setting,
            "on" if run["onednn"] else "off",
            f"{run['train_images_per_second']:.1f}",
            f"{run['predict_images_per_second']:.1f}",
        )
        for setting, run in (("as the book sets it (1)", book), ("0", off))
    ]
    rows.append(("**ratio**", "", *(f"**{ratio:.2f}**" for ratio in ratios)))
    header = ("TF_ENABLE_ONEDNN_OPTS", "oneDNN", "training images/s", "predicting images/s")
    return table(header, rows, right_from=2)


def section_onednn(record: dict[str, Any]) -> list[str]:
    """Training and prediction speed with oneDNN as the book sets it and with it off."""
    flags = record.get("cpu_flags", [])
    return [
        "### oneDNN on",
        "",
        "`import helpers` sets `TF_ENABLE_ONEDNN_OPTS=1` unless you have set it yourself: "
        f"TensorFlow {record['tensorflow']} uses its oneDNN kernels by default only on CPUs with "
        f"AVX-512 VNNI or AMX, and it {onednn_default(flags)} (CPU flags seen: "
        f"{', '.join(flags) or 'not read'}). Each figure is the median over {record['rounds']} "
        f"fresh processes per setting, alternated, {record['epochs'] - 1} timed epochs each. "
        + measured_line(record),
        "",
        *onednn_table(
            record["book"], record["off"], (record["train_ratio"], record["predict_ratio"])
        ),
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
    "quick": section_quick,
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
