"""helpers.store: atomic writes, building a folder once, and what a killed run leaves behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import store


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "table.csv"
    store.atomic_write_text(target, "a,b\n1,2\n")
    store.atomic_write_text(target, "a,b\n3,4\n")
    assert target.read_text() == "a,b\n3,4\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]


def test_atomic_save_keeps_the_suffix_for_writers_that_read_it(tmp_path: Path) -> None:
    seen = []
    store.atomic_save(
        tmp_path / "picture.png", lambda path: seen.append(path.suffix) or path.write_bytes(b"x")
    )
    assert seen == [".png"] and (tmp_path / "picture.png").read_bytes() == b"x"


def test_written_files_have_the_mode_of_an_ordinary_new_file(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        ordinary = tmp_path / "opened.txt"
        ordinary.write_text("by open()")
        store.atomic_write_text(tmp_path / "atomic.txt", "by atomic_write_text")
    finally:
        os.umask(mask)
    mode = (tmp_path / "atomic.txt").stat().st_mode & 0o777
    assert mode == ordinary.stat().st_mode & 0o777 == 0o644, oct(mode)  # not mkstemp's 0o600


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "kept.txt"
    target.write_text("old")

    def broken(path: Path) -> None:
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.atomic_save(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_build_once_builds_then_reuses_then_rebuilds_on_a_new_stamp(tmp_path: Path) -> None:
    target, calls = tmp_path / "out", []

    def build(staging: Path) -> None:
        calls.append(staging)
        (staging / "file.txt").write_text(str(len(calls)))

    store.build_once(target, {"version": 1}, build)
    store.build_once(target, {"version": 1}, build)
    assert len(calls) == 1 and (target / "file.txt").read_text() == "1"
    store.build_once(target, {"version": 2}, build)
    assert len(calls) == 2 and (target / "file.txt").read_text() == "2"
    assert store.read_stamp(target) == {"version": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or old folder left


def test_a_failed_build_keeps_the_previous_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    store.build_once(target, {"v": 1}, lambda s: (s / "a").write_text("first"))

    def broken(staging: Path) -> None:
        (staging / "a").write_text("half")
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        store.build_once(target, {"v": 2}, broken)
    assert (target / "a").read_text() == "first" and store.read_stamp(target) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_publish_replaces_a_folder_and_readers_never_see_it_missing(tmp_path: Path) -> None:
    final = tmp_path / "clean"
    store.build_once(final, {"v": 1}, lambda s: (s / "x").write_text("1"))
    staging = store.staging_dir(final)
    (staging / "x").write_text("2")
    exchanged = store._exchange(staging, final)  # Linux: one step, no moment without `final`
    if exchanged:
        assert (final / "x").read_text() == "2" and (staging / "x").read_text() == "1"
        store._exchange(staging, final)  # and back, to test publish itself
    store.publish(staging, final)
    assert (final / "x").read_text() == "2" and not staging.exists()


def test_a_killed_run_leaves_staging_that_the_next_run_removes(tmp_path: Path) -> None:
    """SIGKILL while a step builds: its staging folder stays, and the next build of the step clears it."""
    final = tmp_path / "clean"
    code = (
        "import sys, time; from pathlib import Path; from helpers import store\n"
        "staging = store.staging_dir(Path(sys.argv[1]))\n"
        "(staging / 'half.png').write_bytes(b'x' * 1000)\n"
        "print(staging, flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(final)], stdout=subprocess.PIPE, text=True
    )
    left = Path(child.stdout.readline().strip())
    assert left.is_dir() and left.name.startswith(f".clean.tmp-{child.pid}-")
    # while its maker lives, the folder is in use and stays
    store.build_once(final, {"v": 1}, lambda s: (s / "a").write_text("1"))
    assert left.is_dir()
    child.kill()
    child.wait()
    store.build_once(final, {"v": 2}, lambda s: (s / "a").write_text("2"))
    assert not left.exists(), "the dead run's staging folder was not removed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean"]


def test_old_staging_without_a_pid_is_removed_once_stale(tmp_path: Path) -> None:
    old = tmp_path / ".clean.tmp-abcd1234"  # the name earlier versions gave
    old.mkdir()
    fresh = tmp_path / ".clean.tmp-efgh5678"
    fresh.mkdir()
    long_ago = time.time() - 2 * store.STALE_SECONDS
    os.utime(old, (long_ago, long_ago))
    store.staging_dir(tmp_path / "clean")
    assert not old.exists() and fresh.exists()


def test_stamps_compare_as_json(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / store.STAMP_FILE).write_text(json.dumps({"sizes": [1, 2], "name": "a"}))
    assert store.is_current(folder, {"name": "a", "sizes": (1, 2)})  # a tuple is a JSON list
    assert not store.is_current(folder, {"name": "b", "sizes": (1, 2)})
    assert not store.is_current(tmp_path / "missing", {})


def test_json_text_is_strict_json_with_numpy_values() -> None:
    import json

    import numpy as np

    text = store.json_text(
        {"a": np.float32(0.5), "b": [np.int64(3), float("nan")], "c": (1, -np.inf)}
    )
    assert json.loads(text) == {"a": 0.5, "b": [3, None], "c": [1, None]}
    with pytest.raises(TypeError):
        store.json_text({"path": object()})


def _build_slowly(target: str, log: str) -> None:
    """build_once with a build that takes a while and notes each time it runs (for a subprocess)."""

    def build(staging: Path) -> None:
        with open(log, "a") as handle:
            handle.write("built\n")
        time.sleep(0.5)
        (staging / "out.txt").write_text("done")

    store.build_once(Path(target), {"v": 1}, build)


def test_two_processes_build_a_folder_once(tmp_path: Path) -> None:
    import multiprocessing

    target, log = tmp_path / "out", tmp_path / "log.txt"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_build_slowly, args=(str(target), str(log))) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert log.read_text() == "built\n"  # the second waited for the first, then reused its folder
    assert (target / "out.txt").read_text() == "done"
