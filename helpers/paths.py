"""Where things live: every path is resolved from the repository root, never the working directory."""

from __future__ import annotations

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
