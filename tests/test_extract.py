"""Tests for helpers.extract: good archives extract; every unsafe kind is refused before writing."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from helpers.extract import ArchiveError, UnsafeArchiveError, safe_extract

GOOD = {"a.jpg": b"jpeg bytes", "sub/b.png": b"png bytes" * 10}


def snapshot(root: Path) -> set[str]:
    """Every path under a folder (files, folders, links), relative to it."""
    return {path.relative_to(root).as_posix() for path in root.rglob("*")}


def make_zip(path: Path, entries: dict[str, bytes], **infos: zipfile.ZipInfo) -> Path:
    """A zip with the given files, then any extra prepared ZipInfo entries."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for info in infos.values():
            archive.writestr(info, b"/etc/passwd")
    return path


def zip_with_mode(path: Path, name: str, mode: int) -> Path:
    """A zip holding a good file and then one entry whose Unix mode marks its type."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so external_attr carries st_mode
    info.external_attr = mode << 16
    return make_zip(path, GOOD, bad=info)


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode="w:gz") -> Path:
    """A tar (gzip by default) with a good file first, then the given members."""
    with tarfile.open(path, mode) as archive:
        good = tarfile.TarInfo("a.jpg")
        good.size = len(GOOD["a.jpg"])
        archive.addfile(good, io.BytesIO(GOOD["a.jpg"]))
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    """A tar header of a given type."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


@pytest.fixture
def box(tmp_path: Path) -> Path:
    """A folder holding the archive and DEST, so 'outside DEST' can be checked."""
    return tmp_path


def assert_refused(box: Path, archive: Path, entry: str, rule: str) -> None:
    """The archive is refused naming entry and rule, and nothing at all is written."""
    before = snapshot(box)
    dest = box / "dest"
    with pytest.raises(UnsafeArchiveError) as caught:
        safe_extract(archive, dest)
    assert caught.value.entry == entry
    assert rule in caught.value.rule
    assert repr(entry) in str(caught.value) and rule in str(caught.value)
    assert snapshot(box) == before  # not even DEST was created
    assert not dest.exists()


# ------------------------------------------------------------------------- good archives


def test_zip_extracts_inside_dest(box: Path) -> None:
    archive = make_zip(box / "good.zip", GOOD)
    written = safe_extract(archive, box / "dest")
    assert (box / "dest/a.jpg").read_bytes() == GOOD["a.jpg"]
    assert (box / "dest/sub/b.png").read_bytes() == GOOD["sub/b.png"]
    assert {p.relative_to(box / "dest").as_posix() for p in written} == {
        "a.jpg",
        "sub",
        "sub/b.png",
    }
    assert snapshot(box) == {"good.zip", "dest", "dest/a.jpg", "dest/sub", "dest/sub/b.png"}


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tar_variants_extract(box: Path, mode: str) -> None:
    member = tarfile.TarInfo("sub/b.png")
    member.size = len(GOOD["sub/b.png"])
    archive = make_tar(box / "good.tar", [(member, GOOD["sub/b.png"])], mode=mode)
    safe_extract(archive, box / "dest")
    assert (box / "dest/a.jpg").read_bytes() == GOOD["a.jpg"]
    assert (box / "dest/sub/b.png").read_bytes() == GOOD["sub/b.png"]
    assert not list((box / "dest").glob(".extracting-*"))


def test_extracting_twice_gives_the_same_files(box: Path) -> None:
    archive = make_zip(box / "good.zip", GOOD)
    safe_extract(archive, box / "dest")
    first = snapshot(box)
    safe_extract(archive, box / "dest")
    assert snapshot(box) == first


# ------------------------------------------------------------------------- unsafe zips


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("/etc/evil.txt", "absolute path"),
        ("C:/evil.txt", "absolute path"),
        ("../evil.txt", "'..' component"),
        ("sub/../../evil.txt", "'..' component"),
        ("sub\\..\\..\\evil.txt", "'..' component"),
    ],
)
def test_zip_path_traversal_is_refused(box: Path, name: str, rule: str) -> None:
    archive = make_zip(box / "bad.zip", {**GOOD, name: b"evil"})
    assert_refused(box, archive, name, rule)


@pytest.mark.parametrize(
    ("mode", "rule"),
    [
        (stat.S_IFLNK | 0o777, "symbolic link"),
        (stat.S_IFCHR | 0o666, "device or special file"),
        (stat.S_IFBLK | 0o666, "device or special file"),
        (stat.S_IFIFO | 0o666, "device or special file"),
    ],
)
def test_zip_links_and_devices_are_refused(box: Path, mode: int, rule: str) -> None:
    archive = zip_with_mode(box / "bad.zip", "link.jpg", mode)
    assert_refused(box, archive, "link.jpg", rule)


def test_the_standard_library_drops_dots_and_writes_a_link_as_a_file(box: Path) -> None:
    """What chapter 1 says of zipfile.extractall, beside safe_extract's refusals."""
    dotted = make_zip(box / "dotted.zip", {**GOOD, "../../escaped.txt": b"outside"})
    linked = zip_with_mode(box / "linked.zip", "portrait.jpg", stat.S_IFLNK | 0o777)
    for archive in (dotted, linked):
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(box / "stdlib")
    assert (box / "stdlib" / "escaped.txt").is_file()  # the '..' quietly dropped
    link = box / "stdlib" / "portrait.jpg"
    assert link.is_file() and not link.is_symlink()  # the link written as a plain file


