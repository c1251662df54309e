"""The site as a reader sees it: every page in a real (headless) browser, with screenshots."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from conftest import HTML
from PIL import Image

from booktools import book

SCREENSHOTS = HTML.parent / "screenshots"
TRACEBACK_SELECTORS = (".output.traceback", ".output.error", "div.cell_output .traceback")


def wait_for(driver: object, script: str, timeout: float = 20.0) -> object:
    """Run a script until it returns something truthy (or time runs out); return its last value."""
    deadline = time.monotonic() + timeout
    value = driver.execute_script(script)
    while not value and time.monotonic() < deadline:
        time.sleep(0.2)
        value = driver.execute_script(script)
    return value


def open_page(driver: object, server: str, page: Path) -> None:
    """Load a page and wait until it and its images have finished loading."""
    driver.get(f"{server}/{page.relative_to(HTML).as_posix()}")
    wait_for(driver, "return document.readyState === 'complete'")
    wait_for(driver, "return Array.from(document.images).every(i => i.complete)")


def test_every_page_loads_with_title_images_and_no_error(
    browser: object, server: str, pages: list[Path]
) -> None:
    problems = []
    for page in pages:
        name = page.relative_to(HTML).as_posix()
        open_page(browser, server, page)
        if not browser.title.strip():
            problems.append(f"{name}: no title")
        broken = browser.execute_script(
            "return Array.from(document.images)"
            ".filter(i => !(i.naturalWidth > 0)).map(i => i.getAttribute('src'))"
        )
        problems += [f"{name}: image did not load: {src}" for src in broken]
        for selector in TRACEBACK_SELECTORS:
            if browser.find_elements("css selector", selector):
                problems.append(f"{name}: shows an error output ({selector})")
        if "Traceback (most recent call last)" in browser.find_element("tag name", "body").text:
            problems.append(f"{name}: shows a traceback")
    assert not problems, "\n".join(problems)


def test_math_renders(browser: object, server: str, pages: list[Path]) -> None:
    with_math = [p for p in pages if 'class="math' in p.read_text(encoding="utf-8")]
    if not with_math:
        pytest.skip("no page of this build has a formula")
    for page in with_math:
        open_page(browser, server, page)
        rendered = wait_for(browser, "return document.querySelectorAll('mjx-container').length")
        name = page.relative_to(HTML).as_posix()
        assert rendered, f"{name}: MathJax rendered no formula"
        errors = browser.execute_script("return document.querySelectorAll('mjx-merror').length")
        assert not errors, f"{name}: {errors} formula(s) failed to render"


def test_search_finds_convolution(browser: object, server: str, pages: list[Path]) -> None:
    if not any("onvolution" in p.read_text(encoding="utf-8") for p in pages):
        pytest.skip("no page of this build mentions convolution yet")
    browser.get(f"{server}/search.html?q=convolution")
    found = wait_for(
        browser, "return document.querySelectorAll('#search-results ul.search li').length", 30
    )
    assert found, "the search page found nothing for 'convolution'"


def test_chapter_screenshots_are_not_blank(browser: object, server: str, pages: list[Path]) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    targets = [HTML / "book" / "intro.html"]
    targets += [HTML / f"{c.toc_entry}.html" for c in book.discover_chapters()]
    for page in targets:
        assert page.is_file(), f"{page.relative_to(HTML)} was not built"
        open_page(browser, server, page)
        shot = SCREENSHOTS / f"{page.stem}.png"
        assert browser.save_screenshot(str(shot)), f"no screenshot of {page.name}"
        pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
        assert pixels.std() > 5, f"{page.name} renders blank (screenshot {shot})"


def test_code_and_printed_output_are_in_view(
    browser: object, server: str, pages: list[Path]
) -> None:
    """No code cell or printed output hides the end of a line behind a horizontal scrollbar."""
    hidden = []
    for chapter in book.discover_chapters():
        page = HTML / f"{chapter.toc_entry}.html"
        open_page(browser, server, page)
        hidden += browser.execute_script(
            "return Array.from(document.querySelectorAll("
            "'div.cell_input pre, div.cell_output .output.stream pre'))"
            ".filter(p => p.scrollWidth > p.clientWidth + 1)"
            ".map(p => arguments[0] + ': ' + p.textContent.split('\\n')[0].slice(0, 60))",
            chapter.stem,
        )
    assert not hidden, "lines cut off at the page's edge:\n" + "\n".join(hidden)
