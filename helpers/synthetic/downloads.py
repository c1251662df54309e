"""The synthetic "web downloads": class zips of faces mixed with junk, and faces.csv.

Data contract of ``generate_downloads(dest, faces_per_class, seed)``:

- ``dest/happy.zip`` and ``dest/sad.zip``: flat zips (no folders), as a browser's "Download
  All" saves them, with web-style names unique within a class (``images (3).jpeg``,
  ``smiling-woman-portrait-260nw-1234567.jpg``, names cut mid-word, ...). Each holds
  ``faces_per_class`` distinct faces plus junk; every kind below occurs at least once per zip.
  Same seed, same bytes (fixed zip timestamps and member order).
- ``dest/faces.csv``: one row per zip member, in zip order, with the columns ``CSV_COLUMNS``:

  =====================  ===============================================================
  ``class``              the zip (folder) the file is in: ``happy`` or ``sad``
  ``file``               the member's name inside that zip
  ``kind``               how the file was made (table below)
  ``valence``            the drawn face's valence; empty when the file holds no face
  ``true_class``         the class the valence says (``happy`` if valence > 0); empty if none
  ``label_flipped``      1 if ``true_class`` differs from ``class``, else 0; empty if none
  ``width``, ``height``  the image's size as displayed (after EXIF orientation); empty if none
  landmarks              ``left_eye_x, left_eye_y, right_eye_x, right_eye_y`` and the boxes
                         ``mouth_*``, ``brows_*`` (both brows), ``face_*`` as
                         ``x0, y0, x1, y1``; empty when the file holds no face
  ``mouth_open`` ...     the variants (VARIANTS: ``mouth_open``, ``teeth``, ``tears``,
                         ``crinkle``), 1 where the face shows it, else 0; empty if no face
  ``format``             the real content: JPEG, PNG, BMP, GIF, WEBP, SVG, HTML or EMPTY
  ``duplicate_of``       for copies, ``class/file`` of the file they copy; else empty
  =====================  ===============================================================

Kinds (``kind``) and what a correct cleaner does with them:

- kept (``KEPT_KINDS``): ``face`` (a JPEG of varied quality, some PNG and BMP), ``gif`` (an
  animated GIF whose first frame is the face), ``cmyk_jpeg``, ``png16`` (16 bits per channel
  RGB), ``rgba_png`` (a cut-out portrait: transparent background whose hidden colour is
  black, so it must be composited onto white), ``exif_rotated`` (a JPEG whose pixels are
  stored rotated, with an EXIF Orientation tag that undoes it).
- rejected (``REJECTED_KINDS``): ``svg`` (an icon), ``webp`` (a face, in a format the Keras
  loader does not read), ``html_as_jpg`` (an HTML page saved as ``.jpg``), ``zero_byte``,
  ``truncated_jpeg`` (a face JPEG cut short), ``thumbnail`` (a face at most
  ``THUMBNAIL_MAX`` px on its longer side), ``near_duplicate`` (an earlier face of the same
  class again, smaller and re-encoded), ``exact_duplicate`` (a byte-for-byte copy of an
  earlier face under another name). ``kind`` says which file is the copy; a cleaner may keep
  either one of an exact pair.
- ``cross_class_duplicate``: a byte-for-byte copy of a face of the *other* class under the
  same name (like the "happy senior" photo that the original tutorial found in both
  folders). Whether a cleaner drops it depends on whether it removes duplicates across
  classes, so it is in neither list.

Faces are between ``MIN_SIDE`` px (shorter side) and ``MAX_SIDE`` px (longer side), at varied

``write_scene_folder`` writes a folder source of faces small in larger scenes (no junk, no wrong
labels) and its scenes.csv.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from helpers.synthetic.expression import (
    _DOWNLOADS_STREAM,
    CLASS_NAMES,
    VARIANTS,
    Expression,
    _rng,
    annotator_error,
    sample_expression,
    sample_strength,
    sample_valence,
)
from helpers.synthetic.rendering import (
    MAX_SIDE,
    MIN_SIDE,
    Landmarks,
    _clip_landmarks,
    _face_size,
    encode_image,
    render_face,
    scale_landmarks,
)

THUMBNAIL_MAX = 64
CSV_NAME = "faces.csv"
ZIP_TIME = (2024, 3, 14, 9, 26, 53)

KEPT_KINDS: tuple[str, ...] = ("face", "gif", "cmyk_jpeg", "png16", "rgba_png", "exif_rotated")
VARIANT_KINDS: tuple[str, ...] = KEPT_KINDS[1:]
REJECTED_KINDS: tuple[str, ...] = (
    "svg",
    "webp",
    "html_as_jpg",
    "zero_byte",
    "truncated_jpeg",
    "thumbnail",
    "near_duplicate",
    "exact_duplicate",
)
ALL_KINDS: tuple[str, ...] = (*KEPT_KINDS, *REJECTED_KINDS, "cross_class_duplicate")

# Files of each kind per 155 faces (the full profile), at least one each: ~25 rejects a class.
KIND_RATES: dict[str, float] = {
    "gif": 1,
    "cmyk_jpeg": 2,
    "png16": 1,
    "rgba_png": 2,
    "exif_rotated": 3,
    "svg": 10,
    "webp": 2,
    "html_as_jpg": 2,
    "zero_byte": 1,
    "truncated_jpeg": 2,
    "thumbnail": 3,
    "near_duplicate": 3,
    "exact_duplicate": 2,
    "cross_class_duplicate": 1,
}
KIND_RATE_BASE = 155
PLAIN_FORMAT_SHARE = {"PNG": 0.07, "BMP": 0.03}  # the rest of the plain faces are JPEG

POINTS = ("left_eye", "right_eye")
BOXES = ("mouth", "brows", "face")
LANDMARK_COLUMNS: tuple[str, ...] = (
    *(f"{p}_{axis}" for p in POINTS for axis in ("x", "y")),
    *(f"{b}_{corner}" for b in BOXES for corner in ("x0", "y0", "x1", "y1")),
)
CSV_COLUMNS: tuple[str, ...] = (
    "class",
    "file",
    "kind",
    "valence",
    "true_class",
    "label_flipped",
    "width",
    "height",
    *LANDMARK_COLUMNS,
    *VARIANTS,
    "format",
    "duplicate_of",
)


# ---------------------------------------------------------------------------------------------
# Web-style file names.

MOODS = {
    "happy": ["happy", "smiling", "cheerful", "laughing", "joyful", "smile", "glad", "positive"],
    "sad": ["sad", "unhappy", "crying", "upset", "lonely", "depressed", "grief", "tearful"],
}
SUBJECTS = [
    "woman", "man", "senior", "girl", "boy", "young-woman", "young-man", "old-man",
    "old-woman", "teenager", "businessman", "student", "mother", "father", "person",
]  # fmt: skip
EXTRAS = [
    "portrait", "real-people", "close-up", "headshot", "face", "studio", "outdoors",
    "isolated", "copy-space", "looking-at-camera", "series", "emotions", "real-person",
]  # fmt: skip
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _words(rng: np.random.Generator, mood: str, n: int) -> str:
    """Hyphenated words of a stock-photo title."""
    picks = [mood, str(rng.choice(SUBJECTS))] + [str(w) for w in rng.choice(EXTRAS, n, False)]
    return "-".join(picks)


def _stem(rng: np.random.Generator, label: str) -> str:
    """A file name stem as found on an image search results page."""
    mood = str(rng.choice(MOODS[label]))
    digits = lambda k: str(rng.integers(10 ** (k - 1), 10**k))  # noqa: E731
    style = int(rng.integers(9))
    if style == 0:
        return f"{_words(rng, mood, 1)}-260nw-{digits(9)}"
    if style == 1:
        return f"depositphotos_{digits(8)}-stock-photo-{_words(rng, mood, 2)}"
    if style == 2:
        return f"istockphoto-{digits(10)}-612x612"
    if style == 3:
        return "".join(rng.choice(list("0123456789abcdef"), 24))
    if style == 4:
        return f"{rng.integers(1, 30)}-real-people-portrait-{mood}-footage-{digits(9)}_prevstill"
    if style == 5:  # "Download All" keeps the tail of a long title, cut mid-word
        title = f"portrait-of-{_words(rng, mood, 4)}-full-collection-of-diverse-faces"
        start = int(rng.integers(1, 12))
        return title[start : start + 76]
    if style == 6:
        return f"images ({rng.integers(1, 99)})"
    if style == 7:
        return "".join(rng.choice(list(_ALNUM), 23))
    return f"{_words(rng, mood, 0)}_{rng.integers(1, 20)}"


class _Names:
    """Hands out file names unique within one class."""

    def __init__(self, rng: np.random.Generator, label: str) -> None:
        self.rng, self.label, self.used = rng, label, set()

    def take(self, name: str) -> str:
        """Reserve a given name (or the same name with a counter if it is taken)."""
        stem, dot, ext = name.rpartition(".")
        candidate, counter = name, 1
        while candidate.lower() in self.used:
            candidate = f"{stem} ({counter}){dot}{ext}"
            counter += 1
        self.used.add(candidate.lower())
        return candidate

    def new(self, extension: str) -> str:
        """A fresh web-style name with this extension."""
        return self.take(_stem(self.rng, self.label) + extension)


def _jpeg_extension(rng: np.random.Generator) -> str:
    """Mostly .jpg, sometimes .jpeg or .JPG."""
    return str(rng.choice([".jpg", ".jpeg", ".JPG"], p=[0.75, 0.2, 0.05]))


# ---------------------------------------------------------------------------------------------
# Encoders.
def _png16(image: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG."""
    wide = image[..., ::-1].astype(np.uint16) * 257
    ok, data = cv2.imencode(".png", wide)
    if not ok:
        raise RuntimeError("OpenCV could not encode a 16-bit PNG")
    return data.tobytes()


