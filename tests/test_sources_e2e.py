"""The smoke book end to end on sources a reader might bring, each with its site and classify.

- a folder of two classes with other names, as small as the README allows (one class holds
  exactly the minimum, MIN_PER_CLASS files, the other a few more: unequal counts), and a path
  with a space and non-ASCII characters, through every chapter; the same images as a folder of <class>.zip (chapter 1 only: the rest
  of the pipeline starts from the same raw folder, which chapter 1's manifest proves);
- a FER-2013-format CSV, through the chapters that treat it differently from a folder: the
  importer (chapter 1), FER's official split beside the book's (3), the model card and
  `classify` (5), and the transfer chapter's pretrained network used with no training on our
  data, there only for FER's emotion names (11); the other chapters see a clean class folder
  like any other, which the folder run takes through every chapter.

Each run takes a minute or more, so they run only with BOOK_E2E=1
(`make e2e`, part of `make test`). Each source is a run of its own (_build/runs/<run>/), so they
never touch the synthetic smoke book's chapters.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shape_sources import draw_shape, make_shape_folder

from booktools import book
from helpers import classify, clean, fer, pipeline, profiles
from helpers.answer_key import TAG
from helpers.paths import ROOT

pytestmark = pytest.mark.skipif(
    os.environ.get("BOOK_E2E") != "1", reason="end-to-end book runs: set BOOK_E2E=1 (make e2e)"
)
CLASSES = ("circles", "squares")
COUNTS = (profiles.MIN_PER_CLASS, profiles.MIN_PER_CLASS + 4)  # the smallest folder accepted
FOLDER_NAME = "Mes photos été"  # a space and non-ASCII letters, as a reader's folder may have


def chapters_with_answer_key() -> set[str]:
    """The chapters that have an answer-key section (stripped for every other source)."""
    found = set()
    for chapter in book.discover_chapters():
        cells = json.loads(chapter.source.read_text(encoding="utf-8"))["cells"]
        if any(TAG in cell.get("metadata", {}).get("tags", []) for cell in cells):
            found.add(chapter.stem)
    return found


def environment() -> dict[str, str]:
    """This process's environment without a book source, so only --source decides."""
    return {k: v for k, v in os.environ.items() if k != profiles.SOURCE_ENV_VAR}


