"""Tests for `python -m helpers`: exit 0 with a summary, exit 2 with one line for bad input."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.__main__ import REGISTRATIONS, build_parser, main


def picture(path: Path, seed: int, fmt: str = "PNG") -> bytes:
    """Write a distinct 120 x 150 picture and return its bytes."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((150, 120), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def zip_of(path: Path, entries: dict[str, bytes]) -> Path:
    """A zip archive holding the given entries."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A small SRC with two classes of two pictures and one junk file."""
    root = tmp_path / "raw"
    for index, label in enumerate(["happy", "sad"]):
        picture(root / label / "a.png", 2 * index)
        picture(root / label / "b.jpg", 2 * index + 1, "JPEG")
    (root / "happy" / "icon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return root


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    """main() in-process: (exit status, stdout, stderr)."""
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status: int, err: str, *fragments: str) -> None:
    """Exit 2, exactly one 'error: ...' line on stderr naming the problem, no traceback."""
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# ------------------------------------------------------------------------- extract


def test_extract_succeeds_with_a_summary(tmp_path: Path, capsys) -> None:
    archive = zip_of(tmp_path / "happy.zip", {"x.jpg": b"1", "y.jpg": b"2"})
    status, out, err = run_main(["extract", str(archive), str(tmp_path / "out")], capsys)
    assert status == 0 and err == ""
    assert "extracted 2 file(s)" in out
    assert (tmp_path / "out" / "y.jpg").read_bytes() == b"2"


@pytest.mark.parametrize(
    ("entries", "fragments"),
    [
        ({"ok.jpg": b"1", "../evil.jpg": b"2"}, ("'../evil.jpg'", "'..' component")),
        ({"/abs.jpg": b"2"}, ("'/abs.jpg'", "absolute path")),
        ({"zeros": bytes(3 * 1024**2)}, ("'zeros'", "compression ratio")),
    ],
)
def test_extract_refuses_an_unsafe_archive(tmp_path: Path, capsys, entries, fragments) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for name, data in entries.items():
            handle.writestr(name, data)
    status, _, err = run_main(["extract", str(archive), str(tmp_path / "out")], capsys)
    assert_one_line_error(status, err, *fragments)
    assert not (tmp_path / "out").exists()


def test_extract_missing_archive(tmp_path: Path, capsys) -> None:
    status, _, err = run_main(["extract", str(tmp_path / "nope.zip"), str(tmp_path / "o")], capsys)
    assert_one_line_error(status, err, "nope.zip", "no such archive")


def test_extract_not_an_archive(tmp_path: Path, capsys) -> None:
    fake = tmp_path / "photos.zip"
    fake.write_text("<html>this download failed</html>")
    status, _, err = run_main(["extract", str(fake), str(tmp_path / "o")], capsys)
    assert_one_line_error(status, err, "photos.zip", "not a zip or tar archive")


def test_extract_corrupt_archive(tmp_path: Path, capsys) -> None:
    data = zip_of(tmp_path / "ok.zip", {"x.jpg": b"1" * 500}).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[:40])
    status, _, err = run_main(["extract", str(cut), str(tmp_path / "o")], capsys)
    assert_one_line_error(status, err, "cut.zip", "corrupt")


# ------------------------------------------------------------------------- clean


def test_clean_succeeds_with_a_summary_table(src: Path, tmp_path: Path, capsys) -> None:
    status, out, err = run_main(["clean", str(src), str(tmp_path / "clean")], capsys)
    assert status == 0 and "Traceback" not in err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["files", "kept", "unsupported"]
    assert lines[2].split()[:4] == ["happy", "3", "2", "1"]
    assert lines[3].split()[:3] == ["sad", "2", "2"]
    assert "manifest.csv" in lines[-1]
    assert (tmp_path / "clean" / "manifest.csv").is_file()


def test_clean_missing_src(tmp_path: Path, capsys) -> None:
    status, _, err = run_main(["clean", str(tmp_path / "nope"), str(tmp_path / "c")], capsys)
    assert_one_line_error(status, err, "nope", "does not exist")


