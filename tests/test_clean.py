"""Tests for helpers.clean: each junk kind rejected for the right reason, each valid kind kept."""

from __future__ import annotations

import io
import os
import struct
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import clean as cleaning
from helpers import images, pipeline, store, synthetic
from helpers.clean import MANIFEST_COLUMNS, CleanError, clean, folder_hashes, read_manifest
from helpers.extract import UnsafeArchiveError


def pattern(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth RGB picture (blobs on a gradient), different for every seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    out = 0.5 + 0.3 * np.cos(rng.uniform(0, 6.3, 3)) * xx[..., None]
    out = out + 0.3 * np.sin(rng.uniform(0, 6.3, 3)) * yy[..., None]
    for _ in range(6):
        cy, cx, radius = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.08, 0.25)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / radius**2)
        out = out + blob[..., None] * rng.uniform(-0.6, 0.6, 3)
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    """Bytes of a PIL image saved in a format."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def huge_png_header(side: int = 50_000) -> bytes:
    """A small file whose PNG header claims side x side pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(99)))


def face(seed: int) -> Image.Image:
    """A distinct 120 x 150 'photo' (above the default 100 px minimum side)."""
    return Image.fromarray(pattern(120, 150, seed))


def rgba_image() -> Image.Image:
    """Left half fully transparent, right half an opaque picture."""
    rgba = np.dstack([pattern(120, 150, 20), np.full((120, 150), 255, np.uint8)])
    rgba[:, :75, 3] = 0
    return Image.fromarray(rgba)


@cache
def exif_rotated() -> tuple[bytes, np.ndarray]:
    """A landscape picture stored portrait with EXIF orientation 6, and the upright pixels."""
    upright = pattern(120, 180, 21)
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(stored, "JPEG", quality=95, exif=exif), upright


def deep_png() -> bytes:
    """A 16-bit grayscale PNG using the whole 0..65535 range."""
    gray = pattern(120, 150, 22)[..., 0].astype(np.uint16) * 257
    return encode(Image.fromarray(gray), "PNG")


def animated_gif() -> bytes:
    """A two-frame GIF: first frame a picture, second frame black."""
    first = Image.fromarray(pattern(120, 150, 23))
    second = Image.new("RGB", (150, 120))
    return encode(first, "GIF", save_all=True, append_images=[second], duration=100)


# file name -> (bytes, expected reason or "" for kept); the names lie on purpose
@cache
def happy_files() -> dict[str, tuple[bytes, str]]:
    """One file of every valid kind and every junk kind."""
    big = face(1)
    rotated, _ = exif_rotated()
    return {
        "jpeg.jpg": (encode(face(2), "JPEG", quality=92), ""),
        "png.png": (encode(big, "PNG"), ""),
        "bmp.bmp": (encode(face(3), "BMP"), ""),
        "gif.gif": (animated_gif(), ""),
        "cmyk.jpg": (encode(face(4).convert("CMYK"), "JPEG", quality=92), ""),
        "deep.png": (deep_png(), ""),
        "alpha.png": (encode(rgba_image(), "PNG"), ""),
        "rotated.jpg": (rotated, ""),
        "misnamed.gif": (encode(face(5), "PNG"), ""),  # a PNG called .gif: judged by content
        "icon.svg": (b"<svg xmlns='http://www.w3.org/2000/svg'><circle r='4'/></svg>", "unsupported format"),
        "photo.webp": (encode(face(6), "WEBP"), "unsupported format"),
        "page.jpg": (b"<!DOCTYPE html><html><body>Access denied</body></html>", "not an image"),
        "empty.jpg": (b"", "not an image"),
        "noise.jpg": (bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8)), "not an image"),
        "cut.jpg": (encode(face(7), "JPEG")[:900], "undecodable or truncated"),
        "thumb.jpg": (encode(face(8).resize((64, 51)), "JPEG"), "too small"),
        "bomb.png": (huge_png_header(), "decompression bomb"),
        "near.jpg": (encode(big.resize((125, 100)), "JPEG", quality=90), "near duplicate"),
        "zcopy.png": (encode(big, "PNG"), "exact duplicate"),
        "shared.jpg": (encode(face(9), "JPEG"), "conflicting labels"),
    }  # fmt: skip


