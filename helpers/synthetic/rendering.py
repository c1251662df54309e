"""Drawing a face in pixels: backgrounds, the face, lighting and the other nuisances; samples.

Everything that is not the expression is nuisance a classifier must learn to ignore: skin tone,
face size, position and rotation, hair, glasses, background clutter (crops of every photograph
matplotlib, scikit-learn and scikit-image ship, BACKGROUND_PHOTOS, or a studio backdrop),
lighting, blur, noise and JPEG quality. ``render_face`` draws one face on a canvas of any size;
``draw_face`` a square one; ``draw_as_downloaded`` one the way the downloads are drawn;
``sample_faces`` and ``sample_expression_faces`` fresh labelled samples in memory;
``render_scene`` a person small in a larger scene.

Coordinates: pixels of the image as displayed, ``x`` the column and ``y`` the row, origin at
the centre of the top-left pixel (so ``image[round(y), round(x)]``); boxes are
``(x0, y0, x1, y1)`` with ``x0 <= x1`` and ``y0 <= y1``, clipped to the image. ``left_eye`` is
the eye on the image's left in the upright face (the person's right eye). ``draw_face`` returns
the landmarks as a dict: ``left_eye``, ``right_eye`` and ``nose`` (points), and the boxes
``mouth``, ``brows``, ``left_brow``, ``right_brow`` and ``face``.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from helpers import paths
from helpers.synthetic.expression import (
    Expression,
    _brow_outline,
    _eye_outline,
    _Identity,
    _identity,
    _mouth_outline,
    as_expression,
)

# a web photo's size: shorter side at least MIN_SIDE px, longer side at most MAX_SIDE px
MIN_SIDE = 160
MAX_SIDE = 600
ASPECTS = (1.0, 5 / 4, 4 / 3, 3 / 2, 16 / 9)  # longer / shorter side of the web photos
ASPECT_SHARES = (0.45, 0.2, 0.25, 0.08, 0.02)

# Difficulty: how strong the nuisance is against the expression (calibrated: see __init__).
FACE_HALF_WIDTH = (0.22, 0.3)  # the face's half-width, as a share of the image's shorter side
MAX_ROTATION = 14.0  # degrees either way
PHOTO_BACKGROUND = 0.75  # share of backgrounds cut from photos (the rest are studio gradients)
BACKGROUND_BLUR = 0.6  # share of photo backgrounds that are out of focus
LIP_WIDTH = 0.055  # in face half-widths
HEAD_MARGIN = 1.45  # distance kept from the image border, in face half-heights
POSITION_JITTER = 0.04  # how far the face may be off centre, as a share of the shorter side
MAX_BLUR = 0.8  # Gaussian blur sigma, in pixels of a 200 px image
MAX_NOISE = 6.0  # sensor noise sigma, in grey levels
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
# Drawing one face.

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
