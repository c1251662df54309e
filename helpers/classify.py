"""Classify image files with a saved model, decoding them exactly as the training pipeline does.

    python -m helpers classify [--model PATH] IMAGE...

The decoding is images.load_rgb (RGB, EXIF orientation applied, alpha composited onto white,
CMYK and 16-bit converted, oversized images refused) followed by the training pipeline's resize
to the model's own input size. The paper read files with cv2.imread, which gives BGR, and fed
them to a model trained on RGB; this module never does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import evaluate, images
from helpers.paths import artifacts_dir
from helpers.synthetic import CLASS_NAMES

DEFAULT_MODEL = artifacts_dir("full") / "model.keras"
MAX_PIXELS = images.DEFAULT_MAX_PIXELS  # larger images are refused from their header, undecoded
EXIT_FAILED = 2


@dataclass(frozen=True)
class Prediction:
    """One file's result: the predicted class and the model's probability of label 1."""

    path: Path
    class_name: str
    probability: float  # P(class_names[1]), the model's sigmoid output

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


def read_image(path: str | Path, size: tuple[int, int], max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a file as training does and resize it: float32 (height, width, 3) in [0, 255]."""
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
    return evaluate.resize_batch(rgb[np.newaxis], size)[0]


def classify_image(path: str | Path, model, class_names: Sequence[str] = CLASS_NAMES) -> Prediction:
    """Classify one file: its class name and the model's probability of class_names[1]."""
    tensor = read_image(path, evaluate.model_input_size(model))
    probability = float(np.asarray(model(tensor[np.newaxis], training=False)).reshape(-1)[0])
    return _prediction(Path(path), probability, class_names)


def classify_images(
    paths: Iterable[str | Path],
    model,
    class_names: Sequence[str] = CLASS_NAMES,
    batch_size: int = 32,
) -> list[Prediction | Failure]:
    """Classify many files in batches, in order; a file that cannot be read gives a Failure."""
    size = evaluate.model_input_size(model)
    results: list[Prediction | Failure | None] = []
    pending: list[tuple[int, Path, np.ndarray]] = []

    def flush() -> None:
        if pending:
            stacked = np.stack([tensor for _, _, tensor in pending])
            probabilities = np.asarray(model(stacked, training=False)).reshape(-1)
            for (slot, path, _), probability in zip(pending, probabilities, strict=True):
                results[slot] = _prediction(path, float(probability), class_names)
            pending.clear()

    for raw in paths:
        path = Path(raw)
        results.append(None)
        try:
            pending.append((len(results) - 1, path, read_image(path, size)))
        except (FileNotFoundError, ValueError) as error:
            results[-1] = Failure(path, _problem(error, path))
        if len(pending) >= batch_size:
            flush()
    flush()
    return [result for result in results if result is not None]


def _prediction(path: Path, probability: float, class_names: Sequence[str]) -> Prediction:
    """A Prediction with the class chosen by the 0.5 threshold (above: class_names[1])."""
    if len(class_names) != 2:
        raise ValueError(f"a binary model needs two class names, got {list(class_names)}")
    label = int(evaluate.to_labels(np.array([probability]))[0])
    return Prediction(path, class_names[label], probability)


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
        default=DEFAULT_MODEL,
        help="saved .keras model (default: artifacts/full/model.keras)",
    )
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files")
    return parser


def run(args: argparse.Namespace) -> int:
    """Print one line per image (path, class, probability); exit status 2 if any failed."""
    try:  # importing helpers set TensorFlow's start-up lines aside (helpers.env.quiet_logs)
        model = load_model(args.model)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {_first_line(error)}", file=sys.stderr)
        return EXIT_FAILED
    results = classify_images(args.images, model)
    positive_name = CLASS_NAMES[evaluate.POSITIVE_LABEL]
    for result in results:
        if isinstance(result, Prediction):
            print(result.line(positive_name), flush=True)
        else:
            print(result.line(), file=sys.stderr, flush=True)
    return EXIT_FAILED if any(isinstance(r, Failure) for r in results) else 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (python -m helpers.classify), same as `python -m helpers classify`."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers classify",
        description="Classify image files as happy or sad with a saved model.",
    )
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
