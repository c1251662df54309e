"""The site of one run: its chapters staged beside the hand-written pages, then Jupyter Book.

Each run builds from a source tree of its own, _build/sites/<run>/src/: links to _config.yml,
_toc.yml, node_modules/ and the pages in book/, and the run's executed chapters in
book/chapters/. So two runs never share (or overwrite) an input, the build can check that every
chapter comes from the same run, and two sites can be built at the same time.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from booktools import execute, perf, published
from helpers.paths import BUILD, ROOT, shown
from helpers.profiles import Profile
from helpers.store import atomic_write_text

SITES = BUILD / "sites"
SHARED = ("_config.yml", "_toc.yml", "node_modules")  # linked into every source tree
PAGES = ROOT / "book"
UNSTAGED = {"chapters", "generated", "assets"}  # written per run, never linked from book/
RUN_STATIC = "run_static"  # the run's files the site serves (_config.yml's html_static_path)
# onnxruntime-web's files the classifier page needs: the WebAssembly build and its loader
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
ORT_DIST = ROOT / "node_modules" / "onnxruntime-web" / "dist"


class SiteError(RuntimeError):
    """The run's chapters cannot make a site; the message says why."""


def sites_folder(profile: Profile) -> Path:
    """_build/sites/<run>/: the run's staged source tree and (for most runs) its site."""
    return SITES / profile.folder_name


def check_run(
    chapters: list, folder: Path, identity: dict[str, str], partial: bool = False
) -> list[Path]:
    """The run's executed copy of every chapter; SiteError if one is from another run.

    A chapter never executed in the run is an error too, unless `partial` (a run of some
    chapters), which returns the copies there are.
    """
    missing = [c.stem for c in chapters if not (folder / c.source.name).is_file()]
    if missing and not partial:
        raise SiteError(
            f"cannot build the site of run {identity['run']!r}: chapter(s) never executed in it: "
            f"{', '.join(missing)} (run without --only, or with --only for those)"
        )
    executed = [folder / c.source.name for c in chapters if c.stem not in missing]
    for path in executed:
        recorded = json.loads(path.read_text(encoding="utf-8"))["metadata"].get(execute.RUN_KEY, {})
        if {k: recorded.get(k) for k in identity} != identity:
            raise SiteError(
                f"{shown(path)} was executed by run {recorded.get('run')!r}, not "
                f"{identity['run']!r}: a site never mixes runs (execute it again in this run)"
            )
    return executed


def _link(target: Path, link: Path) -> None:
    """A symbolic link to target (a copy where links are not allowed, as on some Windows)."""
    try:
        link.symlink_to(target, target_is_directory=target.is_dir())
    except OSError:
        if target.is_dir():
            shutil.copytree(target, link)
        else:
            shutil.copy2(target, link)


def stage(profile: Profile, executed: list[Path], absent: list | tuple = ()) -> Path:
    """Make the run's source tree afresh: shared files linked, its chapters' reader copies in.

    Each executed chapter is staged as `published.publish` makes it (the page and the
    download); each chapter in `absent` (never executed in a partial run) as a page that says so.
    """
    tree = sites_folder(profile) / "src"
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "book" / "chapters").mkdir(parents=True)
    for name in SHARED:
        if (ROOT / name).exists():
            _link(ROOT / name, tree / name)
    for page in PAGES.iterdir():
        if page.name not in UNSTAGED:
            _link(page, tree / "book" / page.name)
    for path in executed:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        text = json.dumps(published.publish(notebook, ROOT), indent=1, ensure_ascii=False)
        atomic_write_text(tree / "book" / "chapters" / path.name, text + "\n")
    for chapter in absent:
        atomic_write_text(
            tree / "book" / "chapters" / f"{chapter.stem}.md", placeholder(chapter, profile)
        )
    stage_static(profile, tree / RUN_STATIC)
    return tree


NOT_EXECUTED = "hos-not-executed"  # the class of a placeholder page's note (the site tests)


