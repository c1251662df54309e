"""Fixtures for the site checks: the built pages, a local web server, a headless Chromium."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from booktools import book, system
from helpers.profiles import get_profile

# the site under test: $BOOK_SITE, else the smoke run's site that `make test` builds
HTML = Path(os.environ.get("BOOK_SITE") or book.site_output(get_profile("smoke", "synthetic")))
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
)


def missing(message: str) -> None:
    """Fail where the site is required (make test, CI), skip elsewhere (a bare pytest run)."""
    if os.environ.get("BOOK_SITE_REQUIRED"):
        pytest.fail(message)
    pytest.skip(message)


def html_pages() -> list[Path]:
    """Every page of the built site (not the theme's static files)."""
    return sorted(p for p in HTML.rglob("*.html") if "_static" not in p.parts)


def executed_chapters() -> list[book.Chapter]:
    """The chapters the site shows executed (a run of some chapters, --only, shows the rest as a
    page saying how to run them; `make test`'s site, built with --no-execute, has them all)."""
    return [
        chapter
        for chapter in book.discover_chapters()
        if (HTML / "_sources" / f"{chapter.toc_entry}.ipynb").is_file()
    ]


@pytest.fixture(scope="session")
def pages() -> list[Path]:
    """The built pages; fail (in CI) or skip (elsewhere) when the site was never built."""
    if not (HTML / "index.html").is_file():
        missing(f"no built site in {HTML}: run `python -m booktools.book --profile smoke`")
    return html_pages()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging every request."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet."""


@pytest.fixture(scope="session")
def server(pages: list[Path]) -> Iterator[str]:
    """Serve _build/html on a free loopback port; yield its base URL."""
    handler = functools.partial(QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A headless Debian Chromium driven by chromedriver, with a fresh profile folder."""
    binary, driver_path = system.PROGRAMS["chromium"].find(), system.PROGRAMS["chromedriver"].find()
    if binary is None or driver_path is None:
        lacking = [
            system.PROGRAMS[n]
            for n in ("chromium", "chromedriver")
            if not system.PROGRAMS[n].find()
        ]
        missing(system.advice(lacking))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
