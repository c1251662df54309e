"""Tests for helpers.images: format sniffing, decoding the book's way, perceptual hashes."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import images


def pattern(height: int = 60, width: int = 90, seed: int = 0) -> np.ndarray:
    """A smooth, structured RGB picture (blobs on a gradient) that differs for each seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    out = np.zeros((height, width, 3))
    for channel in range(3):
        angle = rng.uniform(0, 2 * np.pi)
        out[..., channel] = 0.5 + 0.3 * np.cos(angle) * xx + 0.3 * np.sin(angle) * yy
    for _ in range(6):
        cy, cx, radius = rng.uniform(0, 1, 2).tolist() + [rng.uniform(0.08, 0.25)]
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / radius**2)
        out += blob[..., None] * rng.uniform(-0.6, 0.6, 3)
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    """Bytes of a PIL image saved in a format."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    """Write bytes to a file and return its path."""
    path.write_bytes(data)
    return path


def png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, followed by a tiny (wrong) data chunk."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


# ------------------------------------------------------------------------- sniff_format


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (encode(Image.new("RGB", (8, 8)), "JPEG"), "jpeg"),
        (encode(Image.new("RGB", (8, 8)), "PNG"), "png"),
        (encode(Image.new("RGB", (8, 8)), "GIF"), "gif"),
        (encode(Image.new("RGB", (8, 8)), "BMP"), "bmp"),
        (encode(Image.new("RGB", (8, 8)), "WEBP"), "webp"),
        (encode(Image.new("RGB", (8, 8)), "TIFF"), "tiff"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "svg"),
        (b"  <svg viewBox='0 0 1 1'/>", "svg"),
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "html"),
        (b"\xef\xbb\xbf<html lang='en'>", "html"),
        (b"%PDF-1.7\n", "pdf"),
        (b"", None),
        (b"just some text, not a picture", None),
    ],
)
def test_sniff_format_reads_content(data: bytes, expected: str | None) -> None:
    assert images.sniff_format(data) == expected


def test_sniff_format_ignores_the_file_name(tmp_path: Path) -> None:
    page = write(tmp_path / "photo.jpg", b"<!doctype html><title>Stock photo</title>")
    picture = write(tmp_path / "page.html", encode(Image.new("RGB", (8, 8)), "PNG"))
    assert images.sniff_format(page) == "html"
    assert images.sniff_format(picture) == "png"


# ------------------------------------------------------------------------- load_rgb: valid kinds


@pytest.mark.parametrize("fmt", ["PNG", "BMP"])
def test_lossless_formats_decode_to_the_exact_pixels(tmp_path: Path, fmt: str) -> None:
    rgb = pattern()
    path = write(tmp_path / f"x.{fmt.lower()}", encode(Image.fromarray(rgb), fmt))
    out = images.load_rgb(path)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    np.testing.assert_array_equal(out, rgb)


def test_jpeg_decodes_close_to_the_original(tmp_path: Path) -> None:
    rgb = pattern()
    path = write(tmp_path / "x.jpg", encode(Image.fromarray(rgb), "JPEG", quality=95))
    out = images.load_rgb(path)
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).mean() < 3


def test_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (40, 30), color) for color in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    out = images.load_rgb(write(tmp_path / "anim.gif", data))
    assert out.shape == (30, 40, 3)
    assert tuple(out[15, 20]) == (255, 0, 0)


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    rgb = pattern()
    data = encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95)
    out = images.load_rgb(write(tmp_path / "cmyk.jpg", data))
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).mean() < 12


def test_16_bit_gray_is_scaled_not_clipped(tmp_path: Path) -> None:
    wide = np.array([[0, 257 * 64, 257 * 128, 65535]], dtype=np.uint16).repeat(4, axis=0)
    image = Image.fromarray(wide)
    assert image.mode.startswith("I;16")
    out = images.load_rgb(write(tmp_path / "deep.png", encode(image, "PNG")))
    assert out.shape == (4, 4, 3)
    np.testing.assert_array_equal(out[0, :, 0], [0, 64, 128, 255])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_16_bit_rgb_png_keeps_its_colours(tmp_path: Path) -> None:
    import cv2

    rgb = pattern(20, 30)
    wide_bgr = rgb[..., ::-1].astype(np.uint16) * 257
    ok, buffer = cv2.imencode(".png", wide_bgr)
    assert ok
    out = images.load_rgb(write(tmp_path / "deep_rgb.png", buffer.tobytes()))
    assert np.abs(out.astype(int) - rgb).max() <= 1


def test_rgba_is_composited_onto_white(tmp_path: Path) -> None:
    rgba = np.zeros((10, 20, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red everywhere
    rgba[:, :10, 3] = 0  # left half fully transparent
    rgba[:, 10:, 3] = 128  # right half half-transparent
    out = images.load_rgb(write(tmp_path / "alpha.png", encode(Image.fromarray(rgba), "PNG")))
    assert tuple(out[5, 2]) == (255, 255, 255)
    assert tuple(out[5, 15]) == (255, 127, 127)


def test_palette_transparency_is_composited_onto_white(tmp_path: Path) -> None:
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (5, 0, 10, 10))
    data = encode(image, "PNG", transparency=0)
    out = images.load_rgb(write(tmp_path / "palette.png", data))
    assert tuple(out[0, 0]) == (255, 255, 255)
    assert tuple(out[0, 9]) == (255, 0, 0)


def test_grayscale_becomes_three_equal_channels(tmp_path: Path) -> None:
    gray = pattern()[..., 1]
    out = images.load_rgb(write(tmp_path / "gray.png", encode(Image.fromarray(gray), "PNG")))
    assert out.shape == (*gray.shape, 3)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], gray)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    upright = np.full((20, 40, 3), 255, dtype=np.uint8)  # landscape, white
    upright[:6, :6] = (255, 0, 0)  # red mark in the top-left corner
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # portrait on disk
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = write(tmp_path / "rotated.jpg", encode(stored, "JPEG", quality=95, exif=exif))
    assert Image.open(path).size == (20, 40)  # stored portrait
    out = images.load_rgb(path)
    assert out.shape == (20, 40, 3)  # shown landscape
    assert out[2, 2, 0] > 200 and out[2, 2, 1] < 80  # the red mark is back at the top left
    assert out[17, 37].min() > 200


# ------------------------------------------------------------------------- load_rgb: refusals


@pytest.mark.parametrize(
    ("name", "data", "error", "reason"),
    [
        ("empty.jpg", b"", images.NotAnImageError, "not an image"),
        ("page.jpg", b"<html><body>403</body></html>", images.NotAnImageError, "not an image"),
        ("noise.png", bytes(range(256)) * 4, images.NotAnImageError, "not an image"),
        ("icon.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", images.UnsupportedFormatError,
         "unsupported format"),
        ("photo.webp", encode(Image.new("RGB", (200, 200)), "WEBP"),
         images.UnsupportedFormatError, "unsupported format"),
        ("huge.png", png_with_size(100_000, 100_000), images.DecompressionBombError,
         "decompression bomb"),
    ],
)  # fmt: skip
def test_refusals_name_the_reason(
    tmp_path: Path, name: str, data: bytes, error: type, reason: str
) -> None:
    path = write(tmp_path / name, data)
    with pytest.raises(error) as caught:
        images.load_rgb(path)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("keep", [0.3, 0.9, -2])
def test_truncated_jpeg_is_undecodable(tmp_path: Path, keep: float) -> None:
    data = encode(Image.fromarray(pattern(120, 160)), "JPEG", quality=90)
    cut = data[: int(len(data) * keep)] if keep > 0 else data[:keep]
    path = write(tmp_path / "cut.jpg", cut)
    with pytest.raises(images.UndecodableImageError) as caught:
        images.load_rgb(path)
    assert caught.value.reason == "undecodable or truncated"


def test_truncated_png_is_undecodable(tmp_path: Path) -> None:
    data = encode(Image.fromarray(pattern(120, 160, seed=3)), "PNG")
    path = write(tmp_path / "cut.png", data[: len(data) // 2])
    with pytest.raises(images.UndecodableImageError):
        images.load_rgb(path)


def test_max_pixels_is_checked_before_decoding(tmp_path: Path) -> None:
    path = write(tmp_path / "x.png", encode(Image.fromarray(pattern(60, 90)), "PNG"))
    with pytest.raises(images.DecompressionBombError, match="5,400"):
        images.load_rgb(path, max_pixels=60 * 90 - 1)
    assert images.load_rgb(path, max_pixels=60 * 90).shape == (60, 90, 3)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        images.load_rgb(tmp_path / "nope.jpg")


# ------------------------------------------------------------------------- hashes


def test_hamming_counts_differing_bits() -> None:
    assert images.hamming(0, 0) == 0
    assert images.hamming(0b1011, 0b0001) == 2
    assert images.hamming(0, (1 << 64) - 1) == 64


def test_perceptual_hash_is_a_64_bit_int_and_deterministic() -> None:
    rgb = pattern(seed=5)
    value = images.perceptual_hash(rgb)
    assert isinstance(value, int) and 0 <= value < 1 << 64
    assert images.perceptual_hash(rgb.copy()) == value


def test_same_picture_at_another_size_hashes_close() -> None:
    rgb = pattern(240, 360, seed=7)
    smaller = np.asarray(Image.fromarray(rgb).resize((180, 120), Image.Resampling.LANCZOS))
    distance = images.hamming(images.perceptual_hash(rgb), images.perceptual_hash(smaller))
    assert distance <= 4


def test_different_pictures_hash_far_apart() -> None:
    hashes = [images.perceptual_hash(pattern(seed=seed)) for seed in range(12)]
    distances = [images.hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) > 8
    assert 20 < np.mean(distances) < 44


def test_perceptual_hash_rejects_an_empty_array() -> None:
    with pytest.raises(ValueError, match="perceptual_hash"):
        images.perceptual_hash(np.zeros((0, 5, 3), dtype=np.uint8))


# ------------------------------------------------------------------------- the original's imghdr


@pytest.mark.parametrize(
    "data",
    [
        encode(Image.new("RGB", (8, 8)), "JPEG"),
        encode(Image.new("CMYK", (8, 8)), "JPEG"),  # Adobe marker, no JFIF: imghdr said None
        encode(Image.new("RGB", (8, 8)), "PNG"),
        encode(Image.new("RGB", (8, 8)), "GIF"),
        encode(Image.new("RGB", (8, 8)), "BMP"),
        encode(Image.new("RGB", (8, 8)), "WEBP"),
        encode(Image.new("RGB", (8, 8)), "TIFF"),
        b"P6 8 8 255\n",
        b"#define x_width 8\n",
        b"<svg/>",
        b"",
    ],
)
def test_imghdr_what_answers_like_the_standard_library(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        imghdr = pytest.importorskip("imghdr")  # gone from Python 3.13
    assert images.imghdr_what(data) == imghdr.what(None, data)


def test_imghdr_what_does_not_know_a_cmyk_jpeg() -> None:
    assert images.imghdr_what(encode(Image.new("CMYK", (8, 8)), "JPEG")) is None
    assert images.sniff_format(encode(Image.new("CMYK", (8, 8)), "JPEG")) == "jpeg"


# --- finding near pairs among many hashes -----------------------------------------------------------


def clustered_hashes(seed: int, clusters: int = 60, copies: int = 4, noise: int = 5) -> np.ndarray:
    """Random 64-bit hashes, each with a few copies a few bits away (like resized pictures)."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2**63, size=clusters, dtype=np.uint64) * np.uint64(2) + rng.integers(
        0, 2, size=clusters, dtype=np.uint64
    )
    values = []
    for centre in centres:
        values.append(centre)
        for _ in range(copies):
            flips = rng.choice(64, size=int(rng.integers(0, noise + 1)), replace=False)
            values.append(centre ^ np.uint64(sum(1 << int(b) for b in flips)))
    return rng.permutation(np.asarray(values, dtype=np.uint64))


