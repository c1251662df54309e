"""Synthetic "web downloads": faces drawn with a known valence and landmarks, packed like a browser.

No photo collection can be downloaded here, so the book draws its own faces. Each face's
expression comes from a continuous *valence* in [-1, 1] (> 0 happy, < 0 sad): the mouth's
curvature, the eyebrows' tilt and the eyes' shape. Generator v3 draws it in variants a shortcut
cannot solve (``Expression``): open and closed mouths on both sides, teeth in smiles and in
open-mouthed crying, tears, the crinkled eyes of a felt smile, and about a sixth of the faces weak,
|valence| < AMBIGUOUS_MAX. Everything else is nuisance a classifier must learn to ignore: skin
tone, face size, position and rotation, hair, glasses, background clutter (crops of every
photograph matplotlib, scikit-learn and scikit-image ship, BACKGROUND_PHOTOS, or a studio
backdrop), lighting, blur, noise and JPEG quality. The labels come from a simulated annotator
whose error rate grows as the expression weakens (``annotator_error``): a coin toss at valence 0,
ANNOTATOR_FLOOR on the clearest faces. Four expressions (EXPRESSIONS: happy, sad, surprised,
angry) can be drawn for the multi-class chapter (``sample_expression_faces``).

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
aspect ratios; near duplicates are smaller than their original but not smaller than
``MIN_SIDE``.

Coordinates: pixels of the image as displayed, ``x`` the column and ``y`` the row, origin at
the centre of the top-left pixel (so ``image[round(y), round(x)]``); boxes are
``(x0, y0, x1, y1)`` with ``x0 <= x1`` and ``y0 <= y1``, clipped to the image. ``left_eye`` is
the eye on the image's left in the upright face (the person's right eye).
``draw_face`` returns the same landmarks as a dict, plus ``left_brow``, ``right_brow`` and
``nose`` (a point).

Difficulty: the constants under "Difficulty" and "Expressions" below were tuned so that a
linear model on 32 x 32 grey thumbnails stays well short of the book's small CNN (v3, measured
once when they were set, 210 training and 140 validation faces, three runs: 0.56 to 0.74
against 0.84 to 0.88 validation accuracy): faces are roughly centred, as in portrait photos, because the CNN's Flatten + Dense
head cannot cope with large shifts.

Random streams: every face draws from its own stream keyed by (seed, purpose, index), so the
download set and ``sample_faces`` never share a face, and two seeds never share one either.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from helpers import paths

GENERATOR_VERSION = 3  # bump whenever the output changes, so ensure_downloads regenerates
CLASS_NAMES: tuple[str, str] = ("happy", "sad")
# the chapter on more than two classes: four expressions, each drawn from its own parameters
EXPRESSIONS: tuple[str, ...] = ("happy", "sad", "surprised", "angry")
MIN_SIDE = 160
MAX_SIDE = 600
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
ASPECTS = (1.0, 5 / 4, 4 / 3, 3 / 2, 16 / 9)  # longer / shorter side of the web photos
ASPECT_SHARES = (0.45, 0.2, 0.25, 0.08, 0.02)
PLAIN_FORMAT_SHARE = {"PNG": 0.07, "BMP": 0.03}  # the rest of the plain faces are JPEG

# Difficulty: how strong the expression is against the nuisance (calibrated, see the report).
FACE_HALF_WIDTH = (0.22, 0.3)  # the face's half-width, as a share of the image's shorter side
MAX_ROTATION = 14.0  # degrees either way
PHOTO_BACKGROUND = 0.75  # share of backgrounds cut from photos (the rest are studio gradients)
BACKGROUND_BLUR = 0.6  # share of photo backgrounds that are out of focus
MOUTH_WIDTH = (0.34, 0.44)  # mouth half-width, in face half-widths
MOUTH_CURVE = 0.6  # corner height above the mouth's centre at valence 1, in face half-widths
LIP_WIDTH = 0.055
BROW_LIFT = 0.24  # how far a sad brow's inner end rises at valence -1, in face half-widths
MOUTH_OPEN = 0.35  # the opening of a very happy mouth, in face half-widths
HEAD_MARGIN = 1.45  # distance kept from the image border, in face half-heights
POSITION_JITTER = 0.04  # how far the face may be off centre, as a share of the shorter side
MAX_BLUR = 0.8  # Gaussian blur sigma, in pixels of a 200 px image
MAX_NOISE = 6.0  # sensor noise sigma, in grey levels
# Expressions (generator v3): how strong they are, and what the annotator made of them.
AMBIGUOUS_SHARE = 0.15  # share of faces drawn with a weak expression, |valence| < AMBIGUOUS_MAX
AMBIGUOUS_MAX = 0.3
# The annotator who sorted the downloads errs more the weaker the expression: at |valence| = v
# the label is wrong with probability ANNOTATOR_FLOOR + (0.5 - ANNOTATOR_FLOOR) * exp(-v / SCALE)
# (a coin toss on a neutral face, a slip now and then on a clear one).
ANNOTATOR_FLOOR = 0.01
ANNOTATOR_SCALE = 0.08
# Mouth variants, so that "teeth" is not the answer: the chance of an open mouth rises with the
# expression's strength on both sides (a grin; crying), and an open mouth may show teeth either way.
OPEN_SMILE = (0.2, 0.5)  # P(open) = a + b * strength for happy faces
OPEN_CRY = (0.1, 0.5)  # the same for sad faces
TEETH_IF_OPEN = {"happy": 0.85, "sad": 0.6}  # upper teeth when smiling, lower when crying
CRINKLE = 0.6  # P(crow's feet at the eyes) = CRINKLE * strength, happy faces only
TEARS = 0.6  # P(tears) = TEARS * strength, sad faces only

VARIANTS: tuple[str, ...] = ("mouth_open", "teeth", "tears", "crinkle")  # faces.csv, 1 or 0
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

_DOWNLOADS_STREAM = 1
_SAMPLE_STREAM = 2
_SCENE_STREAM = 3
_EXPRESSIONS_STREAM = 4
Landmarks = dict[str, tuple[float, ...]]


# ---------------------------------------------------------------------------------------------
# Backgrounds: the real photos matplotlib and scikit-learn ship, loaded once.


# Every photograph the pinned packages ship (scikit-image is installed for its photos alone; its
# drawings, charts and tiny test images are left out), read from the installed files.
BACKGROUND_PHOTOS: tuple[tuple[str, str], ...] = (
    ("matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg"),
    ("scikit-learn", "sklearn/datasets/images/china.jpg"),
    ("scikit-learn", "sklearn/datasets/images/flower.jpg"),
    *(
        ("scikit-image", f"skimage/data/{name}")
        for name in (
            "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png",
            "clock_motion.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
            "hubble_deep_field.jpg", "ihc.png", "moon.png", "motorcycle_left.png",
            "motorcycle_right.png", "page.png", "retina.jpg", "rocket.jpg", "text.png",
        )
    ),
)  # fmt: skip


@functools.cache
def background_photos() -> tuple[np.ndarray, ...]:
    """The RGB photos backgrounds are cut from (BACKGROUND_PHOTOS, grey ones made RGB)."""
    photos = []
    for distribution, member in BACKGROUND_PHOTOS:
        with Image.open(paths.installed_file(distribution, member)) as handle:
            photos.append(np.asarray(handle.convert("RGB")))
    return tuple(np.ascontiguousarray(p, dtype=np.uint8) for p in photos)


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A cluttered (photo crop) or studio (colour gradient) backdrop, float32 RGB."""
    if rng.random() < PHOTO_BACKGROUND:
        photo = background_photos()[rng.integers(len(background_photos()))]
        ph, pw = photo.shape[:2]
        scale = rng.uniform(0.3, 1.0)
        ch = max(8, int(ph * scale))
        cw = min(pw, max(8, int(ch * width / height)))
        y0 = int(rng.integers(0, ph - ch + 1))
        x0 = int(rng.integers(0, pw - cw + 1))
        crop = photo[y0 : y0 + ch, x0 : x0 + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        image = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)
        image = image.astype(np.float32)
        if rng.random() < BACKGROUND_BLUR:  # a shallow depth of field
            sigma = rng.uniform(1.0, 4.0) * min(width, height) / 200
            image = cv2.GaussianBlur(image, (0, 0), sigma)
        tint = rng.uniform(0.75, 1.15, size=3).astype(np.float32)
        return image * tint
    # a studio backdrop: a colour gradient in any direction and a soft spotlight somewhere on it
    start = rng.uniform(40, 230, size=3).astype(np.float32)
    end = np.clip(start + rng.normal(0, 40, size=3), 0, 255).astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = xs / max(width - 1, 1) - 0.5, ys / max(height - 1, 1) - 0.5
    ramp = np.clip(0.5 + u * math.cos(angle) + v * math.sin(angle), 0, 1)[..., None]
    cx, cy, radius = rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.uniform(0.2, 0.6)
    spot = np.exp(-((u - cx) ** 2 + (v - cy) ** 2) / (2 * radius**2))[..., None]
    return (start + (end - start) * ramp) * (1 + rng.uniform(-0.35, 0.35) * spot)


