"""The budget script: words, visible code lines, asserts, prose-returning functions, Markdown glues."""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from booktools import budget


def test_prose_words_count_a_glue_role_as_one_word_and_skip_markup() -> None:
    cell = textwrap.dedent(
        """\
        (ch05-curves)=
        ## Does it learn?

        The model reaches {glue:text}`best_val_acc:.1f`% on validation, it's fine.
        <!-- a note for authors, not prose -->
        ```{figure} ../figures/curves.png
        :name: fig-curves
        :width: 80%

        The curves of one run.
        ```
        """
    )
    # Does it learn / The model reaches [glued] on validation it's fine / The curves of one run
    assert budget.prose_words(cell) == 3 + 8 + 5


def cells_of(*specs: tuple[str, str, list[str]]) -> list[dict]:
    """Notebook cells (as JSON) from (type, source, tags) triples."""
    cells = []
    for kind, source, tags in specs:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(textwrap.dedent(source))
        cell.metadata["tags"] = tags
        cells.append(
            json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=[cell])))["cells"][0]
        )
    return cells


def test_visible_code_lines_asserts_and_markdown_glues_of_a_chapter() -> None:
    cells = cells_of(
        ("markdown", "# Title\n\nOne sentence here.", []),
        ("code", "PROFILE = None\nSOURCE = None", ["parameters"]),
        ("code", "PROFILE = 'smoke'", ["injected-parameters"]),
        ("code", "import helpers\n\nx = 1\nassert x == 1, 'one'\n", []),
        ("code", "glue('a', Markdown(f'{x} is fine'), display=False)\nassert x", ["remove-cell"]),
        ("code", "def solution():\n    return 2\n", ["hide-cell"]),
        ("code", "if key:\n    assert key.valence.notna().all()\n", ["answer-key"]),
        ("code", "%%writefile worker.py\nimport os\nassert os.sep\n", []),
        ("code", "%%bash\nassert this is not python\n", []),
        ("code", "!ls data\n%time y = 2\n", []),
    )
    measures, names = budget.measure(cells)
    assert measures.words == 1 + 3  # Title; One sentence here
    # 2 (the parameters cell shows; papermill's injected one does not) + 3 (import, x, assert)
    # + 2 (answer key) + 3 (writefile) + 2 (bash) + 2 (shell and magic)
    assert measures.code == 2 + 3 + 2 + 3 + 2 + 2
    assert measures.asserts == 4  # the hidden one counts; the bash cell's is not Python
    assert measures.markdown == 1 and measures.prose_fns == 0 and names == []


PROSE = {
    "constants": """
        def verdict(result):
            if result["low"] > 0:
                return "more than an even spread would give them"
            return "no different from an even spread"
    """,
    "f_string": """
        def compare(a, b):
            gap = a - b
            return f"{a:.1f} is {abs(gap):.1f} points better than {b:.1f}"
    """,
    "assigned_then_returned": """
        def reading(r):
            looks = "The model looks at the expression" if r > 2 else "It does not"
            where = f"; {r:.0%} of it falls outside"
            return looks + where + "."
    """,
    "augmented": """
        def summary(rows):
            text = ""
            for row in rows:
                text += f"{row} was drawn alike in both. "
            return text
    """,
    "joined_sentences": """
        def listing(parts):
            return " ".join([f"{p} is better on accuracy" for p in parts])
    """,
    "formatted": """
        def line(n):
            return "{} faces were kept after cleaning".format(n)
    """,
    "markdown_object": """
        def glued(n):
            return Markdown(f"the model is right on {n} faces")
    """,
    "tuple_with_a_sentence": """
        def both(x):
            return x, f"{x:.2f} is within the interval of the baseline"
    """,
}


@pytest.mark.parametrize("name", sorted(PROSE))
def test_functions_that_return_prose_are_found(name: str) -> None:
    tree = ast.parse(textwrap.dedent(PROSE[name]))
    assert len(budget.prose_functions([tree])) == 1, name


def test_a_function_returning_another_prose_functions_result_is_prose() -> None:
    tree = ast.parse(
        textwrap.dedent(
            """
            def difference(score):
                return f"{score} the same on every resample of the test set"

            def said(scores):
                return "; ".join(difference(s) for s in scores)

            def unrelated(scores):
                return [len(s) for s in scores]
            """
        )
    )
    assert budget.prose_functions([tree]) == ["difference", "said"]


NOT_PROSE = {
    "number_format": "def pct(x):\n    return f'{x:.1f}%'",
    "one_word": "def name(p):\n    return 'happy' if p >= 0.5 else 'sad'",
    "file_name": "def path(run):\n    return f'model_{run}.keras'",
    "path_join": "def path(folder):\n    return folder / 'baseline' / 'model.keras'",
    "separator_join": "def listed(names):\n    return ', '.join(names)",
    "and_between_numbers": "def pair(a, b):\n    return f'{a} and {b}'",
    "identifier": "def column(name):\n    return f'{name}_val_loss'",
    "dict_of_titles": "def labels():\n    return {'title': 'Training curves of the model'}",
    "nested_function_only": (
        "def outer():\n    def inner():\n        return 'a whole sentence here'\n    return inner"
    ),
    "printing": "def show(x):\n    print(f'the model is right on {x} faces')\n    return x",
}


@pytest.mark.parametrize("name", sorted(NOT_PROSE))
def test_functions_that_return_no_prose_are_not_counted(name: str) -> None:
    tree = ast.parse(NOT_PROSE[name])
    found = budget.prose_functions([tree])
    assert found in ([], ["inner"]), (name, found)  # a nested function is judged on its own
    if name != "nested_function_only":
        assert found == [], name


def write_chapter(folder: Path, name: str, words: int, asserts: int) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell(" ".join(["word"] * words)))
    notebook.cells.append(nbformat.v4.new_code_cell("x = 1\n" + "assert x\n" * asserts))
    nbformat.write(notebook, folder / f"{name}.ipynb")


def test_the_report_names_each_breach_and_strict_fails_on_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_chapter(tmp_path, "01_a", words=100, asserts=2)
    table, problems = budget.report(tmp_path)
    assert problems == [] and "01_a" in table
    monkeypatch.setattr(budget, "NOTEBOOKS", tmp_path)
    assert budget.main(["--strict"]) == 0
    assert "every budget is met" in capsys.readouterr().out
    write_chapter(tmp_path, "02_b", words=2_600, asserts=9)
    table, problems = budget.report(tmp_path)
    assert problems == ["02_b: words 2,600 > 2,500", "02_b: asserts 9 > 8"]
    assert budget.main([]) == 0, "without --strict the table is information"
    assert budget.main(["--strict"]) == 1
    out = capsys.readouterr().out
    assert "over budget (2):\n  02_b: words 2,600 > 2,500\n  02_b: asserts 9 > 8\n" in out