@pytest.mark.parametrize("max_bits", [0, 1, 3, 6, 7, 9, 13, 20, 64])
def test_near_pairs_finds_exactly_the_pairs_all_pairs_would(max_bits: int) -> None:
    for seed in range(3):
        values = clustered_hashes(seed)
        expected = images.near_pairs_by_matrix(values, max_bits)
        found = images.near_pairs(values, max_bits)
        np.testing.assert_array_equal(found, expected)
    assert images.near_pairs(values[:1], 6).shape == (0, 2)


@pytest.mark.parametrize("max_bits", [6, 13])
def test_near_pairs_in_small_steps_finds_the_same_pairs(monkeypatch, max_bits: int) -> None:
    # a few candidates (or distances) at a time: the slicing of the queries must lose nothing
    values = clustered_hashes(5)
    expected = images.near_pairs(values, max_bits)
    monkeypatch.setattr(images, "_CANDIDATES", 7)
    monkeypatch.setattr(images, "_BLOCK_DISTANCES", 1000)
    np.testing.assert_array_equal(images.near_pairs(values, max_bits), expected)
    assert len(expected) > 0


def test_near_pairs_takes_python_ints_up_to_64_bits() -> None:
    hashes = [0, 1, (1 << 64) - 1, (1 << 64) - 2, 1 << 40]
    np.testing.assert_array_equal(images.near_pairs(hashes, 1), [[0, 1], [0, 4], [2, 3]])
    np.testing.assert_array_equal(images.near_pairs_by_matrix(hashes, 1), [[0, 1], [0, 4], [2, 3]])
    # pairs in np.triu_indices order: (0,1) (0,2) (0,3) (0,4) (1,2) (1,3) (1,4) (2,3) (2,4) (3,4)
    assert images.pairwise_distances(hashes).tolist() == [1, 64, 63, 1, 63, 64, 2, 1, 63, 62]