@cache
def sad_files() -> dict[str, tuple[bytes, str]]:
    """Two valid pictures and a copy of a happy one (the same picture under both labels)."""
    return {
        "one.jpg": (encode(face(10), "JPEG"), ""),
        "two.png": (encode(face(11), "PNG"), ""),
        "shared_copy.jpg": (happy_files()["shared.jpg"][0], "conflicting labels"),
    }


def write_tree(root: Path, classes: dict[str, dict[str, tuple[bytes, str]]]) -> Path:
    """SRC/<class>/<file> from a {class: {name: (bytes, reason)}} table."""
    for label, files in classes.items():
        (root / label).mkdir(parents=True)
        for name, (data, _) in files.items():
            (root / label / name).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    """SRC with every kind, cleaned once: (src, dest, manifest)."""
    root = tmp_path_factory.mktemp("clean")
    src = write_tree(root / "raw", {"happy": happy_files(), "sad": sad_files()})
    dest = root / "clean"
    return src, dest, clean(src, dest)


@cache
def expected_reasons() -> dict[str, str]:
    """source -> expected reason ('' for kept)."""
    table = {"happy": happy_files(), "sad": sad_files()}
    return {f"{c}/{n}": reason for c, files in table.items() for n, (_, reason) in files.items()}


# ------------------------------------------------------------------------- verdicts


def test_manifest_has_one_row_per_file_with_the_documented_columns(cleaned) -> None:
    src, dest, manifest = cleaned
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert sorted(manifest["source"]) == sorted(expected_reasons())
    assert read_manifest(dest).equals(manifest)
    assert set(manifest["status"]) == {"kept", "rejected"}


@pytest.mark.parametrize("source", sorted(expected_reasons()))
def test_each_file_gets_the_right_verdict(cleaned, source: str) -> None:
    _, dest, manifest = cleaned
    row = manifest.set_index("source").loc[source]
    expected = expected_reasons()[source]
    assert row["reason"] == expected
    assert row["status"] == ("rejected" if expected else "kept")
    if expected:
        assert row["output"] == ""
    else:
        assert (dest / row["output"]).is_file()


def test_every_reason_comes_from_the_fixed_vocabulary(cleaned) -> None:
    _, _, manifest = cleaned
    assert set(manifest["reason"]) - {""} <= set(cleaning.REASONS)


def test_sha256_column_is_the_content_hash(cleaned) -> None:
    src, _, manifest = cleaned
    hashes = folder_hashes(src)
    assert dict(zip(manifest["source"], manifest["sha256"], strict=True)) == hashes


# ------------------------------------------------------------------------- conversions


def kept_pixels(cleaned, source: str) -> np.ndarray:
    """The pixels written for a kept source file; also checks it is an 8-bit RGB PNG."""
    _, dest, manifest = cleaned
    output = manifest.set_index("source").loc[source, "output"]
    assert output.startswith(source.split("/")[0] + "/") and output.endswith(".png")
    with Image.open(dest / output) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        return np.asarray(image)


def test_lossless_kinds_are_written_pixel_exact(cleaned) -> None:
    np.testing.assert_array_equal(kept_pixels(cleaned, "happy/png.png"), pattern(120, 150, 1))
    np.testing.assert_array_equal(kept_pixels(cleaned, "happy/bmp.bmp"), pattern(120, 150, 3))


def test_exif_rotation_is_applied(cleaned) -> None:
    _, upright = exif_rotated()
    out = kept_pixels(cleaned, "happy/rotated.jpg")
    assert out.shape == upright.shape  # landscape again, not the stored portrait
    assert np.abs(out.astype(int) - upright).mean() < 4


def test_rgba_is_composited_onto_white(cleaned) -> None:
    out = kept_pixels(cleaned, "happy/alpha.png")
    assert (out[:, :75] == 255).all()
    np.testing.assert_array_equal(out[:, 75:], pattern(120, 150, 20)[:, 75:])


