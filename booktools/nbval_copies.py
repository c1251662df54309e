"""A pytest plugin for nbval: keep what nbval executed as the run's executed chapters.

    BOOK_PROFILE=smoke pytest --nbval-lax -p booktools.nbval_copies notebooks

nbval runs every chapter top to bottom the way a reader's Jupyter does: no injected parameters,
the profile and source from the environment. This plugin writes each notebook whose cells all
passed, with the outputs nbval received, to _build/runs/<run>/ (tagged and stamped as the runner
does its copies), so the smoke site is built from exactly the execution the tests checked
(`python -m booktools.book --profile smoke --no-execute`) rather than from a second one.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

_CELLS: dict[
    Path, dict[int, tuple[Any, list]]
] = {}  # notebook -> code cell number -> (cell, outputs)
_FAILED: set[Path] = set()


def _is_nbval_cell(item: pytest.Item) -> bool:
    """Whether the item is one of nbval's notebook cells."""
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "test_outputs")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Remember each cell's outputs; a failed or skipped cell keeps its notebook out of the run."""
    outcome = yield
    if not _is_nbval_cell(item) or call.when != "call":
        return
    path = Path(str(item.parent.path))
    report = outcome.get_result()
    if not report.passed:
        _FAILED.add(path)
    _CELLS.setdefault(path, {})[item.cell_num] = (item.cell, list(item.test_outputs or []))


def executed_copy(source: Path, cells: dict[int, tuple[Any, list]], run: dict[str, Any]):
    """The chapter with nbval's outputs in its code cells, tagged and stamped like the runner's."""
    import nbformat

    from booktools.execute import HIDDEN_TAGS, RUN_KEY

    notebook = nbformat.read(source, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code):
        _, outputs = cells.get(number, (None, []))
        cell.outputs = [copy.deepcopy(output) for output in outputs]
        cell.execution_count = number + 1
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = number + 1
        tags = cell.metadata.get("tags", [])
        if any(tag in tags for tag in HIDDEN_TAGS) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    notebook.metadata[RUN_KEY] = {**run, "executed_by": "nbval"}
    return notebook


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write every fully passed notebook to the run folder of the environment's profile and source."""
    import nbformat

    from booktools.book import run_folder, run_identity
    from helpers.profiles import get_profile
    from helpers.store import atomic_write_text

    if not _CELLS:
        return
    profile = get_profile()
    folder = run_folder(profile)
    folder.mkdir(parents=True, exist_ok=True)
    for source, cells in sorted(_CELLS.items()):
        target = folder / source.name
        if source in _FAILED:
            target.unlink(missing_ok=True)  # never leave an older copy standing in for a failure
            continue
        notebook = executed_copy(source, cells, run_identity(profile))
        atomic_write_text(target, nbformat.writes(notebook) + "\n")