def test_duplicate_groups_join_chains_and_exact_keys() -> None:
    # 0 ~ 1 ~ 2 by hash (a chain: 0 and 2 are 6 bits apart), 3 and 5 by identical bytes, 4 alone
    far = [0xFFFFFFFF00000000, 0x0000FFFFFFFF0000, 0xF0F0F0F0F0F0F0F0]  # 32 bits from the rest
    hashes = [0b0, 0b111, 0b111111, *far]
    keys = ["a", "b", "c", "same", "e", "same"]
    groups = images.duplicate_groups(keys, hashes, max_bits=3)
    assert groups.tolist() == [0, 0, 0, 1, 2, 1]
    with pytest.raises(ValueError, match="2 content keys but 1 perceptual hashes"):
        images.duplicate_groups(["a", "b"], [0])


def test_duplicate_groups_search_distinct_hashes_once(monkeypatch) -> None:
    # 3,000 copies of one picture and two near ones: one group, found without 4.5 million pairs
    hashes = [0b1011] * 3000 + [0b1000, 0xFFFF0000FFFF0000]
    searched = []
    real = images.near_pairs

    def spy(values, max_bits):
        searched.append(len(values))
        return real(values, max_bits)

    monkeypatch.setattr(images, "near_pairs", spy)
    groups = images.duplicate_groups([str(i) for i in range(len(hashes))], hashes, max_bits=2)
    assert searched == [3]
    assert groups.tolist() == [0] * 3001 + [1]
    # a negative threshold joins no hashes, not even equal ones; equal keys still join
    apart = images.duplicate_groups(["a", "a", "b"], [5, 5, 5], max_bits=-1)
    assert apart.tolist() == [0, 0, 1]