# ---------------------------------------------------------------------------------------------
# Expressions.


@dataclass(frozen=True)
class Expression:
    """What a face shows: a valence and the variants drawn with it (generator v3).

    ``valence`` in [-1, 1] sets the mouth's curve, the brows' tilt and the eyes' shape (> 0
    happy, < 0 sad). ``mouth_open`` is the mouth's opening in face half-widths (0: closed);
    ``teeth`` shows a row of teeth in an open mouth (upper when valence >= 0, lower otherwise);
    ``tears`` and ``crinkle`` (crow's feet at the eyes) are drawn or not. ``surprise`` and
    ``anger`` in [0, 1] are the other two expressions of the four-class chapter: raised brows,
    wide eyes and a round open mouth; lowered, knitted brows, narrowed eyes and pressed lips.
    """

    valence: float
    mouth_open: float = 0.0
    teeth: bool = False
    tears: bool = False
    crinkle: bool = False
    surprise: float = 0.0
    anger: float = 0.0

    @property
    def strength(self) -> float:
        """How strongly the face shows its expression: |valence|, or its surprise or anger."""
        return max(abs(self.valence), self.surprise, self.anger)

    def variants(self) -> dict[str, int]:
        """The faces.csv variant columns: 1 where the face shows it, else 0."""
        shown = (self.mouth_open > 0, self.teeth, self.tears, self.crinkle)
        return {name: int(flag) for name, flag in zip(VARIANTS, shown, strict=True)}


def sample_strength(rng: np.random.Generator) -> float:
    """How strong an expression is: weak (|valence| < AMBIGUOUS_MAX) for AMBIGUOUS_SHARE of faces."""
    if rng.random() < AMBIGUOUS_SHARE:
        return float(rng.uniform(0.02, AMBIGUOUS_MAX))
    return float(rng.uniform(AMBIGUOUS_MAX, 1.0))


