"""How the book writes what it makes: one way to write a file, one way to build a folder once.

- `atomic_write_text` / `atomic_write_bytes` / `atomic_save`: write beside the target, then
  `os.replace` it into place, so a reader sees the old file or the new one, never half of one.
- `build_once(target, stamp, build)`: the folder `target` is current when its stamp file equals
  `stamp` (what it was built from: settings, input files' sizes and times, code versions).
  Otherwise `build(staging)` fills a fresh staging folder beside it, the stamp is written into
  that folder, and the folder is published in place of the old one. Every cached step of the
  pipeline (downloads, raw, clean) is built this way; see helpers.pipeline. One process builds
  a folder at a time (`exclusive`): another that needs it meanwhile waits, then reuses it.
- A staging folder's name carries the process id that made it, so a run killed half-way
  (SIGKILL, a power cut) leaves nothing that the next run of the same step does not remove.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

STAMP_FILE = ".stamp.json"
STALE_SECONDS = 3600  # a scratch folder without a readable pid counts as abandoned after this
_PID_NAME = re.compile(r"-(\d+)-[A-Za-z0-9_]+$")


# --- files ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _temporary_beside(target: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path in target's folder (same file system, so os.replace is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
    finally:
        temporary.unlink(missing_ok=True)


def atomic_save(target: Path | str, save: Callable[[Path], object]) -> Path:
    """Let `save(path)` write a file (PIL, Keras, pandas ...) and move it into place atomically.

    The temporary file keeps target's suffix, for writers that choose a format by it.
    """
    target = Path(target)
    with _temporary_beside(target, suffix=target.suffix) as temporary:
        save(temporary)
        temporary.chmod(_ordinary_mode())  # mkstemp's file is private; the result is not
        os.replace(temporary, target)
    return target


def _ordinary_mode() -> int:
    """The mode open() gives a new file: rw for all, less the process's umask (usually 0o644)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(target: Path | str, data: bytes) -> Path:
    """Write bytes to target through a temporary file and a rename."""
    return atomic_save(target, lambda path: path.write_bytes(data))


def json_text(value: Any, indent: int | None = 1) -> str:
    """Strict JSON (what a browser's JSON.parse accepts): NaN and infinities become null.

    NumPy numbers become plain numbers; a value JSON cannot hold raises TypeError.
    """

    def plain(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {str(key): plain(inner) for key, inner in item.items()}
        if isinstance(item, (list, tuple)):
            return [plain(inner) for inner in item]
        if hasattr(item, "item") and callable(item.item):  # a NumPy scalar
            item = item.item()
        if isinstance(item, float) and not math.isfinite(item):
            return None
        return item

    return json.dumps(plain(value), indent=indent, allow_nan=False) + "\n"


def atomic_write_text(target: Path | str, text: str) -> Path:
    """Write UTF-8 text to target through a temporary file and a rename."""
    return atomic_write_bytes(target, text.encode("utf-8"))


# --- scratch and staging folders ------------------------------------------------------------------


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (assumed alive where that cannot be asked)."""
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, and belongs to someone else
        return True
    return True


def _abandoned(folder: Path) -> bool:
    """A scratch folder whose maker is gone (or, without a pid in its name, that is old)."""
    match = _PID_NAME.search(folder.name)
    if match and int(match.group(1)) != os.getpid():
        return not _alive(int(match.group(1)))
    try:
        return not match and time.time() - folder.stat().st_mtime > STALE_SECONDS
    except OSError:
        return False


def remove_abandoned(parent: Path, prefix: str) -> list[Path]:
    """Delete the scratch folders under parent named prefix* whose process has died."""
    removed = []
    if parent.is_dir():
        for folder in parent.glob(f"{glob_escape(prefix)}*"):
            if folder.is_dir() and _abandoned(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def glob_escape(text: str) -> str:
    """A name with glob's special characters quoted."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def scratch_dir(parent: Path, prefix: str) -> Path:
    """A fresh folder parent/<prefix><pid>-<random>, after clearing abandoned ones of the prefix."""
    parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(parent, prefix)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
    folder.chmod(0o755)  # mkdtemp makes it private; a published folder is an ordinary one
    return folder


def staging_dir(final: Path) -> Path:
    """A fresh hidden folder beside `final`, in which it is built before publish()."""
    remove_abandoned(final.parent, f".{final.name}.old-")
    return scratch_dir(final.parent, f".{final.name}.tmp-")


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux's renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    status = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    if status == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def publish(staging: Path, final: Path) -> None:
    """Put a finished folder in place of `final`.

    A new `final` appears in one rename. An existing one is exchanged with the staging folder
    in one step where the system can (Linux), so readers see the old or the new folder and never
    neither; elsewhere the old folder is renamed away first, and `final` is missing for the
    moment between the two renames. The old contents are deleted afterwards.
    """
    if not final.exists():
        try:
            staging.rename(final)
            return
        except OSError:
            if not final.exists():
                raise
    if _exchange(staging, final):
        shutil.rmtree(staging, ignore_errors=True)  # it now holds the old contents
        return
    trash = final.with_name(f".{final.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    final.rename(trash)
    staging.rename(final)
    shutil.rmtree(trash, ignore_errors=True)


# --- building a folder once -----------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, read in chunks (a model file, an export, an image)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def files_digest(files: Iterable[Path], root: Path) -> str:
    """SHA-256 over each file's path (relative to root), size and modification time.

    The part of a stamp that says which inputs an output was built from: a file added,
    removed, renamed or rewritten changes it, without reading any file's content.
    """
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in files):
        info = path.stat()
        line = f"{path.relative_to(root).as_posix()}|{info.st_size}|{info.st_mtime_ns}\n"
        digest.update(line.encode("utf-8"))
    return digest.hexdigest()


def read_stamp(folder: Path, name: str = STAMP_FILE) -> Any:
    """The stamp a folder was built with, or None when it has none (or it cannot be read)."""
    try:
        return json.loads((Path(folder) / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_current(folder: Path, stamp: Mapping[str, Any], name: str = STAMP_FILE) -> bool:
    """True when the folder was built from exactly this stamp."""
    return read_stamp(folder, name) == json.loads(json.dumps(stamp))


def lock_file(target: Path) -> Path:
    """Where the lock of a folder being built lives: the temporary folder, keyed by its path."""
    key = hashlib.sha256(str(Path(target).resolve()).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "happy-or-sad-locks"
    folder.mkdir(exist_ok=True)
    return folder / f"{key}.lock"


@contextlib.contextmanager
def exclusive(target: Path) -> Iterator[None]:
    """Hold target's lock: other processes asking for it wait (no lock where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: at worst two processes build the same folder
        yield
        return
    with open(lock_file(target), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(
    target: Path,
    stamp: Mapping[str, Any],
    build: Callable[[Path], object],
    name: str = STAMP_FILE,
) -> Path:
    """The folder `target` built by `build(staging)`, unless it is current for `stamp` already."""
    target = Path(target)
    if is_current(target, stamp, name):
        return target
    with exclusive(target):
        if is_current(target, stamp, name):  # another process built it while this one waited
            return target
        staging = staging_dir(target)
        try:
            build(staging)
            atomic_write_text(staging / name, json.dumps(stamp, indent=1, sort_keys=True) + "\n")
            publish(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
