"""Classify image files with a saved model, decoding them exactly as the training pipeline does.

    python -m helpers classify [--model PATH | --profile P --source S] [--classes A B] IMAGE...

The decoding is images.load_rgb (RGB, EXIF orientation applied, alpha composited onto white,
CMYK and 16-bit converted, oversized images refused) followed by the training pipeline's resize
to the model's own input size; an image smaller than cleaning kept is refused, as cleaning would
have refused it. The paper read files with cv2.imread, which gives BGR, and fed them to a model
trained on RGB; this module never does. The class names come from the model's card
(model.json, beside the .keras file, written when the model was trained), never from this code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import evaluate, faces, images
from helpers.paths import shown

MAX_PIXELS = images.DEFAULT_MAX_PIXELS  # larger images are refused from their header, undecoded
EXIT_FAILED = 2
CARD_FILE = "model.json"


@dataclass(frozen=True)
class Prediction:
    """One file's result: the predicted class and the model's probability of label 1."""

    path: Path
    class_name: str
    probability: float  # P(class_names[1]), the model's sigmoid output
    face: str = ""  # for a model trained on face crops: what the detector found (helpers.faces)

    def line(self, positive_name: str) -> str:
        """The command line's output: path, class and probability, tab-separated."""
        return f"{self.path}\t{self.class_name}\tP({positive_name})={self.probability:.4f}"


@dataclass(frozen=True)
class Failure:
    """A file that could not be classified, and why, in one line."""

    path: Path
    problem: str

    def line(self) -> str:
        """The command line's error line."""
        return f"error: {self.path}: {self.problem}"


@dataclass(frozen=True)
class ModelCard:
    """What a saved model needs to be used anywhere, from the model.json beside it."""

    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    min_side: int
    profile_name: str
    source: str
    trained: str
    crop_faces: bool = False  # trained on face crops: classify crops each image the same way

    @property
    def positive(self) -> str:
        """The class whose probability the model outputs (label 1)."""
        return self.class_names[evaluate.POSITIVE_LABEL]

    def describe(self) -> str:
        """'profile full, source synthetic, classes happy and sad, trained <date>'."""
        return (
            f"profile {self.profile_name}, source {self.source}, classes "
            f"{' and '.join(self.class_names)}, trained {self.trained}"
            + (", on face crops" if self.crop_faces else "")
        )


def read_card(model_path: str | Path) -> ModelCard:
    """The card of a model saved by the book (model.json beside the .keras file)."""
    path = Path(model_path).with_name(CARD_FILE)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
        return ModelCard(
            class_names=tuple(card["class_names"]),
            input_shape=tuple(card["input_shape"]),
            min_side=int(card["min_side"]),
            profile_name=str(card["profile"]),
            source=str(card["source"]),
            trained=str(card["trained"]),
            crop_faces=bool(card.get("crop_faces", False)),
        )
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: no model card beside the model, so its class names are unknown "
            "(models the book trains have one; name the classes with --classes)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a readable model card ({_first_line(error)})") from None


def load_model(path: str | Path):
    """Load a saved .keras model, with a clear error for a missing or unreadable file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file (train one first, chapter 5)")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not a .keras model file")
    if path.suffix != ".keras":
        raise ValueError(f"{path}: expected a .keras model file (Keras 3's format)")
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - any loading failure becomes one clear message
        raise ValueError(f"{path}: not a readable Keras model ({_first_line(error)})") from None


def read_image(
    path: str | Path, size: tuple[int, int], max_pixels: int = MAX_PIXELS, min_side: int = 1
) -> np.ndarray:
    """Decode a file as training does and resize it: float32 (height, width, 3) in [0, 255].

    An image whose shorter side is under min_side is refused: cleaning refused those, so the
    model never learned from one (a thumbnail, a 1 x 1 tracking pixel).
    """
    return read_model_input(path, size, max_pixels, min_side)[0]


def read_model_input(
    path: str | Path,
    size: tuple[int, int],
    max_pixels: int = MAX_PIXELS,
    min_side: int = 1,
    crop_faces: bool = False,
) -> tuple[np.ndarray, str]:
    """read_image, cropped to the largest face first when the model learned from face crops.

    Returns the resized pixels and the detector's verdict ("" without crops): cleaning's rules,
    in cleaning's order (the size rule judges the photo, then the face is cut out).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not an image file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file (0 bytes)")
    try:
        rgb = images.load_rgb(path, max_pixels=max_pixels)
    except (FileNotFoundError, ValueError) as error:
        raise ValueError(_first_line(error)) from None
    except Exception as error:  # noqa: BLE001 - PIL raises OSError and others for broken files
        raise ValueError(f"{path}: not a readable image ({_first_line(error)})") from None
    height, width = rgb.shape[:2]
    if min(height, width) < min_side:
        raise ValueError(
            f"{path}: too small ({width} x {height} pixels; the model learned from images of at "
            f"least {min_side} pixels a side)"
        )
    fate = ""
    if crop_faces:
        rgb, fate, _ = faces.crop_to_face(rgb)
    return evaluate.resize_batch(rgb[np.newaxis], size)[0], fate


