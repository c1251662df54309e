"""FER-2013 importer: stream `fer2013.csv` into one folder per class, keeping the official usage.

The file (emotion,pixels,Usage; 48x48 grayscale as 2,304 space-separated values) is about
300 MB, so it is read one row at a time: memory does not grow with the file. Its licence does
not allow redistribution: the reader brings the file, nothing is downloaded.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

SIDE = 48
PIXELS = SIDE * SIDE
EMOTIONS = {
    0: "angry",
    1: "disgust",
    2: "fear",
    3: "happy",
    4: "sad",
    5: "surprise",
    6: "neutral",
}
DEFAULT_CLASSES = {3: "happy", 4: "sad"}
USAGES = ("Training", "PublicTest", "PrivateTest")
REQUIRED_COLUMNS = ("emotion", "pixels", "Usage")
USAGE_FILE = "usage.csv"
REPORT_FILE = "fer_report.txt"  # what the import kept, skipped and refused, by line


@dataclass
class FerReport:
    """What an import did: images written per class, rows skipped, malformed rows by line."""

    written: Counter = field(default_factory=Counter)
    other_emotions: int = 0
    malformed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total_written(self) -> int:
        """Images written over all classes."""
        return sum(self.written.values())

    def summary(self, show: int = 10) -> str:
        """A few lines for a reader: counts per class, skipped rows, the first malformed rows."""
        lines = [f"{name}: {count} images" for name, count in sorted(self.written.items())]
        lines.append(f"rows of other emotions skipped: {self.other_emotions}")
        lines.append(f"malformed rows: {len(self.malformed)}")
        lines += [f"  line {line}: {problem}" for line, problem in self.malformed[:show]]
        if len(self.malformed) > show:
            lines.append(f"  ... and {len(self.malformed) - show} more")
        return "\n".join(lines)


def parse_row(row: dict[str, str | None], classes: dict[int, str]) -> tuple[str, np.ndarray, str]:
    """Turn one CSV row into (class name or "" if not kept, 48x48 image, usage); ValueError if malformed."""
    missing = [name for name in REQUIRED_COLUMNS if not (row.get(name) or "").strip()]
    if missing:
        raise ValueError(f"missing value for {', '.join(missing)}")
    try:
        code = int(str(row["emotion"]).strip())
    except ValueError:
        raise ValueError(f"emotion {row['emotion']!r} is not a number") from None
    if code not in EMOTIONS:
        raise ValueError(f"unknown emotion code {code} (known: 0-6)")
    usage = str(row["Usage"]).strip()
    if usage not in USAGES:
        raise ValueError(f"unknown Usage {usage!r} (known: {', '.join(USAGES)})")
    values = str(row["pixels"]).split()
    if len(values) != PIXELS:
        raise ValueError(f"{len(values)} pixel values, expected {PIXELS}")
    try:
        pixels = np.array(values, dtype=np.int64)
    except ValueError:
        raise ValueError("pixel values are not all whole numbers") from None
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError("pixel values outside 0-255")
    image = pixels.astype(np.uint8).reshape(SIDE, SIDE)
    return classes.get(code, ""), image, usage


def check_header(fieldnames: list[str] | None, source: Path) -> None:
    """Refuse a file that is not in FER-2013's format before reading any row."""
    missing = [name for name in REQUIRED_COLUMNS if name not in (fieldnames or [])]
    if missing:
        raise ValueError(
            f"{source}: not a FER-2013 CSV: missing column(s) {', '.join(missing)} "
            f"(expected a header emotion,pixels,Usage)"
        )


def import_fer2013(
    source: Path, dest: Path, classes: dict[int, str] | None = None, progress: bool = True
) -> FerReport:
    """Stream a FER-2013 CSV into dest/<class>/fer_<line>.png plus dest/usage.csv; never crash on a row.

    dest is a new folder (the pipeline's staging folder, which it publishes when the import is
    complete); an existing file of the same name is refused rather than overwritten.
    """
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file (FER-2013 is not downloaded for you)")
    chosen = dict(classes or DEFAULT_CLASSES)
    report = FerReport()
    for name in set(chosen.values()):
        (dest / name).mkdir(parents=True, exist_ok=True)
    with (
        source.open(newline="", encoding="utf-8") as handle,
        (dest / USAGE_FILE).open("x", newline="") as usage_handle,
    ):
        reader = csv.DictReader(handle)
        check_header(reader.fieldnames, source)
        usage_writer = csv.writer(usage_handle)
        usage_writer.writerow(["file", "class", "usage"])
        rows = tqdm(reader, desc="FER-2013 rows", unit=" rows", disable=not progress)
        for row in rows:
            line = reader.line_num
            try:
                name, image, usage = parse_row(row, chosen)
            except ValueError as problem:
                report.malformed.append((line, str(problem)))
                continue
            if not name:
                report.other_emotions += 1
                continue
            relative = f"{name}/fer_{line:06d}.png"
            Image.fromarray(image, mode="L").save(dest / relative)
            usage_writer.writerow([relative, name, usage])
            report.written[name] += 1
    return report


def import_with_report(source: Path, dest: Path) -> FerReport:
    """Import into dest and keep the report (rows per class, malformed rows) as dest/fer_report.txt."""
    report = import_fer2013(source, dest)
    (Path(dest) / REPORT_FILE).write_text(report.summary() + "\n", encoding="utf-8")
    print(f"{Path(source).name}:\n{report.summary()}")
    return report


def write_fer_like_csv(path: Path, rows: int, seed: int = 0, malformed_every: int = 0) -> Path:
    """Write a FER-2013-format CSV of random faces (for tests and the memory benchmark)."""
    rng = np.random.default_rng(seed)
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REQUIRED_COLUMNS)
        for index in range(rows):
            emotion = int(rng.integers(0, 7))
            pixels = " ".join(map(str, rng.integers(0, 256, PIXELS)))
            usage = USAGES[int(rng.integers(0, 3))]
            if malformed_every and index % malformed_every == malformed_every - 1:
                pixels = pixels.rsplit(" ", 1)[0]
            writer.writerow([emotion, pixels, usage])
    return Path(path)