def annotator_error(strength: float | np.ndarray) -> float | np.ndarray:
    """The probability that the annotator labels a face of this |valence| wrongly."""
    return ANNOTATOR_FLOOR + (0.5 - ANNOTATOR_FLOOR) * np.exp(-np.abs(strength) / ANNOTATOR_SCALE)


def mouth_opening(strength: float) -> float:
    """An open mouth's opening, in face half-widths, for a happy or sad face of this strength."""
    return MOUTH_OPEN * (0.45 + 0.55 * strength)


def sample_expression(rng: np.random.Generator, valence: float) -> Expression:
    """A happy or sad face's variants for its valence: open or closed mouth, teeth, tears, crinkle."""
    strength = abs(valence)
    side = "happy" if valence >= 0 else "sad"
    a, b = OPEN_SMILE if side == "happy" else OPEN_CRY
    opened = rng.random() < a + b * strength
    teeth = opened and rng.random() < TEETH_IF_OPEN[side]
    opening = mouth_opening(strength) if opened else 0.0
    crinkle = side == "happy" and rng.random() < CRINKLE * strength
    tears = side == "sad" and rng.random() < TEARS * strength
    return Expression(float(valence), opening, bool(teeth), bool(tears), bool(crinkle))


def expression_for(name: str, strength: float, rng: np.random.Generator) -> Expression:
    """A face of one of the four EXPRESSIONS at a strength in [0, 1]."""
    if name == "happy":
        return sample_expression(rng, strength)
    if name == "sad":
        return sample_expression(rng, -strength)
    if name == "surprised":  # brows up, eyes wide, a round open mouth; the mouth's curve near 0
        opening = MOUTH_OPEN * (0.6 + 0.7 * strength) if rng.random() < 0.85 else 0.0
        return Expression(float(rng.uniform(-0.1, 0.2)), opening, surprise=strength)
    if name == "angry":  # brows down and together, narrowed eyes, pressed lips or bared teeth
        bared = rng.random() < 0.3
        opening = MOUTH_OPEN * 0.4 * (0.5 + strength) if bared else 0.0
        return Expression(-float(rng.uniform(0.05, 0.3)), opening, bared, anger=strength)
    raise ValueError(f"unknown expression {name!r}: choose one of {', '.join(EXPRESSIONS)}")


def as_expression(face: float | Expression, rng: np.random.Generator) -> Expression:
    """An Expression as given, or one drawn for a bare valence (sample_expression)."""
    if isinstance(face, Expression):
        valence = face.valence
    else:
        valence = float(face)
    if not -1.0 <= valence <= 1.0:
        raise ValueError(f"valence must be in [-1, 1], got {valence}")
    return face if isinstance(face, Expression) else sample_expression(rng, valence)


# ---------------------------------------------------------------------------------------------
# Drawing one face.

SKIN_TONES = np.array(
    [
        (255, 224, 196),
        (247, 206, 178),
        (241, 194, 167),
        (234, 192, 134),
        (224, 172, 105),
        (198, 134, 66),
        (161, 102, 56),
        (141, 85, 36),
        (110, 70, 45),
        (92, 58, 40),
    ],
    dtype=np.float64,
)
HAIR_COLOURS = np.array(
    [
        (20, 16, 14),
        (45, 30, 22),
        (85, 55, 35),
        (120, 80, 45),
        (180, 140, 80),
        (220, 190, 120),
        (150, 60, 30),
        (140, 140, 140),
        (225, 225, 220),
    ],
    dtype=np.float64,
)
IRIS_COLOURS = np.array(
    [(60, 40, 25), (90, 60, 30), (70, 100, 140), (80, 110, 70), (40, 30, 25)], dtype=np.float64
)
_SHIFT = 4  # cv2 fractional bits: draw at 1/16 pixel precision
_SCALE = 1 << _SHIFT


@dataclass
class _Pen:
    """Draws in face-local units (face half-width = 1, y down) onto the image."""

    image: np.ndarray
    centre: np.ndarray
    matrix: np.ndarray  # local -> pixel offsets (rotation times the face half-width)

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """Local (n, 2) points to pixel coordinates."""
        return points @ self.matrix.T + self.centre

    def _fixed(self, points: np.ndarray) -> np.ndarray:
        """Pixel coordinates in cv2's fixed-point format."""
        return np.round(self.to_pixels(points) * _SCALE).astype(np.int32)

    def fill(self, points: np.ndarray, colour: Iterable[float], image: np.ndarray | None = None):
        """Fill a local polygon."""
        target = self.image if image is None else image
        cv2.fillPoly(target, [self._fixed(points)], _colour(colour), cv2.LINE_AA, _SHIFT)

    def line(self, points: np.ndarray, colour: Iterable[float], width: float, closed=False):
        """Stroke a local polyline, its width in local units."""
        thickness = max(1, int(round(width * self.unit)))
        fixed = self._fixed(points)
        cv2.polylines(self.image, [fixed], closed, _colour(colour), thickness, cv2.LINE_AA, _SHIFT)

    @property
    def unit(self) -> float:
        """Pixels per local unit."""
        return float(np.hypot(*self.matrix[:, 0]))

    def box(self, points: np.ndarray, pad: float = 0.0) -> tuple[float, float, float, float]:
        """Pixel bounding box of local points, padded by `pad` local units."""
        pixels = self.to_pixels(points)
        extra = pad * self.unit
        (x0, y0), (x1, y1) = pixels.min(axis=0) - extra, pixels.max(axis=0) + extra
        return (float(x0), float(y0), float(x1), float(y1))


