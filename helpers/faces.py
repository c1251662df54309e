"""Finding the face: OpenCV's Haar cascade, and a crop around the largest face found.

Web photos show whole scenes; a model this small learns an expression only if it is given the
face. The detector is the Viola-Jones cascade OpenCV 4 ships (`haarcascade_frontalface_alt2.xml`,
inside the opencv-python-headless wheel, so it works offline); OpenCV 5 ships none. Measured on
this book's test images (booktools.bench face-crop), it finds the faces in real photos, misses
a share of the drawn faces, and misses dark-skinned drawn faces far more often than light ones,
which is why an image without a detected face is kept whole rather than thrown away.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import cv2
import numpy as np

CASCADE = "haarcascade_frontalface_alt2.xml"
SCALE_FACTOR = 1.1  # the image pyramid's step: each level is 1/1.1 of the last
MIN_NEIGHBOURS = 3  # overlapping detections needed to report a face
MIN_FACE = 24  # pixels; and never smaller than an eighth of the image's shorter side
MARGIN = 0.3  # the crop adds this share of the face box on every side (hair, chin, ears)
ONE_FACE = "one face"
SEVERAL_FACES = "several faces: kept the largest"
NO_FACE = "no face found: kept whole"
FATES = (ONE_FACE, SEVERAL_FACES, NO_FACE)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1 and y1 exclusive


@functools.cache
def detector() -> cv2.CascadeClassifier:
    """The frontal-face cascade, loaded once; a clear error where OpenCV ships none."""
    path = cv2.data.haarcascades + CASCADE
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(
            f"{path}: no face cascade in OpenCV {cv2.__version__} (OpenCV 5 ships none; "
            "the book pins opencv-python-headless 4.x)"
        )
    return cascade


def detect_faces(rgb: np.ndarray) -> list[Box]:
    """Frontal-face boxes in a uint8 RGB image, largest first."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image (height, width, 3), got {rgb.shape}")
    gray = cv2.cvtColor(rgb.astype(np.uint8), cv2.COLOR_RGB2GRAY)
    side = max(MIN_FACE, min(gray.shape) // 8)
    found = detector().detectMultiScale(
        gray, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBOURS, minSize=(side, side)
    )
    boxes = [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in found]
    return sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)


def crop_box(face: Box, shape: Sequence[int], margin: float = MARGIN) -> Box:
    """A square around a face box, grown by `margin` of its size on every side, inside the image."""
    height, width = int(shape[0]), int(shape[1])
    x0, y0, x1, y1 = face
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    side = int(round(min(side, width, height)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(round(min(max(cx - side / 2, 0), width - side)))
    top = int(round(min(max(cy - side / 2, 0), height - side)))
    return left, top, left + side, top + side


def crop_to_face(rgb: np.ndarray, margin: float = MARGIN) -> tuple[np.ndarray, str, Box | None]:
    """The image cropped around its largest face, the fate (ONE_FACE, ...) and the crop's box."""
    boxes = detect_faces(rgb)
    if not boxes:
        return rgb, NO_FACE, None
    x0, y0, x1, y1 = box = crop_box(boxes[0], rgb.shape, margin)
    return rgb[y0:y1, x0:x1], ONE_FACE if len(boxes) == 1 else SEVERAL_FACES, box


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1): 1 for equal boxes, 0 apart."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return float(overlap / union) if union > 0 else 0.0
