"""The performance page: the generated Markdown of this machine's saved figures (it measures none).

A full build (`python -m booktools.book`) measures this machine in under a minute
(booktools.bench.quick) and times its chapters (timings.json); the long benchmarks
(`python -m booktools.bench NAME`) save artifacts/<P>/bench_<name>.json when someone runs them.
`write_performance_page` reads those files and writes the generated/performance.md that
book/performance.md includes: the machine, the build's measurement and chapter times, each long
benchmark that has been run, with its date, and a list of those that have not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from booktools.perf_sections import SECTIONS, read_json
from helpers.paths import artifacts_dir
from helpers.store import atomic_write_text

PAGE_PROFILE = "full"
# The figures the page reports, in page order (booktools.bench registers a benchmark under each
# name but "chapters", the runner's timings.json): what every full build measures, then the rest.
PAGE_BENCHMARKS = (
    "quick",
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
BUILD_MEASURES = ("quick", "chapters")
# the long benchmarks, one line each for the list of those not run on this machine yet
LONG = {
    "onednn": "training and prediction with oneDNN as the book sets it and off, several processes",
    "training": "the original's input pipeline against the book's, training the same model",
    "inference": "classifying files one at a time against in batches",
    "memory": "the streaming pixel statistics' time and peak memory at 1x and 10x the data",
    "fer": "the FER-2013 importer's throughput and peak memory on a 300 MB file",
    "compute": "the compute bound per layer, against the matmul peak over more runs",
    "face-crop": "the face detector on drawn faces, and what cropping does to accuracy",
    "streaming": "the training pipeline cached in memory against streamed from shards, 1x-100x",
    "clean-scale": "cleaning from 1,000 to 100,000 images, before and after near_pairs",
}


UNMEASURED = {
    "quick": "This machine has not been measured yet: a full build (`python -m booktools.book`) "
    "measures it in under a minute, as does `python -m booktools.bench quick`.",
    "chapters": "No `full` build has been timed on this machine yet "
    "(`python -m booktools.book --profile full`), so there are no chapter times.",
}


def benchmark_record(artifacts: Path, name: str) -> dict[str, Any] | None:
    """One benchmark's saved figures; the chapter times come from the last build's timings.json."""
    if name == "chapters":
        return read_json(artifacts / "timings.json")
    return read_json(artifacts / f"bench_{name}.json")


def performance_markdown(artifacts: Path) -> str:
    """The generated page's Markdown: a section per measured figure set, a line per missing one."""
    lines: list[str] = []
    unmeasured: list[str] = []
    to_run: list[str] = []
    for name in PAGE_BENCHMARKS:
        record = benchmark_record(artifacts, name)
        if not record:
            if name in BUILD_MEASURES:
                unmeasured.append(f"- {UNMEASURED[name]}")
            else:
                to_run.append(f"- `{name}`: {LONG[name]}")
            continue
        try:
            lines += [*SECTIONS[name](record), ""]
        except (KeyError, TypeError, ValueError, AttributeError):  # written by an older version
            unmeasured.append(
                f"- The saved `{name}` figures are in an older format; "
                + ("run a full build again." if name in BUILD_MEASURES else
                   f"run `python -m booktools.bench {name}` again.")
            )  # fmt: skip
    if unmeasured:
        lines += ["### Not measured yet", "", *unmeasured, ""]
    if to_run:
        lines += [
            "### Longer benchmarks",
            "",
            "These take minutes to an hour each, so a build does not run them. Run one with "
            "`python -m booktools.bench NAME` (all of them: `python -m booktools.bench`) and its "
            "figures appear above, with the date they were measured, the next time the site is "
            "built:",
            "",
            *to_run,
            "",
        ]
    return "\n".join(lines)


def write_performance_page(dest: Path, artifacts: Path | None = None) -> Path:
    """Write the performance tables the page includes, from the saved figures only (fast)."""
    dest = Path(dest)
    text = performance_markdown(artifacts or artifacts_dir(PAGE_PROFILE))
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest, text)
    return dest
