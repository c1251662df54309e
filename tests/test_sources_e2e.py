"""The smoke book end to end on sources made here: drawn shapes in class folders, and a FER-format CSV.

Each run executes every chapter (a minute or two), so they run only with BOOK_E2E=1
(`make e2e`, part of `make test`). Each source is a run of its own (_build/runs/<run>/), so they
never touch the synthetic smoke book's chapters.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from shape_sources import make_shape_folder

from booktools import book
from helpers import fer, profiles
from helpers.paths import ROOT

pytestmark = pytest.mark.skipif(
    os.environ.get("BOOK_E2E") != "1", reason="end-to-end book runs: set BOOK_E2E=1 (make e2e)"
)
SKIP_LINE = "Skipped for this source"


def outputs(notebook: Path) -> str:
    """All text a notebook printed."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))


def run_book(source: Path) -> profiles.Profile:
    """Execute every chapter on the smoke profile with this source; fail with the runner's message."""
    chosen = profiles.get_profile("smoke", source)
    synthetic = profiles.get_profile("smoke", "synthetic")
    before = (
        sorted(p.name for p in synthetic.artifacts.glob("*"))
        if synthetic.artifacts.exists()
        else []
    )
    env = {k: v for k, v in os.environ.items() if k != profiles.SOURCE_ENV_VAR}
    command = [
        sys.executable,
        "-m",
        "booktools.book",
        "--profile",
        "smoke",
        "--source",
        str(source),
        "--no-build",
    ]
    executed = book.run_folder(chosen)
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert (chosen.artifacts / "model.keras").is_file()
        assert chosen.data != synthetic.data and chosen.artifacts != synthetic.artifacts
        after = (
            sorted(p.name for p in synthetic.artifacts.glob("*"))
            if synthetic.artifacts.exists()
            else []
        )
        assert after == before  # nothing of this source landed among the synthetic artifacts
        for chapter in ("01_acquisition", "02_eda", "06_evaluation", "07_filters", "09_appendix"):
            assert SKIP_LINE in outputs(executed / f"{chapter}.ipynb"), chapter
        for chapter in ("03_split", "04_cnn", "05_training", "08_sobel"):
            assert SKIP_LINE not in outputs(executed / f"{chapter}.ipynb"), chapter
        return chosen
    finally:
        shutil.rmtree(chosen.data, ignore_errors=True)
        shutil.rmtree(chosen.artifacts, ignore_errors=True)
        # the executed chapters stay in _build/runs/<run>/ for reading; each run has its own


def test_book_runs_on_a_folder_of_drawn_shapes(tmp_path: Path) -> None:
    source = make_shape_folder(tmp_path / "shapes", per_class=30)
    before = {p: p.read_bytes() for p in source.rglob("*") if p.is_file()}
    run_book(source)
    assert {p: p.read_bytes() for p in source.rglob("*") if p.is_file()} == before


def test_book_runs_on_a_fer_format_csv(tmp_path: Path) -> None:
    source = fer.write_fer_like_csv(tmp_path / "fer2013.csv", rows=600, seed=0, malformed_every=50)
    chosen = run_book(source)
    assert "malformed rows: 12" in outputs(book.run_folder(chosen) / "01_acquisition.ipynb")
