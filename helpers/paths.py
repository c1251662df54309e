"""Where things live: every path is resolved from the repository root, never the working directory."""

from __future__ import annotations

import shutil
import tempfile
import uuid
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


def staging_dir(final: Path) -> Path:
    """A fresh hidden folder beside `final` (same file system, so the rename is atomic)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the published folder is an ordinary one
    return staging


def publish(staging: Path, final: Path, attempts: int = 5) -> None:
    """Rename a finished folder into place, replacing an older one (atomic for readers)."""
    for _ in range(attempts):
        try:
            staging.rename(final)
            return
        except OSError:
            if not final.exists():
                continue
        trash = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            final.rename(trash)
        except OSError:
            continue  # someone else replaced it at the same moment: try again
        shutil.rmtree(trash, ignore_errors=True)
    staging.rename(final)
