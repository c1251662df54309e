"""The reader's copy of an executed chapter: merged streams, no stderr, no machine paths, a guard."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

from booktools import published


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def test_consecutive_streams_merge_and_carriage_returns_overwrite_their_line() -> None:
    figure = {"output_type": "display_data", "data": {"image/png": "iVBOR"}, "metadata": {}}
    outputs = [
        stream("Epoch 1/20\n"),
        stream("7/7 - 4s - loss: 0.69\n"),
        stream("\r", "stderr"),
        stream("training:  50%|#####     | 1/2\r", "stderr"),
        stream("Epoch 2/20\n"),
        figure,
        stream("counting 10%\rcounting 100%\n"),
        stream(["done", "\n"]),
    ]
    assert published.clean_outputs(outputs) == [
        stream("Epoch 1/20\n7/7 - 4s - loss: 0.69\nEpoch 2/20\n"),
        figure,  # the order of text and figures is kept
        stream("counting 100%\ndone\n"),
    ]


def test_terminal_colour_codes_are_dropped_from_streams_and_plain_text() -> None:
    summary = {
        "output_type": "display_data",
        "data": {"text/html": "<pre><b>Model</b></pre>", "text/plain": ["\x1b[1mModel\x1b[0m\n"]},
        "metadata": {},
    }
    cleaned = published.clean_outputs([stream("\x1b[32mok\x1b[0m\n"), summary])
    assert cleaned[0]["text"] == "ok\n"
    assert cleaned[1]["data"] == {"text/html": "<pre><b>Model</b></pre>", "text/plain": "Model\n"}


def test_carriage_returns_and_backspaces_resolve_as_a_terminal_shows_them() -> None:
    assert published.resolve_carriage_returns("a\r\nb 1%\rb 99%\rb 100%\n") == "a\nb 100%\n"
    assert published.resolve_carriage_returns("abc\x08d\n") == "abd\n"
    assert published.clean_outputs([stream("\r"), stream("\r")]) == []  # nothing left to show


def test_machine_paths_become_relative_and_home_becomes_tilde(tmp_path: Path) -> None:
    root, home = Path("/work/wt/book"), Path("/home/reader")
    value = {
        "text": ["Writing /work/wt/book/artifacts/full/scaling/jax_worker.py\n"],
        "cwd": "/work/wt/book",
        "source": "/home/reader/faces",
        "other": "/home/readers/x and /home/reader",
        "image/png": "/work/wt/book/kept-in-binary",
    }
    assert published.without_machine_paths(value, root, home) == {
        "text": ["Writing artifacts/full/scaling/jax_worker.py\n"],
        "cwd": ".",
        "source": "~/faces",
        "other": "/home/readers/x and ~",
        "image/png": "/work/wt/book/kept-in-binary",
    }


def executed_chapter(root: Path) -> dict:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.metadata["papermill"] = {
        "input_path": f"{root}/notebooks/05_training.ipynb",
        "output_path": f"{root}/_build/runs/full/failed/05_training.ipynb",
    }
    parameters = nbformat.v4.new_code_cell("PROFILE = None")
    setup = nbformat.v4.new_code_cell("import helpers\nfrom helpers import pipeline")
    setup.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"{root}/data/full\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
    ]
    notebook.cells = [nbformat.v4.new_markdown_cell("# Title"), parameters, setup]
    return json.loads(nbformat.writes(notebook))  # as the site reads it


def test_the_published_copy_names_the_books_kernel_and_guards_the_first_import() -> None:
    root = Path("/work/wt/book")
    copy = published.publish(executed_chapter(root), root, Path("/home/reader"))
    assert copy["metadata"]["kernelspec"] == published.KERNELSPEC
    assert copy["metadata"]["papermill"] == {
        "input_path": "notebooks/05_training.ipynb",
        "output_path": "book/chapters/05_training.ipynb",
    }
    kinds = [cell["cell_type"] for cell in copy["cells"]]
    assert kinds == ["markdown", "code", "code", "code"]
    guard, setup = copy["cells"][2], copy["cells"][3]
    assert guard["metadata"]["tags"] == ["remove-cell"] and guard["source"] == published.GUARD
    assert setup["outputs"] == [stream("data/full\n")]
    nbformat.validate(nbformat.from_dict(copy))
    assert "/work/wt/book" not in str(copy)


def test_outside_the_books_environment_the_guard_says_how_to_get_the_package(
    tmp_path: Path,
) -> None:
    # -I -S: no site-packages (where the book's editable install lives), no PYTHONPATH
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", published.GUARD],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: This chapter of 'Happy or Sad?' needs the book's")
    assert "make install" in last
    inside = subprocess.run([sys.executable, "-c", published.GUARD], check=False)
    assert inside.returncode == 0, "in the book's environment the guard does nothing"
