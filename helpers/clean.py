"""Cleaning: from a folder of raw downloads (one sub-folder per class) to a clean copy + manifest.

SRC is only ever read. Every file is judged by its content, not its name; a kept file is decoded
by `helpers.images.load_rgb` (fully, EXIF-transposed, RGB on white) and written as PNG under
DEST/<class>/. DEST/manifest.csv has one row per input file saying what happened to it and why.
DEST is built in a temporary folder and renamed into place, and a stamp of SRC's file list,
sizes and times lets a re-run return at once when nothing changed.

The same picture in two classes (exactly or nearly) carries two labels that cannot both be
right, and nothing in the file says which one is: every copy is rejected as "conflicting
labels" rather than guessing (keeping it in one class) or training on both labels.
"""

from __future__ import annotations

import hashlib
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image, ImageFile, ImageOps
from tqdm import tqdm

from helpers import faces
from helpers.images import (
    DEFAULT_MAX_PIXELS,
    NEAR_DUPLICATE_BITS,
    ImageError,
    duplicate_groups,
    load_rgb,
    perceptual_hash,
)
from helpers.profiles import Profile
from helpers.store import build_once, files_digest, read_stamp

CLEAN_VERSION = 2  # bump when the rules change, so every DEST is rebuilt
MIN_SIDE = 100
NEAR_THRESHOLD = (
    NEAR_DUPLICATE_BITS  # Hamming distance (of 64 bits) within which two files are one picture
)
MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ["source", "class", "sha256", "status", "reason", "output", "face"]
KEPT, REJECTED = "kept", "rejected"
REASONS: tuple[str, ...] = (
    "not an image",
    "unsupported format",
    "decompression bomb",
    "undecodable or truncated",
    "too small",
    "exact duplicate",
    "near duplicate",
    "conflicting labels",
)


class CleanError(ValueError):
    """SRC or DEST cannot be cleaned as asked; the message says which and why."""


@dataclass
class Judged:
    """What cleaning learned about one input file."""

    source: str  # path relative to SRC, with forward slashes
    label: str  # the class folder it came from
    sha256: str
    size: int  # bytes
    reason: str = ""  # "" while the file is still a candidate to keep
    pixels: int = 0
    phash: int = 0
    output: str = ""  # path relative to DEST of the written PNG
    face: str = ""  # with face crops: faces.ONE_FACE, SEVERAL_FACES or NO_FACE


# ---------------------------------------------------------------- paths and inputs


def _is_hidden(path: Path) -> bool:
    """Folders such as .git or __MACOSX are not classes."""
    return path.name.startswith(".") or path.name == "__MACOSX"