def test_16_bit_is_scaled_to_8_bit(cleaned) -> None:
    out = kept_pixels(cleaned, "happy/deep.png")
    np.testing.assert_array_equal(out[..., 0], pattern(120, 150, 22)[..., 0])


def test_gif_keeps_its_first_frame_and_cmyk_becomes_rgb(cleaned) -> None:
    gif = kept_pixels(cleaned, "happy/gif.gif")
    assert gif.mean() > 40  # the picture, not the black second frame
    cmyk = kept_pixels(cleaned, "happy/cmyk.jpg")
    assert np.abs(cmyk.astype(int) - pattern(120, 150, 4)).mean() < 12


def test_kept_outputs_are_exactly_the_class_folders_content(cleaned) -> None:
    _, dest, manifest = cleaned
    kept = set(manifest.loc[manifest["status"] == "kept", "output"])
    written = {p.relative_to(dest).as_posix() for p in dest.rglob("*.png")}
    assert written == kept
    assert sorted(p.name for p in dest.iterdir() if p.is_dir()) == ["happy", "sad"]


# ------------------------------------------------------------------------- duplicates


def test_the_largest_near_duplicate_is_kept(tmp_path: Path) -> None:
    big = face(30)
    src = write_tree(
        tmp_path / "raw",
        {
            "a": {
                "small_first.png": (encode(big.resize((125, 100)), "PNG"), ""),
                "large_second.jpg": (encode(big, "JPEG", quality=95), ""),
            },
            "b": {"other.png": (encode(face(31), "PNG"), "")},
        },
    )
    manifest = clean(src, tmp_path / "clean").set_index("source")
    assert manifest.loc["a/large_second.jpg", "status"] == "kept"
    assert manifest.loc["a/small_first.png", "reason"] == "near duplicate"


def test_near_threshold_zero_keeps_resized_copies(tmp_path: Path) -> None:
    big = face(32)
    src = write_tree(
        tmp_path / "raw",
        {
            "a": {
                "x.png": (encode(big, "PNG"), ""),
                "y.jpg": (encode(big.resize((140, 112)), "JPEG"), ""),
            }
        },
    )
    strict = clean(src, tmp_path / "strict", near_threshold=-1)
    assert (strict["status"] == "kept").all()


# ------------------------------------------------------------------------- the near-pair search


def all_pairs_search(monkeypatch, calls: list[int]) -> None:
    """Make cleaning search near pairs the old way (the N x N matrix), counting its calls."""

    def all_pairs(hashes, max_bits):
        calls.append(len(hashes))
        return images.near_pairs_by_matrix(hashes, max_bits)

    monkeypatch.setattr(images, "near_pairs", all_pairs)


@pytest.fixture(scope="module")
def book_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """raw/<class>/ from the generator's downloads: faces, junk, exact, near and cross-class copies."""
    root = tmp_path_factory.mktemp("book")
    synthetic.generate_downloads(root / "downloads", 10, 7)
    return pipeline.raw_from_zips(root / "downloads", root / "raw")


def test_the_book_data_gets_the_same_verdicts_from_the_all_pairs_search(
    book_raw: Path, tmp_path: Path, monkeypatch
) -> None:
    now = clean(book_raw, tmp_path / "now")
    calls: list[int] = []
    all_pairs_search(monkeypatch, calls)
    before = clean(book_raw, tmp_path / "before")
    assert calls and calls[0] > 10, "the second cleaning searched with the all-pairs reference"
    assert {"exact duplicate", "near duplicate", "conflicting labels"} <= set(now["reason"])
    pd.testing.assert_frame_equal(before, now)
    assert folder_hashes(tmp_path / "before") == folder_hashes(tmp_path / "now")


# 64-bit hashes given to seven pictures: a chain at exactly 6 bits (a ~ b ~ c, a and c 12 apart),
# a cross-class pair at 6 bits within one band (d ~ e), f 7 bits from d, and g far from all
def bits(*positions: int) -> int:
    """A hash with the given bits set."""
    return sum(1 << p for p in positions)


