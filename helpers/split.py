"""The leak-free split: stratified by class, by file, duplicates kept together, written once.

Chapter 3 teaches it: `split_frame` lists the clean images, finds their duplicate groups (chapter
1's `images.duplicate_groups`) and gives whole groups to subsets with chapter 3's `assign`
(helpers.taught). The later chapters read split.csv through helpers.pipeline's `ensure_split`,
and its tf.data pipelines through `make_datasets` (helpers.datasets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from helpers import store
from helpers.images import duplicate_groups
from helpers.profiles import DEFAULT_SEED
from helpers.store import atomic_write_text

SUBSETS: tuple[str, ...] = ("train", "val", "test")
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.7, 0.15, 0.15)
IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif"})
SPLIT_VERSION = 1  # bump when the splitting rules change, so every split.csv is rebuilt
SPLIT_FILE = "split.csv"
COLUMNS: tuple[str, ...] = ("path", "label", "subset", "group")


# --------------------------------------------------------------------------- finding the images


def list_images(clean_dir: Path) -> pd.DataFrame:
    """Every image in <clean_dir>/<class>/, as rows (path relative to clean_dir, label), sorted."""
    clean_dir = Path(clean_dir)
    if not clean_dir.is_dir():
        raise FileNotFoundError(f"{clean_dir} is not a folder: run the cleaning step first")
    rows = [
        (f"{folder.name}/{file.name}", folder.name)
        for folder in sorted(p for p in clean_dir.iterdir() if p.is_dir())
        for file in sorted(folder.iterdir())
        if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES
    ]
    return pd.DataFrame(rows, columns=["path", "label"])


def check_splittable(frame: pd.DataFrame, clean_dir: Path, subsets: int = len(SUBSETS)) -> None:
    """Refuse data a stratified split cannot work with: no images, one class, a tiny class."""
    if frame.empty:
        raise ValueError(f"{clean_dir} holds no images in class folders (<class>/<image>.png)")
    counts = frame["label"].value_counts().sort_index()
    if len(counts) < 2:
        raise ValueError(
            f"{clean_dir} holds one class only ({counts.index[0]!r}): a classifier needs two"
        )
    small = counts[counts < subsets]
    if not small.empty:
        raise ValueError(
            f"class(es) {dict(small)} in {clean_dir} have fewer images than the {subsets} subsets "
            "they must be split into"
        )


def check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    """Validate train/val/test fractions: three positive numbers that add up to 1."""
    values = tuple(float(f) for f in fractions)
    if len(values) != len(SUBSETS) or any(f <= 0 for f in values):
        raise ValueError(f"fractions must be three positive numbers (train, val, test): {values}")
    if not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise ValueError(f"fractions must add up to 1, got {values} (sum {sum(values):.4f})")
    return values


# --------------------------------------------------------------------------- duplicate groups

# (clean folder, table of paths) -> (exact content key, 64-bit perceptual hash) per row
KeyFunction = Callable[[Path, pd.DataFrame], tuple[list[str], list[int]]]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes: the key that finds exact duplicates."""
    return store.file_sha256(path)


def content_keys(clean_dir: Path, frame: pd.DataFrame) -> tuple[list[str], list[int]]:
    """Exact (sha256 of pixels' file) and perceptual keys for every row, via helpers.images."""
    from helpers import images

    exact, perceptual = [], []
    for rel in frame["path"]:
        path = Path(clean_dir) / rel
        exact.append(file_digest(path))
        perceptual.append(int(images.perceptual_hash(images.load_rgb(path))))
    return exact, perceptual


# --------------------------------------------------------------------------- the split itself


def split_frame(
    clean_dir: Path,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = DEFAULT_SEED,
    keys: KeyFunction | None = None,
) -> pd.DataFrame:
    """The split of a clean folder as a table (path, label, subset, group); nothing is written."""
    from helpers.taught import assign  # chapter 3's (imported here: helpers.taught loads Keras)

    fractions = check_fractions(fractions)
    frame = list_images(clean_dir)
    check_splittable(frame, Path(clean_dir))
    exact, perceptual = (keys or content_keys)(Path(clean_dir), frame)
    groups = duplicate_groups(exact, perceptual)
    subset = assign(frame, groups, dict(zip(SUBSETS, fractions, strict=True)), seed)
    return frame.assign(subset=subset.to_numpy(), group=groups)[list(COLUMNS)]


def write_split(frame: pd.DataFrame, folder: Path) -> Path:
    """Write a split table as folder/split.csv (the pipeline builds the folder, see helpers.pipeline)."""
    path = Path(folder) / SPLIT_FILE
    atomic_write_text(path, frame.to_csv(index=False))
    return path


def read_split(folder: Path) -> pd.DataFrame:
    """folder/split.csv as a table (path, label, subset, group)."""
    path = Path(folder) / SPLIT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no split (build it with helpers.pipeline.ensure_split)")
    return pd.read_csv(path)


OFFICIAL_SUBSETS = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}


def official_split_of(raw_dir: Path, clean_dir: Path) -> pd.DataFrame:
    """FER-2013's own split of a clean folder (path, label, subset), from raw/usage.csv.

    usage.csv names raw files; the cleaning manifest maps each raw file to its clean output, so
    an image rejected by cleaning has no row. Training -> train, PublicTest -> val (the public
    leaderboard), PrivateTest -> test (the final ranking).
    """
    from helpers import clean, fer  # fer and clean import nothing of this module

    usage_file = Path(raw_dir) / fer.USAGE_FILE
    if not usage_file.is_file():
        raise FileNotFoundError(f"{usage_file}: no official split (only FER-2013 sources have one)")
    usage = pd.read_csv(usage_file)[["file", "usage"]]
    manifest = clean.read_manifest(Path(clean_dir))
    kept = manifest.loc[manifest["status"] == "kept", ["source", "class", "output"]]
    joined = usage.merge(
        kept, left_on="file", right_on="source", how="inner", validate="one_to_one"
    )
    frame = pd.DataFrame(
        {
            "path": joined["output"].to_numpy(),
            "label": joined["class"].to_numpy(),
            "subset": joined["usage"].map(OFFICIAL_SUBSETS).to_numpy(),
        }
    )
    return frame.sort_values("path", ignore_index=True)
