"""Safe archive extraction: zip and tar entries land inside DEST or nothing is written at all.

An archive from the web is untrusted input. Every entry is checked before a single byte is
written: no absolute path, no `..`, no link or device file, and sane limits on the number of
entries, their total size and their compression ratio (a "zip bomb" is a small archive that
expands to fill the disk). The data are then written into a hidden staging folder inside DEST
and moved into place only when every entry decoded cleanly.
"""

from __future__ import annotations

import lzma
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from helpers.store import scratch_dir

MAX_TOTAL_BYTES = 2 * 1024**3  # 2 GiB uncompressed in all
MAX_ENTRIES = 10_000
MAX_RATIO = 100.0  # uncompressed / compressed; photos compress about 1:1, text 1:10
RATIO_MIN_BYTES = 1024**2  # the ratio rule applies to entries (and archives) above 1 MiB
_COPY_CHUNK = 1024**2
# What the zip, tar, gzip, bz2 and xz readers raise for damaged data.
_READ_ERRORS = (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)


class UnsafeArchiveError(ValueError):
    """An archive entry breaks a safety rule; the message names the entry and the rule."""

    def __init__(self, archive: Path, entry: str, rule: str) -> None:
        super().__init__(f"{archive}: refused entry {entry!r}: {rule}")
        self.archive = archive
        self.entry = entry
        self.rule = rule


class ArchiveError(ValueError):
    """The file is not an archive, or the archive is corrupt or truncated."""


@dataclass(frozen=True)
class Entry:
    """One archive member as the checks see it."""

    name: str  # as stored in the archive
    parts: tuple[str, ...]  # safe relative path components
    is_dir: bool
    size: int  # uncompressed bytes
    compressed: int | None  # compressed bytes (zip only)


def archive_kind(path: Path) -> str:
    """'zip' or 'tar' by content; ArchiveError for anything else or for a damaged archive."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if not zipfile.is_zipfile(path):
            raise ArchiveError(f"{path}: corrupt or truncated zip archive (no central directory)")
        return "zip"
    compressed = head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"))
    if compressed or head[257:262] == b"ustar":
        return "tar"
    if zipfile.is_zipfile(path):  # a zip with a prefix (a self-extracting archive)
        return "zip"
    raise ArchiveError(f"{path}: not a zip or tar archive")


def _safe_parts(archive: Path, name: str) -> tuple[str, ...]:
    """The relative path components of an entry name, or UnsafeArchiveError."""
    if not name or "\x00" in name:
        raise UnsafeArchiveError(archive, name, "empty name or NUL character in the name")
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise UnsafeArchiveError(archive, name, "absolute path (would write outside DEST)")
    parts = tuple(part for part in PurePosixPath(unified).parts if part not in ("", "."))
    if ".." in parts:
        raise UnsafeArchiveError(archive, name, "'..' component (would write outside DEST)")
    if not parts:
        raise UnsafeArchiveError(archive, name, "name resolves to DEST itself")
    return parts


def _zip_entries(archive: Path, handle: zipfile.ZipFile) -> Iterator[Entry]:
    """Check each zip member's type; yield it as an Entry."""
    for info in handle.infolist():
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            raise UnsafeArchiveError(archive, info.filename, "symbolic link")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchiveError(archive, info.filename, "device or special file")
        if info.flag_bits & 0x1:
            raise UnsafeArchiveError(archive, info.filename, "encrypted entry")
        parts = _safe_parts(archive, info.filename)
        yield Entry(info.filename, parts, info.is_dir(), info.file_size, info.compress_size)


def _tar_entries(archive: Path, handle: tarfile.TarFile) -> Iterator[Entry]:
    """Check each tar member's type; yield it as an Entry (streaming, so limits stop early)."""
    for member in handle:
        if member.issym():
            raise UnsafeArchiveError(archive, member.name, f"symbolic link to {member.linkname!r}")
        if member.islnk():
            raise UnsafeArchiveError(archive, member.name, f"hard link to {member.linkname!r}")
        if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
            raise UnsafeArchiveError(archive, member.name, "device or special file")
        if not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(archive, member.name, "not a regular file or folder")
        parts = _safe_parts(archive, member.name)
        yield Entry(member.name, parts, member.isdir(), member.size, None)