def _cmyk_jpeg(image: np.ndarray, quality: int) -> bytes:
    """A JPEG in CMYK colour, as print-oriented stock sites serve."""
    buffer = io.BytesIO()
    Image.fromarray(image).convert("CMYK").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _rgba_png(image: np.ndarray, mask: np.ndarray) -> bytes:
    """A cut-out portrait: alpha from the person mask, black hidden under the transparency."""
    rgba = np.dstack([image, mask])
    rgba[mask == 0, :3] = 0
    return encode_image(rgba, "PNG")


_ORIENTATIONS = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def _exif_rotated_jpeg(image: np.ndarray, orientation: int, quality: int) -> bytes:
    """A JPEG storing the pixels turned so that its EXIF Orientation tag turns them back."""
    stored = Image.fromarray(image).transpose(_ORIENTATIONS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=quality, exif=exif.tobytes())
    return buffer.getvalue()


def _gif(image: np.ndarray) -> bytes:
    """A two-frame animated GIF whose first frame is the face."""
    first = Image.fromarray(image)
    second = Image.fromarray((image.astype(np.float32) * 0.85).astype(np.uint8))
    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=[second], duration=600, loop=0)
    return buffer.getvalue()


def _svg_icon(rng: np.random.Generator, label: str) -> bytes:
    """A small vector emoticon, as image searches mix into their results."""
    size = int(rng.choice([48, 64, 128, 192, 512]))
    colour = "#{:02x}{:02x}{:02x}".format(*rng.integers(0, 256, 3))
    mouth = "M30 62 Q50 80 70 62" if label == "happy" else "M30 72 Q50 56 70 72"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 100 100">\n'
        f'  <circle cx="50" cy="50" r="46" fill="{colour}" stroke="#222" stroke-width="3"/>\n'
        f'  <circle cx="35" cy="40" r="5" fill="#222"/><circle cx="65" cy="40" r="5" fill="#222"/>\n'
        f'  <path d="{mouth}" fill="none" stroke="#222" stroke-width="4"/>\n'
        f"</svg>\n"
    ).encode()