def _check_paths(src: Path, dest: Path) -> None:
    """Refuse a missing SRC and a DEST that overlaps SRC (which could destroy the raw data)."""
    if not src.exists():
        raise FileNotFoundError(f"{src}: source folder does not exist")
    if not src.is_dir():
        raise NotADirectoryError(f"{src}: source is not a folder")
    real_src, real_dest = src.resolve(), dest.resolve()
    if real_dest == real_src or real_src in real_dest.parents:
        raise CleanError(f"{dest}: destination is inside the source folder {src}")
    if real_dest in real_src.parents:
        raise CleanError(f"{dest}: destination contains the source folder {src}")
    if dest.exists() and not dest.is_dir():
        raise NotADirectoryError(f"{dest}: destination exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and (read_stamp(dest) or {}).get("step") != "clean":
        raise CleanError(
            f"{dest}: destination exists, is not empty and was not made by clean "
            "(choose a new folder)"
        )


def class_folders(src: Path) -> list[Path]:
    """The class sub-folders of SRC, sorted by name; CleanError when there are none."""
    folders = sorted(p for p in src.iterdir() if p.is_dir() and not _is_hidden(p))
    if not folders:
        raise CleanError(f"{src}: no class folders (expected one sub-folder per class)")
    return folders


def input_files(src: Path) -> list[tuple[str, Path]]:
    """(class, path) for every file under every class folder, sorted; files at top level are not read."""
    found = []
    for folder in class_folders(src):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                found.append((folder.name, path))
    return found


def read_manifest(dest: Path) -> pd.DataFrame:
    """DEST/manifest.csv as a DataFrame (empty strings stay empty, not NaN)."""
    path = Path(dest) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest (run clean first)")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# ---------------------------------------------------------------- judging files


def _sha256(data: bytes) -> str:
    """Hex SHA-256 of a file's bytes: the identity of its content."""
    return hashlib.sha256(data).hexdigest()


def _output_name(folder: Path, stem: str, sha: str) -> str:
    """A PNG name in the class folder from the source's stem, made unique if needed."""
    name = f"{stem}.png"
    if (folder / name).exists():
        name = f"{stem}-{sha[:8]}.png"
    return name


def _judge(
    src: Path,
    label: str,
    path: Path,
    staging: Path,
    seen: dict[str, Judged],
    min_side: int,
    max_pixels: int,
    crop_faces: bool = False,
) -> Judged:
    """Decode one file, apply the per-file rules, and write it (cropped to its face) as PNG."""
    data = path.read_bytes()
    sha = _sha256(data)
    item = Judged(path.relative_to(src).as_posix(), label, sha, len(data))
    if sha in seen:  # identical bytes: identical verdict, no second decode
        first = seen[sha]
        item.reason, item.pixels, item.phash = first.reason, first.pixels, first.phash
        item.face = first.face
        return item
    seen[sha] = item
    try:
        rgb = load_rgb(path, max_pixels=max_pixels)
    except ImageError as error:
        item.reason = error.reason
        return item
    height, width = rgb.shape[:2]
    item.pixels = height * width
    if min(height, width) < min_side:
        item.reason = "too small"
        return item
    if crop_faces:  # the size rule judged the photo; the face in it may be smaller
        rgb, item.face, _ = faces.crop_to_face(rgb)
    item.phash = perceptual_hash(rgb)
    folder = staging / label
    folder.mkdir(parents=True, exist_ok=True)
    name = _output_name(folder, path.stem, sha)
    # PNG is lossless at every level; level 1 writes about 4x faster than the default 6
    Image.fromarray(rgb).save(folder / name, format="PNG", compress_level=1)
    item.output = f"{label}/{name}"
    return item


def _groups(items: list[Judged], threshold: int) -> list[list[int]]:
    """Groups (size > 1) of candidates that are one picture: equal bytes or close hashes."""
    labels = duplicate_groups(
        [item.sha256 for item in items], [item.phash for item in items], threshold
    )
    members: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(int(label), []).append(index)
    return [group for group in members.values() if len(group) > 1]


def _deduplicate(items: list[Judged], threshold: int) -> None:
    """Reject duplicates in place: keep the largest copy; reject every copy of a cross-class one."""
    candidates = [item for item in items if not item.reason]
    for group in _groups(candidates, threshold):
        copies = [candidates[i] for i in group]
        if len({copy.label for copy in copies}) > 1:
            for copy in copies:
                copy.reason = "conflicting labels"
            continue
        best = max(group, key=lambda i: (candidates[i].pixels, candidates[i].size, -i))
        keeper = candidates[best]
        for copy in copies:
            if copy is not keeper:
                same = copy.sha256 == keeper.sha256
                copy.reason = "exact duplicate" if same else "near duplicate"


def _manifest(items: list[Judged], staging: Path) -> pd.DataFrame:
    """One manifest row per input file; removes the PNGs of files rejected as duplicates."""
    rows = []
    for item in items:
        if item.reason and item.output:
            (staging / item.output).unlink()
            item.output = ""
        status = REJECTED if item.reason else KEPT
        rows.append(
            [item.source, item.label, item.sha256, status, item.reason, item.output, item.face]
        )
    return pd.DataFrame(rows, columns=MANIFEST_COLUMNS)


def _check_every_class_kept(manifest: pd.DataFrame, src: Path) -> None:
    """CleanError naming a class with no valid image, with its reasons."""
    for label, rows in manifest.groupby("class", sort=True):
        if (rows["status"] == KEPT).any():
            continue
        reasons = rows["reason"].value_counts()
        told = ", ".join(f"{count} {reason}" for reason, count in reasons.items())
        raise CleanError(f"{src / label}: class {label!r} has no valid image ({told})")


# ---------------------------------------------------------------- the public functions


def clean(
    src: Path | str,
    dest: Path | str,
    *,
    min_side: int = MIN_SIDE,
    near_threshold: int = NEAR_THRESHOLD,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    crop_faces: bool = False,
) -> pd.DataFrame:
    """Clean SRC/<class>/* into DEST/<class>/*.png + DEST/manifest.csv; return the manifest.

    With crop_faces each kept image is the square around its largest face (helpers.faces), and
    the manifest's `face` column says what the detector found; an image without a face is kept
    whole, because the detector misses some faces (dark-skinned ones most).

    Never writes to SRC. DEST is built once (helpers.store.build_once) and returned at once, with
    no decoding, while the rules' settings and every input file's name, size and time are the
    ones it was built from. Raises FileNotFoundError, NotADirectoryError or CleanError (a
    ValueError) for a missing SRC, SRC without class folders, DEST overlapping SRC, or a class
    left with no valid image.
    """
    src, dest = Path(src), Path(dest)
    _check_paths(src, dest)
    files = input_files(src)
    settings = {
        "min_side": min_side,
        "near_threshold": near_threshold,
        "max_pixels": max_pixels,
        "crop_faces": crop_faces,
    }
    stamp = {
        "step": "clean",
        "version": CLEAN_VERSION,
        "settings": settings,
        "files": files_digest([path for _, path in files], src),
    }
    build_once(dest, stamp, lambda staging: clean_into(src, files, staging, **settings))
    return read_manifest(dest)


def clean_into(
    src: Path,
    files: list[tuple[str, Path]],
    dest: Path,
    *,
    min_side: int,
    near_threshold: int,
    max_pixels: int,
    crop_faces: bool = False,
) -> pd.DataFrame:
    """Judge every file, write the kept ones and manifest.csv into the (new, empty) folder dest."""
    seen: dict[str, Judged] = {}
    items = [
        _judge(src, label, path, dest, seen, min_side, max_pixels, crop_faces)
        for label, path in tqdm(files, desc=f"cleaning {src.name}", unit="file", disable=None)
    ]
    _deduplicate(items, near_threshold)
    manifest = _manifest(items, dest)
    for folder in class_folders(src):
        (dest / folder.name).mkdir(exist_ok=True)
    _check_every_class_kept(manifest, src)
    manifest.to_csv(dest / MANIFEST, index=False)
    return manifest


def summarize(manifest: pd.DataFrame) -> pd.DataFrame:
    """Per class: files in, kept, and rejects by reason (only reasons that occur), plus a total."""
    table = pd.crosstab(manifest["class"], manifest["reason"].replace("", KEPT))
    reasons = [reason for reason in REASONS if reason in table.columns]
    table = table.reindex(columns=[KEPT, *reasons], fill_value=0)
    table.insert(0, "files", table.sum(axis=1))
    table.loc["total"] = table.sum(axis=0)
    table.index.name = "class"
    table.columns.name = None
    return table


def check_copy_target(src: Path, raw: Path) -> None:
    """Refuse a raw/ folder that would lie inside the reader's source folder, or contain it."""
    real_src, real_raw = Path(src).resolve(), Path(raw).resolve()
    if real_raw == real_src or real_src in real_raw.parents or real_raw in real_src.parents:
        raise CleanError(f"{raw}: the copy would overlap the source folder {src}")


def copy_class_folders(src: Path | str, dest: Path | str) -> Path:
    """Copy SRC/<class>/ (the reader's folders, only read) into dest/<class>/."""
    src, dest = Path(src), Path(dest)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: source folder does not exist")
    check_copy_target(src, dest)
    files = input_files(src)
    for folder in class_folders(src):
        (dest / folder.name).mkdir(parents=True, exist_ok=True)
    for _, path in tqdm(files, desc=f"copying {src.name}", unit="file", disable=None):
        target = dest / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return dest


def min_side_for(profile: Profile) -> int:
    """The smallest side kept: MIN_SIDE, except FER-2013, whose faces are all 48 x 48 pixels."""
    from helpers import fer

    return fer.SIDE if profile.source_kind == "fer" else MIN_SIDE


def folder_hashes(folder: Path | str) -> dict[str, str]:
    """SHA-256 of every file under a folder, by relative path: to prove a folder was not touched."""
    folder = Path(folder)
    return {
        path.relative_to(folder).as_posix(): _sha256(path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# ---------------------------------------------------------------- pictures for the chapter


def preview(
    path: Path | str, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray | None, str]:
    """Something to show for any file: (pixels or None, a note); draws truncated files too."""

    from helpers.images import sniff_format

    path = Path(path)
    data = path.read_bytes()
    fmt = sniff_format(data)
    if not data:
        return None, "empty file (0 bytes)"
    if fmt in (None, "svg", "html", "xml", "pdf"):
        text = data[:160].decode("utf-8", errors="replace")
        return None, f"{fmt or 'unknown'} content:\n{text}"
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # only to draw what a truncated file still holds
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                return None, f"not drawn: {width}x{height} pixels"
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB")), f"{width}x{height} px"
    except Image.DecompressionBombError:
        return None, "not drawn: Pillow refuses it as a decompression bomb"
    except Exception as error:  # anything Pillow cannot draw is described instead
        return None, f"cannot be drawn: {error}"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def reject_examples(manifest: pd.DataFrame) -> pd.DataFrame:
    """The first rejected file of each reason that occurs, in the order of REASONS."""
    rejected = manifest[manifest["status"] == REJECTED]
    firsts = rejected.groupby("reason", sort=False).head(1).set_index("reason")
    return firsts.reindex([r for r in REASONS if r in firsts.index]).reset_index()


def _short(name: str, width: int = 28) -> str:
    """A long web file name cut to fit under a thumbnail."""
    return name if len(name) <= width else name[: width - 12] + "…" + name[-11:]


def plot_reject_examples(
    manifest: pd.DataFrame,
    src: Path | str,
    columns: int = 4,
    examples: pd.DataFrame | None = None,
):
    """One panel per example (default: one per reason): drawn if it can be, described if not.

    `examples` may hold other picks, with the columns `source` and `title`.
    """

    if examples is None:
        examples = reject_examples(manifest).assign(title=lambda frame: frame["reason"])
    rows = max(1, -(-len(examples) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    picks = list(zip(examples["source"], examples["title"], strict=True))
    for ax, (source, title) in zip(axes.ravel(), picks, strict=False):
        pixels, note = preview(Path(src) / source)
        ax.set_axis_on()
        ax.set_xticks([])
        ax.set_yticks([])
        if pixels is not None:
            ax.imshow(pixels)
            size = note
        else:
            wrapped = "\n".join(textwrap.wrap(note.replace("\n", " "), 30)[:7])
            ax.text(0.03, 0.97, wrapped, va="top", ha="left", family="monospace", fontsize=7)
            size = "not drawable"
        ax.set_title(title, fontsize=10)
        label, name = source.split("/")[0], Path(source).name
        ax.set_xlabel(f"{label}/{_short(name)}\n{size}", fontsize=7)
    fig.suptitle("Rejected files: one example each")
    fig.tight_layout()
    return fig


def plot_kept_grid(
    clean_dir: Path | str, manifest: pd.DataFrame, per_class: int = 6, seed: int = 0
):
    """A random sample of kept images, one row per class (names from the manifest)."""

    kept = manifest[manifest["status"] == KEPT]
    labels = sorted(kept["class"].unique())
    fig, axes = plt.subplots(
        len(labels), per_class, figsize=(1.9 * per_class, 2.1 * len(labels)), squeeze=False
    )
    rng = np.random.default_rng(seed)
    for row, label in zip(axes, labels, strict=True):
        outputs = kept.loc[kept["class"] == label, "output"].to_numpy()
        chosen = rng.choice(outputs, size=min(per_class, len(outputs)), replace=False)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        for ax, output in zip(row, chosen, strict=False):
            with Image.open(Path(clean_dir) / output) as image:
                ax.imshow(np.asarray(image))
                ax.set_xlabel(f"{image.width}x{image.height} px", fontsize=8)
        row[0].set_ylabel(label, fontsize=12)
    fig.suptitle("Kept images, a random sample per class")
    fig.tight_layout()
    return fig


def plot_hash_distances(between: np.ndarray, threshold: int, copies: Sequence[int] | None = None):
    """A log-scale histogram of perceptual-hash distances: pairs of different images (and copies)."""

    bins = np.arange(-1, 66, 2)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist(between, bins=bins, color="C0", label="pairs of different kept images")
    if copies is not None:
        ax.hist(copies, bins=bins, color="C3", label="near duplicate vs its original")
    ax.axvline(threshold + 0.5, color="k", linestyle="--", label=f"threshold ({threshold} bits)")
    ax.set(title="Perceptual-hash distances", xlabel="Hamming distance (bits of 64)",
           ylabel="pairs", yscale="log")  # fmt: skip
    ax.set_ylim(top=ax.get_ylim()[1] * 30)  # room for the legend above the bars
    ax.legend(loc="upper right", fontsize=9)
    fig.tight_layout()
    return fig