B = bits(0, 1, 16, 17, 32, 48)  # 6 bits from 0, spread 2, 2, 1, 1 over the four bands
D = bits(*range(8, 16), *range(24, 32), *range(40, 48))
EDGE_HASHES = {
    "happy/a.png": 0,
    "happy/b.png": B,
    "happy/c.png": B ^ bits(2, 3, 18, 19, 33, 49),  # 6 from b, 12 from a
    "happy/d.png": D,
    "sad/e.png": D ^ bits(*range(56, 62)),  # 6 from d, all in one band
    "sad/f.png": D ^ bits(4, 5, 20, 21, 36, 52, 62),  # 7 from d
    "sad/g.png": bits(*range(0, 64, 2)),  # 30 bits or more from every other: always kept
}
EDGE_SIZES = {  # distinct sizes, so the hash can be told by the decoded picture's shape
    "happy/a.png": (110, 140),
    "happy/b.png": (112, 142),
    "happy/c.png": (130, 160),  # the largest of the chain: the one kept
    "happy/d.png": (114, 144),
    "sad/e.png": (116, 146),
    "sad/f.png": (118, 148),
    "sad/g.png": (120, 150),
}
NEAR, CONFLICT = "near duplicate", "conflicting labels"
EDGE_VERDICTS = {
    5: {},  # 6 bits apart is not near: every file kept
    6: {"happy/a.png": NEAR, "happy/b.png": NEAR, "happy/d.png": CONFLICT, "sad/e.png": CONFLICT},
    7: {"happy/a.png": NEAR, "happy/b.png": NEAR, **dict.fromkeys(
        ["happy/d.png", "sad/e.png", "sad/f.png"], CONFLICT)},
}  # fmt: skip


@pytest.mark.parametrize("search", ["near_pairs", "all pairs"])
@pytest.mark.parametrize("threshold", sorted(EDGE_VERDICTS))
def test_hashes_at_the_threshold_and_chains_get_the_same_verdicts_either_way(
    tmp_path: Path, monkeypatch, search: str, threshold: int
) -> None:
    assert images.hamming(EDGE_HASHES["happy/a.png"], EDGE_HASHES["happy/c.png"]) == 12
    assert images.hamming(EDGE_HASHES["happy/d.png"], EDGE_HASHES["sad/f.png"]) == 7
    src = tmp_path / "raw"
    by_shape = {}
    for index, (name, (height, width)) in enumerate(EDGE_SIZES.items()):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pattern(height, width, 40 + index)).save(src / name)
        by_shape[(height, width)] = EDGE_HASHES[name]
    monkeypatch.setattr(cleaning, "perceptual_hash", lambda rgb: by_shape[rgb.shape[:2]])
    calls: list[int] = []
    if search == "all pairs":
        all_pairs_search(monkeypatch, calls)
    manifest = clean(src, tmp_path / "clean", near_threshold=threshold)
    assert calls or search == "near_pairs"
    verdicts = dict(zip(manifest["source"], manifest["reason"], strict=True))
    assert verdicts == {name: EDGE_VERDICTS[threshold].get(name, "") for name in EDGE_HASHES}


# ------------------------------------------------------------------------- SRC untouched, re-runs


def test_src_is_byte_identical_and_untouched_afterwards(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "raw", {"happy": happy_files(), "sad": sad_files()})
    before = folder_hashes(src)
    times = {p: p.stat().st_mtime_ns for p in src.rglob("*")}
    clean(src, tmp_path / "clean")
    assert folder_hashes(src) == before
    assert {p: p.stat().st_mtime_ns for p in src.rglob("*")} == times


def test_rerun_is_identical_and_does_no_work(tmp_path: Path, monkeypatch) -> None:
    src = write_tree(tmp_path / "raw", {"happy": happy_files(), "sad": sad_files()})
    dest = tmp_path / "clean"
    first = clean(src, dest)
    stamp = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in dest.rglob("*") if p.is_file()}

    def no_decoding(*args, **kwargs):
        raise AssertionError("a re-run must not decode any file")

    monkeypatch.setattr(cleaning, "load_rgb", no_decoding)
    second = clean(src, dest)
    assert second.equals(first)
    assert {
        p: (p.stat().st_mtime_ns, p.read_bytes()) for p in dest.rglob("*") if p.is_file()
    } == stamp


