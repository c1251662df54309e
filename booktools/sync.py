"""Write each chapter's MyST Markdown (notebooks/NN_name.md, the file to edit) into its .ipynb,
and the chapters' `# @save` cells into helpers/taught.py (booktools.saved).

    python -m booktools.sync [NOTEBOOK.md ...]     # default: every chapter
    python -m booktools.sync --check               # exit 1, in one line, if anything is stale

jupytext rewrites the notebook's cells from the Markdown and keeps the cell ids and outputs of
the existing .ipynb; it also keeps the .ipynb's notebook metadata where both have a key, so the
keys the Markdown's front matter sets (such as `happy_or_sad`, which the runner reads) are then
copied over, and the Markdown is the one source of both. helpers/taught.py is written from every
chapter's @save cells, whichever notebooks are named.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from booktools import saved
from helpers.paths import NOTEBOOKS, ROOT, shown


def chapters(folder: Path = NOTEBOOKS) -> list[Path]:
    """Every chapter's Markdown, in chapter order."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.md"))


def notebook_text(markdown: Path, text: Any) -> str:
    """What markdown's paired .ipynb should hold: text's cells, the .ipynb's ids and outputs."""
    import jupytext

    target = markdown.with_suffix(".ipynb")
    if target.is_file():
        notebook = jupytext.read(target)
        merged = jupytext.combine.combine_inputs_with_outputs(text, notebook, fmt="md:myst")
    else:
        merged = text
    for key, value in text.metadata.items():
        if key != "jupytext" or "formats" in value:
            merged.metadata[key] = value
    written = jupytext.writes(merged, fmt="ipynb")
    return written if written.endswith("\n") else written + "\n"


def sync(markdown: Path) -> bool:
    """Update markdown's paired .ipynb; True when the notebook changed."""
    import jupytext

    return write_if_changed(
        markdown.with_suffix(".ipynb"), notebook_text(markdown, jupytext.read(markdown))
    )


def write_if_changed(target: Path, text: str) -> bool:
    """Write text to target unless it already holds it (a notebook is validated first)."""
    before = target.read_text(encoding="utf-8") if target.is_file() else None
    if text == before:
        return False
    if target.suffix == ".ipynb":
        import nbformat

        nbformat.validate(nbformat.reads(text, as_version=4))
    target.write_text(text, encoding="utf-8")
    return True


def run(
    named: list[Path], check: bool, folder: Path = NOTEBOOKS, target: Path = saved.TARGET,
    root: Path = ROOT,
) -> int:  # fmt: skip
    """Sync (or with check, compare) the named notebooks and helpers/taught.py; the exit status."""
    import jupytext

    every = chapters(folder)
    texts = {path: jupytext.read(path) for path in [*every, *named]}
    try:
        module = saved.generate([saved.read_chapter(p, texts[p], root) for p in every])
    except saved.SaveError as error:
        for line in str(error).splitlines():
            print(f"error: {line}", file=sys.stderr)
        module = None
    outputs = {
        path.with_suffix(".ipynb"): notebook_text(path, texts[path]) for path in named or every
    }
    if module is not None:
        outputs[target] = module
    stale = []
    for path, text in outputs.items():
        if check:
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            if current != text:
                stale.append(shown(path))
        elif write_if_changed(path, text):
            print(f"updated {shown(path)}")
    if stale:
        print(f"stale: {', '.join(stale)}: edit the .md files, then run `make sync`")
    return 1 if stale or module is None else 0


def main(argv: list[str] | None = None) -> int:
    """Sync the named Markdown files, or every chapter's, and helpers/taught.py."""
    parser = argparse.ArgumentParser(
        prog="python -m booktools.sync", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("markdown", nargs="*", type=Path, help="chapters to sync (default: all)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run([path.resolve() for path in args.markdown], args.check)


if __name__ == "__main__":
    sys.exit(main())
