"""What a face shows, and its shape: valence -> expression -> the person's face-local outlines.

A face's expression comes from a continuous *valence* in [-1, 1] (> 0 happy, < 0 sad): the
mouth's curvature, the eyebrows' tilt and the eyes' shape. Generator v3 draws it in variants a
shortcut cannot solve (``Expression``): open and closed mouths on both sides, teeth in smiles and
in open-mouthed crying, tears, the crinkled eyes of a felt smile, and about a sixth of the faces
weak, |valence| < AMBIGUOUS_MAX. The labels come from a simulated annotator whose error rate grows
as the expression weakens (``annotator_error``). Four expressions (EXPRESSIONS) can be drawn for
the multi-class chapter (``expression_for``).

The person (``_identity``: skin, hair, proportions, glasses) and the outlines of eyes, brows and
mouth are in face-local units (face half-width 1, y down); ``rendering`` draws them in pixels.
Nothing here imports OpenCV or Pillow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

CLASS_NAMES: tuple[str, str] = ("happy", "sad")
# the chapter on more than two classes: four expressions, each drawn from its own parameters
EXPRESSIONS: tuple[str, ...] = ("happy", "sad", "surprised", "angry")

# Shape: how strongly the expression moves the face (calibrated: see __init__).
MOUTH_WIDTH = (0.34, 0.44)  # mouth half-width, in face half-widths
MOUTH_CURVE = 0.6  # corner height above the mouth's centre at valence 1, in face half-widths
BROW_LIFT = 0.24  # how far a sad brow's inner end rises at valence -1, in face half-widths
MOUTH_OPEN = 0.35  # the opening of a very happy mouth, in face half-widths
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

# Random streams: every face draws from its own stream keyed by (seed, purpose, index).
_DOWNLOADS_STREAM = 1
_SAMPLE_STREAM = 2
_SCENE_STREAM = 3
_EXPRESSIONS_STREAM = 4


def _rng(seed: int, *key: int) -> np.random.Generator:
    """An independent random stream for (seed, key): no two keys share numbers."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


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


def sample_valence(rng: np.random.Generator, label: int) -> float:
    """A valence for a class (0 happy, 1 sad): strength from sample_strength, sign from the class."""
    strength = sample_strength(rng)
    return strength if label == 0 else -strength


# ---------------------------------------------------------------------------------------------
# The person: everything about a face that does not depend on its expression.

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


# ---------------------------------------------------------------------------------------------
# The outlines the expression moves, in face-local units.


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
