"""Decoding image files the one way the book does, and perceptual hashes to find near duplicates.

Cleaning (chapter 1), the leak-free split (chapter 3) and classifying new files (chapter 6) all
call `load_rgb`, so a file means the same pixels everywhere: fully decoded, EXIF-transposed,
8-bit RGB with any transparency composited onto white. The model's input comes from
`decode_and_resize`, TensorFlow's decoding and the book's one resize, in every pipeline.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps
from scipy.fft import dctn
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# The formats Keras's image_dataset_from_directory reads; everything else is "unsupported",
# even when Pillow could open it, so a reader's own files meet the same rule as the book's.
SUPPORTED_FORMATS: tuple[str, ...] = ("jpeg", "png", "bmp", "gif")
# Formats that are documents, not pictures: a web page saved as .jpg is "not an image".
DOCUMENT_FORMATS: tuple[str, ...] = ("html", "xml", "pdf")
# 40 megapixels: far above any photo a phone takes, far below what exhausts a laptop's memory.
DEFAULT_MAX_PIXELS = 40_000_000
SNIFF_BYTES = 1024

_PIL_NAMES = {"jpeg": "JPEG", "png": "PNG", "bmp": "BMP", "gif": "GIF"}

if TYPE_CHECKING:
    import tensorflow as tf


class ImageError(ValueError):
    """A file the book cannot use as an image; `reason` is one of the cleaning reasons."""

    reason = "undecodable or truncated"

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


class NotAnImageError(ImageError):
    """The content is not a picture at all (empty, text, a web page, unknown bytes)."""

    reason = "not an image"


class UnsupportedFormatError(ImageError):
    """A picture in a format the book does not read (SVG, WebP, TIFF, HEIC, ...)."""

    reason = "unsupported format"


class DecompressionBombError(ImageError):
    """More pixels than `max_pixels`: decoding it could exhaust memory."""

    reason = "decompression bomb"


class UndecodableImageError(ImageError):
    """A supported format whose data cannot be fully decoded (corrupt or truncated)."""

    reason = "undecodable or truncated"


def _head(path_or_bytes: Path | str | bytes) -> bytes:
    """The first SNIFF_BYTES bytes of a file or a bytes object."""
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        return bytes(path_or_bytes[:SNIFF_BYTES])
    with open(path_or_bytes, "rb") as handle:
        return handle.read(SNIFF_BYTES)


def _sniff_text(head: bytes) -> str | None:
    """Recognise SVG, HTML and XML by their opening text (after a BOM and whitespace)."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "svg"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")):
        return "html"
    if b"<html" in text[:SNIFF_BYTES]:
        return "html"
    if text.startswith(b"<?xml"):
        return "xml"
    return None


def sniff_format(path_or_bytes: Path | str | bytes) -> str | None:
    """The format a file's content says it has ('jpeg', 'png', 'svg', 'html', ...), or None.

    Decided by magic bytes and opening text, never by the file name, because downloads are
    often misnamed (a web page saved as photo.jpg). None means empty or unrecognised.
    """
    head = _head(path_or_bytes)
    if not head:
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"BM") and len(head) >= 26:
        return "bmp"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "avif" if brand in (b"avif", b"avis") else "heif"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "ico"
    if head.startswith(b"8BPS"):
        return "psd"
    if head.startswith(b"%PDF"):
        return "pdf"
    return _sniff_text(head)


def _classify_format(path: Path, fmt: str | None, size: int) -> None:
    """Raise the right ImageError for a format the book does not decode."""
    if size == 0:
        raise NotAnImageError(path, "empty file (0 bytes)")
    if fmt is None:
        raise NotAnImageError(path, "content is not a known image format")
    if fmt in DOCUMENT_FORMATS:
        raise NotAnImageError(path, f"content is {fmt.upper()}, not a picture")
    if fmt not in SUPPORTED_FORMATS:
        raise UnsupportedFormatError(
            path, f"{fmt} is not supported (the book reads {', '.join(SUPPORTED_FORMATS)})"
        )


