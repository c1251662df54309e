"""The book's chapters: found in notebooks/, checked against _toc.yml, ordered by what they wait for.

A chapter is notebooks/NN_name.ipynb; its notebook metadata `happy_or_sad` says which chapters
(or which of their outputs) it waits for, a scheduling hint and its claims (booktools.claims).
booktools.book runs them; the tests check every chapter with the same functions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from booktools import claims
from helpers.paths import NOTEBOOKS, ROOT
from helpers.store import STAMP_FILE

CHAPTER_PATTERN = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.ipynb$")
TOC = ROOT / "_toc.yml"
META_KEY = "happy_or_sad"  # a chapter's own metadata: {"after": ["01", "05:baseline"], ...}
# "NN:<output>": start once chapter NN has published that output, without waiting for its end
# (the file whose writing publishes it: the baseline's model, the clean folder's stamp)
OUTPUTS = {
    "baseline": lambda profile: profile.baseline_model,
    "clean": lambda profile: profile.clean_folder / STAMP_FILE,
}


class BookError(RuntimeError):
    """A problem with the book's sources or a chapter's execution, told in one message."""


@dataclass(frozen=True)
class Chapter:
    """One chapter: its number, source notebook and the chapters it must wait for."""

    number: str
    source: Path
    after: tuple[str, ...] | None = None  # None: every earlier chapter; "05:baseline" an output
    expected_seconds: float = (
        0.0  # a scheduling hint (longest first) until this machine has timings
    )
    several_classes: bool = False  # reads a folder source of more than two classes (chapter 13)

    @property
    def waits_for(self) -> tuple[str, ...]:
        """The numbers of the chapters this one waits for (for an output or to finish)."""
        return tuple(item.split(":")[0] for item in self.after or ())

    @property
    def stem(self) -> str:
        """File name without extension, e.g. '01_acquisition'."""
        return self.source.stem

    @property
    def toc_entry(self) -> str:
        """The chapter's entry in _toc.yml."""
        return f"book/chapters/{self.stem}"


def chapter_metadata(path: Path) -> dict:
    """The chapter's own settings in its notebook metadata (empty when it has none)."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BookError(f"{path.name}: not a readable notebook ({error})") from None
    value = notebook.get("metadata", {}).get(META_KEY, {})
    return value if isinstance(value, dict) else {}


def discover_chapters(folder: Path | None = None) -> list[Chapter]:
    """Every notebooks/NN_name.ipynb, in chapter order, with the chapters each waits for."""
    chapters = []
    for path in sorted((folder or NOTEBOOKS).glob("*.ipynb")):
        match = CHAPTER_PATTERN.match(path.name)
        if match:
            meta = chapter_metadata(path)
            after = meta.get("after")
            waits = None if after is None else tuple(_dependency(item) for item in after)
            hint = float(meta.get("expected_seconds", 0) or 0)
            several = bool(meta.get("several_classes", False))
            chapters.append(Chapter(match.group(1), path, waits, hint, several))
    return chapters


def _dependency(item: object) -> str:
    """'5' -> '05', '05:baseline' stays: a chapter number, optionally with an output it publishes."""
    number, _, output = str(item).partition(":")
    return f"{number.zfill(2)}:{output}" if output else number.zfill(2)


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
    """Check every chapter before running any: parameters cell tagged, listed, waits known."""
    if not chapters:
        raise BookError(f"no chapter notebooks (NN_name.ipynb) in {NOTEBOOKS}")
    listed = toc_files(toc or TOC)
    numbers = {chapter.number for chapter in chapters}
    for chapter in chapters:
        check_parameters_cell(chapter.source)
        if chapter.toc_entry not in listed:
            raise BookError(
                f"{chapter.source.name} is not in _toc.yml: "
                f"add '- file: {chapter.toc_entry}' so the site shows it"
            )
        unknown = sorted(set(chapter.waits_for) - numbers)
        later = sorted(n for n in chapter.waits_for if n >= chapter.number)
        if unknown or later:
            raise BookError(
                f"{chapter.source.name}: metadata {META_KEY}.after names "
                f"{', '.join(unknown + later)}, which is not an earlier chapter"
            )
        try:
            claims.read_claims(chapter.source)
        except claims.ClaimError as error:
            raise BookError(f"{chapter.source.name}: metadata {META_KEY}.claims: {error}") from None
        outputs = [i.partition(":")[2] for i in chapter.after or () if ":" in i]
        if any(output not in OUTPUTS for output in outputs):
            raise BookError(
                f"{chapter.source.name}: metadata {META_KEY}.after names an output other than "
                f"{', '.join(OUTPUTS)}"
            )


def select(chapters: list[Chapter], only: list[str] | None) -> list[Chapter]:
    """The chapters named by --only (by number, e.g. 05), or all of them."""
    if not only:
        return chapters
    wanted = {item.zfill(2) for item in only}
    unknown = wanted - {chapter.number for chapter in chapters}
    if unknown:
        raise BookError(f"no chapter numbered {', '.join(sorted(unknown))}")
    return [chapter for chapter in chapters if chapter.number in wanted]