def test_a_changed_source_rebuilds_with_identical_outputs(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "raw", {"happy": happy_files(), "sad": sad_files()})
    dest = tmp_path / "clean"
    first = clean(src, dest)
    outputs = {p.relative_to(dest): p.read_bytes() for p in dest.rglob("*.png")}
    (src / "sad" / "three.png").write_bytes(encode(face(40), "PNG"))
    second = clean(src, dest)
    assert len(second) == len(first) + 1
    assert second.set_index("source").loc["sad/three.png", "status"] == "kept"
    for rel, data in outputs.items():
        assert (dest / rel).read_bytes() == data
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".clean.")]


def test_other_settings_rebuild(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "raw", {"a": {"x.png": (encode(face(50), "PNG"), "")}})
    dest = tmp_path / "clean"
    assert clean(src, dest)["status"].tolist() == ["kept"]
    with pytest.raises(CleanError, match="no valid image.*1 too small"):
        clean(src, dest, min_side=200)
    assert read_manifest(dest)["status"].tolist() == ["kept"]  # the old result still stands


# ------------------------------------------------------------------------- bad input


def test_missing_src(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        clean(tmp_path / "nowhere", tmp_path / "clean")


def test_src_without_class_folders(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "loose.jpg").write_bytes(encode(face(60), "JPEG"))
    with pytest.raises(CleanError, match="no class folders"):
        clean(tmp_path / "raw", tmp_path / "clean")
    assert not (tmp_path / "clean").exists()


def test_class_without_a_valid_image(tmp_path: Path) -> None:
    src = write_tree(
        tmp_path / "raw",
        {
            "happy": {"ok.png": (encode(face(61), "PNG"), "")},
            "sad": {"icon.svg": (b"<svg/>", ""), "empty.jpg": (b"", "")},
        },
    )
    with pytest.raises(CleanError, match="class 'sad' has no valid image"):
        clean(src, tmp_path / "clean")
    assert not (tmp_path / "clean").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]  # no staging folder left behind


def test_dest_inside_src(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "raw", {"a": {"x.png": (encode(face(62), "PNG"), "")}})
    before = folder_hashes(src)
    for dest in (src / "clean", src / "a" / "clean", src):
        with pytest.raises(CleanError, match="inside the source"):
            clean(src, dest)
    assert folder_hashes(src) == before


def test_dest_containing_src_is_refused(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "data" / "raw", {"a": {"x.png": (encode(face(63), "PNG"), "")}})
    with pytest.raises(CleanError, match="contains the source"):
        clean(src, tmp_path / "data")


def test_foreign_non_empty_dest_is_not_replaced(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "raw", {"a": {"x.png": (encode(face(64), "PNG"), "")}})
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "thesis.txt").write_text("precious")
    with pytest.raises(CleanError, match="not made by clean"):
        clean(src, dest)
    assert (dest / "thesis.txt").read_text() == "precious"


# ------------------------------------------------------------------------- summary


def test_summary_counts_per_class(cleaned) -> None:
    _, _, manifest = cleaned
    table = cleaning.summarize(manifest)
    reasons = pd.Series(expected_reasons())
    happy = reasons[reasons.index.str.startswith("happy/")]
    assert table.loc["happy", "files"] == len(happy)
    assert table.loc["happy", "kept"] == (happy == "").sum()
    assert table.loc["sad", "conflicting labels"] == 1
    assert table.loc["total", "files"] == len(reasons)
    assert table.drop(columns="files").sum(axis=1).equals(table["files"])


def test_cleaning_stays_in_dest(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "raw", {"a": {"x.png": (encode(face(65), "PNG"), "")}})
    clean(src, tmp_path / "out" / "clean")
    assert sorted(os.listdir(tmp_path)) == ["out", "raw"]
    assert sorted(os.listdir(tmp_path / "out")) == ["clean"]


# ------------------------------------------------------------------------- pictures for the chapter


