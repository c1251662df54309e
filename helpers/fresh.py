"""Fresh faces: a large draw from the generator that no model has seen, for decisive comparisons.

The split's test set holds a few dozen images: the honest picture of what a reader with a few
hundred photos can measure, but too few to tell two methods apart. On the synthetic source the
generator can draw as many new faces as we like, so every chapter that compares methods also
scores them on one shared fresh draw, the same images for every method (a paired comparison),
drawn once per profile and kept in data/P/fresh/. The faces are drawn like the downloads (a web
photo's size and aspect, JPEG-compressed, squashed to the model's input) and handed over as
pixels; each keeps the annotator's label, its true expression, its valence and its landmarks (the
generator's boxes around mouth, brows and face, in the model's pixels).
Chapter 13 has a draw of its own, of four expressions (`expressions`), drawn square at the model's
input as it draws its training faces, with each face's surprise and anger beside its valence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import synthetic

FRESH_VERSION = 2  # bump when what is drawn or how it is stored changes
IMAGES_FILE = "faces.npy"
TABLE_FILE = "faces.csv"
MARK_NAMES = ("left_eye", "right_eye", "mouth", "brows", "face")  # LANDMARK_COLUMNS order


@dataclass(frozen=True)
class FaceSet:
    """Images a model is scored on, with their labels and, for drawn faces, the generator's truth."""

    images: np.ndarray  # (n, size, size, 3), pixels 0-255 as the model takes them
    labels: np.ndarray  # int: the label the data gives (the annotator's, sometimes wrong)
    name: str  # what the images are, for the prose: "2000 fresh faces", "the test split"
    true_labels: np.ndarray | None = None  # int: the expression drawn (drawn faces only)
    table: pd.DataFrame | None = None  # valence and the face's variants (drawn faces only)
    landmarks: list[dict] | None = None  # per face: name -> box or point (drawn faces only)

    def __len__(self) -> int:
        """Number of images."""
        return len(self.labels)

    @property
    def drawn(self) -> bool:
        """True for generated faces, whose true expression is known."""
        return self.true_labels is not None

    @property
    def targets(self) -> np.ndarray:
        """What a prediction is judged against: the true expression if known, else the label."""
        return self.labels if self.true_labels is None else self.true_labels


def write_fresh_faces(
    folder: Path, n: int, seed: int, size: int, expressions: tuple[str, ...] | None = None
) -> None:
    """Draw n fresh faces at size x size into folder (a staging folder): faces.npy and faces.csv.

    expressions None: happy and sad faces drawn like the downloads (synthetic.sample_faces); else
    faces of those EXPRESSIONS drawn square at size (sample_expression_faces, like_downloads off),
    with their surprise and anger.
    """
    if expressions is None:
        sample, more = synthetic.sample_faces(n, seed, size), {}
    else:
        sample = synthetic.sample_expression_faces(n, seed, size, expressions, like_downloads=False)
        more = {
            "surprise": [face.surprise for face in sample.expressions],
            "anger": [face.anger for face in sample.expressions],
        }
    folder.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(
        {
            "label": sample.labels,
            "true_label": sample.true_labels,
            "valence": sample.valence,
            **sample.variants(),
            **more,
        }
    )
    flat = [[v for name in MARK_NAMES for v in marks[name]] for marks in sample.landmarks]
    landmarks = pd.DataFrame(flat, columns=list(synthetic.LANDMARK_COLUMNS), dtype=float)
    table = pd.concat([table, landmarks.round(2)], axis=1)
    np.save(folder / IMAGES_FILE, sample.images)
    table.to_csv(folder / TABLE_FILE, index=False)


def read_fresh_faces(folder: Path, n: int) -> FaceSet:
    """The faces write_fresh_faces stored in folder."""
    images = np.load(folder / IMAGES_FILE)
    table = pd.read_csv(folder / TABLE_FILE)
    if len(table) != len(images):
        raise ValueError(f"{folder}: {len(images)} images but {len(table)} rows: delete it")
    return FaceSet(
        images=images,
        labels=table["label"].to_numpy(dtype=int),
        name=f"{n:,} fresh faces",
        true_labels=table["true_label"].to_numpy(dtype=int),
        table=table.drop(columns=["label", "true_label", *synthetic.LANDMARK_COLUMNS]),
        landmarks=[synthetic.landmarks_from_row(row) for row in table.to_dict("records")],
    )
