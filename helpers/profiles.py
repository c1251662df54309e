"""Profiles: one place that sets data size, image size, epochs and batch size, and the source.

The source is where the images come from: `synthetic` (the book's generator, the default), a
folder (one sub-folder of images per class, or one <class>.zip per class as a browser saves
them) or a FER-2013 CSV. A non-default source gets its own data and artifacts folders,
data/<profile>-<slug>-<hash>/, so switching sources never mixes images or models.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from helpers.paths import artifacts_dir, data_dir

DEFAULT_PROFILE = "full"
DEFAULT_SEED = 42  # the book's one seed: data, split, weights, shuffling
ENV_VAR = "BOOK_PROFILE"
SOURCE_ENV_VAR = "BOOK_SOURCE"
CROP_ENV_VAR = "BOOK_CROP_FACES"  # "1" or "0": crop photos to their largest face, or not
SYNTHETIC = "synthetic"
FER_COLUMNS = ("emotion", "pixels", "Usage")
SOURCE_HELP = (
    "expected 'synthetic', a folder with one sub-folder of images per class, "
    "a folder of <class>.zip files, or a FER-2013 CSV (emotion,pixels,Usage)"
)


def _visible(path: Path) -> bool:
    """Hidden entries (.git, .DS_Store) and macOS's __MACOSX are never classes."""
    return not path.name.startswith(".") and path.name != "__MACOSX"


def _fer_header(path: Path) -> list[str]:
    """The first row of a CSV file, or [] if it cannot be read as text."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


MIN_PER_CLASS = 10  # files a class needs before cleaning: a stratified split and 5-fold baseline


def _class_sizes(path: Path, kind: str) -> dict[str, int]:
    """Files per class of a folder source (class folders, or entries per <class>.zip)."""
    if kind == "folder":
        folders = sorted(p for p in path.iterdir() if p.is_dir() and _visible(p))
        return {
            f.name: sum(1 for q in f.rglob("*") if q.is_file() and _visible(q)) for f in folders
        }
    sizes = {}
    for archive in sorted(p for p in path.glob("*.zip") if p.is_file() and _visible(p)):
        try:
            with zipfile.ZipFile(archive) as handle:
                sizes[archive.stem] = sum(1 for info in handle.infolist() if not info.is_dir())
        except (OSError, zipfile.BadZipFile):
            sizes[archive.stem] = 0  # a damaged zip is reported by the extraction, by name
    return sizes


def check_source(path: Path, several_classes: bool = False) -> str:
    """The kind of a source path ('folder', 'zips' or 'fer'); a clear error if it is none.

    A folder source must hold exactly two classes (the book's model is binary; with
    several_classes, as the multi-class chapter reads it, two or more), each with at
    least MIN_PER_CLASS files, and no class folder may be a link (a link to the source itself
    would make it a class of its own); the message says what was found.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: source does not exist ({SOURCE_HELP})")
    if not path.is_dir():
        header = [name.strip() for name in _fer_header(path)]
        missing = [name for name in FER_COLUMNS if name not in header]
        if missing:
            raise ValueError(
                f"{path}: not a FER-2013 CSV (its first line lacks {', '.join(missing)}; "
                f"{SOURCE_HELP})"
            )
        return "fer"
    links = sorted(p.name for p in path.iterdir() if p.is_symlink() and p.is_dir() and _visible(p))
    if links:
        raise ValueError(
            f"{path}: class folder(s) {', '.join(links)} are links; the book reads real folders "
            "only (a link can lead back into the source): copy the images in instead"
        )
    folders = [p for p in path.iterdir() if p.is_dir() and _visible(p)]
    kind = "folder" if folders else "zips"
    sizes = _class_sizes(path, kind)
    found = ", ".join(f"{name}: {count}" for name, count in sizes.items())
    if not sizes:
        raise ValueError(f"{path}: no class sub-folders and no <class>.zip files ({SOURCE_HELP})")
    if len(sizes) < 2 and several_classes:
        raise ValueError(f"{path}: a classifier needs two classes or more; this source has {found}")
    if len(sizes) != 2 and not several_classes:
        raise ValueError(
            f"{path}: the book's model tells two classes apart; this source has {len(sizes)} "
            f"({found}): keep the two you want in a folder of their own"
        )
    small = [name for name, count in sizes.items() if count < MIN_PER_CLASS]
    if small:
        raise ValueError(
            f"{path}: every class needs at least {MIN_PER_CLASS} files to be split and "
            f"measured; {', '.join(small)} has fewer ({found})"
        )
    return kind