def placeholder(chapter: Any, profile: Profile) -> str:
    """The page of a chapter this run has not executed: its title, its labels, how to run it.

    The labels (and the heading under each) stay, so the other pages' references still resolve.
    """
    cells = json.loads(chapter.source.read_text(encoding="utf-8")).get("cells", [])
    markdown = ["".join(c["source"]) for c in cells if c.get("cell_type") == "markdown"]
    lines = "\n".join(markdown).splitlines()
    title = next((line for line in lines if line.startswith("# ")), f"# {chapter.stem}")
    head, sections = [title], []
    for index, line in enumerate(lines):
        heading = next((h for h in lines[index + 1 : index + 4] if h.startswith("#")), None)
        if LABEL.match(line) and heading:
            if heading == title:
                head = [line, title]
            else:
                sections += [line, "## " + heading.lstrip("#").strip(), ""]  # one level: no jumps
    command = f"python -m booktools.book --profile {profile.name} --only {chapter.number}"
    note = (
        f'<p class="{NOT_EXECUTED}">This chapter has not been executed in run '
        f"<code>{profile.folder_name}</code>: <code>{command}</code> runs it.</p>"
    )
    return "\n".join([*head, "", note, "", *sections]) + "\n"


LABEL = re.compile(r"^\([A-Za-z0-9_-]+\)=\s*$")


def stage_static(profile: Profile, folder: Path) -> None:
    """The site's own files: its style sheet, the classifier page's script, onnxruntime-web and
    the run's exported model.

    A run without an export (chapter 6 writes it) gets no model/ folder, and the page says so.
    """
    from helpers import export, pipeline

    (folder / "ort").mkdir(parents=True)
    for name in ("classifier.js", "book.css"):
        _link(PAGES / "assets" / name, folder / name)
    for name in ORT_FILES:
        _link(ORT_DIST / name, folder / "ort" / name)
    exported = pipeline.export_folder(profile)
    if (exported / export.CARD_FILE).is_file():
        (folder / "model").mkdir()
        for name in (export.ONNX_FILE, export.CARD_FILE):
            shutil.copy2(exported / name, folder / "model" / name)


def timings_markdown(record: dict | None, profile: Profile) -> str:
    """The chapter-timings table the introduction includes, from the run's timings.json."""
    if not record or not record.get("chapters"):
        return f"No chapter of the `{profile.name}` profile has been timed on this machine yet.\n"
    chapters = record["chapters"]
    rows = [
        f"| {name} | {entry['seconds']:.0f} | {entry['measured']} |"
        for name, entry in chapters.items()
    ]
    total = sum(entry["seconds"] for entry in chapters.values())
    last = record.get("last_run", {})
    jobs = last.get("jobs", 1)
    at_once = "one chapter at a time" if jobs == 1 else f"{jobs} chapters at a time"
    wall = (
        f" The last run took {last['wall_seconds']:.0f} s of wall time, {at_once}, so a chapter "
        "shared the processor with another and its own seconds are longer than alone."
        if jobs > 1 and "wall_seconds" in last
        else ""
    )
    return "\n".join(
        [
            f"Measured on {record['machine']}, `{record['profile']}` profile.{wall}",
            "",
            "| chapter | seconds | measured |",
            "|---|---:|---|",
            *rows,
            f"| **total** | **{total:.0f}** | |",
            "",
        ]
    )


def write_generated(folder: Path, profile: Profile, timings: Path) -> None:
    """The generated pages the hand-written ones include: timings and performance tables."""
    folder.mkdir(parents=True, exist_ok=True)
    record = perf.read_json(timings)
    atomic_write_text(folder / "timings.md", timings_markdown(record, profile))
    perf.write_performance_page(folder / "performance.md")  # reads saved figures, measures none


def build(tree: Path, output: Path) -> None:
    """`jupyter-book build -W -n --keep-going` of a staged tree into output (any warning fails)."""
    path_output = output.parent.parent  # jupyter-book writes <path-output>/_build/html
    launcher = (
        "import sys; from booktools import skip_slow_imports; skip_slow_imports(); "
        "from jupyter_book.cli.main import main; sys.exit(main())"
    )
    command = [
        sys.executable,
        "-c",
        launcher,
        "build",
        str(tree),
        "--path-output",
        str(path_output),
        "--all",  # a full build: an incremental one stays silent about pages it does not rewrite
        "-W",
        "-n",
        "--keep-going",
        "--quiet",
    ]
    result = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    log = path_output / "_build" / "site-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        warnings = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if "WARNING" in line or "ERROR" in line
        ]
        last = "\n".join(f"    {line}" for line in warnings[-15:])
        raise SiteError(
            f"jupyter-book build failed (exit {result.returncode}); full log {shown(log)}\n{last}"
        )