def _open_checked(path: Path, data: bytes, fmt: str, max_pixels: int) -> Image.Image:
    """Open (not yet decode) the image, refusing more than max_pixels from its header alone."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[_PIL_NAMES[fmt]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DecompressionBombError(path, f"too many pixels ({error})") from None
    except Exception as error:  # Pillow raises many types for a bad header
        raise UndecodableImageError(path, f"cannot read the {fmt} header ({error})") from None
    width, height = image.size
    if width * height > max_pixels:
        raise DecompressionBombError(
            path, f"{width}x{height} = {width * height:,} pixels exceeds the limit {max_pixels:,}"
        )
    return image


def _decode(path: Path, image: Image.Image, fmt: str) -> Image.Image:
    """Fully decode the first frame (not only verify()) and apply the EXIF orientation."""
    try:
        image.seek(0)
        image.load()
    except Exception as error:  # OSError for truncation, SyntaxError/ValueError for corruption
        raise UndecodableImageError(path, f"{fmt} data cannot be decoded ({error})") from None
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block: the pixels are fine, there is no orientation to apply
        return image


def _on_white(rgba: np.ndarray) -> np.ndarray:
    """Composite an RGBA array onto a white background, rounding to 8-bit RGB."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _to_rgb(image: Image.Image) -> np.ndarray:
    """8-bit RGB pixels from any mode: 16-bit scaled (not clipped), alpha onto white."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        wide = np.asarray(image, dtype=np.float64)
        scale = 257.0 if mode.startswith("I;16") or wide.max(initial=0) > 255 else 1.0
        gray = np.clip(np.rint(wide / scale), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        return _on_white(np.asarray(image.convert("RGBA")))
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def load_rgb(path: Path | str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image file as the book does: an (H, W, 3) uint8 RGB array, upright.

    Judged by content, not name. Raises FileNotFoundError for a missing file and an
    ImageError subclass (a ValueError whose `reason` names the cleaning rule) otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    data = path.read_bytes()
    fmt = sniff_format(data)
    _classify_format(path, fmt, len(data))
    assert fmt is not None
    image = _open_checked(path, data, fmt, max_pixels)
    with image:
        upright = _decode(path, image, fmt)
        return _to_rgb(upright)


def exif_orientation(path: Path | str) -> int:
    """The EXIF Orientation tag of a file (1, upright, when it has none or cannot be read)."""
    try:
        with Image.open(path) as image:
            return int(image.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - any unreadable header: nothing to turn
        return 1


def has_transparency(path: Path | str) -> bool:
    """Whether a file's pixels carry transparency (an alpha channel or a transparent colour)."""
    try:
        with Image.open(path) as image:
            return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                image.mode == "P" and "transparency" in image.info
            )
    except Exception:  # noqa: BLE001 - unreadable: not a transparent image this book can use
        return False


def image_size(path: Path | str) -> tuple[int, int]:
    """(width, height) from the header only, without decoding; for quick listings."""
    with Image.open(path) as image:
        return image.size


def decode_and_resize(path: tf.Tensor | str | Path, size: int) -> tf.Tensor:
    """Read, decode to RGB and resize to (size, size, 3) float32 in [0, 255], like Keras's loader."""
    import tensorflow as tf

    if isinstance(path, str | Path):  # a file named from Python: check it and say what is wrong
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such image file")
        try:
            return _decode_and_resize(tf.constant(str(path)), size)
        except tf.errors.InvalidArgumentError as error:
            reason = error.message.splitlines()[0]
            raise ValueError(f"{path}: cannot be decoded as an image ({reason})") from None
    return _decode_and_resize(path, size)


def _decode_and_resize(path: tf.Tensor, size: int) -> tf.Tensor:
    """The decoding and the one resize (bilinear, aspect ratio not kept), on a path tensor."""
    import tensorflow as tf

    data = tf.io.read_file(path)
    image = tf.image.decode_image(data, channels=3, expand_animations=False)
    image = tf.image.resize(image, (size, size), method="bilinear")
    image.set_shape((size, size, 3))
    return image


def _gray(rgb: np.ndarray) -> np.ndarray:
    """Luma (ITU-R BT.601) of an RGB or gray array, as float32."""
    if rgb.ndim == 2:
        return rgb.astype(np.float32)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return rgb[..., :3].astype(np.float32) @ weights