def python_m(*arguments: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """`python -m ARGUMENTS` from the repository root, without a book source in the environment."""
    return subprocess.run(
        [sys.executable, "-m", *arguments],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_book(source: Path, *options: str) -> subprocess.CompletedProcess:
    """python -m booktools.book --profile smoke --source SOURCE [options], checked for exit 0."""
    done = python_m("booktools.book", "--profile", "smoke", "--source", str(source), *options)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


@contextlib.contextmanager
def book_on(
    source: Path, *options: str, several_classes: bool = False
) -> Iterator[profiles.Profile]:
    """Run the book on a source; yield its profile; remove its data and artifacts afterwards."""
    chosen = profiles.get_profile("smoke", source, several_classes=several_classes)
    synthetic = profiles.get_profile("smoke", "synthetic")
    try:
        run_book(source, *options)
        assert chosen.data != synthetic.data and chosen.artifacts != synthetic.artifacts
        # the synthetic smoke book may be running beside this one (make test), so its folders are
        # not compared before and after: no chapter of this run may have named them instead
        folders = (
            re.escape(p.relative_to(ROOT).as_posix()) for p in (synthetic.data, synthetic.artifacts)
        )
        theirs = re.compile(rf"\b(?:{'|'.join(folders)})/")  # data/smoke/, not data/smoke-<source>/
        for executed in sorted(book.run_folder(chosen).glob("*.ipynb")):
            named = theirs.findall(executed.read_text(encoding="utf-8"))
            assert not named, f"{executed.name} names the synthetic run's {sorted(set(named))}"
        yield chosen
    finally:
        shutil.rmtree(chosen.data, ignore_errors=True)
        shutil.rmtree(chosen.artifacts, ignore_errors=True)
        # the executed chapters stay in _build/runs/<run>/ for reading; each run has its own


FER_CHAPTERS = ("01", "03", "05", "11")


def check_whole_run(
    chosen: profiles.Profile, class_names: tuple[str, ...], only: tuple[str, ...] = ()
) -> None:
    """The chapters ran; answer-key sections became one note; the model (and site) are there."""
    executed = book.run_folder(chosen)
    with_key = chapters_with_answer_key()
    assert with_key, "some chapters have an answer-key section"
    for chapter in book.select(book.discover_chapters(), list(only)):
        notebook = json.loads((executed / f"{chapter.stem}.ipynb").read_text(encoding="utf-8"))
        text = "".join("".join(cell["source"]) for cell in notebook["cells"])
        assert ("left out of this run" in text) == (chapter.stem in with_key), chapter.stem
        assert not any(TAG in c["metadata"].get("tags", []) for c in notebook["cells"])
        for name in ("happy", "sad") if "happy" not in class_names else ():
            assert f"labelled {name}" not in printed_by(executed / f"{chapter.stem}.ipynb"), name
    card = classify.read_card(pipeline.model_path(chosen))
    assert card.class_names == class_names and card.source == chosen.source
    if not only:
        assert (book.site_output(chosen) / "index.html").is_file()


def printed_by(executed: Path) -> str:
    """Everything an executed notebook's cells printed."""
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    return "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))


def classify_new(source: Path, files: list[Path]) -> subprocess.CompletedProcess:
    """python -m helpers classify --profile smoke --source SOURCE FILES, in a fresh process."""
    arguments = ["--profile", "smoke", "--source", str(source), *map(str, files)]
    return python_m("helpers", "classify", *arguments, timeout=600)


def zip_classes(folder: Path, target: Path) -> Path:
    """target/<class>.zip holding each class folder's files (the zips a download tool saves)."""
    target.mkdir(parents=True)
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        with zipfile.ZipFile(target / f"{class_dir.name}.zip", "w") as archive:
            for file in sorted(class_dir.iterdir()):
                archive.write(file, arcname=file.name)
    return target


def test_folder_with_other_class_names_unequal_counts_and_an_awkward_path(tmp_path: Path) -> None:
    source = make_shape_folder(tmp_path / FOLDER_NAME, classes=CLASSES, counts=COUNTS)
    before = {p: p.read_bytes() for p in source.rglob("*") if p.is_file()}
    new_files = []
    for shape, name in (("ellipse", "new circle.png"), ("rectangle", "new square.png")):
        new_files.append(tmp_path / name)
        draw_shape(shape, np.random.default_rng(99)).save(new_files[-1])
    with book_on(source) as chosen:
        check_whole_run(chosen, CLASSES)
        transfer = printed_by(book.run_folder(chosen) / "11_transfer.ipynb")
        assert "pretrained, no training: skipped" in transfer
        multiclass = printed_by(book.run_folder(chosen) / "13_multiclass.ipynb")
        assert (
            f"2 classes {list(CLASSES)}" in multiclass
        )  # the reader's classes, not the generator's
        done = classify_new(source, new_files)
        assert done.returncode == 0, done.stderr
        names = [line.split("\t")[1] for line in done.stdout.strip().splitlines()]
        assert len(names) == 2 and set(names) <= set(CLASSES)
        assert f"P({CLASSES[1]})=" in done.stdout and "classes circles and squares" in done.stderr

        # the same images as <class>.zip files: chapter 1 decides exactly as for the folder
        zips = zip_classes(source, tmp_path / "as zips")
        with book_on(zips, "--only", "01", "--no-build") as zipped:
            ours = clean.read_manifest(pipeline.clean_folder(zipped))
            theirs = clean.read_manifest(pipeline.clean_folder(chosen))
            columns = ["source", "status", "reason", "output"]
            pd.testing.assert_frame_equal(
                ours[columns].sort_values("source").reset_index(drop=True),
                theirs[columns].sort_values("source").reset_index(drop=True),
            )
    assert {p: p.read_bytes() for p in source.rglob("*") if p.is_file()} == before  # only read


def test_a_folder_of_three_classes_runs_the_multiclass_chapter(tmp_path: Path) -> None:
    source = make_shape_folder(tmp_path / "three shapes", classes=CLASSES, counts=(30, 34))
    rng = np.random.default_rng(5)
    (source / "wedges").mkdir()
    for index in range(32):
        draw_shape("triangle", rng).save(source / "wedges" / f"wedge {index}.png")
    with book_on(source, "--only", "13", "--no-build", several_classes=True) as chosen:
        printed = printed_by(book.run_folder(chosen) / "13_multiclass.ipynb")
        assert f"3 classes {[*CLASSES, 'wedges']}" in printed
        assert "last layer (None, 3)" in printed
        assert (chosen.artifacts / "multiclass" / "model.keras").is_file()
    refused = python_m("booktools.book", "--profile", "smoke", "--source", str(source),
                       "--only", "12", "13", "--no-build")  # fmt: skip
    assert (
        refused.returncode != 0 and "only chapter 13 reads more than two classes" in refused.stderr
    )


def test_fer_format_csv(tmp_path: Path) -> None:
    source = fer.write_fer_like_csv(tmp_path / "fer2013.csv", rows=600, seed=0, malformed_every=50)
    with book_on(source, "--only", *FER_CHAPTERS, "--no-build") as chosen:
        check_whole_run(chosen, ("happy", "sad"), FER_CHAPTERS)
        transfer = printed_by(book.run_folder(chosen) / "11_transfer.ipynb")
        assert "pretrained, no training: FER's outputs ['happy', 'sad']" in transfer
        assert "malformed rows: 12" in printed_by(book.run_folder(chosen) / "01_acquisition.ipynb")
        clean_dir = pipeline.clean_folder(chosen)
        some = sorted(clean_dir.glob("*/*.png"))[:3]
        done = classify_new(source, some)
        assert done.returncode == 0, done.stderr
        assert {line.split("\t")[1] for line in done.stdout.strip().splitlines()} <= {
            "happy",
            "sad",
        }
