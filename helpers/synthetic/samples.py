"""Fresh faces beyond the downloads: labelled samples in memory, and faces inside scenes.

``sample_faces`` and ``sample_expression_faces`` draw n balanced faces, each from its own random
stream, labelled by the simulated annotator (or at a fixed noise rate), by default drawn the way
the downloads are (``draw_as_downloaded``) so that they come from the test split's distribution.
``render_scene`` and ``write_scene_folder`` put a person small somewhere in a larger scene, as
web photos often show them: a folder source for measuring what cropping to the face does.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from helpers.synthetic.expression import (
    _EXPRESSIONS_STREAM,
    _SAMPLE_STREAM,
    _SCENE_STREAM,
    CLASS_NAMES,
    EXPRESSIONS,
    VARIANTS,
    Expression,
    _rng,
    annotator_error,
    expression_for,
    sample_strength,
    sample_valence,
)
from helpers.synthetic.rendering import (
    Landmarks,
    _background,
    _clip_landmarks,
    _face_size,
    draw_face,
    encode_image,
    render_face,
    scale_landmarks,
)


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
