"""Build the book: execute every chapter with papermill, then build the site with Jupyter Book.

    python -m booktools.book [--profile full|smoke] [--source PATH] [--only NN ...]
                           [--no-execute] [--no-build]

`make book` calls this; readers without make (Windows) can call it directly.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from booktools import perf
from helpers.paths import BUILD, CHAPTERS, NOTEBOOKS, ROOT, artifacts_dir, ensure_dir
from helpers.profiles import PROFILES, SOURCE_ENV_VAR, get_profile, profile_name

CHAPTER_PATTERN = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.ipynb$")
FAILED = BUILD / "failed"
TOC = ROOT / "_toc.yml"
GENERATED = ROOT / "book" / "generated"
KERNEL = "python3"


class BookError(RuntimeError):
    """A problem with the book's sources or a chapter's execution, told in one message."""


@dataclass(frozen=True)
class Chapter:
    """One chapter: its number, source notebook and executed copy."""

    number: str
    source: Path

    @property
    def stem(self) -> str:
        """File name without extension, e.g. '01_acquisition'."""
        return self.source.stem

    @property
    def executed(self) -> Path:
        """Where papermill's executed copy goes (and where _toc.yml points)."""
        return CHAPTERS / self.source.name

    @property
    def toc_entry(self) -> str:
        """The chapter's entry in _toc.yml."""
        return f"book/chapters/{self.stem}"


def discover_chapters(folder: Path | None = None) -> list[Chapter]:
    """Every notebooks/NN_name.ipynb, in chapter order."""
    chapters = []
    for path in sorted((folder or NOTEBOOKS).glob("*.ipynb")):
        match = CHAPTER_PATTERN.match(path.name)
        if match:
            chapters.append(Chapter(match.group(1), path))
    return chapters


def toc_files(toc: Path) -> set[str]:
    """Every `file:` and `root:` entry of a Jupyter Book table of contents, without extension."""
    import yaml

    if not toc.is_file():
        raise BookError(f"{toc} is missing: the site needs a table of contents")
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    found.add(str(Path(value).with_suffix("")))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc.read_text(encoding="utf-8")))
    return found


def check_parameters_cell(path: Path) -> None:
    """Refuse a notebook whose first code cell is not tagged `parameters`."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    code = [cell for cell in cells if cell.get("cell_type") == "code"]
    if not code:
        raise BookError(f"{path.name} has no code cell")
    tags = code[0].get("metadata", {}).get("tags", [])
    if "parameters" not in tags:
        raise BookError(
            f"{path.name}: the first code cell must be tagged 'parameters' "
            "(it holds PROFILE = None and the other literal settings papermill overrides)"
        )


def check_chapters(chapters: list[Chapter], toc: Path | None = None) -> None:
    """Check every chapter before running any: parameters cell tagged, listed in _toc.yml."""
    if not chapters:
        raise BookError(f"no chapter notebooks (NN_name.ipynb) in {NOTEBOOKS}")
    listed = toc_files(toc or TOC)
    for chapter in chapters:
        check_parameters_cell(chapter.source)
        if chapter.toc_entry not in listed:
            raise BookError(
                f"{chapter.source.name} is not in _toc.yml: "
                f"add '- file: {chapter.toc_entry}' so the site shows it"
            )


def first_line(source: str) -> str:
    """The first non-blank line of a cell's source, to name the cell in a message."""
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


def execute_chapter(
    chapter: Chapter,
    profile: str,
    out_dir: Path | None = None,
    failed_dir: Path | None = None,
    source: str = "synthetic",
) -> float:
    """Run one chapter top to bottom with papermill; return its wall time in seconds.

    The executed copy reaches out_dir only on success; a failed run stays in failed_dir,
    outside the site, so a traceback never reaches the book.
    """
    import papermill as pm

    out_dir = ensure_dir(out_dir or CHAPTERS)
    scratch = ensure_dir(failed_dir or FAILED) / chapter.source.name
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(chapter.source),
            str(scratch),
            parameters={"PROFILE": profile, "SOURCE": source},
            kernel_name=KERNEL,
            cwd=str(chapter.source.parent),
            progress_bar=sys.stderr.isatty(),
            log_output=False,
        )
    except pm.PapermillExecutionError as error:
        raise BookError(
            f"chapter {chapter.stem} failed in cell {error.cell_index} "
            f"(execution count {error.exec_count}, starting {first_line(error.source)!r}): "
            f"{error.ename}: {error.evalue}\n"
            f"  the executed copy with the full traceback is {scratch}"
        ) from None
    shutil.move(str(scratch), out_dir / chapter.source.name)
    return time.perf_counter() - start


def build_site(extra: list[str] | None = None) -> None:
    """Run `jupyter-book build . -W -n --keep-going`: any warning fails the build."""
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(ROOT),
        "-W",
        "-n",
        "--keep-going",
        *(extra or []),
    ]
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise BookError(f"jupyter-book build failed (exit {result.returncode}); see the log above")


