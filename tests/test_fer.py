"""The FER-2013 importer on small CSVs in FER-2013's format, with malformed rows mixed in."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import fer, pipeline


def face(value: int) -> str:
    """A 48x48 image of one grey value, as FER-2013's space-separated pixel string."""
    return " ".join([str(value)] * fer.PIXELS)


def write_csv(
    path: Path, rows: list[list[str]], header: tuple[str, ...] = fer.REQUIRED_COLUMNS
) -> Path:
    """Write rows under a header."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_import_keeps_happy_and_sad_and_reports_malformed_rows(tmp_path: Path) -> None:
    rows = [
        ["3", face(10), "Training"],  # line 2: happy
        ["4", face(20), "PublicTest"],  # line 3: sad
        ["0", face(30), "Training"],  # line 4: angry, skipped
        ["3", face(40).rsplit(" ", 5)[0], "Training"],  # line 5: too few pixels
        ["4", face(50).replace("50", "x5", 1), "Training"],  # line 6: not a number
        ["9", face(60), "Training"],  # line 7: unknown code
        ["3", "", "Training"],  # line 8: missing pixels
        ["3", face(70), "Validation"],  # line 9: unknown usage
        ["3", face(300), "Training"],  # line 10: out of range
        ["3", face(80), "PrivateTest"],  # line 11: happy
    ]
    source = write_csv(tmp_path / "fer2013.csv", rows)
    report = fer.import_fer2013(source, tmp_path / "raw", progress=False)

    assert report.written == {"happy": 2, "sad": 1}
    assert report.other_emotions == 1
    assert [line for line, _ in report.malformed] == [5, 6, 7, 8, 9, 10]
    problems = dict(report.malformed)
    assert "expected 2304" in problems[5]
    assert "not all whole numbers" in problems[6]
    assert "unknown emotion code 9" in problems[7]
    assert "missing value for pixels" in problems[8]
    assert "unknown Usage 'Validation'" in problems[9]
    assert "outside 0-255" in problems[10]

    happy = sorted((tmp_path / "raw" / "happy").glob("*.png"))
    assert [p.name for p in happy] == ["fer_000002.png", "fer_000011.png"]
    pixels = np.asarray(Image.open(happy[0]))
    assert pixels.shape == (48, 48) and (pixels == 10).all()
    with (tmp_path / "raw" / fer.USAGE_FILE).open() as handle:
        usage = list(csv.DictReader(handle))
    assert [(u["file"], u["usage"]) for u in usage] == [
        ("happy/fer_000002.png", "Training"),
        ("sad/fer_000003.png", "PublicTest"),
        ("happy/fer_000011.png", "PrivateTest"),
    ]
    assert "line 5:" in report.summary()


def test_reimport_replaces_the_folder_without_leftovers(tmp_path: Path) -> None:
    """Through the pipeline's raw step: a changed CSV is imported again, in one piece."""
    source = write_csv(tmp_path / "fer.csv", [["3", face(1), "Training"]])
    raw = pipeline.raw_from_fer(source, tmp_path / "raw")
    assert sorted(p.name for p in (raw / "happy").iterdir()) == ["fer_000002.png"]
    source = write_csv(
        tmp_path / "fer.csv", [["4", face(2), "Training"], ["4", face(3), "Training"]]
    )
    pipeline.raw_from_fer(source, raw)
    assert not list((raw / "happy").iterdir()) and len(list((raw / "sad").iterdir())) == 2
    assert "sad: 2 images" in (raw / fer.REPORT_FILE).read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fer.csv", "raw"]


def test_missing_file_and_wrong_header_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.csv: no such file"):
        fer.import_fer2013(tmp_path / "nope.csv", tmp_path / "raw")
    source = write_csv(tmp_path / "x.csv", [["3", face(1)]], header=("emotion", "pixels"))
    with pytest.raises(ValueError, match="missing column\\(s\\) Usage"):
        pipeline.raw_from_fer(source, tmp_path / "raw")
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"], "no half-written folder is left"


def test_an_import_never_overwrites_an_earlier_one_in_place(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "a.csv", [["3", face(1), "Training"]])
    fer.import_fer2013(source, tmp_path / "raw", progress=False)
    with pytest.raises(FileExistsError):
        fer.import_fer2013(source, tmp_path / "raw", progress=False)


def test_generated_csv_is_in_fer_format(tmp_path: Path) -> None:
    source = fer.write_fer_like_csv(tmp_path / "fake.csv", rows=50, seed=1, malformed_every=10)
    report = fer.import_fer2013(source, tmp_path / "raw", progress=False)
    assert len(report.malformed) == 5
    assert report.total_written + report.other_emotions + len(report.malformed) == 50