def _bits_to_int(bits: np.ndarray) -> int:
    """Pack a boolean array (row-major) into one Python int, first bit most significant."""
    value = 0
    for bit in bits.ravel():
        value = (value << 1) | int(bit)
    return value


def perceptual_hash(rgb: np.ndarray, hash_size: int = 8, highfreq_factor: int = 4) -> int:
    """64-bit pHash: signs of the lowest DCT frequencies of a 32x32 gray thumbnail vs their median.

    Resizing, re-encoding and small colour changes barely move it, so the same picture at
    another size lands within a few bits (see `hamming`), while different pictures differ in
    about half of them.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim not in (2, 3) or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"perceptual_hash needs an (H, W) or (H, W, C) image, got {rgb.shape}")
    side = hash_size * highfreq_factor
    gray = Image.fromarray(np.clip(_gray(rgb), 0, 255).astype(np.uint8), mode="L")
    small = np.asarray(gray.resize((side, side), Image.Resampling.LANCZOS), dtype=np.float64)
    low = dctn(small, type=2, norm="ortho")[:hash_size, :hash_size]
    return _bits_to_int(low > np.median(low))


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (int(a) ^ int(b)).bit_count()


# Two files whose perceptual hashes differ in at most this many of 64 bits show one picture: the
# net of cleaning (chapter 1) and of the split's duplicate groups (chapter 3).
NEAR_DUPLICATE_BITS = 6
_BANDS = 4  # multi-index hashing: the 64-bit hash as four 16-bit bands
_BAND_BITS = 64 // _BANDS
_BAND_VALUES = 1 << _BAND_BITS
_MAX_MASKS = 200  # more probes per band than this, and comparing in blocks is faster
_CANDIDATES = 1 << 20  # candidate pairs checked at once (about 60 MB of index arrays)
_BLOCK_DISTANCES = 1 << 22  # distances the blocked search computes at once (about 40 MB)


def hash_array(hashes: Sequence[int] | np.ndarray) -> np.ndarray:
    """Hashes as one flat uint64 array (from an array, or from Python ints of up to 64 bits)."""
    if isinstance(hashes, np.ndarray):
        return hashes.astype(np.uint64, copy=False).ravel()
    return np.asarray([int(h) for h in hashes], dtype=np.uint64)


def distance_matrix(hashes: Sequence[int] | np.ndarray) -> np.ndarray:
    """The N x N Hamming distances as uint8: 9 N^2 bytes at its peak (the XOR, then its counts)."""
    values = hash_array(hashes)
    return np.bitwise_count(values[:, None] ^ values[None, :])


def pairwise_distances(hashes: Sequence[int] | np.ndarray) -> np.ndarray:
    """Hamming distance of every pair i < j, in the order of np.triu_indices (for small sets)."""
    values = hash_array(hashes)
    return distance_matrix(values)[np.triu_indices(len(values), 1)]


def near_pairs_by_matrix(
    hashes: Sequence[int] | np.ndarray, max_bits: int = NEAR_DUPLICATE_BITS
) -> np.ndarray:
    """What near_pairs finds, the way cleaning once did: every distance at once (the reference).

    The N x N distance matrix, thresholded, upper triangle: memory about 9 N^2 bytes, so 2.3 GB
    at 16,000 hashes and 75 GB at 100,000. For tests and benchmarks; the book calls near_pairs.
    """
    values = hash_array(hashes)
    if len(values) < 2:
        return np.empty((0, 2), dtype=np.int64)
    rows, cols = np.nonzero(np.triu(distance_matrix(values) <= max_bits, k=1))
    return np.stack([rows, cols], axis=1).astype(np.int64)


def _probes(bits: int, radius: int) -> np.ndarray:
    """Every `bits`-bit mask with at most `radius` bits set (0 first)."""
    masks = [
        sum(1 << b for b in chosen)
        for r in range(radius + 1)
        for chosen in combinations(range(bits), r)
    ]
    return np.asarray(masks, dtype=np.int64)


def _pair_codes(rows: np.ndarray, cols: np.ndarray, count: int) -> np.ndarray:
    """Pairs (i, j) as the single numbers i * count + j, which sort and deduplicate fast."""
    return rows.astype(np.int64) * count + cols


def _pairs_from_codes(codes: list[np.ndarray], count: int) -> np.ndarray:
    """The distinct pairs of some pair codes, as sorted (i, j) rows."""
    if not codes:
        return np.empty((0, 2), dtype=np.int64)
    rows, cols = np.divmod(np.unique(np.concatenate(codes)), count)
    return np.stack([rows, cols], axis=1)


def _blocked_pairs(values: np.ndarray, max_bits: int) -> np.ndarray:
    """Pairs within max_bits, comparing a few rows with all the others at a time (memory O(N))."""
    count = len(values)
    step = max(1, _BLOCK_DISTANCES // count)
    found = []
    for start in range(0, count, step):
        distance = np.bitwise_count(values[start : start + step, None] ^ values[None, :])
        rows, cols = np.nonzero(distance <= max_bits)
        rows = rows + start
        keep = rows < cols
        found.append(_pair_codes(rows[keep], cols[keep], count))
    return _pairs_from_codes(found, count)


def _band_keys(values: np.ndarray, band: int) -> np.ndarray:
    """The 16 bits of band `band` of every hash, as int64."""
    shifted = values >> np.uint64(band * _BAND_BITS)
    return (shifted & np.uint64(_BAND_VALUES - 1)).astype(np.int64)


def _band_index(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hashes in the order of their band key, and where each key's run starts in that order."""
    order = np.argsort(keys, kind="stable")
    return order, np.searchsorted(keys[order], np.arange(_BAND_VALUES + 1))


