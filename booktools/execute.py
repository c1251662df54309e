"""Execute one chapter with papermill, in a process of its own (the runner starts one per chapter).

    python -m booktools.execute NOTEBOOK OUT RESULT --profile P --source S --kernel K

Everything the chapter's kernel prints on stderr (TensorFlow's start-up lines, ipykernel's
warnings) lands in this process's stderr, which the runner sends to the chapter's log file. On
success the executed copy is written to OUT, its parameter cells tagged so the site hides them,
and its metadata naming the run; on failure the copy goes beside OUT as `failed/`. Either way
RESULT receives one JSON object the runner reads: {"ok": true, "seconds": ...} or the failing
cell's index, first line and error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from booktools import skip_slow_imports
from helpers.store import atomic_write_text

skip_slow_imports()  # before papermill imports nbformat

RUN_KEY = "happy_or_sad_run"  # notebook metadata: which run executed this copy
HIDDEN_TAGS = ("injected-parameters",)  # papermill's overrides: in the download, not on the page


def first_line(source: str) -> str:
    """The first non-blank line of a cell's source, to name the cell in a message."""
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


def finish_copy(path: Path, run: dict[str, Any], final: Path | None = None) -> None:
    """Hide papermill's injected parameters on the page and record the run in the metadata.

    The chapter's own parameters cell stays on the page, so every name the visible code uses
    is defined in visible code.

    papermill recorded the path it wrote to (the `failed/` copy); `final` is where the copy ends
    up once it has run to the end, which its metadata then names.
    """
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if any(tag in tags for tag in HIDDEN_TAGS) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    notebook.metadata[RUN_KEY] = run
    if final is not None and "papermill" in notebook.metadata:
        notebook.metadata["papermill"]["output_path"] = str(final)
    atomic_write_text(path, nbformat.writes(notebook) + "\n")


def for_other_source(notebook: Path, kind: str) -> Any:
    """The chapter as it runs on a source other than the generator's.

    Its answer-key section is replaced by one line (`without_answer_key`), and each Markdown
    cell that reads the default run (metadata `on_other_data`) by the neutral sentence it names
    for other data: the claims it makes are checked on the synthetic source only.
    """
    from booktools.claims import replace_for_other_data

    chapter = without_answer_key(notebook, kind)
    replace_for_other_data(chapter)
    return chapter


def without_answer_key(notebook: Path, kind: str) -> Any:
    """The chapter with its answer-key section (cells tagged answer-key) replaced by one line.

    A source other than the generator's has no answer key; the section's heading stays, so the
    page still shows where it would be, and one sentence says why it is left out.
    """
    import nbformat

    from helpers.answer_key import TAG

    chapter = nbformat.read(notebook, as_version=4)
    cells, inside = [], False
    for cell in chapter.cells:
        if TAG not in cell.metadata.get("tags", []):
            cells.append(cell)
            inside = False
            continue
        if not inside:
            cells.append(nbformat.v4.new_markdown_cell(_heading(cell) + LEFT_OUT.format(kind=kind)))
            inside = True
    chapter.cells = cells
    return chapter


def _heading(cell: Any) -> str:
    """A Markdown cell's opening heading, with the label line above it (else nothing)."""
    if cell.cell_type != "markdown":
        return ""
    lines = cell.source.splitlines()
    for index, line in enumerate(lines[:3]):
        if line.startswith("#"):
            return "\n".join(lines[: index + 1]) + "\n\n"
    return ""


LEFT_OUT = (
    "*This section checks the chapter against the synthetic generator's answer key: what each "
    "file really is, each face's true expression, where its mouth and brows are. The images of "
    "this source ({kind}) come without one, so the section is left out of this run.*"
)


KERNEL_STARTS = 3  # attempts to start a chapter's kernel


def kernel_never_started(error: BaseException) -> bool:
    """Did the kernel die before answering, so that no cell ran (e.g. a port another kernel took)?"""
    return isinstance(error, RuntimeError) and "before replying to kernel_info" in str(error)


def run_papermill(*args: Any, **kwargs: Any) -> None:
    """papermill.execute_notebook, started again when the kernel died before running a cell.

    jupyter_client picks a kernel's ports, then the kernel binds them: a kernel starting at the
    same moment in another process can take one in between ("Address already in use").
    """
    import papermill as pm

    for attempt in range(1, KERNEL_STARTS + 1):
        try:
            pm.execute_notebook(*args, **kwargs)
            return
        except RuntimeError as error:
            if attempt == KERNEL_STARTS or not kernel_never_started(error):
                raise
            time.sleep(attempt)


def execute(
    notebook: Path, out: Path, profile_name: str, source: str, kernel: str, run: dict[str, Any]
) -> dict[str, Any]:
    """Run the notebook top to bottom; the result the runner reads (never raises for a cell)."""
    import nbformat
    import papermill as pm

    from helpers.profiles import get_profile

    failed = out.parent / "failed" / out.name
    failed.parent.mkdir(parents=True, exist_ok=True)
    # the runner checked the source against the chapters it runs; here only its kind matters
    chosen = get_profile(profile_name, source, several_classes=True)
    if not chosen.generated:  # answer key and default-run readings replaced before it runs
        stripped = failed.with_name(f".{failed.stem}.input.ipynb")
        atomic_write_text(stripped, nbformat.writes(for_other_source(notebook, chosen.source_kind)))
        notebook_input = stripped
    else:
        notebook_input = notebook
    start = time.perf_counter()
    try:
        run_papermill(
            str(notebook_input),
            str(failed),
            parameters={"PROFILE": profile_name, "SOURCE": source},
            kernel_name=kernel,
            cwd=str(notebook.parent),
            progress_bar=False,
            log_output=False,
            # the last cell has run and every file the chapter writes is in place: a graceful
            # shutdown only waits, about 3 s a chapter, for the kernel to wind down its threads
            shutdown_kernel="immediate",
        )
    except pm.PapermillExecutionError as error:
        return {
            "ok": False,
            "cell": error.cell_index,
            "execution_count": error.exec_count,
            "first_line": first_line(error.source),
            "error": f"{error.ename}: {error.evalue}",
            "copy": str(failed),
        }
    finally:
        if notebook_input != notebook:
            notebook_input.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    finish_copy(failed, {**run, "executed_by": "papermill", "seconds": round(seconds, 2)}, out)
    os.replace(failed, out)
    return {"ok": True, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point of the child process."""
    parser = argparse.ArgumentParser(prog="python -m booktools.execute")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("result", type=Path)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--run", default="{}", help="JSON: the run's identity, kept in metadata")
    args = parser.parse_args(argv)
    try:
        result = execute(
            args.notebook, args.out, args.profile, args.source, args.kernel, json.loads(args.run)
        )
    except Exception as error:  # noqa: BLE001 - the kernel died, papermill failed: say so once
        result = {"ok": False, "error": f"{type(error).__name__}: {error}".splitlines()[0]}
    args.result.write_text(json.dumps(result), encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