def test_preview_draws_what_it_can_and_describes_the_rest(cleaned) -> None:
    src, _, _ = cleaned
    pixels, note = cleaning.preview(src / "happy" / "cut.jpg")
    assert pixels is not None and pixels.shape == (120, 150, 3)  # truncated, still drawable
    assert note == "150x120 px"
    assert cleaning.preview(src / "happy" / "empty.jpg") == (None, "empty file (0 bytes)")
    pixels, note = cleaning.preview(src / "happy" / "page.jpg")
    assert pixels is None and note.startswith("html content:") and "Access denied" in note
    assert cleaning.preview(src / "happy" / "bomb.png")[1].startswith("not drawn")
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # the switch is put back


def test_reject_examples_gives_one_file_per_reason_in_order(cleaned) -> None:
    _, _, manifest = cleaned
    examples = cleaning.reject_examples(manifest)
    occurring = [r for r in cleaning.REASONS if r in set(manifest["reason"])]
    assert examples["reason"].tolist() == occurring
    assert (examples["status"] == "rejected").all()


def test_figures_have_a_panel_per_reason_and_a_row_per_class(cleaned) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src, dest, manifest = cleaned
    fig = cleaning.plot_reject_examples(manifest, src, columns=4)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == cleaning.reject_examples(manifest)["reason"].tolist()
    grid = cleaning.plot_kept_grid(dest, manifest, per_class=2)
    assert [ax.get_ylabel() for ax in grid.axes[::2]] == ["happy", "sad"]
    plt.close("all")


# ------------------------------------------------------------------------- downloads -> raw


def downloads_folder(root: Path) -> Path:
    """downloads/happy.zip and downloads/sad.zip, flat, as a browser writes them."""
    import zipfile

    folder = root / "downloads"
    folder.mkdir(parents=True)
    for label, seed in (("happy", 70), ("sad", 71)):
        with zipfile.ZipFile(folder / f"{label}.zip", "w") as archive:
            archive.writestr(f"{label}-1.png", encode(face(seed), "PNG"))
            archive.writestr("icon.svg", b"<svg/>")
    return folder


def test_extract_downloads_once_per_class(tmp_path: Path) -> None:
    downloads = downloads_folder(tmp_path)
    raw = pipeline.raw_from_zips(downloads, tmp_path / "raw")
    assert sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file()) == [
        store.STAMP_FILE,
        "happy/happy-1.png",
        "happy/icon.svg",
        "sad/icon.svg",
        "sad/sad-1.png",
    ]
    times = {p: p.stat().st_mtime_ns for p in raw.rglob("*")}
    assert pipeline.raw_from_zips(downloads, tmp_path / "raw") == raw
    assert {p: p.stat().st_mtime_ns for p in raw.rglob("*")} == times  # no second extraction
    manifest = clean(raw, tmp_path / "clean")  # the stamp file at the top is not an input
    assert sorted(manifest["source"]) == [
        "happy/happy-1.png",
        "happy/icon.svg",
        "sad/icon.svg",
        "sad/sad-1.png",
    ]


def test_changed_download_is_extracted_again(tmp_path: Path) -> None:
    import zipfile

    downloads = downloads_folder(tmp_path)
    raw = pipeline.raw_from_zips(downloads, tmp_path / "raw")
    with zipfile.ZipFile(downloads / "sad.zip", "a") as archive:
        archive.writestr("sad-2.jpg", encode(face(72), "JPEG"))
    pipeline.raw_from_zips(downloads, raw)
    assert (raw / "sad" / "sad-2.jpg").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".raw")]


def test_unsafe_download_leaves_no_raw_folder(tmp_path: Path) -> None:
    import zipfile

    downloads = downloads_folder(tmp_path)
    with zipfile.ZipFile(downloads / "sad.zip", "a") as archive:
        archive.writestr("../../escape.txt", b"evil")
    with pytest.raises(UnsafeArchiveError, match="escape.txt"):
        pipeline.raw_from_zips(downloads, tmp_path / "raw")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["downloads"]


def test_no_downloads_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "downloads").mkdir()
    with pytest.raises(FileNotFoundError, match="no <class>.zip"):
        pipeline.raw_from_zips(tmp_path / "downloads", tmp_path / "raw")
