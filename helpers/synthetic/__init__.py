"""Synthetic "web downloads": faces drawn with a known valence and landmarks, packed like a browser.

No photo collection can be downloaded here, so the book draws its own faces. Each face's
expression comes from a continuous *valence* in [-1, 1] (> 0 happy, < 0 sad); everything else
(skin tone, pose, hair, glasses, background, lighting, blur, noise, JPEG quality) is nuisance a
classifier must learn to ignore, and the labels come from a simulated annotator who errs more
the weaker the expression. The package is three steps, each importing only the ones before it:

- ``expression``: valence -> ``Expression`` (variants, strength, the annotator's error) and the
  face's shape: the person's proportions and the outlines of eyes, brows and mouth.
- ``rendering``: a face drawn in pixels (``render_face``, ``draw_face``) over a photo or studio
  background, with lighting, blur and noise; ``samples``: fresh labelled faces in memory
  (``sample_faces``, ``sample_expression_faces``) and faces inside larger scenes.
- ``downloads``: the class zips with their junk, web-style names and faces.csv
  (``generate_downloads``; its docstring is the data contract).

Everything a chapter, a test or another module uses is imported here: ``synthetic.sample_faces``.

Difficulty: the constants of ``expression`` and ``rendering`` were tuned so that a linear model
on 32 x 32 grey thumbnails stays well short of the book's small CNN (v3, measured once when they
were set, 210 training and 140 validation faces, three runs: 0.56 to 0.74 against 0.84 to 0.88
validation accuracy): faces are roughly centred, as in portrait photos, because the CNN's
Flatten + Dense head cannot cope with large shifts.

Random streams: every face draws from its own stream keyed by (seed, purpose, index), so the
download set and ``sample_faces`` never share a face, and two seeds never share one either.
"""

from __future__ import annotations

from helpers.synthetic.downloads import (
    ALL_KINDS,
    CSV_COLUMNS,
    CSV_NAME,
    KEPT_KINDS,
    LANDMARK_COLUMNS,
    REJECTED_KINDS,
    THUMBNAIL_MAX,
    VARIANT_KINDS,
    generate_downloads,
    kind_counts,
    landmarks_from_row,
)
from helpers.synthetic.expression import (
    AMBIGUOUS_MAX,
    AMBIGUOUS_SHARE,
    ANNOTATOR_FLOOR,
    ANNOTATOR_SCALE,
    CLASS_NAMES,
    EXPRESSIONS,
    MOUTH_OPEN,
    VARIANTS,
    Expression,
    annotator_error,
    as_expression,
    expression_for,
    mouth_opening,
    sample_expression,
    sample_strength,
    sample_valence,
)
from helpers.synthetic.rendering import (
    BACKGROUND_PHOTOS,
    MAX_SIDE,
    MIN_SIDE,
    Landmarks,
    background_photos,
    draw_face,
    encode_image,
    render_face,
    scale_landmarks,
)
from helpers.synthetic.samples import (
    SCENE_SIZE,
    SCENES_CSV,
    FaceSample,
    draw_as_downloaded,
    render_scene,
    sample_expression_faces,
    sample_faces,
    write_scene_folder,
)

GENERATOR_VERSION = 3  # bump whenever any module's output changes, so ensure_downloads regenerates

__all__ = [
    "ALL_KINDS", "AMBIGUOUS_MAX", "AMBIGUOUS_SHARE", "ANNOTATOR_FLOOR", "ANNOTATOR_SCALE",
    "BACKGROUND_PHOTOS", "CLASS_NAMES", "CSV_COLUMNS", "CSV_NAME", "EXPRESSIONS",
    "GENERATOR_VERSION", "KEPT_KINDS", "LANDMARK_COLUMNS", "MAX_SIDE", "MIN_SIDE", "MOUTH_OPEN",
    "REJECTED_KINDS", "SCENES_CSV", "SCENE_SIZE", "THUMBNAIL_MAX", "VARIANTS", "VARIANT_KINDS",
    "Expression", "FaceSample", "Landmarks", "annotator_error", "as_expression",
    "background_photos", "draw_as_downloaded", "draw_face", "encode_image", "expression_for",
    "generate_downloads", "kind_counts", "landmarks_from_row", "mouth_opening", "render_face",
    "render_scene", "sample_expression", "sample_expression_faces", "sample_faces",
    "sample_strength", "sample_valence", "scale_landmarks", "write_scene_folder",
]  # fmt: skip