def _html_page(rng: np.random.Generator, name: str) -> bytes:
    """The HTML page a hot-link-protected image URL returns instead of the picture."""
    ref = rng.integers(10**7, 10**8)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>403 Forbidden</title>\n</head>\n<body>\n<h1>Access denied</h1>\n"
        f"<p>You don't have permission to access /images/{name} on this server.</p>\n"
        f"<p>Reference #{ref}</p>\n</body>\n</html>\n"
    ).encode()


# ---------------------------------------------------------------------------------------------
# The downloads.


@dataclass
class _File:
    """One zip member and its faces.csv row."""

    label: str
    name: str
    kind: str
    data: bytes
    fmt: str
    face: Expression | None = None
    true_class: str | None = None
    size: tuple[int, int] | None = None  # displayed (width, height)
    landmarks: Landmarks | None = None
    duplicate_of: str = ""

    def row(self) -> dict[str, str]:
        """The faces.csv row, every value a string."""
        row = dict.fromkeys(CSV_COLUMNS, "")
        row.update({"class": self.label, "file": self.name, "kind": self.kind, "format": self.fmt})
        row["duplicate_of"] = self.duplicate_of
        if self.face is not None and self.size is not None and self.landmarks is not None:
            row["valence"] = f"{self.face.valence:.4f}"
            row.update({name: str(flag) for name, flag in self.face.variants().items()})
            row["true_class"] = self.true_class or ""
            row["label_flipped"] = str(int(self.true_class != self.label))
            row["width"], row["height"] = str(self.size[0]), str(self.size[1])
            for column, value in zip(LANDMARK_COLUMNS, _flat(self.landmarks), strict=True):
                row[column] = f"{value:.2f}"
        return row