def classify_image(
    path: str | Path,
    model,
    class_names: Sequence[str],
    min_side: int = 1,
    crop_faces: bool = False,
) -> Prediction:
    """Classify one file: its class name and the model's probability of class_names[1]."""
    size = evaluate.model_input_size(model)
    tensor, fate = read_model_input(path, size, min_side=min_side, crop_faces=crop_faces)
    probability = float(np.asarray(model(tensor[np.newaxis], training=False)).reshape(-1)[0])
    return _prediction(Path(path), probability, class_names, fate)


def classify_images(
    paths: Iterable[str | Path],
    model,
    class_names: Sequence[str],
    batch_size: int = 32,
    min_side: int = 1,
    crop_faces: bool = False,
) -> list[Prediction | Failure]:
    """Classify many files in batches, in order; a file that cannot be read gives a Failure."""
    size = evaluate.model_input_size(model)
    results: list[Prediction | Failure | None] = []
    pending: list[tuple[int, Path, np.ndarray, str]] = []

    def flush() -> None:
        if pending:
            stacked = np.stack([tensor for _, _, tensor, _ in pending])
            probabilities = np.asarray(model(stacked, training=False)).reshape(-1)
            for (slot, path, _, fate), probability in zip(pending, probabilities, strict=True):
                results[slot] = _prediction(path, float(probability), class_names, fate)
            pending.clear()

    for raw in paths:
        path = Path(raw)
        results.append(None)
        try:
            tensor, fate = read_model_input(path, size, min_side=min_side, crop_faces=crop_faces)
            pending.append((len(results) - 1, path, tensor, fate))
        except (FileNotFoundError, ValueError) as error:
            results[-1] = Failure(path, _problem(error, path))
        if len(pending) >= batch_size:
            flush()
    flush()
    return [result for result in results if result is not None]


def _prediction(
    path: Path, probability: float, class_names: Sequence[str], face: str = ""
) -> Prediction:
    """A Prediction with the class chosen by the 0.5 threshold (above: class_names[1])."""
    if len(class_names) != 2:
        raise ValueError(f"a binary model needs two class names, got {list(class_names)}")
    label = int(evaluate.to_labels(np.array([probability]))[0])
    return Prediction(path, class_names[label], probability, face)


def _first_line(error: BaseException) -> str:
    """An exception's message, first line only (never a traceback)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _problem(error: BaseException, path: Path) -> str:
    """The problem part of an error message, without a leading repeat of the path."""
    message = _first_line(error)
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


# --- command line --------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The classify command's arguments (used by `python -m helpers classify`)."""
    parser.add_argument(
        "--model",
        type=Path,
        help="saved .keras model (default: the baseline of --profile and --source, that is "
        "artifacts/<profile>[-<source>]/baseline/model.keras)",
    )
    parser.add_argument("--profile", help="whose model to use (default: $BOOK_PROFILE or full)")
    parser.add_argument(
        "--source", help="... and of which source (default: $BOOK_SOURCE or synthetic)"
    )
    parser.add_argument(
        "--classes", nargs=2, metavar="NAME", help="the class names of labels 0 and 1, for a "
        "model without a model.json (default: the model's own)"
    )  # fmt: skip
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files")
    return parser


def default_model(profile_name: str | None, source: str | None) -> Path:
    """The baseline model of a profile and source (the environment's, by default)."""
    from helpers.profiles import get_profile

    return get_profile(profile_name, source).baseline_model


def run(args: argparse.Namespace) -> int:
    """Print one line per image (path, class, probability); exit status 2 if any failed."""
    try:  # importing helpers set TensorFlow's start-up lines aside (helpers.env.quiet_logs)
        path = args.model or default_model(args.profile, args.source)
        model = load_model(path)
        crop = False
        if args.classes:
            names, min_side, about = tuple(args.classes), 1, "classes named on the command line"
        else:
            card = read_card(path)
            names, min_side, about = card.class_names, card.min_side, card.describe()
            crop = card.crop_faces
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {_first_line(error)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"model: {shown(path)} ({about})", file=sys.stderr, flush=True)
    results = classify_images(args.images, model, names, min_side=min_side, crop_faces=crop)
    positive_name = names[evaluate.POSITIVE_LABEL]
    for result in results:
        if isinstance(result, Prediction):
            print(result.line(positive_name), flush=True)
            if result.face == faces.NO_FACE:  # trained on face crops, so say it saw no face
                print(f"note: {result.path}: no face found, classified whole", file=sys.stderr)
        else:
            print(result.line(), file=sys.stderr, flush=True)
    return EXIT_FAILED if any(isinstance(r, Failure) for r in results) else 0
