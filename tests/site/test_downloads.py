"""The notebooks the site offers for download: what the chapter says, nothing of the building machine.

The download button of a chapter serves `_sources/book/chapters/NN_name.ipynb`, the copy the page
was rendered from (booktools/published.py makes it).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HTML, executed_chapters

from booktools import published
from helpers.paths import ROOT

WARNINGS = re.compile(r"\b\w*(Warning|Deprecat\w*):|warnings\.warn\(|XNNPACK|absl::")


def downloads() -> list[tuple[str, dict]]:
    """(chapter, notebook) for every executed chapter the site offers for download."""
    found = []
    for chapter in executed_chapters():
        path = HTML / "_sources" / f"{chapter.toc_entry}.ipynb"
        found.append((chapter.stem, json.loads(path.read_text(encoding="utf-8"))))
    if not found:
        pytest.skip("the site offers no executed chapter")
    return found


def output_texts(notebook: dict) -> list[str]:
    """Every text an output of the notebook carries (streams, plain text, HTML, errors)."""
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            for mime, value in (output.get("data") or {}).items():
                if not mime.startswith(published.BINARY_PREFIXES):
                    texts.append(value if isinstance(value, str) else json.dumps(value))
            texts.append("\n".join(output.get("traceback", [])))
    return texts


def test_downloads_carry_no_path_of_the_building_machine(pages: list[Path]) -> None:
    home = str(Path.home())
    for stem, notebook in downloads():
        text = json.dumps(notebook)
        for path in {str(ROOT), str(ROOT.resolve())}:
            assert path not in text, f"{stem}: the download names the checkout {path}"
        assert not re.search(re.escape(home) + r"/", text), f"{stem}: names the home folder"
        assert "/failed/" not in text, f"{stem}: names the runner's failed/ copy"


def test_downloads_carry_no_progress_bar_residue_and_no_warning(pages: list[Path]) -> None:
    for stem, notebook in downloads():
        for cell in notebook["cells"]:
            outputs = cell.get("outputs", [])
            streams = [o for o in outputs if o["output_type"] == "stream"]
            assert all(o["name"] != "stderr" for o in streams), f"{stem}: a stderr output"
            assert all("\r" not in "".join(o["text"]) for o in streams), f"{stem}: a \\r bar"
            kinds = [(o["output_type"], o.get("name")) for o in outputs]
            pairs = zip(kinds, kinds[1:], strict=False)
            assert all(a != b or a[0] != "stream" for a, b in pairs), (
                f"{stem}: consecutive stream outputs (one box per line on the page)"
            )
        for text in output_texts(notebook):
            found = WARNINGS.search(text)
            assert not found, f"{stem}: a library's warning in an output: {found.group(0)!r}"


def test_downloads_ask_for_the_books_kernel_and_guard_the_first_import(
    pages: list[Path], tmp_path: Path
) -> None:
    for stem, notebook in downloads():
        kernelspec = notebook["metadata"]["kernelspec"]
        assert kernelspec["name"] == published.KERNELSPEC["name"] != "python3", stem
        assert kernelspec["language"] == "python", stem
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        sources = ["".join(c["source"]) for c in code]
        first = next(i for i, s in enumerate(sources) if published.IMPORTS_HELPERS.search(s))
        assert first > 0 and sources[first - 1] == published.GUARD, (
            f"{stem}: the first `import helpers` is not guarded"
        )
    # run as a reader's Python without the book's package would: every cell before the import
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "\n".join(sources[1:first])],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and "needs the book's `helpers` package" in last, last