def resolve_source(source: str | os.PathLike | None = None) -> str:
    """The source to use: the argument, else $BOOK_SOURCE, else 'synthetic'; a path made absolute.

    get_profile checks it (check_source) and records its kind.
    """
    chosen = str(source or os.environ.get(SOURCE_ENV_VAR) or SYNTHETIC).strip()
    if chosen == SYNTHETIC:
        return SYNTHETIC
    return str(Path(chosen).expanduser().resolve())


def source_slug(source: str) -> str:
    """A short folder-name part for a source: its name as a slug plus 8 hex digits of its path's hash."""
    if source == SYNTHETIC:
        return SYNTHETIC
    stem = Path(source).stem if Path(source).suffix.lower() == ".csv" else Path(source).name
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:24] or "source"
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}"


PHOTO_KINDS = ("folder", "zips")  # sources of photos, which get face crops by default


@dataclass(frozen=True)
class Profile:
    """Every size the chapters depend on, for one profile."""

    name: str
    faces_per_class: int  # synthetic faces generated per class (before junk is added)
    image_size: int  # side of the square model input, in pixels
    epochs: int
    batch_size: int
    fresh_faces: int = 100  # the shared fresh draw every comparison is judged on (helpers.fresh)
    seed: int = DEFAULT_SEED
    source: str = SYNTHETIC  # 'synthetic' or an absolute path (see resolve_source)
    source_kind: str = (
        SYNTHETIC  # 'synthetic', 'folder', 'zips' or 'fer', found once (check_source)
    )
    crop_faces: bool = False  # crop each image to its largest face (photos: on; see get_profile)

    @property
    def folder_name(self) -> str:
        """The name of this profile's data and artifacts folders: one per profile and source."""
        return self.name if self.source == SYNTHETIC else f"{self.name}-{source_slug(self.source)}"

    @property
    def generated(self) -> bool:
        """True when the images come from the book's generator, which knows each face's truth."""
        return self.source == SYNTHETIC

    @property
    def data(self) -> Path:
        """This profile's data folder (its own folder for each source)."""
        return data_dir(self.folder_name)

    @property
    def artifacts(self) -> Path:
        """This profile's artifacts folder (its own folder for each source)."""
        return artifacts_dir(self.folder_name)

    @property
    def clean_folder(self) -> Path:
        """data/<P>/clean/: chapter 1's clean images and manifest, which the later chapters read."""
        return self.data / "clean"

    @property
    def split_folder(self) -> Path:
        """data/<P>/split/: chapter 3's split.csv and its stamp."""
        return self.data / "split"

    @property
    def baseline_model(self) -> Path:
        """artifacts/<P>/baseline/model.keras: chapter 5's model, which the later chapters use."""
        return self.artifacts / "baseline" / "model.keras"

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Model input shape (height, width, channels)."""
        return (self.image_size, self.image_size, 3)


PROFILES: dict[str, Profile] = {
    "full": Profile(
        name="full",
        faces_per_class=155,
        # 128 px, not the original's 256: a drawn face keeps its mouth and brows at 128, and
        # every convolution does a quarter of the work (chapter 4 still builds the model at 256
        # to compare it with the original's parameter count)
        image_size=128,
        epochs=20,
        batch_size=32,
        fresh_faces=2000,
    ),
    "smoke": Profile(
        name="smoke",
        faces_per_class=40,
        image_size=64,
        epochs=2,
        batch_size=16,
    ),
}


def profile_name(name: str | None = None) -> str:
    """Resolve a profile name: the argument, else $BOOK_PROFILE, else 'full'."""
    chosen = name or os.environ.get(ENV_VAR) or DEFAULT_PROFILE
    if chosen not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown profile {chosen!r}: choose one of {known}")
    return chosen


def get_profile(
    name: str | None = None, source: str | os.PathLike | None = None, several_classes: bool = False
) -> Profile:
    """The Profile for a name and source (see profile_name, resolve_source and check_source)."""
    chosen = PROFILES[profile_name(name)]
    resolved = resolve_source(source)
    if resolved == SYNTHETIC:
        return chosen
    kind = check_source(Path(resolved), several_classes)
    # photos show scenes, so their faces are found and cropped; FER-2013's faces are framed
    return dataclasses.replace(
        chosen, source=resolved, source_kind=kind, crop_faces=crop_setting(kind in PHOTO_KINDS)
    )


def crop_setting(default: bool) -> bool:
    """Whether to crop to faces: $BOOK_CROP_FACES ("1" or "0") if set, else the source's default.

    One setting for every chapter and the command line, so they all read the same clean images.
    """
    value = os.environ.get(CROP_ENV_VAR, "").strip()
    if not value:
        return default
    if value not in ("0", "1"):
        raise ValueError(
            f"${CROP_ENV_VAR} must be 1 (crop to faces) or 0 (keep whole), got {value!r}"
        )
    return value == "1"