def print_timings(timings: dict[str, float]) -> None:
    """Print the chapter → seconds table."""
    width = max([len(name) for name in timings] + [len("chapter")])
    print(f"\n{'chapter':<{width}}  seconds")
    for name, seconds in timings.items():
        print(f"{name:<{width}}  {seconds:7.1f}")
    print(f"{'total':<{width}}  {sum(timings.values()):7.1f}")


def machine_description() -> str:
    """A one-line description of this machine: CPU model, cores, Python version."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def save_timings(timings: dict[str, float], profile: str) -> Path:
    """Merge this run's chapter timings into artifacts/<profile>/timings.json."""
    path = ensure_dir(artifacts_dir(profile)) / "timings.json"
    record = json.loads(path.read_text()) if path.is_file() else {}
    chapters = record.get("chapters", {})
    chapters.update({name: round(seconds, 2) for name, seconds in timings.items()})
    record = {
        "profile": profile,
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_description(),
        "chapters": dict(sorted(chapters.items())),
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def write_timings_page(profile: str, dest: Path = GENERATED / "timings.md") -> Path:
    """Write the chapter-timings table the introduction includes, from the last measured run."""
    source = artifacts_dir(profile) / "timings.json"
    ensure_dir(dest.parent)
    if not source.is_file():
        dest.write_text(
            f"No chapter of the `{profile}` profile has been timed on this machine yet.\n"
        )
        return dest
    record = json.loads(source.read_text())
    rows = [f"| {name} | {seconds:.0f} |" for name, seconds in record["chapters"].items()]
    total = sum(record["chapters"].values())
    lines = [
        f"Measured by the last `{record['profile']}` build on {record['measured']}, "
        f"on {record['machine']}:",
        "",
        "| chapter | seconds |",
        "|---|---:|",
        *rows,
        f"| **total** | **{total:.0f}** |",
        "",
    ]
    dest.write_text("\n".join(lines))
    return dest


def select(chapters: list[Chapter], only: list[str] | None) -> list[Chapter]:
    """The chapters named by --only (by number, e.g. 05), or all of them."""
    if not only:
        return chapters
    wanted = {item.zfill(2) for item in only}
    unknown = wanted - {chapter.number for chapter in chapters}
    if unknown:
        raise BookError(f"no chapter numbered {', '.join(sorted(unknown))}")
    return [chapter for chapter in chapters if chapter.number in wanted]


def run(
    profile: str | None = None,
    only: list[str] | None = None,
    execute: bool = True,
    build: bool = True,
    source: str | None = None,
) -> dict[str, float]:
    """Execute the chosen chapters, then build the site; return chapter timings."""
    name = profile_name(profile)
    try:
        chosen = get_profile(name, source)
    except (OSError, ValueError) as error:
        raise BookError(f"bad source: {error}") from None
    os.environ["BOOK_PROFILE"] = name
    os.environ[SOURCE_ENV_VAR] = chosen.source
    label = name if chosen.generated else f"{name}, source {chosen.source}"
    chapters = discover_chapters()
    check_chapters(chapters)
    timings: dict[str, float] = {}
    if execute:
        chapters_run = select(chapters, only)
        for index, chapter in enumerate(chapters_run, start=1):
            print(
                f"[{index}/{len(chapters_run)}] executing {chapter.stem} (profile {label}) ...",
                flush=True,
            )
            timings[chapter.stem] = execute_chapter(chapter, name, source=chosen.source)
            print(
                f"[{index}/{len(chapters_run)}] {chapter.stem} done in "
                f"{timings[chapter.stem]:.1f} s"
            )
        save_timings(timings, chosen.folder_name)
        print_timings(timings)
    if build:
        missing = [c.stem for c in chapters if not c.executed.is_file()]
        if missing:
            raise BookError(
                f"cannot build the site: chapters never executed: {', '.join(missing)} "
                "(run without --only, or with --only for those)"
            )
        write_timings_page(chosen.folder_name)
        perf.write_performance_page(GENERATED / "performance.md")  # reads figures, measures nothing
        build_site()
        print(f"\nsite built: {(BUILD / 'html' / 'index.html').relative_to(ROOT)}")
    return timings


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m booktools.book", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--profile", choices=sorted(PROFILES), help="default: $BOOK_PROFILE or full"
    )
    parser.add_argument(
        "--source",
        metavar="PATH",
        help="synthetic (default: $BOOK_SOURCE or synthetic), a folder with one sub-folder or "
        "<class>.zip per class, or a FER-2013 CSV",
    )
    parser.add_argument("--only", nargs="+", metavar="NN", help="execute only these chapters")
    parser.add_argument(
        "--no-execute", action="store_true", help="rebuild the site from the last run"
    )
    parser.add_argument("--no-build", action="store_true", help="execute chapters, skip the site")
    args = parser.parse_args(argv)
    try:
        run(
            args.profile,
            args.only,
            execute=not args.no_execute,
            build=not args.no_build,
            source=args.source,
        )
    except BookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