def test_clean_src_without_class_folders(tmp_path: Path, capsys) -> None:
    (tmp_path / "flat").mkdir()
    picture(tmp_path / "flat" / "x.png", 1)
    status, _, err = run_main(["clean", str(tmp_path / "flat"), str(tmp_path / "c")], capsys)
    assert_one_line_error(status, err, "no class folders")


def test_clean_class_without_a_valid_image(src: Path, tmp_path: Path, capsys) -> None:
    for path in (src / "sad").iterdir():
        path.write_bytes(b"")
    status, _, err = run_main(["clean", str(src), str(tmp_path / "c")], capsys)
    assert_one_line_error(status, err, "class 'sad' has no valid image", "2 not an image")
    assert not (tmp_path / "c").exists()


def test_clean_dest_inside_src(src: Path, capsys) -> None:
    status, _, err = run_main(["clean", str(src), str(src / "happy" / "clean")], capsys)
    assert_one_line_error(status, err, "inside the source")
    assert not (src / "happy" / "clean").exists()


def test_clean_src_is_a_file(tmp_path: Path, capsys) -> None:
    picture(tmp_path / "x.png", 1)
    status, _, err = run_main(["clean", str(tmp_path / "x.png"), str(tmp_path / "c")], capsys)
    assert_one_line_error(status, err, "not a folder")


# ------------------------------------------------------------------------- the module itself


def test_python_dash_m_helpers_runs_as_a_program(src: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "helpers"]
    good = subprocess.run(
        [*command, "clean", str(src), str(tmp_path / "c")], capture_output=True, text=True, env=env
    )
    assert good.returncode == 0, good.stderr
    assert "happy" in good.stdout and "sad" in good.stdout
    bad = subprocess.run(
        [*command, "extract", str(tmp_path / "missing.tgz"), str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2
    assert_one_line_error(bad.returncode, bad.stderr, "missing.tgz")


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["clean", "only-one-path"])
    assert caught.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_every_registered_command_is_in_the_parser() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them here
    assert {"extract", "clean"} <= set(commands)
    assert len(REGISTRATIONS) == len(commands)


# ------------------------------------------------------------------------- out of memory

ASKED = "Unable to allocate 74.5 GiB for an array with shape (100000, 100000) and data type uint64"


def assert_out_of_memory(status: int, err: str, *fragments: str) -> None:
    """Exit 1, exactly one 'error: out of memory while ...' line on stderr, no traceback."""
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: out of memory while ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def exhausted(*args, **kwargs):
    """Stand-in for a step that runs out of memory the way NumPy does."""
    raise MemoryError(ASKED)


def test_clean_out_of_memory_names_the_files_in_one_line(
    src: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr("helpers.clean.clean", exhausted)
    status, out, err = run_main(["clean", str(src), str(tmp_path / "c")], capsys)
    assert_out_of_memory(status, err, f"cleaning 5 files of {src}", ASKED, "fewer files")
    assert out == ""


def test_out_of_memory_without_a_message_still_names_the_step(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    def bare(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("helpers.extract.safe_extract", bare)
    archive = zip_of(tmp_path / "a.zip", {"x.jpg": b"1"})
    status, _, err = run_main(["extract", str(archive), str(tmp_path / "o")], capsys)
    assert_out_of_memory(status, err, f"extracting {archive}:")


def test_out_of_memory_is_one_line_from_the_program_too(src: Path, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "import helpers.clean\n"
        "def exhausted(*args, **kwargs):\n"
        f"    raise MemoryError({ASKED!r})\n"
        "helpers.clean.clean = exhausted\n"
        "from helpers.__main__ import main\n"
        f"sys.exit(main(['clean', {str(src)!r}, {str(tmp_path / 'c')!r}]))\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert_out_of_memory(done.returncode, done.stderr, "cleaning 5 files", ASKED)