def flips(distance: int, spread: str, rng: np.random.Generator) -> int:
    """A mask of `distance` bits: in one band, dealt round the four bands, or anywhere."""
    if spread == "one band":
        positions = rng.choice(16, size=distance, replace=False) + 16 * int(rng.integers(4))
    elif spread == "dealt":  # as even as can be: the case multi-index hashing just catches
        positions = [16 * (k % 4) + k // 4 for k in range(distance)]
    else:
        positions = rng.choice(64, size=distance, replace=False)
    return sum(1 << int(p) for p in positions)


@pytest.mark.parametrize("max_bits", [0, 3, 4, 6, 7, 11, 12])
def test_pairs_exactly_at_the_threshold_are_found_and_one_bit_more_are_not(max_bits: int) -> None:
    rng = np.random.default_rng(max_bits)
    hashes, at, beyond = [], [], []
    for spread in ("one band", "dealt", "anywhere"):
        for distance, where in ((max_bits, at), (max_bits + 1, beyond)):
            base = int(rng.integers(0, 2**63)) * 2 + int(rng.integers(2))
            where.append((len(hashes), len(hashes) + 1))
            hashes += [base, base ^ flips(distance, spread, rng)]
    found = {tuple(p) for p in images.near_pairs(hashes, max_bits).tolist()}
    assert set(at) <= found and not set(beyond) & found
    np.testing.assert_array_equal(
        images.near_pairs(hashes, max_bits), images.near_pairs_by_matrix(hashes, max_bits)
    )
