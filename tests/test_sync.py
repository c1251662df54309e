"""make sync: the .md chapters into their .ipynb, and their `# @save` cells into helpers/taught.py."""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import pytest

from booktools import saved, sync

FRONT = """---
jupytext:
  formats: ipynb,md:myst
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
    jupytext_version: 1.19.6
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# {title}

"""


def code(source: str) -> str:
    """A MyST code cell."""
    return "```{code-cell}\n" + textwrap.dedent(source).strip("\n") + "\n```\n\n"


def chapter(root: Path, name: str, *cells: str) -> Path:
    """notebooks/<name>.md under root: a title and the given code cells."""
    path = root / "notebooks" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FRONT.format(title=name) + "".join(code(c) for c in cells), encoding="utf-8")
    return path


SETUP = """
import helpers

import numpy as np
import pandas as pd
from helpers import split, stats
from helpers.paths import shown
"""
ASSIGN = '''
# @save
from collections.abc import Sequence


def shares(counts: Sequence[int]) -> np.ndarray:
    """Each count's share of the total."""
    return np.asarray(counts) / np.sum(counts)


class Table:
    'A table of subsets.'

    def frame(self) -> pd.DataFrame:
        """The table."""
        return pd.DataFrame({"subset": split.SUBSETS})
'''
LATER = '''
# @save
def doubled(counts):
    """Twice each share."""
    return 2 * shares(counts)
'''


def generated(root: Path, *markdowns: Path) -> str:
    """helpers/taught.py's text for these chapters."""
    return saved.generate([saved.read_chapter(path, root=root) for path in markdowns])


def test_imports_the_saved_code_needs_are_hoisted_and_no_other(tmp_path: Path) -> None:
    first = chapter(tmp_path, "03_split", SETUP, ASSIGN, "print(shares([1, 3]))")
    later = chapter(tmp_path, "05_more", "from helpers.taught import shares", LATER)
    text = generated(tmp_path, first, later)
    head = text.split("# --- chapter 3")[0]
    for line in (
        "from __future__ import annotations",
        "from collections.abc import Sequence",  # the saved cell's own import, moved up
        "import numpy as np",  # the setup cell's, because the saved code uses np
        "import pandas as pd",
        "from helpers import split",  # only the name it uses, not stats
    ):
        assert line in head.splitlines(), line
    assert "stats" not in text and "shown" not in text and "import helpers\n" not in text
    assert "taught" not in text.replace("helpers/taught", "")  # never imports itself
    assert text.count("from collections.abc import Sequence") == 1
    assert "print(" not in text  # the other cells' code stays in the chapter
    assert text.index("# --- chapter 3: notebooks/03_split.md") < text.index("def shares")
    assert text.index("# --- chapter 5: notebooks/05_more.md") < text.index("def doubled")
    namespace: dict = {}
    exec(compile(text, "taught.py", "exec"), namespace)  # noqa: S102 - the module works
    assert list(namespace["doubled"]([1, 3])) == [0.5, 1.5]


def test_each_definition_names_its_chapter_in_its_docstring(tmp_path: Path) -> None:
    first = chapter(tmp_path, "03_split", SETUP, ASSIGN)
    later = chapter(tmp_path, "05_more", "from helpers.taught import shares", LATER)
    namespace: dict = {}
    exec(compile(generated(tmp_path, first, later), "taught.py", "exec"), namespace)  # noqa: S102
    note = "Defined in chapter {} (notebooks/{}.md); edit it there."
    doc = {name: inspect.getdoc(namespace[name]) for name in ("shares", "Table", "doubled")}
    assert doc["shares"] == "Each count's share of the total.\n\n" + note.format(3, "03_split")
    assert doc["Table"] == "A table of subsets.\n\n" + note.format(3, "03_split")  # was '...'
    assert inspect.getdoc(namespace["Table"].frame) == "The table."  # methods stay as they are
    assert doc["doubled"] == "Twice each share.\n\n" + note.format(5, "05_more")


def test_the_module_is_what_ruff_format_leaves_alone(tmp_path: Path) -> None:
    text = generated(tmp_path, chapter(tmp_path, "03_split", SETUP, ASSIGN))
    assert saved.ruff(["format", "--quiet", "-"], text) == text
    assert text.startswith('"""The algorithms the chapters teach')


def test_a_name_no_import_binds_is_reported(tmp_path: Path) -> None:
    cell = '''
    # @save
    def smooth(values):
        """A moving average."""
        return scipy.ndimage.uniform_filter1d(values, 3) + shares(values)
    '''
    path = chapter(tmp_path, "04_smooth", "import numpy as np", cell)
    with pytest.raises(saved.SaveError, match=r"04_smooth\.md: the @save code uses `scipy`") as e:
        generated(tmp_path, path)
    assert "`shares`" in str(e.value) and "`np`" not in str(e.value)


def test_saved_cells_only_define_and_define_once(tmp_path: Path) -> None:
    runs = '''
    # @save
    def build():
        """A model."""
        return 1


    model = build()
    '''
    with pytest.raises(saved.SaveError, match="line 7 runs code when helpers.taught is imported"):
        generated(tmp_path, chapter(tmp_path, "04_model", runs))
    once = '''
    # @save
    def build():
        """A model."""
        return 2
    '''
    first = chapter(tmp_path, "04_model", once)
    again = chapter(tmp_path, "05_again", once)
    with pytest.raises(saved.SaveError, match="`build` is defined by @save cells of both"):
        generated(tmp_path, first, again)
    missing = chapter(tmp_path, "06_uses", "from helpers.taught import build, nowhere")
    with pytest.raises(saved.SaveError, match="imports `nowhere` from helpers.taught"):
        generated(tmp_path, first, missing)


def test_check_finds_a_stale_module_or_notebook_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder, target = tmp_path / "notebooks", tmp_path / "helpers" / "taught.py"
    target.parent.mkdir()
    path = chapter(tmp_path, "03_split", SETUP, ASSIGN)

    def run(check: bool) -> int:
        return sync.run([], check, folder=folder, target=target, root=tmp_path)

    assert run(check=True) == 1
    assert capsys.readouterr().out.count("\n") == 1
    assert run(check=False) == 0 and target.is_file() and path.with_suffix(".ipynb").is_file()
    capsys.readouterr()
    assert run(check=True) == 0 and capsys.readouterr().out == ""
    path.write_text(path.read_text().replace("Each count's share", "The share"))
    assert run(check=True) == 1
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "taught.py" in line and "03_split.ipynb" in line
    assert "Each count's share" in target.read_text()  # --check wrote nothing


def test_the_repository_is_in_sync() -> None:
    assert sync.run([], check=True) == 0, "run `make sync`"
