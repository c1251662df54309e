"""Where things live: every path is resolved from the repository root, never the working directory."""

from __future__ import annotations

from pathlib import Path

ROOT: Path = Path(__file__).resolve().parent.parent
NOTEBOOKS: Path = ROOT / "notebooks"
CHAPTERS: Path = ROOT / "book" / "chapters"
BUILD: Path = ROOT / "_build"


def data_dir(profile: str) -> Path:
    """Folder for one profile's generated data (downloads, raw, clean, split)."""
    return ROOT / "data" / profile


def artifacts_dir(profile: str) -> Path:
    """Folder for one profile's model, history, logs and metrics."""
    return ROOT / "artifacts" / profile


def ensure_dir(path: Path) -> Path:
    """Create a folder (and parents) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path
