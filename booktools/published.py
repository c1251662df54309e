"""An executed chapter as the site shows it and offers it for download.

The site renders each chapter from this copy and offers the same file for download
(`_sources/book/chapters/NN_name.ipynb`), so a reader's notebook carries only what the chapter
says, not the building machine:

- **streams merged**: consecutive outputs of one stream (Keras prints one line per epoch,
  each a message of its own) become one output, so the page shows one box, not one per line;
  a carriage return overwrites its line, as a terminal shows it; terminal colour codes (rich's
  `model.summary()` puts them in its plain-text copy) are dropped;
- **no stderr**: warnings and progress bars of libraries (tqdm's `\\r` bars, TensorFlow Lite's
  XNNPACK line) go to the chapter's log, not the reader's notebook (the site never showed them);
- **no path of this machine**: the checkout's path becomes relative (`artifacts/full/...`), the
  home folder `~`, papermill's input and output paths the chapter's place in the repository;
- **the book's kernel**, `happy-or-sad`: see KERNELSPEC;
- **a clear first error outside the book's environment**: before the first `import helpers`,
  a cell (hidden on the page) stops with how to get the package, not a bare
  ModuleNotFoundError.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

# The kernel a downloaded chapter asks for. This checkout's kernel is named after its path
# (`happy-or-sad-1a2b3c4d`, booktools/kernel.py), which no reader's machine has; the generic
# `python3` is worse, because Jupyter then starts whichever Python it runs in, where `import
# helpers` fails or finds another copy of the book. A name no machine has makes Jupyter fall
# back on the language: where a single Python kernel exists (Colab, a plain install) it starts
# it; where there are several, as after `make install`, it asks the reader to choose, and the
# display name says which one.
KERNELSPEC = {
    "name": "happy-or-sad",
    "display_name": "Python (happy-or-sad)",
    "language": "python",
}
GUARD_TAG = "remove-cell"  # the guard is for Jupyter; the page does not show it
GUARD = """\
# This chapter needs the book's `helpers` package, installed by the book's `make install`.
import importlib.util

if importlib.util.find_spec("helpers") is None:
    raise ModuleNotFoundError(
        "This chapter of 'Happy or Sad?' needs the book's `helpers` package, which this kernel "
        "does not have. Get the book's repository, run `make install` in it (or `pip install -r "
        "requirements.txt`), and open the chapter with its kernel 'Python (happy-or-sad: <folder>)'."
    )"""
IMPORTS_HELPERS = re.compile(r"^\s*(import helpers\b|from helpers\b)", re.MULTILINE)
BINARY_PREFIXES = ("image/", "application/pdf")
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def resolve_carriage_returns(text: str) -> str:
    """What a terminal shows: a carriage return (not before a newline) overwrites its line."""
    text = re.sub(r"[^\n]\x08", "", text)  # a backspace erases the character before it
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(line.rsplit("\r", 1)[-1] for line in lines)


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def clean_outputs(outputs: list[dict]) -> list[dict]:
    """Outputs without stderr, streams merged, carriage returns resolved, colour codes dropped."""
    kept: list[dict] = []
    for output in outputs:
        if output.get("output_type") == "stream":
            if output.get("name") == "stderr":
                continue
            last = kept[-1] if kept else None
            if last and last.get("output_type") == "stream" and last["name"] == output["name"]:
                last["text"] = _text(last["text"]) + _text(output["text"])
                continue
            output = {**output, "text": _text(output["text"])}
        kept.append(output)
    for output in kept:
        if output.get("output_type") == "stream":
            output["text"] = ANSI_COLOUR.sub("", resolve_carriage_returns(output["text"]))
        elif "text/plain" in output.get("data", {}):
            output["data"]["text/plain"] = ANSI_COLOUR.sub("", _text(output["data"]["text/plain"]))
    return [output for output in kept if output.get("output_type") != "stream" or output["text"]]


def without_machine_paths(value: Any, root: Path, home: Path | None = None) -> Any:
    """Every string in value with the checkout's path made relative and the home folder '~'."""
    roots = sorted({str(root), str(Path(root).resolve())}, key=len, reverse=True)
    homes = [str(home)] if home and str(home) not in ("/", "") else []

    def fix(text: str) -> str:
        for prefix in roots:
            text = text.replace(prefix + "/", "").replace(prefix, ".")
        for prefix in homes:
            text = re.sub(r"(?<![\w.-])" + re.escape(prefix) + r"(?![\w.-])", "~", text)
        return text

    def walk(item: Any, key: str = "") -> Any:
        if key.startswith(BINARY_PREFIXES):
            return item
        if isinstance(item, str):
            return fix(item)
        if isinstance(item, list):
            return [walk(element) for element in item]
        if isinstance(item, dict):
            return {k: walk(v, k) for k, v in item.items()}
        return item

    return walk(value)


def guard_cell(with_id: bool = True) -> dict:
    """The code cell that stops with how to get the book's package, hidden on the page."""
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": [GUARD_TAG]},
        "outputs": [],
        "source": GUARD,
    }
    return {"id": "happy-or-sad-needs-helpers", **cell} if with_id else cell


def publish(notebook: dict, root: Path, home: Path | None = None) -> dict:
    """The reader's copy of an executed chapter (a notebook as JSON data; not changed in place)."""
    published = copy.deepcopy(notebook)
    cells = published.get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = clean_outputs(cell.get("outputs", []))
    first_import = next(
        (
            index
            for index, cell in enumerate(cells)
            if cell.get("cell_type") == "code" and IMPORTS_HELPERS.search(_text(cell["source"]))
        ),
        None,
    )
    if first_import is not None:
        with_id = (published.get("nbformat"), published.get("nbformat_minor", 0)) >= (4, 5)
        cells.insert(first_import, guard_cell(with_id))
    metadata = published.setdefault("metadata", {})
    metadata["kernelspec"] = dict(KERNELSPEC)
    papermill = metadata.get("papermill")
    if isinstance(papermill, dict):
        for key, folder in (("input_path", "notebooks"), ("output_path", "book/chapters")):
            if papermill.get(key):
                papermill[key] = f"{folder}/{Path(papermill[key]).name}"
    return without_machine_paths(published, root, home if home is not None else Path.home())
