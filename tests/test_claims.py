"""Claims: glued values read back from an executed notebook, checks evaluated safely, one line each."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest

from booktools import book, claims, execute


def glue_output(name: str, text: str) -> dict:
    """A glue output as myst_nb writes it (display=False)."""
    return nbformat.v4.new_output(
        "display_data",
        data={f"{claims.RECORD_MIME}text/plain": text},
        metadata={"scrapbook": {"mime_prefix": claims.RECORD_MIME, "name": name}},
    )


def executed_notebook(
    values: dict[str, str], metadata: dict | None = None
) -> nbformat.NotebookNode:
    """An executed notebook whose one code cell glued these reprs."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata.update(metadata or {})
    cell = nbformat.v4.new_code_cell("glue_all(...)")
    cell.outputs = [glue_output(name, text) for name, text in values.items()]
    notebook.cells.append(cell)
    return notebook


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.5", 0.5),
        ("np.float64(0.5)", 0.5),
        ("np.float64(-1.25)", -1.25),
        ("-3", -3),
        ("np.int64(7)", 7),
        ("np.True_", True),
        ("True", True),
        ("'ensemble'", "ensemble"),
        ("(1, 2.5)", (1, 2.5)),
        ("{'accuracy': np.float64(0.9), 'runs': [1, 2]}", {"accuracy": 0.9, "runs": [1, 2]}),
        ("{'low': -0.01,\n 'high': 0.04}", {"low": -0.01, "high": 0.04}),  # pretty-printed
    ],
)
def test_glued_reprs_are_read_as_python_values(text: str, value: object) -> None:
    parsed = claims.parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_nan_and_unreadable_values() -> None:
    assert math.isnan(claims.parse_value("nan"))
    assert math.isnan(claims.parse_value("np.float64(nan)"))
    for text in ("<IPython.core.display.Markdown object>", "os.system('x')", "np.load('f')()"):
        assert isinstance(claims.parse_value(text), claims.Unreadable), text


def test_glued_values_are_read_from_the_executed_notebook_last_one_wins() -> None:
    notebook = executed_notebook({"a": "np.float64(0.5)", "b": "3"})
    notebook.cells[0].outputs.append(glue_output("a", "0.75"))
    notebook.cells[0].outputs.append(nbformat.v4.new_output("stream", name="stdout", text="x\n"))
    assert claims.glued_values(notebook) == {"a": 0.75, "b": 3}


def claim(check: str, says: str = "a is below b", smoke: bool = False) -> claims.Claim:
    return claims.Claim(says, check, smoke)


def test_a_claim_holds_or_is_one_line_naming_chapter_claim_check_and_values() -> None:
    values = {"a": 0.512345678, "b": 0.4, "runs": {"seeds": 5}}
    assert claims.check("05_training", [claim("a > b")], values, "full") == []
    assert claims.check("05_training", [claim("a < b")], values, "full") == [
        '05_training: claim "a is below b" does not hold: a < b with a=0.512346, b=0.4'
    ]
    assert claims.check("05_training", [claim("runs['seeds'] >= 5")], values, "full") == []
    nested = claim("all(x > 0 for x in (a, b)) and max(a, b) == a and abs(a - b) > 0.1")
    assert claims.check("05_training", [nested], values, "full") == []


def test_the_smoke_profile_checks_only_smoke_claims() -> None:
    false_everywhere = [claim("a < 0", "full only"), claim("a < 0", "smoke too", smoke=True)]
    lines = claims.check("05_training", false_everywhere, {"a": 1.0}, "smoke")
    assert len(lines) == 1 and '"smoke too"' in lines[0]
    assert len(claims.check("05_training", false_everywhere, {"a": 1.0}, "full")) == 2