def _colour(values: Iterable[float]) -> tuple[int, int, int]:
    """A cv2 colour from floats, clipped to 0..255."""
    return tuple(min(255, max(0, int(round(float(v))))) for v in values)  # type: ignore[return-value]


def _ellipse(cx: float, cy: float, rx: float, ry: float, t0=0.0, t1=2 * math.pi, n=48):
    """Points on an ellipse arc (angles in radians, y down)."""
    t = np.linspace(t0, t1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


@dataclass
class _Identity:
    """Everything about a face that does not depend on its expression."""

    skin: np.ndarray
    hair: np.ndarray
    hair_style: int  # 0 bald, 1 short, 2 long, 3 curly
    clothes: np.ndarray
    iris: np.ndarray
    elong: float  # face half-height / half-width
    eye_y: float
    eye_dx: float
    eye_w: float
    eye_open: float
    brow_gap: float
    brow_w: float
    mouth_y: float
    mouth_w: float
    lip: np.ndarray
    glasses: int  # 0 none, 1 round, 2 rectangular
    frame: np.ndarray
    gaze: np.ndarray = field(default_factory=lambda: np.zeros(2))


def _identity(rng: np.random.Generator) -> _Identity:
    """Draw a random person (skin, hair, proportions, glasses)."""
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] + rng.normal(0, 8, 3)
    hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] + rng.normal(0, 6, 3)
    elong = rng.uniform(1.15, 1.38)
    return _Identity(
        skin=skin,
        hair=hair,
        hair_style=int(rng.choice(4, p=[0.12, 0.43, 0.3, 0.15])),
        clothes=rng.uniform(20, 235, 3),
        iris=IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))],
        elong=elong,
        eye_y=rng.uniform(-0.18, -0.06) * elong,
        eye_dx=rng.uniform(0.34, 0.46),
        eye_w=rng.uniform(0.17, 0.22),
        eye_open=rng.uniform(0.45, 0.65),
        brow_gap=rng.uniform(0.15, 0.22) * elong,
        brow_w=rng.uniform(0.06, 0.11),
        mouth_y=rng.uniform(0.42, 0.55) * elong,
        mouth_w=rng.uniform(*MOUTH_WIDTH),
        lip=skin * rng.uniform([0.45, 0.25, 0.25], [0.65, 0.4, 0.4]),
        glasses=int(rng.choice(3, p=[0.7, 0.15, 0.15])),
        frame=rng.choice([20.0, 60.0, 180.0]) * np.ones(3) + rng.normal(0, 10, 3),
        gaze=rng.normal(0, 0.02, 2),
    )


def _draw_body(pen: _Pen, who: _Identity) -> None:
    """Shoulders, neck, ears and the hair that falls behind the head."""
    e = who.elong
    pen.fill(_ellipse(0, e + 1.05, 1.9, 0.85), who.clothes)
    neck = np.array([[-0.42, 0.5 * e], [0.42, 0.5 * e], [0.5, e + 0.5], [-0.5, e + 0.5]])
    pen.fill(neck, who.skin * 0.85)
    if who.hair_style == 2:
        pen.fill(_ellipse(0, 0.35 * e, 1.28, 1.3 * e), who.hair)
    for side in (-1, 1):
        pen.fill(_ellipse(side * 0.98, -0.02 * e, 0.14, 0.24), who.skin * 0.92)


def _draw_head(pen: _Pen, who: _Identity, nose: bool = True) -> np.ndarray:
    """The face outline, hair on top and the nose; returns the outline's local points."""
    e = who.elong
    t = np.linspace(0, 2 * math.pi, 72)
    narrowing = 1 - 0.14 * np.clip(np.sin(t), 0, None) ** 2  # a narrower chin
    outline = np.stack([np.cos(t) * narrowing, e * np.sin(t)], axis=1)
    pen.fill(outline, who.skin)
    if who.hair_style in (1, 2):
        top = _ellipse(0, 0, 1.07, 1.06 * e, math.pi * 1.02, math.pi * 1.98, 40)
        fringe = np.array([[1.0, -0.35 * e], [0.5, -0.62 * e], [-0.2, -0.58 * e], [-1.0, -0.4 * e]])
        pen.fill(np.vstack([top, fringe]), who.hair)
    elif who.hair_style == 3:
        for angle in np.linspace(math.pi * 1.05, math.pi * 1.95, 9):
            cx, cy = 0.95 * math.cos(angle), 0.98 * e * math.sin(angle)
            pen.fill(_ellipse(cx, cy, 0.26, 0.24), who.hair)
    if nose:
        tip = (who.eye_y + who.mouth_y) / 2 + 0.05
        ridge = np.array([[0.02, who.eye_y + 0.1], [0.07, tip], [-0.07, tip + 0.02]])
        pen.line(ridge, who.skin * 0.7, 0.035)
    return outline


def _eye_outline(who: _Identity, face: Expression, side: int) -> np.ndarray:
    """An eye's lid curves: happy eyes narrow into crescents, sad eyes droop outwards.

    Surprise opens both lids wide; anger lowers the upper lid and tilts the eye towards the nose.
    """
    happy, sad = max(face.valence, 0.0), max(-face.valence, 0.0)
    w, h = who.eye_w, who.eye_w * who.eye_open
    upper = h * (1 - 0.3 * sad + 0.05 * happy) * (1 + 0.6 * face.surprise - 0.45 * face.anger)
    lower = h * (0.9 - 1.05 * happy) * (1 + 0.35 * face.surprise)
    outer_drop = w * (0.35 * sad - 0.12 * happy - 0.25 * face.anger)
    t = np.linspace(0.0, 1.0, 16)
    x = side * (who.eye_dx - w + 2 * w * t)  # inner corner (t = 0) to outer corner (t = 1)
    base = who.eye_y + outer_drop * t
    top = base - upper * np.sin(math.pi * t)
    bottom = base + lower * np.sin(math.pi * t)
    return np.vstack([np.stack([x, top], 1), np.stack([x, bottom], 1)[::-1]])