def _query_slices(counts: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive ranges of queries with at most about `budget` candidates each."""
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    cuts = np.searchsorted(ends, np.arange(budget, total, budget), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [len(counts)]]))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _band_matches(
    values: np.ndarray,
    keys: np.ndarray,
    index: tuple[np.ndarray, np.ndarray],
    mask: int,
    max_bits: int,
) -> list[np.ndarray]:
    """Codes of pairs i < j within max_bits whose band keys differ by exactly `mask`."""
    count = len(values)
    order, starts = index
    query = keys ^ mask
    low, counts = starts[query], starts[query + 1] - starts[query]
    found = []
    for first, last in _query_slices(counts, _CANDIDATES):
        sizes = counts[first:last]
        total = int(sizes.sum())
        if total == 0:
            continue
        rows = np.repeat(np.arange(first, last), sizes)
        offsets = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        cols = order[np.repeat(low[first:last], sizes) + offsets]
        keep = rows < cols
        rows, cols = rows[keep], cols[keep]
        close = np.bitwise_count(values[rows] ^ values[cols]) <= max_bits
        found.append(_pair_codes(rows[close], cols[close], count))
    return found


def near_pairs(
    hashes: Sequence[int] | np.ndarray, max_bits: int = NEAR_DUPLICATE_BITS
) -> np.ndarray:
    """Index pairs (i, j), i < j, sorted, of hashes at most max_bits apart, without all pairs.

    Multi-index hashing: cut every hash into four 16-bit bands. Two hashes at most max_bits apart
    differ in at most max_bits // 4 bits of some band (if every band differed in more, the
    total would exceed max_bits). So each hash looks up, band by band, the hashes whose band
    lies within that many bits of its own (an index of each band's 65,536 values), and only those
    candidates are compared in full, about a million at a time: memory grows with N and with the
    number of pairs found, not with N squared. The number of candidates (the time) grows as N
    squared over the band values in use: a few per hash at the book's sizes, more at 100,000
    (`python -m booktools.bench clean-scale` measures both). A larger threshold, with too many
    probes per band, compares a few rows with all the others at a time instead.
    """
    values = hash_array(hashes)
    if len(values) < 2 or max_bits < 0:  # a negative threshold: no two hashes are near
        return np.empty((0, 2), dtype=np.int64)
    masks = _probes(_BAND_BITS, min(max_bits // _BANDS, _BAND_BITS))
    if len(masks) > _MAX_MASKS:
        return _blocked_pairs(values, max_bits)
    found = []
    for band in range(_BANDS):
        keys = _band_keys(values, band)
        index = _band_index(keys)
        for mask in masks.tolist():
            found += _band_matches(values, keys, index, mask, max_bits)
    return _pairs_from_codes(found, len(values))


def _hash_edges(hashes: Sequence[int], max_bits: int) -> np.ndarray:
    """Edges joining files whose hashes are within max_bits: equal ones to the first, then near ones.

    Equal hashes are joined through their first file (N - 1 edges for N copies, not N^2 / 2
    pairs), and near_pairs searches the distinct values only.
    """
    values = hash_array(hashes)
    if max_bits < 0:
        return np.empty((0, 2), dtype=np.int64)
    distinct, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    copies = np.stack([first[inverse.ravel()], np.arange(len(values))], axis=1)
    near = first[near_pairs(distinct, max_bits)].reshape(-1, 2)
    return np.concatenate([near, copies[copies[:, 0] != copies[:, 1]]]).astype(np.int64)


def _key_edges(exact_keys: Sequence[str]) -> np.ndarray:
    """Edges joining every file to the first file with the same exact key."""
    first_with: dict[str, int] = {}
    same = [(first_with.setdefault(key, i), i) for i, key in enumerate(exact_keys)]
    return np.asarray([p for p in same if p[0] != p[1]], dtype=np.int64).reshape(-1, 2)


def duplicate_groups(
    exact_keys: Sequence[str], hashes: Sequence[int], max_bits: int = NEAR_DUPLICATE_BITS
) -> np.ndarray:
    """A group id per file: files with the same exact key or hashes <= max_bits apart share one.

    The groups are the connected components of the graph whose edges are those pairs, so a
    chain of near copies (A near B, B near C) is one group even where A and C are further apart.
    Ids are numbered by each group's first file.
    """
    n = len(exact_keys)
    if len(hashes) != n:
        raise ValueError(f"{n} content keys but {len(hashes)} perceptual hashes")
    if n == 0:
        return np.zeros(0, dtype=int)
    edges = np.concatenate([_hash_edges(hashes, max_bits), _key_edges(exact_keys)])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    _, first = np.unique(labels, return_index=True)  # renumber by each group's first member
    rank = np.empty(len(first), dtype=int)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[labels]


# The tests of the standard library's imghdr (removed in Python 3.13), in its order, for the
# chapter that shows what the original tutorial's cleaning did: only the first 32 bytes count.
_IMGHDR_TESTS: tuple[tuple[str, object], ...] = (
    ("jpeg", lambda h: h[6:10] in (b"JFIF", b"Exif") or h[:4] == b"\xff\xd8\xff\xdb"),
    ("png", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
    ("gif", lambda h: h[:6] in (b"GIF87a", b"GIF89a")),
    ("tiff", lambda h: h[:2] in (b"MM", b"II")),
    ("rgb", lambda h: h.startswith(b"\x01\xda")),
    ("pbm", lambda h: len(h) >= 3 and h[:1] == b"P" and h[1:2] in b"14" and h[2:3] in b" \t\n\r"),
    ("pgm", lambda h: len(h) >= 3 and h[:1] == b"P" and h[1:2] in b"25" and h[2:3] in b" \t\n\r"),
    ("ppm", lambda h: len(h) >= 3 and h[:1] == b"P" and h[1:2] in b"36" and h[2:3] in b" \t\n\r"),
    ("rast", lambda h: h.startswith(b"\x59\xa6\x6a\x95")),
    ("xbm", lambda h: h.startswith(b"#define ")),
    ("bmp", lambda h: h.startswith(b"BM")),
    ("webp", lambda h: h.startswith(b"RIFF") and h[8:12] == b"WEBP"),
    ("exr", lambda h: h.startswith(b"\x76\x2f\x31\x01")),
)


def imghdr_what(path_or_bytes: Path | str | bytes) -> str | None:
    """What `imghdr.what` answered (it is gone from Python 3.13): a guess from 32 bytes."""
    head = _head(path_or_bytes)[:32]
    for name, test in _IMGHDR_TESTS:
        if head and test(head):
            return name
    return None
