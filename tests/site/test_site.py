"""Checks on the built site (run after a build: `make test` builds the smoke site first)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

from conftest import HTML, executed_chapters

from booktools import book, execute, site

ERROR_MARKERS = ("Traceback (most recent call last)", "output error", 'class="ansi-red-fg">---')


class LinkParser(HTMLParser):
    """Collects <a href>, <img src> and the <title> of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag == "img" and values.get("src"):
            self.images.append(values["src"] or "")
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def parse(page: Path) -> LinkParser:
    """Parse one page."""
    parser = LinkParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def local_target(page: Path, url: str) -> Path | None:
    """The file an internal link or image points to, or None for external/anchor-only links."""
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc or not parsed.path:
        return None
    return (page.parent / unquote(parsed.path)).resolve()


def test_every_chapter_has_a_page(pages: list[Path]) -> None:
    built = {p.relative_to(HTML).with_suffix("").as_posix() for p in pages}
    for chapter in book.discover_chapters():
        assert chapter.toc_entry in built, f"{chapter.stem} has no page in the site"


def test_every_page_has_a_title_and_no_traceback(pages: list[Path]) -> None:
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if 'http-equiv="Refresh"' in text and page.name == "index.html":
            continue  # the root index.html only redirects to the introduction
        assert parse(page).title.strip(), f"{page.relative_to(HTML)} has no <title>"
        for marker in ERROR_MARKERS:
            assert marker not in text, f"{page.relative_to(HTML)} shows an error ({marker!r})"


def test_every_internal_link_and_image_resolves(pages: list[Path]) -> None:
    broken = []
    for page in pages:
        parsed = parse(page)
        for url in parsed.links + parsed.images:
            target = local_target(page, url)
            if target is not None and not target.exists():
                broken.append(f"{page.relative_to(HTML)} -> {url}")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_chapter_pages_show_figures(pages: list[Path]) -> None:
    for chapter in executed_chapters():
        page = HTML / f"{chapter.toc_entry}.html"
        images = parse(page).images
        assert images, f"{chapter.stem} renders no figure at all"


def site_notebook(chapter: book.Chapter) -> dict:
    """The executed copy of a chapter that the site offers for download."""
    path = HTML / "_sources" / f"{chapter.toc_entry}.ipynb"
    assert path.is_file(), f"the site offers no notebook of {chapter.stem} ({path})"
    return json.loads(path.read_text(encoding="utf-8"))


def test_executed_chapters_carry_outputs_all_from_one_run() -> None:
    """The site shows papermill's executed copies of one run, not the stripped sources."""
    runs = set()
    assert executed_chapters(), "the site shows no executed chapter"
    for chapter in executed_chapters():
        notebook = site_notebook(chapter)
        outputs = [o for cell in notebook["cells"] for o in cell.get("outputs", [])]
        assert any(
            o["output_type"] in ("stream", "display_data", "execute_result") for o in outputs
        ), f"{chapter.stem}: the site's copy has no outputs"
        run = notebook["metadata"][execute.RUN_KEY]
        runs.add((run["profile"], run["source"], run["run"]))
    assert len(runs) == 1, f"the site mixes runs: {sorted(runs)}"


def test_parameter_cells_are_hidden_on_the_page_and_kept_in_the_download() -> None:
    for chapter in executed_chapters():
        page = (HTML / f"{chapter.toc_entry}.html").read_text(encoding="utf-8")
        assert "PROFILE = None" not in page and "Parameters: None means" not in page, chapter.stem
        notebook = site_notebook(chapter)
        tags = [tag for cell in notebook["cells"] for tag in cell["metadata"].get("tags", [])]
        assert "parameters" in tags, chapter.stem
        if notebook["metadata"][execute.RUN_KEY]["executed_by"] == "papermill":
            assert "injected-parameters" in tags, chapter.stem  # papermill's own cell, kept


def test_no_chapter_page_shows_tensorflow_chatter() -> None:
    for chapter in executed_chapters():
        texts = [
            "".join(o.get("text", ""))
            for cell in site_notebook(chapter)["cells"]
            for o in cell.get("outputs", [])
        ]
        for marker in ("absl::InitializeLog", "cuInit", "cuda drivers", "without encryption"):
            assert not any(marker in text for text in texts), f"{chapter.stem}: {marker}"


def test_a_chapter_not_executed_in_the_run_says_how_to_run_it(pages: list[Path]) -> None:
    executed = {c.stem for c in executed_chapters()}
    for chapter in book.discover_chapters():
        page = (HTML / f"{chapter.toc_entry}.html").read_text(encoding="utf-8")
        if chapter.stem not in executed:
            assert site.NOT_EXECUTED in page and f"--only {chapter.number}" in page, chapter.stem


SECTION_NUMBER = re.compile(r'<h1><span class="section-number">([\d.]+)\s*</span>')
TITLE_NUMBER = re.compile(r"<title>([\d.]+) ")


def test_the_site_numbers_each_chapter_as_its_file(pages: list[Path]) -> None:
    """One numbering: 10_scaling is chapter 10 on the site, in --only, the timings and the README."""
    for chapter in book.discover_chapters():
        page = (HTML / f"{chapter.toc_entry}.html").read_text(encoding="utf-8")
        for pattern in (SECTION_NUMBER, TITLE_NUMBER):  # the heading and the browser's tab
            found = pattern.search(page)
            number = found.group(1) if found else None
            assert number and number.rstrip(".") == str(int(chapter.number)), (
                f"{chapter.stem} is numbered {number!r} on the site"
            )