def test_a_claim_naming_an_unglued_or_unreadable_value_is_an_error() -> None:
    values = {"a": 1.0, "picture": claims.Unreadable("<Figure size 640x480 with 1 Axes>")}
    (line,) = claims.check("06_evaluation", [claim("a < missing")], values, "full")
    assert line == (
        '06_evaluation: claim "a is below b" cannot be checked: '
        "names value(s) the chapter never glued: missing"
    )
    (line,) = claims.check("06_evaluation", [claim("picture > 0")], values, "full")
    assert "not numbers or literals: picture" in line
    (line,) = claims.check("06_evaluation", [claim("a['x'] > 0")], values, "full")
    assert "cannot be checked: a['x'] > 0: TypeError" in line


@pytest.mark.parametrize(
    "check",
    [
        "a.__class__",
        "__import__('os')",
        "open('/etc/passwd')",
        "(lambda: 1)()",
        "a if (b := 2) else 0",
        "[x for x in ().__class__.__mro__]",
        "_private > 0",
        "a >",
    ],
)
def test_checks_outside_the_safe_subset_are_refused(check: str) -> None:
    with pytest.raises(claims.ClaimError):
        claims.parse_check(check)


def test_front_matter_claims_are_validated() -> None:
    good = {"happy_or_sad": {"claims": [{"says": "s", "check": "a < b", "smoke": True}]}}
    assert claims.claims_of(good) == [claims.Claim("s", "a < b", True)]
    assert claims.claims_of({}) == []
    for bad, message in (
        ({"claims": {"says": "s"}}, "must be a list"),
        ({"claims": [{"says": "s"}]}, "needs 'says' and 'check'"),
        ({"claims": [{"says": "s", "check": "a", "smok": True}]}, "unknown key"),
        ({"claims": [{"says": "s", "check": "a", "smoke": "yes"}]}, "true or false"),
        ({"claims": [{"says": "s", "check": "import os"}]}, "not a Python expression"),
    ):
        with pytest.raises(claims.ClaimError, match=message):
            claims.claims_of({"happy_or_sad": bad})


def test_the_runner_refuses_a_malformed_claim_before_running(tmp_path: Path) -> None:
    path = tmp_path / "01_a.ipynb"
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["happy_or_sad"] = {"claims": [{"says": "s", "check": "a.real > 0"}]}
    cell = nbformat.v4.new_code_cell("PROFILE = None")
    cell.metadata["tags"] = ["parameters"]
    notebook.cells.append(cell)
    nbformat.write(notebook, path)
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: intro\nchapters:\n  - file: book/chapters/01_a\n")
    with pytest.raises(book.BookError, match="01_a.ipynb: metadata happy_or_sad.claims: check"):
        book.check_chapters(book.discover_chapters(tmp_path), toc)


def test_on_other_data_cells_are_replaced_by_their_sentence(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    reading = nbformat.v4.new_markdown_cell("Augmentation lowers the loss to {glue:text}`aug:.3f`.")
    reading.metadata[claims.OTHER_DATA_KEY] = "On your data, compare the two curves above."
    notebook.cells += [nbformat.v4.new_markdown_cell("# Title"), reading]
    notebook.cells.append(nbformat.v4.new_code_cell("PROFILE = None"))
    path = tmp_path / "05_a.ipynb"
    nbformat.write(notebook, path)
    other = execute.for_other_source(path, "folder")
    assert [c.source for c in other.cells[:2]] == [
        "# Title",
        "On your data, compare the two curves above.",
    ]
    reading.metadata[claims.OTHER_DATA_KEY] = ""
    with pytest.raises(claims.ClaimError):
        claims.replace_for_other_data(notebook)


def test_glue_all_glues_plain_python_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    import myst_nb

    import helpers

    glued = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.append((name, value)))
    values = {"loss": np.float64(0.25), "n": np.int64(3), "rows": {"a": np.float32(0.5)}}
    helpers.glue_all(values)
    assert glued == [("loss", 0.25), ("n", 3), ("rows", {"a": 0.5})]
    assert [type(v) for _, v in glued[:2]] == [float, int]
    assert repr(glued[2][1]) == "{'a': 0.5}"
    with pytest.raises(ValueError, match="identifiers"):
        helpers.glue_all({"not a name": 1})
