"""The book runner: chapter discovery, the checks it refuses on, failing and interrupted chapters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from booktools import book, execute, kernel, site, system
from booktools import chapters as chapter_files
from helpers.paths import ROOT
from helpers.profiles import get_profile


def write_notebook(
    path: Path, cells: list[str], tag_first: bool = True, after: list[str] | None = None
) -> Path:
    """Write a notebook whose first code cell is (optionally) tagged `parameters`."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if after is not None:
        nb.metadata[chapter_files.META_KEY] = {"after": after}
    for index, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        if index == 0 and tag_first:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def write_toc(path: Path, entries: list[str]) -> Path:
    """Write a minimal _toc.yml listing the given files."""
    lines = ["format: jb-book", "root: book/intro", "chapters:"]
    lines += [f"  - file: {entry}" for entry in entries]
    path.write_text("\n".join(lines) + "\n")
    return path


START_FRESH_DRAW = book.start_fresh_draw  # the real one: the fixture below replaces it


@pytest.fixture(autouse=True)
def fresh_draws(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The runner's background fresh draw, recorded (profile names) instead of drawn."""
    started: list[str] = []

    def record(profile: object) -> subprocess.Popen:
        started.append(profile.name)
        return subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)

    monkeypatch.setattr(book, "start_fresh_draw", record)
    return started


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run folders under tmp_path instead of _build/runs."""
    folder = tmp_path / "runs"
    monkeypatch.setattr(book, "RUNS", folder)
    return folder


def test_discover_chapters_orders_by_number_and_ignores_others(tmp_path: Path) -> None:
    for name in ["02_b.ipynb", "01_a.ipynb", "scratch.ipynb", "1_bad.ipynb"]:
        write_notebook(tmp_path / name, ["PROFILE = None"])
    found = book.discover_chapters(tmp_path)
    assert [c.stem for c in found] == ["01_a", "02_b"]
    assert found[0].toc_entry == "book/chapters/01_a"


def test_untagged_parameters_cell_is_refused(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"], tag_first=False)
    with pytest.raises(book.BookError, match="01_a.ipynb: the first code cell must be tagged"):
        chapter_files.check_parameters_cell(path)


def test_chapter_missing_from_toc_is_refused(tmp_path: Path) -> None:
    write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"])
    write_notebook(tmp_path / "02_b.ipynb", ["PROFILE = None"])
    toc = write_toc(tmp_path / "_toc.yml", ["book/chapters/01_a"])
    with pytest.raises(book.BookError, match="02_b.ipynb is not in _toc.yml"):
        book.check_chapters(book.discover_chapters(tmp_path), toc)


def test_waiting_for_a_later_or_unknown_chapter_is_refused(tmp_path: Path) -> None:
    write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"], after=["02"])
    write_notebook(tmp_path / "02_b.ipynb", ["PROFILE = None"], after=["07"])
    toc = write_toc(tmp_path / "_toc.yml", ["book/chapters/01_a", "book/chapters/02_b"])
    with pytest.raises(book.BookError, match="01_a.ipynb: metadata happy_or_sad.after names 02"):
        book.check_chapters(book.discover_chapters(tmp_path), toc)


def test_no_chapters_is_refused(tmp_path: Path) -> None:
    with pytest.raises(book.BookError, match="no chapter notebooks"):
        book.check_chapters([], write_toc(tmp_path / "_toc.yml", []))


def test_unknown_only_is_refused(tmp_path: Path) -> None:
    write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"])
    with pytest.raises(book.BookError, match="no chapter numbered 07"):
        book.select(book.discover_chapters(tmp_path), ["7"])


def test_a_chapter_waits_for_earlier_ones_unless_it_says_otherwise(tmp_path: Path) -> None:
    write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"])
    write_notebook(tmp_path / "02_b.ipynb", ["PROFILE = None"])
    write_notebook(tmp_path / "03_c.ipynb", ["PROFILE = None"], after=[])
    write_notebook(tmp_path / "04_d.ipynb", ["PROFILE = None"], after=["01"])
    write_notebook(tmp_path / "05_e.ipynb", ["PROFILE = None"])
    first, second, free, needs_first, last = chapters = book.discover_chapters(tmp_path)
    assert book.ready(first, chapters, set()) and book.ready(free, chapters, set())
    assert not book.ready(second, chapters, set()) and not book.ready(needs_first, chapters, set())
    assert book.ready(needs_first, chapters, {"01"}) and book.ready(second, chapters, {"01"})
    assert not book.ready(last, chapters, {"01", "02", "04"})  # every earlier one, 03 too
    assert book.ready(last, chapters, {"01", "02", "03", "04"})
    # a chapter waited for but not being run (--only) does not hold anyone up
    assert book.ready(last, [last], set())


def test_waiting_for_an_output_starts_once_it_is_written_in_this_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"], after=[])
    write_notebook(tmp_path / "02_b.ipynb", ["PROFILE = None"], after=["1:baseline"])
    first, second = chapters = book.discover_chapters(tmp_path)
    assert second.after == ("01:baseline",) and second.waits_for == ("01",)
    assert not book.ready(second, chapters, set())
    assert book.ready(second, chapters, set(), {"01:baseline"})  # published: no need to wait
    assert book.ready(second, chapters, {"01"})  # finished: whatever it wrote

    model = tmp_path / "artifacts" / "baseline" / "model.keras"
    monkeypatch.setitem(book.OUTPUTS, "baseline", lambda profile: model)
    running = book.Running(first, process=None, log=tmp_path / "log", result=tmp_path / "r")
    profile = get_profile("smoke")
    assert book.newly_published([running], chapters, profile) == set()  # not there yet
    model.parent.mkdir(parents=True)
    model.write_bytes(b"old")
    os.utime(model, (running.started_at - 60, running.started_at - 60))
    assert book.newly_published([running], chapters, profile) == set()  # from an earlier run
    os.utime(model, (running.started_at + 1, running.started_at + 1))
    assert book.newly_published([running], chapters, profile) == {"01:baseline"}


def test_an_unknown_output_is_refused(tmp_path: Path) -> None:
    write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"], after=[])
    write_notebook(tmp_path / "02_b.ipynb", ["PROFILE = None"], after=["01:weights"])
    toc = write_toc(tmp_path / "_toc.yml", ["book/chapters/01_a", "book/chapters/02_b"])
    with pytest.raises(book.BookError, match="an output other than baseline, clean"):
        book.check_chapters(book.discover_chapters(tmp_path), toc)


def test_the_clean_images_are_published_by_the_stamp_the_runner_watches(tmp_path: Path) -> None:
    from helpers import pipeline, store

    profile = get_profile("smoke")
    assert pipeline.clean_folder(profile) == profile.clean_folder  # where chapter 1 cleans
    watched = book.OUTPUTS["clean"](profile)
    assert watched.parent == profile.clean_folder
    folder = tmp_path / profile.clean_folder.name  # build_once writes that stamp, then publishes
    store.build_once(
        folder, {"step": "clean"}, lambda staging: (staging / "a.png").write_bytes(b"")
    )
    assert (folder / watched.name).is_file() and (folder / "a.png").is_file()


def test_the_longest_chapters_start_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, hint in (("01_a", 5), ("02_b", 50)):
        path = write_notebook(tmp_path / f"{name}.ipynb", ["PROFILE = None"], after=[])
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata[chapter_files.META_KEY]["expected_seconds"] = hint
        nbformat.write(notebook, path)
    chapters = book.discover_chapters(tmp_path)
    timings = tmp_path / "timings.json"
    monkeypatch.setattr(book, "timings_path", lambda profile: timings)
    profile = get_profile("smoke")
    assert book.expected_seconds(chapters, profile) == {"01_a": 5.0, "02_b": 50.0}  # the hints
    timings.write_text(json.dumps({"chapters": {"01_a": {"seconds": 80.0}}}))
    assert book.expected_seconds(chapters, profile) == {"01_a": 80.0, "02_b": 50.0}  # measured


def test_a_short_chapter_that_a_long_one_waits_for_starts_first(tmp_path: Path) -> None:
    """Chapters rank by their seconds plus the longest chain waiting for them, outputs included."""
    waits = {"01_a": (), "02_b": ("01",), "03_c": ("01",), "04_d": ("03:baseline",)}
    chapters = [
        book.Chapter(stem[:2], tmp_path / f"{stem}.ipynb", after) for stem, after in waits.items()
    ]
    seconds = {"01_a": 10.0, "02_b": 60.0, "03_c": 20.0, "04_d": 70.0}
    chains = book.chain_seconds(chapters, seconds)
    assert chains == {"01_a": 100.0, "02_b": 60.0, "03_c": 90.0, "04_d": 70.0}
    assert chains["03_c"] > chains["02_b"], "chapter 3 goes first: chapter 4 waits for it"


def test_failing_cell_names_chapter_and_cell(tmp_path: Path, runs: Path) -> None:
    """A chapter that raises stops the run with one message naming the chapter and the cell."""
    source = write_notebook(
        tmp_path / "01_scratch.ipynb",
        ["PROFILE = None", "x = 1", "raise ValueError('deliberate failure')"],
    )
    profile = get_profile("smoke", "synthetic")
    with pytest.raises(book.BookError) as caught:
        book.execute_chapters([book.Chapter("01", source)], profile, jobs=1)
    message = str(caught.value)
    assert "chapter 01_scratch failed in cell" in message
    assert "raise ValueError('deliberate failure')" in message
    assert "ValueError: deliberate failure" in message
    folder = runs / profile.folder_name
    assert not (folder / "01_scratch.ipynb").exists(), "a failed chapter must not reach the site"
    assert (folder / "failed" / "01_scratch.ipynb").is_file(), "the failed copy is kept"
    assert (folder / "logs" / "01_scratch.log").is_file()


def test_chapters_run_two_at_a_time_and_record_their_run(tmp_path: Path, runs: Path) -> None:
    cells = ["PROFILE = None", "import time; time.sleep(3); print('done')"]
    chapters = [
        book.Chapter("01", write_notebook(tmp_path / "01_a.ipynb", cells, after=[]), ()),
        book.Chapter("02", write_notebook(tmp_path / "02_b.ipynb", cells, after=[]), ()),
    ]
    profile = get_profile("smoke", "synthetic")
    start = time.perf_counter()
    timings = book.execute_chapters(chapters, profile, jobs=2)
    wall = time.perf_counter() - start
    assert set(timings) == {"01_a", "02_b"}
    assert wall < sum(timings.values()), "two chapters at a time overlap"
    executed = runs / profile.folder_name / "01_a.ipynb"
    notebook = json.loads(executed.read_text(encoding="utf-8"))
    assert notebook["metadata"][execute.RUN_KEY]["run"] == profile.folder_name
    first, injected = notebook["cells"][0], notebook["cells"][1]
    assert "remove-cell" not in first["metadata"]["tags"], "the parameters cell shows on the page"
    assert "injected-parameters" in injected["metadata"]["tags"]
    assert "remove-cell" in injected["metadata"]["tags"]


def test_site_refuses_chapters_of_another_run(tmp_path: Path) -> None:
    chapter = book.Chapter("01", write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"]))
    folder = tmp_path / "run"
    folder.mkdir()
    with pytest.raises(site.SiteError, match="never executed in it: 01_a"):
        site.check_run([chapter], folder, {"profile": "full", "source": "synthetic", "run": "full"})
    copy = nbformat.read(chapter.source, as_version=4)
    copy.metadata[execute.RUN_KEY] = {"profile": "smoke", "source": "synthetic", "run": "smoke"}
    nbformat.write(copy, folder / "01_a.ipynb")
    with pytest.raises(site.SiteError, match="executed by run 'smoke', not 'full'"):
        site.check_run([chapter], folder, {"profile": "full", "source": "synthetic", "run": "full"})


def test_main_exits_non_zero_on_a_failing_chapter(
    tmp_path: Path, runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "01_ok.ipynb", ["PROFILE = None", "print('fine')"])
    write_notebook(notebooks / "02_bad.ipynb", ["PROFILE = None", "1 / 0"])
    toc = write_toc(tmp_path / "_toc.yml", ["book/chapters/01_ok", "book/chapters/02_bad"])
    monkeypatch.setattr(chapter_files, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(chapter_files, "TOC", toc)
    monkeypatch.setattr(book, "timings_path", lambda profile: tmp_path / "timings.json")
    status = book.main(["--profile", "smoke", "--no-build"])
    err = capsys.readouterr().err
    assert status == 1
    assert "chapter 02_bad failed in cell" in err
    assert "ZeroDivisionError" in err
    assert (runs / "smoke" / "01_ok.ipynb").is_file()


ASKED = "Unable to allocate 74.5 GiB for an array with shape (100000, 100000) and data type uint64"


def one_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cells: list[str]) -> None:
    """The runner pointed at a book of one chapter, 01_only, with these cells."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "01_only.ipynb", cells)
    monkeypatch.setattr(chapter_files, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(
        chapter_files, "TOC", write_toc(tmp_path / "_toc.yml", ["book/chapters/01_only"])
    )
    monkeypatch.setattr(book, "timings_path", lambda profile: tmp_path / "timings.json")


def assert_out_of_memory(status: int, err: str, step: str) -> None:
    """Exit 1 and one line naming the step and what was asked for, without a traceback."""
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: out of memory while {step} ({ASKED}): ")
    assert "Traceback" not in err


def test_out_of_memory_in_the_runner_stops_its_chapters_with_one_line(
    tmp_path: Path, runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    one_book(tmp_path, monkeypatch, ["PROFILE = None", "import time; time.sleep(120)"])
    started: list[book.Running] = []
    start_chapter = book.start_chapter
    monkeypatch.setattr(
        book, "start_chapter", lambda *a, **k: started.append(start_chapter(*a, **k)) or started[-1]
    )
    polls = iter(range(100))

    def runner_exhausted(running, chapters, profile):  # the runner's own loop, a few polls in
        if next(polls) == 5:
            raise MemoryError(ASKED)
        return set()

    monkeypatch.setattr(book, "newly_published", runner_exhausted)
    status = book.main(["--profile", "smoke", "--no-build"])
    assert_out_of_memory(status, capsys.readouterr().err, "running 1 chapter(s) of run smoke")
    assert len(started) == 1 and started[0].process.poll() is not None  # not left running


def test_out_of_memory_building_the_site_is_one_line(
    tmp_path: Path, runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    one_book(tmp_path, monkeypatch, ["PROFILE = None"])

    def exhausted(*args, **kwargs):
        raise MemoryError(ASKED)

    monkeypatch.setattr(site, "check_run", exhausted)
    status = book.main(["--profile", "smoke", "--no-execute"])
    assert_out_of_memory(status, capsys.readouterr().err, "building the site of run smoke")


def processes_in(folder: Path) -> list[int]:
    """Process ids whose working directory is inside folder (a kernel runs in its chapter's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).is_relative_to(folder):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds processes through /proc")
def test_ctrl_c_stops_with_one_line_and_status_130(tmp_path: Path) -> None:
    """SIGINT during a chapter: one line on stderr, exit 130, no chapter or kernel left running."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "01_slow.ipynb", ["PROFILE = None", "import time; time.sleep(120)"])
    toc = write_toc(tmp_path / "_toc.yml", ["book/chapters/01_slow"])
    script = (
        "import sys; from pathlib import Path; from booktools import book, chapters\n"
        f"chapters.NOTEBOOKS = Path({str(notebooks)!r}); chapters.TOC = Path({str(toc)!r})\n"
        f"book.RUNS = Path({str(tmp_path / 'runs')!r})\n"
        "sys.exit(book.main(['--profile', 'smoke', '--no-build']))\n"
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
        # a terminal's Ctrl-C reaches a foreground process; a test run in the background (as CI
        # jobs may be) would hand the runner an ignored SIGINT, so give it the default back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    log = tmp_path / "runs" / "smoke" / "logs" / "01_slow.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "Kernel" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.2)
    time.sleep(3)  # the kernel is now executing the sleeping cell
    runner.send_signal(signal.SIGINT)
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == book.EXIT_INTERRUPTED
    assert err.strip().splitlines() == ["interrupted (01_slow): stopped"], err
    assert "Traceback" not in out + err
    time.sleep(3)  # a kernel notices its parent is gone within a second or two
    assert not processes_in(tmp_path), "a chapter's process or its kernel is still running"


def test_kernel_belongs_to_its_checkout(tmp_path: Path) -> None:
    assert kernel.kernel_name(ROOT) == kernel.kernel_name(ROOT / "notebooks" / "..")
    assert kernel.kernel_name(ROOT) != kernel.kernel_name(tmp_path)
    assert kernel.kernel_name().startswith("happy-or-sad-")
    assert kernel.spec_folder().is_relative_to(Path(sys.prefix))
    name = kernel.ensure_kernel()
    assert kernel.is_installed(name), "the spec inside .venv starts this environment's Python"


def test_missing_programs_are_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    lacking = system.missing("test")
    assert {p.name for p in lacking} >= {"chromium", "chromedriver", "npm"}
    line = system.advice(lacking)
    assert "\n" not in line
    for words in ("apt-get install", "chromium-driver", "dnf install", "brew install"):
        assert words in line
    assert system.provide("test", allow_install=False) == 1
    with pytest.raises(ValueError, match="unknown need"):
        system.missing("nothing")


def test_the_book_itself_needs_no_system_program_but_python_and_npm() -> None:
    assert set(system.NEEDS["book"]) == {"venv", "npm"}  # no Graphviz: diagrams are drawn in Python
    assert system.missing("book") == []  # this environment was made by `make install`


def test_nbval_outputs_become_an_executed_copy_like_the_runners(tmp_path: Path) -> None:
    from booktools import nbval_copies

    source = write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None", "print('hello')", "2 + 2"])
    stream = nbformat.v4.new_output("stream", name="stdout", text="hello\n")
    result = nbformat.v4.new_output("execute_result", data={"text/plain": "4"}, execution_count=9)
    cells = {0: (None, []), 1: (None, [stream]), 2: (None, [result])}
    run = {"profile": "smoke", "source": "synthetic", "run": "smoke"}
    copy = nbval_copies.executed_copy(source, cells, run)
    first, second, third = copy.cells
    assert "remove-cell" not in first.metadata.get("tags", [])  # the parameters cell shows
    assert second.outputs[0]["text"] == "hello\n" and second.execution_count == 2
    assert (
        third.outputs[0]["data"]["text/plain"] == "4" and third.outputs[0]["execution_count"] == 3
    )
    assert copy.metadata[execute.RUN_KEY] == {**run, "executed_by": "nbval"}
    folder = tmp_path / "run"
    folder.mkdir()
    nbformat.write(copy, folder / "01_a.ipynb")
    assert site.check_run([book.Chapter("01", source)], folder, run) == [folder / "01_a.ipynb"]


def test_a_source_of_three_classes_runs_only_the_chapters_that_read_one(tmp_path: Path) -> None:
    from shape_sources import add_copied_class, make_shape_folder

    three = add_copied_class(make_shape_folder(tmp_path / "three", per_class=10), "third", 10)
    write_notebook(tmp_path / "01_a.ipynb", ["PROFILE = None"])
    several = write_notebook(tmp_path / "13_m.ipynb", ["PROFILE = None"])
    nb = nbformat.read(several, as_version=4)
    nb.metadata[chapter_files.META_KEY] = {"after": [], "several_classes": True}
    nbformat.write(nb, several)
    chapters = book.discover_chapters(tmp_path)
    assert [c.several_classes for c in chapters] == [False, True]
    chosen = book.checked_source("smoke", str(three), chapters[1:], False, chapters)
    assert chosen.source_kind == "folder"
    with pytest.raises(book.BookError, match="has 3 .*only chapter 13 .* --only 13 --no-build"):
        book.checked_source("smoke", str(three), chapters, False, chapters)
    with pytest.raises(book.BookError, match="has 3"):  # a site needs every chapter: two classes
        book.checked_source("smoke", str(three), chapters[1:], True, chapters)


def test_a_false_claim_fails_the_run_with_one_line_and_the_site_is_not_built(
    tmp_path: Path, runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A chapter glues with helpers.glue_all; its front matter's claim contradicts the values."""
    glue = "import numpy as np\nimport helpers\nhelpers.glue_all({'a': np.float64(0.5), 'b': 2})"
    one_book(tmp_path, monkeypatch, ["PROFILE = None", glue])
    path = tmp_path / "notebooks" / "01_only.ipynb"
    notebook = nbformat.read(path, as_version=4)
    claim = {"says": "a is larger than b", "check": "a > b"}  # checked on the full profile only
    notebook.metadata[chapter_files.META_KEY] = {"claims": [claim]}
    nbformat.write(notebook, path)
    line = 'error: 01_only: claim "a is larger than b" does not hold: a > b with a=0.5, b=2'

    assert book.main(["--profile", "full", "--no-build"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [line]
    assert (runs / "full" / "01_only.ipynb").is_file(), "the executed copy stays, to be looked at"

    def never(*args: object) -> None:
        raise AssertionError("a site was built although a claim does not hold")

    monkeypatch.setattr(site, "build", never)  # --no-execute checks the claims before building
    assert book.main(["--profile", "full", "--no-execute"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [line]

    assert book.main(["--profile", "smoke", "--no-build"]) == 0, "not a smoke claim"
    capsys.readouterr()
    notebook.metadata[chapter_files.META_KEY] = {"claims": [{**claim, "smoke": True}]}
    nbformat.write(notebook, path)
    assert book.main(["--profile", "smoke", "--no-build"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [line]


def test_only_some_chapters_builds_the_site_of_what_exists_and_exits_0(
    tmp_path: Path, runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--only 01 without --no-build: chapter 02, never executed in the run, gets a page that says
    how to run it (its labels kept for other pages' references); --no-execute still wants all."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "01_a.ipynb", ["PROFILE = None", "print('one')"])
    second = write_notebook(notebooks / "02_b.ipynb", ["PROFILE = None"])
    notebook = nbformat.read(second, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell("# Second\n\n(ch02-part)=\n### A part"))
    nbformat.write(notebook, second)
    monkeypatch.setattr(chapter_files, "NOTEBOOKS", notebooks)
    toc = write_toc(tmp_path / "_toc.yml", ["book/chapters/01_a", "book/chapters/02_b"])
    monkeypatch.setattr(chapter_files, "TOC", toc)
    monkeypatch.setattr(book, "timings_path", lambda profile: tmp_path / "timings.json")
    monkeypatch.setattr(site, "SITES", tmp_path / "sites")
    built = []
    monkeypatch.setattr(site, "build", lambda tree, output: built.append(tree))

    assert book.main(["--profile", "smoke", "--only", "01"]) == 0
    out = capsys.readouterr().out
    assert "site of the 1 chapter(s) executed in run smoke; the pages of 02 only say" in out
    (tree,) = built
    chapters = tree / "book" / "chapters"
    assert (chapters / "01_a.ipynb").is_file()
    placeholder = (chapters / "02_b.md").read_text(encoding="utf-8")
    assert placeholder.startswith("# Second\n") and "--only 02" in placeholder
    assert "(ch02-part)=\n## A part" in placeholder
    assert book.main(["--profile", "smoke", "--no-execute"]) == 1
    assert "never executed in it: 02_b" in capsys.readouterr().err


def test_only_a_full_build_of_the_default_book_measures_the_machine(
    tmp_path: Path, runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The performance page's figures (booktools.bench.quick) after every full build, not after
    an --only run or a smoke build (the page shows the full profile's figures)."""
    from booktools.bench import quick

    one_book(tmp_path, monkeypatch, ["PROFILE = None"])
    measured: list[tuple[str, Path]] = []
    monkeypatch.setattr(quick, "measure_build", lambda p, log: measured.append((p.name, log)))
    for argv in (
        ["--profile", "smoke"],
        ["--profile", "full", "--only", "01"],
        ["--profile", "full"],
    ):
        assert book.main([*argv, "--no-build"]) == 0
    assert measured == [("full", runs / "full" / "logs" / "quick.log")]


def test_the_fresh_faces_are_drawn_beside_every_whole_book_on_the_generator(
    tmp_path: Path, runs: Path, monkeypatch: pytest.MonkeyPatch, fresh_draws: list[str]
) -> None:
    """A run of every chapter on the synthetic source draws the shared fresh faces beside them;
    an --only run or another source does not (their chapters may never ask for them)."""
    one_book(tmp_path, monkeypatch, ["PROFILE = None"])
    folder = tmp_path / "photos"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        for i in range(10):
            Image.new("RGB", (32, 32), (20 * i, 0, 0)).save(folder / name / f"{i}.png")
    for argv in (
        ["--profile", "smoke"],
        ["--profile", "smoke", "--only", "01"],
        ["--profile", "smoke", "--source", str(folder)],
    ):
        assert book.main([*argv, "--no-build"]) == 0
    assert fresh_draws == ["smoke"]


def test_the_background_draw_is_niced_logged_and_stopped(runs: Path) -> None:
    profile = get_profile("smoke", "synthetic")
    process = START_FRESH_DRAW(
        profile, code="import time; print('drawing', flush=True); time.sleep(60)"
    )
    try:
        log = runs / profile.folder_name / "logs" / "fresh.log"
        deadline = time.monotonic() + 30
        while "drawing" not in log.read_text(encoding="utf-8") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "drawing" in log.read_text(encoding="utf-8")
        if hasattr(os, "getpriority"):
            ours = os.getpriority(os.PRIO_PROCESS, 0)
            assert os.getpriority(os.PRIO_PROCESS, process.pid) == min(
                19, ours + book.LEAF_NICENESS
            )
    finally:
        book.stop([process])
    assert process.returncode is not None, "stopped and reaped"


def test_the_background_draw_makes_the_profiles_fresh_faces() -> None:
    """FRESH_DRAW, run as the runner runs it, draws (or finds) the profile's fresh faces."""
    from helpers import fresh, pipeline

    profile = get_profile("smoke", "synthetic")
    done = subprocess.run(
        [sys.executable, "-c", book.FRESH_DRAW, profile.name, profile.source],
        cwd=ROOT,
        env=book.chapter_environment(profile),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder == profile.data / "fresh"
    assert len(fresh.read_fresh_faces(folder, profile.fresh_faces)) == profile.fresh_faces
    assert pipeline.ensure_fresh(profile) == folder


def test_a_kernel_that_never_started_is_started_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A port taken by another kernel starting at the same moment: try again; other errors stand."""
    import papermill as pm

    calls: list[str] = []

    def flaky(*args: object, **kwargs: object) -> None:
        calls.append("start")
        if len(calls) < execute.KERNEL_STARTS:
            raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(pm, "execute_notebook", flaky)
    monkeypatch.setattr(execute.time, "sleep", lambda seconds: None)
    execute.run_papermill("in.ipynb", "out.ipynb")
    assert len(calls) == execute.KERNEL_STARTS

    def dead(*args: object, **kwargs: object) -> None:
        calls.append("start")
        raise RuntimeError("Kernel died before replying to kernel_info")

    calls.clear()
    monkeypatch.setattr(pm, "execute_notebook", dead)
    with pytest.raises(RuntimeError, match="kernel_info"):  # every start failed: the last error
        execute.run_papermill("in.ipynb", "out.ipynb")
    assert len(calls) == execute.KERNEL_STARTS

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something else")

    monkeypatch.setattr(pm, "execute_notebook", broken)
    with pytest.raises(RuntimeError, match="something else"):
        execute.run_papermill("in.ipynb", "out.ipynb")


@pytest.mark.parametrize(
    ("cores", "gib", "jobs"),
    [(1, 64, 1), (2, 24, 3), (2, 8, 2), (2, 4, 2), (4, 16, 4), (8, 64, 9), (2, None, 2)],
)
def test_chapters_at_a_time_are_one_more_than_the_cores_as_memory_allows(
    monkeypatch: pytest.MonkeyPatch, cores: int, gib: int | None, jobs: int
) -> None:
    monkeypatch.setattr(book.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(book, "memory_bytes", lambda kind="total": gib and gib * 2**30)
    assert book.default_jobs() == jobs
