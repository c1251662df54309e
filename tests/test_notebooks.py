"""The chapter sources follow the book's rules: stripped, parameterised, listed, portable."""

from __future__ import annotations

import json
import re

import pytest

from booktools import book
from booktools import chapters as chapter_files

CHAPTERS = book.discover_chapters()
FORBIDDEN = {
    r"^\s*[!%]\s*pip\b": "installs packages from a notebook",
    r"sys\.path\.(append|insert)": "edits sys.path",
    r"['\"](/work|/home|/root|/Users|[A-Z]:\\\\)": "uses an absolute path",
    r"^\s*(import imghdr|from imghdr)": "imports imghdr (removed in Python 3.13)",
}


def cells(chapter: book.Chapter) -> list[dict]:
    """The cells of a chapter source."""
    return json.loads(chapter.source.read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_committed_without_outputs(chapter: book.Chapter) -> None:
    for index, cell in enumerate(cells(chapter)):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"cell {index} has outputs: strip them"
            assert cell.get("execution_count") is None, f"cell {index} has an execution count"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_parameters_cell(chapter: book.Chapter) -> None:
    chapter_files.check_parameters_cell(chapter.source)
    first = next(c for c in cells(chapter) if c["cell_type"] == "code")
    assert "PROFILE = None" in "".join(first["source"])


def test_every_chapter_is_listed_and_waits_only_for_earlier_ones() -> None:
    book.check_chapters(CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_code_is_portable(chapter: book.Chapter) -> None:
    for index, cell in enumerate(cells(chapter)):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        for pattern, problem in FORBIDDEN.items():
            assert not re.search(pattern, source, flags=re.MULTILINE), (
                f"{chapter.stem} cell {index} {problem}"
            )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_starts_with_title_and_learning_goals(chapter: book.Chapter) -> None:
    first, second = cells(chapter)[:2]
    assert first["cell_type"] == "markdown", "a chapter opens with Markdown"
    assert "".join(first["source"]).startswith("# "), "a chapter opens with '# Title'"
    opening = "".join(first["source"]) + "".join(second["source"])
    assert "You will learn" in opening, "the opening says what the reader will learn"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_markdown_twin_in_sync(chapter: book.Chapter) -> None:
    import jupytext

    twin = chapter.source.with_suffix(".md")
    assert twin.is_file(), f"{twin.name} is missing: run `make sync` (jupytext pairs the two)"

    def shape(notebook) -> list[tuple[str, str, list[str]]]:
        return [
            (cell.cell_type, cell.source.strip(), sorted(cell.metadata.get("tags", [])))
            for cell in notebook.cells
        ]

    text, notebook = jupytext.read(twin), jupytext.read(chapter.source)
    assert shape(text) == shape(notebook), (
        f"{twin.name} and {chapter.source.name} differ: edit the .md, then `make sync`"
    )
    assert text.metadata.get(chapter_files.META_KEY) == notebook.metadata.get(
        chapter_files.META_KEY
    )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_answer_key_is_one_section_that_strips_to_one_note(chapter: book.Chapter) -> None:
    from booktools import execute
    from helpers.answer_key import TAG

    tagged = [
        i for i, c in enumerate(cells(chapter)) if TAG in c.get("metadata", {}).get("tags", [])
    ]
    if not tagged:
        return
    assert tagged == list(range(tagged[0], tagged[-1] + 1)), "answer-key cells must be contiguous"
    opening = "".join(cells(chapter)[tagged[0]]["source"])
    assert opening.lstrip().startswith("(") and "\n## " in opening, (
        "it opens with a label and heading"
    )
    stripped = execute.without_answer_key(chapter.source, "folder")
    assert len(stripped.cells) == len(cells(chapter)) - len(tagged) + 1
    note = stripped.cells[tagged[0]].source
    assert note.startswith(opening.split("\n\n")[0]) and "left out of this run" in note
    assert not any(TAG in c.metadata.get("tags", []) for c in stripped.cells)
    later = "".join(
        "".join(c.source) for c in stripped.cells[tagged[0] + 1 :] if c.cell_type == "code"
    )
    assert not re.search(r"(?<![\w.])key\.", later), "a cell after the section uses the answer key"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_claims_and_other_data_sentences_are_well_formed(chapter: book.Chapter) -> None:
    """Claims parse (the runner also refuses them before running); each `on_other_data`
    sentence is on a Markdown cell and replaces it on another source."""
    from booktools import claims, execute

    claims.read_claims(chapter.source)
    marked = [c for c in cells(chapter) if claims.OTHER_DATA_KEY in c.get("metadata", {})]
    assert all(c["cell_type"] == "markdown" for c in marked), "on_other_data is for Markdown"
    other = execute.for_other_source(chapter.source, "folder")
    sentences = {c["metadata"][claims.OTHER_DATA_KEY].strip() for c in marked}
    assert sentences <= {c.source for c in other.cells}