def _check_limits(
    archive: Path,
    entries: Iterator[Entry],
    max_total_bytes: int,
    max_entries: int,
    max_ratio: float,
) -> list[Entry]:
    """Apply the count, size, ratio and duplicate-name rules; return the checked entries."""
    checked: list[Entry] = []
    seen: set[tuple[str, ...]] = set()
    total = 0
    for entry in entries:
        if len(checked) >= max_entries:
            raise UnsafeArchiveError(archive, entry.name, f"more than {max_entries:,} entries")
        total += entry.size
        if total > max_total_bytes:
            raise UnsafeArchiveError(
                archive, entry.name, f"total uncompressed size exceeds {max_total_bytes:,} bytes"
            )
        if entry.compressed is not None and entry.size >= RATIO_MIN_BYTES:
            ratio = entry.size / max(entry.compressed, 1)
            if ratio > max_ratio:
                raise UnsafeArchiveError(
                    archive, entry.name, f"compression ratio {ratio:,.0f} exceeds {max_ratio:g}"
                )
        if entry.parts in seen and not entry.is_dir:
            raise UnsafeArchiveError(archive, entry.name, "the same path appears twice")
        seen.add(entry.parts)
        checked.append(entry)
    packed = archive.stat().st_size
    if total >= RATIO_MIN_BYTES and total / max(packed, 1) > max_ratio:
        raise UnsafeArchiveError(
            archive,
            checked[-1].name,
            f"whole-archive compression ratio {total / max(packed, 1):,.0f} exceeds {max_ratio:g}",
        )
    return checked


def _check_targets(archive: Path, dest: Path, entries: list[Entry]) -> None:
    """Refuse an entry whose target, after resolving links already in DEST, leaves DEST."""
    root = dest.resolve()
    for entry in entries:
        target = root.joinpath(*entry.parts).resolve()
        if target != root and root not in target.parents:
            raise UnsafeArchiveError(archive, entry.name, "resolves outside DEST via a link")
        if target.exists() and target.is_dir() != entry.is_dir:
            raise UnsafeArchiveError(
                archive, entry.name, "conflicts with an existing file or folder in DEST"
            )


def _open_members(archive: Path, kind: str):
    """Open the archive for reading, turning library errors into ArchiveError."""
    try:
        if kind == "zip":
            return zipfile.ZipFile(archive)
        return tarfile.open(archive, mode="r:*")
    except _READ_ERRORS as error:
        raise ArchiveError(f"{archive}: corrupt or unreadable {kind} archive ({error})") from None


def _write_staged(kind: str, handle, entries: list[Entry], staging: Path) -> None:
    """Write every checked entry under the staging folder."""
    for entry in entries:
        target = staging.joinpath(*entry.parts)
        if entry.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        source = handle.open(entry.name) if kind == "zip" else handle.extractfile(entry.name)
        if source is None:
            raise ArchiveError(f"cannot read entry {entry.name!r}")
        with source, open(target, "xb") as out:
            shutil.copyfileobj(source, out, _COPY_CHUNK)


def _move_into_place(staging: Path, dest: Path) -> list[Path]:
    """Move staged files into DEST (replacing same-named files); return the written paths."""
    written: list[Path] = []
    for path in sorted(staging.rglob("*")):
        target = dest / path.relative_to(staging)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
        written.append(target)
    return written


def safe_extract(
    archive: Path | str,
    dest: Path | str,
    *,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_entries: int = MAX_ENTRIES,
    max_ratio: float = MAX_RATIO,
) -> list[Path]:
    """Extract a zip or tar (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz) archive inside DEST.

    Every entry is checked before anything is written; a broken rule raises
    UnsafeArchiveError naming the entry and the rule. A missing file raises
    FileNotFoundError; a non-archive or a corrupt one raises ArchiveError. Returns the paths
    written (folders and files), in sorted order.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise FileNotFoundError(f"{archive}: no such archive file")
    if dest.exists() and not dest.is_dir():
        raise NotADirectoryError(f"{dest}: destination exists and is not a folder")
    kind = archive_kind(archive)
    with _open_members(archive, kind) as handle:
        try:
            found = (
                _zip_entries(archive, handle) if kind == "zip" else _tar_entries(archive, handle)
            )
            entries = _check_limits(archive, found, max_total_bytes, max_entries, max_ratio)
        except _READ_ERRORS as error:
            raise ArchiveError(f"{archive}: corrupt {kind} archive ({error})") from None
        _check_targets(archive, dest, entries)
        created = not dest.exists()
        dest.mkdir(parents=True, exist_ok=True)
        staging = scratch_dir(dest, ".extracting-")
        try:
            _write_staged(kind, handle, entries, staging)
            return _move_into_place(staging, dest)
        except BaseException as error:
            if created:
                shutil.rmtree(dest, ignore_errors=True)
            if isinstance(error, _READ_ERRORS):
                raise ArchiveError(f"{archive}: corrupt {kind} archive data ({error})") from None
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def extract_zips(zips: list[Path], dest: Path | str) -> Path:
    """Extract each <class>.zip into dest/<class>/ with safe_extract (the "Download All" layout)."""
    dest = Path(dest)
    for archive in zips:
        safe_extract(archive, dest / Path(archive).stem)
    return dest