def _flat(marks: Landmarks) -> list[float]:
    """Landmarks in LANDMARK_COLUMNS order."""
    return [v for name in (*POINTS, *BOXES) for v in marks[name]]


def landmarks_from_row(row: Mapping[str, object]) -> dict[str, tuple[float, ...]]:
    """The landmarks dict of one faces.csv row (as read by csv or pandas); empty if none."""
    values = [row.get(column, "") for column in LANDMARK_COLUMNS]
    if any(v in ("", None) or (isinstance(v, float) and math.isnan(v)) for v in values):
        return {}
    numbers = iter(float(v) for v in values)  # type: ignore[arg-type]
    marks = {name: (next(numbers), next(numbers)) for name in POINTS}
    marks.update({name: tuple(next(numbers) for _ in range(4)) for name in BOXES})
    return marks


def kind_counts(faces_per_class: int) -> dict[str, int]:
    """How many files of each junk/variant kind one class zip gets."""
    return {
        kind: max(1, round(rate * faces_per_class / KIND_RATE_BASE))
        for kind, rate in KIND_RATES.items()
    }


def _resized(
    image: np.ndarray, marks: Landmarks, width: int, height: int
) -> tuple[np.ndarray, Landmarks]:
    """An image and its landmarks resized to (width, height)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    marks = scale_landmarks(marks, width / w, height / h)
    return small, _clip_landmarks(marks, width, height)


def _class_files(label: str, faces_per_class: int, seed: int) -> list[_File]:
    """Every file of one class zip (before the cross-class copies), in page order."""
    index = CLASS_NAMES.index(label)
    other = CLASS_NAMES[1 - index]
    rng = _rng(seed, _DOWNLOADS_STREAM, index)
    names = _Names(_rng(seed, _DOWNLOADS_STREAM, index, 1), label)
    counts = kind_counts(faces_per_class)
    variants = [kind for kind in VARIANT_KINDS for _ in range(counts[kind])]
    if faces_per_class < len(variants) + 1:
        need = len(variants) + 1
        raise ValueError(
            f"faces_per_class must be >= {need} to hold every kind, got {faces_per_class}"
        )
    order = rng.permutation(faces_per_class)
    kinds = ["face"] * faces_per_class
    for position, kind in zip(order, variants, strict=False):
        kinds[position] = kind
    plain = [i for i in range(faces_per_class) if kinds[i] == "face"]

    files: list[_File] = []
    sources: list[tuple[_File, np.ndarray]] = []  # plain JPEG faces big enough to shrink
    for i in range(faces_per_class):
        face_rng = _rng(seed, _DOWNLOADS_STREAM, index, 2, i)
        # the annotator put this face in `label`; the weaker its expression, the likelier wrongly
        strength = sample_strength(face_rng)
        truth = other if face_rng.random() < annotator_error(strength) else label
        face = sample_expression(face_rng, strength if truth == CLASS_NAMES[0] else -strength)
        width, height = _face_size(face_rng)
        if i == plain[0]:  # at least one face big enough to have a smaller near duplicate
            grow = max(1.0, 1.6 * MIN_SIDE / min(width, height))
            width, height = min(MAX_SIDE, round(width * grow)), min(MAX_SIDE, round(height * grow))
        image, marks, mask = render_face(face, face_rng, width, height)
        quality = int(face_rng.integers(55, 96))
        kind = kinds[i]
        item = _File(label, "", kind, b"", "JPEG", face, truth, (width, height), marks)
        if kind == "face":
            fmt = "JPEG"
            draw = face_rng.random()
            if i != plain[0] and draw < PLAIN_FORMAT_SHARE["PNG"]:
                fmt = "PNG"
            elif i != plain[0] and draw < sum(PLAIN_FORMAT_SHARE.values()):
                fmt = "BMP"
            item.fmt = fmt
            item.data = encode_image(image, fmt, quality)
            extension = _jpeg_extension(face_rng) if fmt == "JPEG" else f".{fmt.lower()}"
            if fmt == "JPEG" and min(width, height) >= 1.5 * MIN_SIDE:
                sources.append((item, image))
        elif kind == "gif":
            item.fmt, item.data, extension = "GIF", _gif(image), ".gif"
        elif kind == "cmyk_jpeg":
            item.data, extension = _cmyk_jpeg(image, quality), _jpeg_extension(face_rng)
        elif kind == "png16":
            item.fmt, item.data, extension = "PNG", _png16(image), ".png"
        elif kind == "rgba_png":
            item.fmt, item.data, extension = "PNG", _rgba_png(image, mask), ".png"
        else:  # exif_rotated
            orientation = int(face_rng.choice(list(_ORIENTATIONS)))
            item.data = _exif_rotated_jpeg(image, orientation, quality)
            extension = _jpeg_extension(face_rng)
        item.name = names.new(extension)
        files.append(item)
    files += _junk(label, counts, seed, index, names, files, sources)
    return [files[i] for i in rng.permutation(len(files))]


def _junk(
    label: str,
    counts: dict[str, int],
    seed: int,
    index: int,
    names: _Names,
    files: list[_File],
    sources: list[tuple[_File, np.ndarray]],
) -> list[_File]:
    """The rejected kinds of one class: icons, pages, broken files, small and repeated faces."""
    rng = _rng(seed, _DOWNLOADS_STREAM, index, 3)
    junk: list[_File] = []
    svg_names = iter(["vector.svg", "192px.svg", *(f"vector{k}.svg" for k in range(2, 99))])
    for _ in range(counts["svg"]):
        name = names.take(next(svg_names))
        junk.append(_File(label, name, "svg", _svg_icon(rng, label), "SVG"))
    for _ in range(counts["html_as_jpg"]):
        name = names.new(".jpg")
        junk.append(_File(label, name, "html_as_jpg", _html_page(rng, name), "HTML"))
    for _ in range(counts["zero_byte"]):
        junk.append(_File(label, names.new(_jpeg_extension(rng)), "zero_byte", b"", "EMPTY"))
    extra = 0

    def new_face(
        width: int, height: int
    ) -> tuple[np.ndarray, Landmarks, Expression, np.random.Generator]:
        nonlocal extra
        face_rng = _rng(seed, _DOWNLOADS_STREAM, index, 4, extra)
        extra += 1
        face = sample_expression(face_rng, sample_valence(face_rng, index))
        image, marks, _ = render_face(face, face_rng, width, height)
        return image, marks, face, face_rng

    for _ in range(counts["truncated_jpeg"]):
        image, _, _, face_rng = new_face(*_face_size(rng))
        data = encode_image(image, "JPEG", int(face_rng.integers(60, 95)))
        cut = int(len(data) * face_rng.uniform(0.3, 0.7))
        junk.append(
            _File(label, names.new(_jpeg_extension(rng)), "truncated_jpeg", data[:cut], "JPEG")
        )
    for _ in range(counts["webp"]):
        size = _face_size(rng)
        image, marks, face, face_rng = new_face(*size)
        data = encode_image(image, "WEBP", int(face_rng.integers(60, 90)))
        name = names.new(str(rng.choice([".webp", ".jpg.webp"])))
        junk.append(_File(label, name, "webp", data, "WEBP", face, label, size, marks))
    for _ in range(counts["thumbnail"]):
        width, height = _face_size(rng)
        image, marks, face, face_rng = new_face(width, height)
        scale = rng.uniform(40, THUMBNAIL_MAX) / max(width, height)
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        small, marks = _resized(image, marks, *size)
        data = encode_image(small, "JPEG", int(face_rng.integers(60, 90)))
        name = names.new(_jpeg_extension(rng))
        junk.append(_File(label, name, "thumbnail", data, "JPEG", face, label, size, marks))
    picks = rng.permutation(len(sources))
    for k in range(counts["near_duplicate"]):
        original, image = sources[picks[k % len(sources)]]
        width, height = original.size  # type: ignore[misc]
        scale = max(rng.uniform(0.55, 0.8), (MIN_SIDE + 1) / min(width, height))
        scale = min(scale, 0.95)
        size = (int(width * scale), int(height * scale))
        small, marks = _resized(image, original.landmarks, *size)  # type: ignore[arg-type]
        data = encode_image(small, "JPEG", int(rng.integers(55, 96)))
        name = names.new(_jpeg_extension(rng))
        junk.append(
            _File(label, name, "near_duplicate", data, "JPEG", original.face,
                  original.true_class, size, marks, f"{label}/{original.name}")
        )  # fmt: skip
    jpegs = [f for f in files if f.kind == "face" and f.fmt == "JPEG"]
    for k in range(counts["exact_duplicate"]):
        original = jpegs[int(rng.integers(len(jpegs)))] if k else jpegs[0]
        junk.append(_copy(original, label, names.new(_jpeg_extension(rng)), "exact_duplicate"))
    return junk


def _copy(original: _File, label: str, name: str, kind: str) -> _File:
    """A byte-for-byte copy of a file under another name (and maybe in another class)."""
    return _File(
        label, name, kind, original.data, original.fmt, original.face, original.true_class,
        original.size, original.landmarks, f"{original.label}/{original.name}",
    )  # fmt: skip


def _cross_copies(classes: dict[str, list[_File]], seed: int, faces_per_class: int) -> None:
    """Put a face of each class, under its own name, into the other class (in place)."""
    count = kind_counts(faces_per_class)["cross_class_duplicate"]
    copies: dict[str, list[_File]] = {label: [] for label in CLASS_NAMES}
    for index, label in enumerate(CLASS_NAMES):
        other = CLASS_NAMES[1 - index]
        rng = _rng(seed, _DOWNLOADS_STREAM, index, 5)
        taken = {f.name.lower() for f in classes[other]}
        candidates = [f for f in classes[label] if f.kind == "face" and f.true_class == label]
        candidates = [f for f in candidates if f.name.lower() not in taken]
        for k in rng.permutation(len(candidates))[:count]:
            original = candidates[k]
            copies[other].append(_copy(original, other, original.name, "cross_class_duplicate"))
    for label, extra in copies.items():
        rng = _rng(seed, _DOWNLOADS_STREAM, CLASS_NAMES.index(label), 6)
        for item in extra:
            classes[label].insert(int(rng.integers(len(classes[label]) + 1)), item)


def _write_zip(path: Path, files: list[_File]) -> None:
    """A flat zip with fixed timestamps and permissions, so the bytes depend on the seed only."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for item in files:
            info = zipfile.ZipInfo(item.name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, item.data)


def generate_downloads(dest: Path, faces_per_class: int, seed: int) -> Path:
    """Write dest/happy.zip, dest/sad.zip and dest/faces.csv (see the module docstring)."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"{dest}: exists and is not a folder")
    dest.mkdir(parents=True, exist_ok=True)
    classes = {label: _class_files(label, faces_per_class, seed) for label in CLASS_NAMES}
    _cross_copies(classes, seed, faces_per_class)
    rows = []
    for label, files in classes.items():
        _write_zip(dest / f"{label}.zip", files)
        rows += [item.row() for item in files]
    with open(dest / CSV_NAME, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return dest
