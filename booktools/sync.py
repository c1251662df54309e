"""Write each chapter's MyST Markdown (notebooks/NN_name.md, the file to edit) into its .ipynb.

    python -m booktools.sync [NOTEBOOK.md ...]     # default: every chapter

jupytext rewrites the notebook's cells from the Markdown and keeps the cell ids and outputs of
the existing .ipynb; it also keeps the .ipynb's notebook metadata where both have a key, so the
keys the Markdown's front matter sets (such as `happy_or_sad`, which the runner reads) are then
copied over, and the Markdown is the one source of both.
"""

from __future__ import annotations

import sys
from pathlib import Path

from helpers.paths import NOTEBOOKS


def sync(markdown: Path) -> bool:
    """Update markdown's paired .ipynb; True when the notebook changed."""
    import jupytext
    import nbformat

    target = markdown.with_suffix(".ipynb")
    text = jupytext.read(markdown)
    before = target.read_text(encoding="utf-8") if target.is_file() else ""
    if target.is_file():
        notebook = jupytext.read(target)
        merged = jupytext.combine.combine_inputs_with_outputs(text, notebook, fmt="md:myst")
    else:
        merged = text
    for key, value in text.metadata.items():
        if key != "jupytext" or "formats" in value:
            merged.metadata[key] = value
    jupytext.write(merged, target, fmt="ipynb")
    after = target.read_text(encoding="utf-8")
    if after != before:
        nbformat.validate(nbformat.reads(after, as_version=4))
    return after != before


def main(argv: list[str] | None = None) -> int:
    """Sync the named Markdown files, or every chapter's."""
    names = sys.argv[1:] if argv is None else argv
    files = [Path(name) for name in names] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.md"))
    for markdown in files:
        if sync(markdown):
            print(f"updated {markdown.with_suffix('.ipynb').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