def test_zip_bomb_ratio_is_refused(box: Path) -> None:
    archive = make_zip(box / "bomb.zip", {**GOOD, "zeros.bin": bytes(4 * 1024**2)})
    assert_refused(box, archive, "zeros.bin", "compression ratio")


def test_zip_total_size_limit(box: Path) -> None:
    archive = make_zip(box / "big.zip", {"one.bin": b"x" * 600, "two.bin": b"y" * 600})
    before = snapshot(box)
    with pytest.raises(UnsafeArchiveError, match="two.bin.*total uncompressed size exceeds 1,000"):
        safe_extract(archive, box / "dest", max_total_bytes=1000)
    assert snapshot(box) == before


def test_zip_entry_count_limit(box: Path) -> None:
    archive = make_zip(box / "many.zip", {f"{i}.txt": b"." for i in range(5)})
    before = snapshot(box)
    with pytest.raises(UnsafeArchiveError, match="'3.txt'.*more than 3 entries"):
        safe_extract(archive, box / "dest", max_entries=3)
    assert snapshot(box) == before


def test_zip_duplicate_names_are_refused(box: Path) -> None:
    archive = box / "dup.zip"
    with pytest.warns(UserWarning), zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a.jpg", b"1")
        handle.writestr("a.jpg", b"2")
    assert_refused(box, archive, "a.jpg", "the same path appears twice")


def test_link_already_in_dest_cannot_redirect_writes(box: Path) -> None:
    outside = box / "outside"
    outside.mkdir()
    dest = box / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside, target_is_directory=True)
    archive = make_zip(box / "good.zip", GOOD)
    with pytest.raises(UnsafeArchiveError, match="outside DEST via a link"):
        safe_extract(archive, dest)
    assert list(outside.iterdir()) == []
    assert snapshot(dest) == {"sub"}


# ------------------------------------------------------------------------- unsafe tars


@pytest.mark.parametrize(
    ("member", "rule"),
    [
        (tar_member("link.jpg", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link"),
        (tar_member("hard.jpg", tarfile.LNKTYPE, "a.jpg"), "hard link"),
        (tar_member("tty", tarfile.CHRTYPE), "device or special file"),
        (tar_member("disk", tarfile.BLKTYPE), "device or special file"),
        (tar_member("pipe", tarfile.FIFOTYPE), "device or special file"),
        (tar_member("/tmp/evil.txt"), "absolute path"),
        (tar_member("../evil.txt"), "'..' component"),
    ],
    ids=["symlink", "hardlink", "chardev", "blockdev", "fifo", "absolute", "dotdot"],
)
def test_unsafe_tar_members_are_refused(box: Path, member: tarfile.TarInfo, rule: str) -> None:
    data = b"evil" if member.isfile() else None
    if data is not None:
        member.size = len(data)
    archive = make_tar(box / "bad.tar.gz", [(member, data)])
    assert_refused(box, archive, member.name, rule)


def test_tar_gz_bomb_is_refused_by_whole_archive_ratio(box: Path) -> None:
    member = tarfile.TarInfo("zeros.bin")
    member.size = 4 * 1024**2
    archive = make_tar(box / "bomb.tar.gz", [(member, bytes(member.size))])
    assert_refused(box, archive, "zeros.bin", "whole-archive compression ratio")


# ------------------------------------------------------------------------- bad input


def test_missing_archive(box: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such archive"):
        safe_extract(box / "missing.zip", box / "dest")


@pytest.mark.parametrize(
    "data", [b"", b"hello, I am a text file", b"\x89PNG\r\n\x1a\n" + bytes(64)]
)
def test_not_an_archive(box: Path, data: bytes) -> None:
    path = box / "fake.zip"
    path.write_bytes(data)
    with pytest.raises(ArchiveError, match="not a zip or tar archive"):
        safe_extract(path, box / "dest")
    assert not (box / "dest").exists()


def test_truncated_zip_is_corrupt(box: Path) -> None:
    data = make_zip(box / "good.zip", GOOD).read_bytes()
    cut = box / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="corrupt"):
        safe_extract(cut, box / "dest")
    assert not (box / "dest").exists()


def test_truncated_tar_gz_is_corrupt(box: Path) -> None:
    member = tarfile.TarInfo("big.bin")
    member.size = 300_000
    data = make_tar(
        box / "good.tgz", [(member, bytes(range(256)) * 1172 + b"...." * 2)]
    ).read_bytes()
    cut = box / "cut.tgz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="corrupt"):
        safe_extract(cut, box / "dest")
    assert not (box / "dest").exists()


def test_damaged_zip_data_writes_nothing(box: Path) -> None:
    archive = make_zip(box / "good.zip", {"a.txt": b"a" * 2000, "b.txt": b"hello " * 400})
    data = bytearray(archive.read_bytes())
    offset = data.index(b"b.txt") + len("b.txt") + 5  # inside b.txt's compressed data
    data[offset] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="corrupt zip archive data"):
        safe_extract(archive, box / "dest")
    assert not (box / "dest").exists()


def test_dest_that_is_a_file(box: Path) -> None:
    archive = make_zip(box / "good.zip", GOOD)
    (box / "dest").write_text("I am a file")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        safe_extract(archive, box / "dest")


def test_error_types_are_value_errors() -> None:
    assert issubclass(UnsafeArchiveError, ValueError)
    assert issubclass(ArchiveError, ValueError)
