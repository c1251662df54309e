"""The book runner: chapter discovery, the checks it refuses on, and a failing chapter."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from booktools import book


def write_notebook(path: Path, cells: list[str], tag_first: bool = True) -> Path:
    """Write a notebook whose first code cell is (optionally) tagged `parameters`."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for index, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        if index == 0 and tag_first:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def write_toc(path: Path, entries: list[str]) -> Path:
    """Write a minimal _toc.yml listing the given files."""
    lines = ["format: jb-book", "root: book/intro", "chapters:"]
    lines += [f"  - file: {entry}" for entry in entries]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_discover_chapters_orders_by_number_and_ignores_others(tmp_path: Path) -> None:
    for name in ["02_b.ipynb", "01_a.ipynb", "scratch.ipynb", "1_bad.ipynb"]:
        write_notebook(tmp_path / name, ["PROFILE = None"])
    found = book.discover_chapters(tmp_path)
    assert [c.stem for c in found] == ["01_a", "02_b"]
    assert found[0].toc_entry == "book/chapters/01_a"


def test_untagged_parameters_cell_is_refused(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"], tag_first=False)
    with pytest.raises(book.BookError, match="01_a.ipynb: the first code cell must be tagged"):
        book.check_parameters_cell(path)


def test_chapter_missing_from_toc_is_refused(tmp_path: Path) -> None:
    write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"])
    write_notebook(tmp_path / "02_b.ipynb", ["PROFILE = None"])
    toc = write_toc(tmp_path / "_toc.yml", ["book/chapters/01_a"])
    with pytest.raises(book.BookError, match="02_b.ipynb is not in _toc.yml"):
        book.check_chapters(book.discover_chapters(tmp_path), toc)


def test_no_chapters_is_refused(tmp_path: Path) -> None:
    with pytest.raises(book.BookError, match="no chapter notebooks"):
        book.check_chapters([], write_toc(tmp_path / "_toc.yml", []))


def test_unknown_only_is_refused(tmp_path: Path) -> None:
    write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"])
    with pytest.raises(book.BookError, match="no chapter numbered 07"):
        book.select(book.discover_chapters(tmp_path), ["7"])


def test_failing_cell_names_chapter_and_cell(tmp_path: Path) -> None:
    """A chapter that raises stops the run with one message naming the chapter and the cell."""
    source = write_notebook(
        tmp_path / "01_scratch.ipynb",
        ["PROFILE = None", "x = 1", "raise ValueError('deliberate failure')"],
    )
    chapter = book.Chapter("01", source)
    out, failed = tmp_path / "out", tmp_path / "failed"
    with pytest.raises(book.BookError) as caught:
        book.execute_chapter(chapter, "smoke", out_dir=out, failed_dir=failed)
    message = str(caught.value)
    assert "chapter 01_scratch failed in cell" in message
    assert "raise ValueError('deliberate failure')" in message
    assert "ValueError: deliberate failure" in message
    assert not (out / "01_scratch.ipynb").exists(), "a failed chapter must not reach the site"
    assert (failed / "01_scratch.ipynb").is_file(), "the failed copy is kept for reading"


def test_main_exits_non_zero_on_a_failing_chapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "01_ok.ipynb", ["PROFILE = None", "print('fine')"])
    write_notebook(notebooks / "02_bad.ipynb", ["PROFILE = None", "1 / 0"])
    toc = write_toc(tmp_path / "_toc.yml", ["book/chapters/01_ok", "book/chapters/02_bad"])
    monkeypatch.setattr(book, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(book, "CHAPTERS", tmp_path / "chapters")
    monkeypatch.setattr(book, "FAILED", tmp_path / "failed")
    monkeypatch.setattr(book, "TOC", toc)
    monkeypatch.setattr(book, "artifacts_dir", lambda profile: tmp_path / "artifacts" / profile)
    status = book.main(["--profile", "smoke", "--no-build"])
    err = capsys.readouterr().err
    assert status == 1
    assert "chapter 02_bad failed in cell" in err
    assert "ZeroDivisionError" in err
    assert (tmp_path / "chapters" / "01_ok.ipynb").is_file()