def _draw_eye(pen: _Pen, who: _Identity, face: Expression, side: int) -> tuple[float, float]:
    """One eye (white, iris clipped to the lids, lid line); returns its centre in pixels."""
    outline = _eye_outline(who, face, side)
    pixels = pen.to_pixels(outline)
    height, width = pen.image.shape[:2]
    x0, y0 = np.floor(pixels.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(pixels.max(axis=0)).astype(int) + 3
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    centre = np.array([side * who.eye_dx, who.eye_y + 0.15 * who.eye_w * who.eye_open])
    if x1 > x0 and y1 > y0:
        roi = pen.image[y0:y1, x0:x1]
        shifted = _Pen(np.zeros(roi.shape[:2], np.uint8), pen.centre - (x0, y0), pen.matrix)
        shifted.fill(outline, (255, 255, 255))
        eye = np.empty_like(roi)
        eye[:] = (245, 245, 240)
        drawn = _Pen(eye, shifted.centre, pen.matrix)
        iris = centre + who.gaze
        drawn.fill(_ellipse(*iris, 0.55 * who.eye_w, 0.55 * who.eye_w, n=28), who.iris)
        drawn.fill(_ellipse(*iris, 0.22 * who.eye_w, 0.22 * who.eye_w, n=20), (10, 10, 10))
        alpha = shifted.image[..., None].astype(np.float32) / 255
        roi[:] = (roi * (1 - alpha) + eye * alpha).astype(np.uint8)
    half = len(outline) // 2
    lid = 0.03 + 0.015 * max(-face.valence, 0)
    pen.line(outline[:half], who.skin * 0.35, lid)
    pen.line(outline[half:], who.skin * 0.6, 0.015)
    (cx, cy) = pen.to_pixels(centre[None])[0]
    return float(cx), float(cy)


def _brow_outline(who: _Identity, face: Expression, side: int) -> np.ndarray:
    """An eyebrow as a tapered band: sad raises its inner end, happy arches and lifts it.

    Surprise lifts the whole brow and arches it; anger pulls its inner end down towards the nose.
    """
    happy, sad = max(face.valence, 0.0), max(-face.valence, 0.0)
    w = who.eye_w
    t = np.linspace(0.0, 1.0, 14)  # inner end (t = 0) to outer end (t = 1)
    x = side * (who.eye_dx - (1.05 - 0.25 * face.anger) * w + 2.35 * w * t)
    base = who.eye_y - who.brow_gap - 0.04 * happy - 0.16 * face.surprise + 0.05 * face.anger
    inner_lift = BROW_LIFT * sad - 0.02 * happy - 0.2 * face.anger
    arch = 0.03 + 0.06 * happy - 0.02 * sad + 0.06 * face.surprise
    y = base - inner_lift * (1 - t) - arch * np.sin(math.pi * t)
    half = who.brow_w * (1 - 0.55 * t) / 2
    return np.vstack([np.stack([x, y - half], 1), np.stack([x, y + half], 1)[::-1]])


def _mouth_outline(who: _Identity, face: Expression) -> tuple[np.ndarray, np.ndarray, float]:
    """Upper and lower lip curves (corners up for happy, down for sad) and the opening.

    The opening is the face's own (``mouth_open``): closed smiles and open-mouthed crying both
    occur. Surprise narrows the mouth into a round O; anger presses it narrower and flatter.
    """
    w = who.mouth_w * (1 + 0.15 * face.valence) * (1 - 0.4 * face.surprise - 0.15 * face.anger)
    curve = MOUTH_CURVE * face.valence  # how far the corners sit above (happy) or below the centre
    opening = face.mouth_open
    t = np.linspace(-1.0, 1.0, 25)
    bulge = (1 - t**2) ** (1 - 0.5 * face.surprise)  # rounder when surprised
    mid = who.mouth_y - curve * t**2 + 0.5 * curve
    upper = np.stack([w * t, mid - 0.3 * opening * bulge], 1)
    lower = np.stack([w * t, mid + 0.7 * opening * bulge], 1)
    return upper, lower, opening


def _draw_mouth(pen: _Pen, who: _Identity, face: Expression) -> np.ndarray:
    """The mouth, closed or open, with upper (smiling) or lower (crying) teeth; its local outline."""
    upper, lower, opening = _mouth_outline(who, face)
    outline = np.vstack([upper, lower[::-1]])
    lips = LIP_WIDTH * (1 - 0.4 * face.anger)  # pressed lips look thinner
    if opening > 0.015:
        pen.fill(outline, (70, 20, 30))
        if face.teeth:
            inner = slice(4, -4)
            if face.valence >= 0:  # the upper row, hanging from the upper lip
                edge = np.minimum(upper[:, 1] + 0.45 * opening, lower[:, 1])
                teeth = np.vstack([upper[inner], np.stack([upper[inner, 0], edge[inner]], 1)[::-1]])
            else:  # the lower row, standing on the lower lip
                edge = np.maximum(lower[:, 1] - 0.35 * opening, upper[:, 1])
                teeth = np.vstack([lower[inner], np.stack([lower[inner, 0], edge[inner]], 1)[::-1]])
            pen.fill(teeth, (240, 238, 230))
        pen.line(outline, who.lip, lips, closed=True)
    else:
        pen.line(upper, who.lip, lips * 1.4)
    return outline


def _draw_crinkle(pen: _Pen, who: _Identity, side: int) -> None:
    """Crow's feet: three short lines fanning out from an eye's outer corner (a felt smile)."""
    corner = np.array([side * (who.eye_dx + who.eye_w * 1.08), who.eye_y])
    for angle in (-0.45, 0.0, 0.45):
        direction = np.array([side * math.cos(angle), math.sin(angle)])
        start = corner + 0.03 * direction
        pen.line(np.stack([start, start + 0.1 * direction]), who.skin * 0.62, 0.016)


def _draw_tears(pen: _Pen, who: _Identity, side: int) -> None:
    """A tear track from under an eye down the cheek, ending in a drop with a highlight."""
    x0 = side * (who.eye_dx + 0.35 * who.eye_w)
    y0 = who.eye_y + 0.6 * who.eye_w * who.eye_open
    t = np.linspace(0.0, 1.0, 8)
    track = np.stack([x0 + side * 0.03 * np.sin(math.pi * t), y0 + 0.32 * t], 1)
    wet = who.skin * 0.45 + np.array([120.0, 140.0, 165.0]) * 0.55
    pen.line(track, wet, 0.028)
    drop_x, drop_y = track[-1]
    pen.fill(_ellipse(drop_x, drop_y + 0.03, 0.035, 0.05, n=20), (170, 200, 235))
    pen.fill(_ellipse(drop_x - 0.01, drop_y + 0.015, 0.01, 0.014, n=10), (250, 252, 255))


def _draw_glasses(pen: _Pen, who: _Identity, eyes: list[np.ndarray]) -> None:
    """Round or rectangular frames with a bridge and temples."""
    r = who.eye_w * 1.55
    for (cx, cy), side in zip(eyes, (-1, 1), strict=True):
        if who.glasses == 1:
            shape = _ellipse(cx, cy, r, r * 0.85)
        else:
            shape = np.array(
                [[cx - r, cy - 0.7 * r], [cx + r, cy - 0.7 * r], [cx + r, cy + 0.7 * r]]
            )
            shape = np.vstack([shape, [[cx - r, cy + 0.7 * r]]])
        pen.line(shape, who.frame, 0.035, closed=True)
        pen.line(np.array([[cx + side * r, cy], [side * 0.99, cy - 0.03]]), who.frame, 0.03)
    (lx, ly), (rx, ry) = eyes
    pen.line(np.array([[lx + r, ly], [0, ly - 0.05], [rx - r, ry]]), who.frame, 0.03)


def _light(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lighting (gain, colour cast, a gradient from one side), blur and sensor noise."""
    height, width = image.shape[:2]
    gain = (rng.uniform(0.75, 1.15) * rng.uniform(0.9, 1.1, 3)).astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    strength = rng.uniform(0.0, 0.7) / max(width, height)
    xs = (np.arange(width, dtype=np.float32) - width / 2) * (strength * math.cos(angle))
    ys = (np.arange(height, dtype=np.float32) - height / 2) * (strength * math.sin(angle))
    light = (1 + ys[:, None] + xs[None, :])[..., None]
    image = image * light * gain
    sigma = rng.uniform(0.0, MAX_BLUR) * min(width, height) / 200
    if sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    image += noise * np.float32(rng.uniform(1.0, MAX_NOISE))
    return np.clip(image, 0, 255).astype(np.uint8)


def _clip_landmarks(marks: Landmarks, width: int, height: int) -> Landmarks:
    """Clip every point and box to the image and round to 1/100 pixel."""
    limits = np.array([width - 1, height - 1], dtype=float)
    clipped: Landmarks = {}
    for name, values in marks.items():
        coords = np.clip(np.reshape(values, (-1, 2)), 0, limits)
        clipped[name] = tuple(round(float(v), 2) for v in coords.ravel())
    return clipped


def render_face(
    face: float | Expression, rng: np.random.Generator, width: int, height: int
) -> tuple[np.ndarray, Landmarks, np.ndarray]:
    """Draw a face on a width x height canvas; return RGB image, landmarks and person mask.

    ``face`` is an Expression, or a bare valence whose variants are drawn (sample_expression).
    """
    face = as_expression(face, rng)
    if min(width, height) < 16:
        raise ValueError(f"a face needs at least 16 x 16 pixels, got {width} x {height}")
    who = _identity(rng)
    side = min(width, height)
    half_width = side * rng.uniform(*FACE_HALF_WIDTH)
    angle = math.radians(rng.uniform(-MAX_ROTATION, MAX_ROTATION))
    extent = half_width * HEAD_MARGIN * who.elong  # the face stays inside, the hair may not
    cx = width / 2 + rng.uniform(-1, 1) * max(0.0, min(width / 2 - extent, POSITION_JITTER * side))
    cy = height / 2 + rng.uniform(-1, 1) * max(
        0.0, min(height / 2 - extent, POSITION_JITTER * side)
    )
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    canvas = np.zeros((height, width, 3), np.uint8)
    pen = _Pen(canvas, np.array([cx, cy]), rotation * half_width)
    _draw_body(pen, who)
    outline = _draw_head(pen, who)
    left_eye = _draw_eye(pen, who, face, -1)
    right_eye = _draw_eye(pen, who, face, 1)
    for side in (-1, 1):
        if face.crinkle:
            _draw_crinkle(pen, who, side)
        if face.tears:
            _draw_tears(pen, who, side)
    brows = [_brow_outline(who, face, s) for s in (-1, 1)]
    brow_colour = who.hair * 0.7 if who.hair_style else who.skin * 0.45
    for brow in brows:
        pen.fill(brow, brow_colour)
    mouth = _draw_mouth(pen, who, face)
    if who.glasses:
        eye_centres = [np.array([s * who.eye_dx, who.eye_y]) for s in (-1, 1)]
        _draw_glasses(pen, who, eye_centres)
    mask = np.zeros((height, width), np.uint8)
    mask_pen = _Pen(mask, pen.centre, pen.matrix)
    _draw_body(mask_pen, _white(who))
    _draw_head(mask_pen, _white(who), nose=False)
    background = _background(rng, width, height)
    alpha = mask[..., None].astype(np.float32) / 255
    image = _light(background * (1 - alpha) + canvas.astype(np.float32) * alpha, rng)
    nose_y = (who.eye_y + who.mouth_y) / 2 + 0.05
    marks: Landmarks = {
        "left_eye": left_eye,
        "right_eye": right_eye,
        "mouth": pen.box(mouth, pad=0.03),
        "brows": pen.box(np.vstack(brows)),
        "left_brow": pen.box(brows[0]),
        "right_brow": pen.box(brows[1]),
        "face": pen.box(outline),
        "nose": tuple(float(v) for v in pen.to_pixels(np.array([[0.0, nose_y]]))[0]),
    }
    return image, _clip_landmarks(marks, width, height), mask


def _white(who: _Identity) -> _Identity:
    """The same person painted white: used to draw the person's mask."""
    white = np.full(3, 255.0)
    return _Identity(
        **{**who.__dict__, "skin": white / 0.85 / 0.92, "hair": white, "clothes": white}
    )


def draw_face(
    face: float | Expression, rng: np.random.Generator, size: int = 256
) -> tuple[np.ndarray, dict]:
    """A size x size RGB face showing `face` (an Expression or a valence), with its landmarks."""
    image, marks, _ = render_face(face, rng, size, size)
    return image, marks


# ---------------------------------------------------------------------------------------------
# Samples of faces.


@dataclass
class FaceSample:
    """Faces with their (possibly wrong) labels, true labels, valences and landmarks."""

    images: np.ndarray  # uint8 (n, size, size, 3)
    labels: np.ndarray  # int, index into class_names (CLASS_NAMES: 0 happy, 1 sad), annotated
    true_labels: np.ndarray  # int, the expression drawn
    valence: np.ndarray  # float in [-1, 1]
    landmarks: list[dict]
    expressions: list[Expression] = field(default_factory=list)
    class_names: tuple[str, ...] = CLASS_NAMES

    def variants(self) -> dict[str, np.ndarray]:
        """Each VARIANTS column over the faces (1 where the face shows it)."""
        rows = [e.variants() for e in self.expressions]
        return {name: np.array([r[name] for r in rows], dtype=int) for name in VARIANTS}

    def __len__(self) -> int:
        """Number of faces."""
        return len(self.labels)


def sample_valence(rng: np.random.Generator, label: int) -> float:
    """A valence for a class (0 happy, 1 sad): strength from sample_strength, sign from the class."""
    strength = sample_strength(rng)
    return strength if label == 0 else -strength


def _rng(seed: int, *key: int) -> np.random.Generator:
    """An independent random stream for (seed, key): no two keys share numbers."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def draw_as_downloaded(
    face: Expression, rng: np.random.Generator, size: int
) -> tuple[np.ndarray, Landmarks]:
    """A face drawn the way the downloads are (web size and aspect, JPEG), resized to size x size.

    The resize is bilinear without antialiasing, like the training pipeline's, so a fresh sample
    comes from the same distribution as the test split, not from a cleaner one.
    """
    width, height = _face_size(rng)
    image, marks, _ = render_face(face, rng, width, height)
    quality = int(rng.integers(55, 96))
    decoded = cv2.imdecode(np.frombuffer(encode_image(image, "JPEG", quality), np.uint8), 1)
    image = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    square = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    marks = scale_landmarks(marks, size / width, size / height)
    return square, _clip_landmarks(marks, size, size)


def sample_faces(
    n: int,
    seed: int,
    size: int,
    label_noise: float | None = None,
    like_downloads: bool = True,
) -> FaceSample:
    """n fresh happy and sad faces (balanced), labelled by the annotator or at a fixed noise rate.

    With label_noise None (the default) each label is wrong with annotator_error(|valence|), as
    in the downloads; with a number, every label is flipped with that probability. With
    like_downloads (the default) each face is drawn at a web photo's size and aspect,
    JPEG-compressed and squashed to size x size as the training pipeline does; without it, faces
    are drawn square at size x size directly.
    """
    if label_noise is not None and not 0.0 <= label_noise <= 1.0:
        raise ValueError(f"label_noise must be in [0, 1], got {label_noise}")
    return _sample(n, seed, size, CLASS_NAMES, _SAMPLE_STREAM, label_noise, like_downloads)


def sample_expression_faces(
    n: int, seed: int, size: int, names: tuple[str, ...] = EXPRESSIONS, like_downloads: bool = True
) -> FaceSample:
    """n fresh faces of the given EXPRESSIONS (balanced), labelled by the annotator.

    A wrong label (annotator_error of the expression's strength) names one of the other classes,
    each as likely.
    """
    unknown = [name for name in names if name not in EXPRESSIONS]
    if unknown or len(set(names)) < 2:
        raise ValueError(f"names must be two or more of {', '.join(EXPRESSIONS)}, got {names}")
    return _sample(n, seed, size, tuple(names), _EXPRESSIONS_STREAM, None, like_downloads)


def _sample(
    n: int,
    seed: int,
    size: int,
    names: tuple[str, ...],
    stream: int,
    label_noise: float | None,
    like_downloads: bool,
) -> FaceSample:
    """The faces of sample_faces and sample_expression_faces: one stream per face."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = _rng(seed, stream)
    true_labels = rng.permutation(np.arange(n) % len(names))
    slips = rng.random(n)
    other_class = rng.integers(1, len(names), size=n)  # how far round the classes a slip lands
    images = np.empty((n, size, size, 3), np.uint8)
    labels = true_labels.copy()
    valence = np.empty(n)
    landmarks, expressions = [], []
    for i in range(n):
        face_rng = _rng(seed, stream, i)
        strength = sample_strength(face_rng)
        face = expression_for(names[true_labels[i]], strength, face_rng)
        error = annotator_error(strength) if label_noise is None else label_noise
        if slips[i] < error:
            labels[i] = (true_labels[i] + other_class[i]) % len(names)
        if like_downloads:
            images[i], marks = draw_as_downloaded(face, face_rng, size)
        else:
            images[i], marks = draw_face(face, face_rng, size)
        valence[i] = face.valence
        landmarks.append(marks)
        expressions.append(face)
    return FaceSample(
        images, labels.astype(int), true_labels.astype(int), valence, landmarks, expressions, names
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


def encode_image(image: np.ndarray, fmt: str, quality: int = 90, **options) -> bytes:
    """Encode an RGB(A) uint8 array with Pillow (JPEG, PNG, BMP, GIF, WEBP)."""
    buffer = io.BytesIO()
    picture = Image.fromarray(image)
    if fmt == "JPEG":
        picture.save(buffer, "JPEG", quality=quality, **options)
    elif fmt == "WEBP":
        picture.save(buffer, "WEBP", quality=quality, method=4)
    else:
        picture.save(buffer, fmt, **options)
    return buffer.getvalue()


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


def _face_size(rng: np.random.Generator) -> tuple[int, int]:
    """A web photo's (width, height): varied aspect, shorter side >= MIN_SIDE."""
    longer = int(rng.integers(240, MAX_SIDE + 1))
    aspect = max(1.0, float(rng.choice(ASPECTS, p=ASPECT_SHARES)) * rng.uniform(0.97, 1.03))
    shorter = max(MIN_SIDE, int(round(longer / aspect)))
    return (longer, shorter) if rng.random() < 0.6 else (shorter, longer)


def scale_landmarks(marks: Landmarks, sx: float, sy: float) -> Landmarks:
    """Landmarks of an image resized by (sx, sy), pixel centres at integers.

    A pixel's centre x maps to (x + 0.5) * sx - 0.5: scaling the coordinates alone would move
    every point by half a pixel of the old grid towards the origin.
    """
    scaled: Landmarks = {}
    for name, values in marks.items():
        coords = np.reshape(values, (-1, 2))
        coords = (coords + 0.5) * (sx, sy) - 0.5
        scaled[name] = tuple(round(float(v), 2) for v in np.clip(coords, 0, None).ravel())
    return scaled


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


# ---------------------------------------------------------------------------------------------
# Faces inside larger scenes, as web photos often show them.

SCENE_SIZE = (640, 480)  # width, height of a scene
SCENE_PORTRAIT = (0.25, 0.4)  # the pasted portrait's side, as a share of the scene's width
SCENES_CSV = "scenes.csv"


def render_scene(
    valence: float, rng: np.random.Generator, size: tuple[int, int] = SCENE_SIZE
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A person drawn small somewhere in a larger scene; the image and the face's box in it."""
    width, height = size
    side = int(width * rng.uniform(*SCENE_PORTRAIT))
    if side < 16 or side > min(width, height):
        raise ValueError(f"a {width} x {height} scene cannot hold a {side} px portrait")
    portrait, marks, mask = render_face(valence, rng, side, side)
    scene = _background(rng, width, height)
    x0 = int(rng.integers(0, width - side + 1))
    y0 = int(rng.integers(0, height - side + 1))
    alpha = mask[..., None].astype(np.float32) / 255
    window = scene[y0 : y0 + side, x0 : x0 + side]
    scene[y0 : y0 + side, x0 : x0 + side] = portrait * alpha + window * (1 - alpha)
    fx0, fy0, fx1, fy1 = marks["face"]
    image = np.clip(np.rint(scene), 0, 255).astype(np.uint8)
    return image, (fx0 + x0, fy0 + y0, fx1 + x0, fy1 + y0)


def write_scene_folder(root: Path, faces_per_class: int, seed: int) -> Path:
    """root/<happy|sad>/scene_NNN.jpg: faces small in larger scenes, and root/scenes.csv.

    A folder source like a reader's web photos (no junk, no wrong labels), for measuring what
    cropping to the face does; scenes.csv records each file's valence and face box.
    """
    root = Path(root)
    rows = []
    for label_index, label in enumerate(CLASS_NAMES):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(faces_per_class):
            rng = _rng(seed, _SCENE_STREAM, label_index, index)
            valence = sample_valence(rng, label_index)
            image, box = render_scene(valence, rng)
            name = f"scene_{index:03d}.jpg"
            (folder / name).write_bytes(encode_image(image, "JPEG", quality=90))
            rows.append({"class": label, "file": name, "valence": round(valence, 4),
                         **dict(zip(("face_x0", "face_y0", "face_x1", "face_y1"),
                                    (round(v, 2) for v in box), strict=True))})  # fmt: skip
    with open(root / SCENES_CSV, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return root
