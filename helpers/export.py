"""The model outside Keras: ONNX and LiteRT (TFLite) files, their runtimes, and a card for both.

Chapter 6 shows the calls and checks the parity; `python -m helpers export` writes the same files
for a reader who takes the model to another project, and the site's in-browser classifier reads
the ONNX file and the card.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from helpers import store
from helpers.store import atomic_save, atomic_write_text

# classify imports TensorFlow: imported where it is used, so that the site, which needs only the
# file names below, starts no TensorFlow
if TYPE_CHECKING:
    from helpers import classify

ONNX_FILE = "model.onnx"
TFLITE_FILE = "model.tflite"
CARD_FILE = "export.json"
# What a caller must do before either file sees an image: the steps classify.read_model_input
# takes, in its order (the model's first layer does the scaling to [0, 1] itself).
PREPROCESSING = (
    "decode the file to RGB, upright (EXIF orientation applied), transparency composited onto "
    "white; refuse an image whose shorter side is under min_side; crop to the largest face when "
    "crop_faces is true; resize to the input size with TensorFlow's bilinear resize "
    "(tf.image.resize, half-pixel centres, no antialiasing, aspect ratio not kept); float32 "
    "values 0-255 in NHWC order, batch first. The file scales by 1/255 itself (its Rescaling layer)."
)


def export_onnx(model, target: Path) -> Path:
    """The model as an ONNX file (Keras 3's own exporter, through tf2onnx), written atomically."""

    def save(path: Path) -> None:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", FutureWarning)  # tf2onnx's probe for np.object
            model.export(str(path), format="onnx", verbose=False)

    return atomic_save(target, save)


def export_tflite(model, target: Path) -> Path:
    """The model as a LiteRT (TFLite) flat buffer, from TensorFlow's converter."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    with contextlib.redirect_stdout(io.StringIO()):  # "Saved artifact at ...": a temporary folder
        flat_buffer = converter.convert()
    return atomic_save(target, lambda path: path.write_bytes(flat_buffer))


class OnnxModel:
    """An ONNX file run by onnxruntime: P(label 1) for a batch of preprocessed images."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities for a float32 (n, height, width, 3) batch of 0-255 pixels."""
        (output,) = self.session.run(None, {self.input_name: batch.astype(np.float32)})
        return np.asarray(output, dtype=np.float64).reshape(-1)


class LiteRtModel:
    """A TFLite file run by LiteRT (ai-edge-litert, TensorFlow Lite's successor), one image a call."""

    def __init__(self, path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path))
        self.interpreter.allocate_tensors()
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.output_index = self.interpreter.get_output_details()[0]["index"]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities for a float32 (n, height, width, 3) batch, one invocation per image."""
        found = []
        for image in batch.astype(np.float32):
            self.interpreter.set_tensor(self.input_index, image[np.newaxis])
            self.interpreter.invoke()
            found.append(float(self.interpreter.get_tensor(self.output_index).reshape(-1)[0]))
        return np.asarray(found)


RUNTIMES = {ONNX_FILE: OnnxModel, TFLITE_FILE: LiteRtModel}


@dataclass(frozen=True)
class Parity:
    """How far an exported file's probabilities are from Keras's on the same inputs."""

    file: str
    max_difference: float  # the largest |P_exported - P_keras|
    flips: int  # decisions (at the 0.5 threshold) that differ
    images: int
    megabytes: float

    def row(self) -> dict[str, object]:
        """One row of the parity table."""
        return {"file": self.file, "size (MB)": round(self.megabytes, 2), "images": self.images,
                "max |ΔP|": self.max_difference, "decisions flipped": self.flips}  # fmt: skip


def parity(path: Path, keras_probabilities: np.ndarray, batch: np.ndarray) -> Parity:
    """Run the exported file on batch and compare its probabilities with Keras's."""
    exported = RUNTIMES[path.name](path).predict(batch)
    reference = np.asarray(keras_probabilities, dtype=np.float64).reshape(-1)
    if exported.shape != reference.shape:
        raise ValueError(
            f"{path.name}: {exported.shape[0]} outputs for {reference.shape[0]} images"
        )
    flips = int(np.sum((exported >= 0.5) != (reference >= 0.5)))
    return Parity(path.name, float(np.max(np.abs(exported - reference))), flips, len(reference),
                  path.stat().st_size / 1e6)  # fmt: skip


def write_card(
    folder: Path, card: classify.ModelCard, onnx_input: str, metrics: dict | None
) -> Path:
    """export.json: what a caller needs to use the files, and a checksum of each."""
    payload = {
        "class_names": list(card.class_names),
        "positive_class": card.positive,
        "output": f"P({card.positive}), one number per image; {card.positive} when >= 0.5",
        "input_shape": list(card.input_shape),
        "onnx_input_name": onnx_input,
        "min_side": card.min_side,
        "crop_faces": card.crop_faces,
        "preprocessing": PREPROCESSING,
        "profile": card.profile_name,
        "source": card.source,
        "trained": card.trained,
        "test_metrics": metrics,
        "files": {
            name: {
                "sha256": store.file_sha256(folder / name),
                "bytes": (folder / name).stat().st_size,
            }
            for name in (ONNX_FILE, TFLITE_FILE)
        },  # fmt: skip
    }
    return atomic_write_text(folder / CARD_FILE, store.json_text(payload))


def read_metrics(path: Path) -> dict | None:
    """The test-set figures in a metrics.json chapter 6 saved (evaluate.save_metrics), if any."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")).get("test")
    except (FileNotFoundError, ValueError):
        return None


def export_model(model_path: Path, dest: Path, metrics: dict | None = None) -> dict[str, Path]:
    """Write model.onnx, model.tflite and export.json for a saved .keras model into dest.

    `metrics`, the model's test-set figures, go into the card (None: the card says none).
    Each file is written atomically and the card last, with the checksum of each file it names,
    so a card never vouches for a file an interrupted export left half-written.
    """
    from helpers import classify

    model_path, dest = Path(model_path), Path(dest)
    model, card = classify.load_model(model_path), classify.read_card(model_path)
    model(np.zeros((1, *card.input_shape), np.float32))  # the exporters trace a model once called
    dest.mkdir(parents=True, exist_ok=True)
    written = {
        ONNX_FILE: export_onnx(model, dest / ONNX_FILE),
        TFLITE_FILE: export_tflite(model, dest / TFLITE_FILE),
    }
    onnx_input = OnnxModel(written[ONNX_FILE]).input_name
    written[CARD_FILE] = write_card(dest, card, onnx_input, metrics)
    return written
