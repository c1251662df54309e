"""The generator's answer key: what the synthetic data set knows that no photo collection does.

The book's generator (helpers.synthetic) records, in data/P/downloads/faces.csv, what each file
really is: its kind of junk, each face's true valence and expression, whether the annotator
labelled it wrongly, and where its mouth, brows and face are. It can also draw fresh faces on
demand. Every check a chapter makes against that truth goes through this module, and each
chapter gathers those checks in one section, marked (its cells tagged `answer-key`): for another
source the runner replaces that section with one line, and in Jupyter `open_key` returns None, so
the section's cells do nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from helpers import clean, pipeline, synthetic
from helpers.profiles import Profile
from helpers.store import atomic_save

TAG = "answer-key"  # the cell tag of a chapter's answer-key section
# Seeds of the fresh faces, one per purpose, far from every download stream of any profile's seed
APPENDIX_SEED_OFFSET = 9_000_000  # the appendix's one unseen face
MOUTH_TEST_SEED_OFFSET = 6_500_000  # chapters 6 and 7: the same faces with the mouth changed
# what a correct cleaner does with each kind of junk the generator plants (chapter 1)
EXPECTED_REASONS: dict[str, str] = {
    "svg": "unsupported format",
    "webp": "unsupported format",
    "html_as_jpg": "not an image",
    "zero_byte": "not an image",
    "truncated_jpeg": "undecodable or truncated",
    "thumbnail": "too small",
    "near_duplicate": "near duplicate",
    "cross_class_duplicate": "conflicting labels",
}


@dataclass(frozen=True)
class AnswerKey:
    """The generator's record of one profile's downloads (synthetic sources only)."""

    profile: Profile

    @property
    def faces_csv(self) -> Path:
        """data/P/downloads/faces.csv."""
        return pipeline.ensure_downloads(self.profile) / synthetic.CSV_NAME

    def faces(self) -> pd.DataFrame:
        """faces.csv as strings, with `source` = class/file, the key of the cleaning manifest."""
        faces = pd.read_csv(self.faces_csv, dtype=str, keep_default_na=False)
        return faces.assign(source=faces["class"] + "/" + faces["file"])

    def joined(self, manifest: pd.DataFrame) -> pd.DataFrame:
        """Every generated file beside what cleaning decided for it (one row each)."""
        decided = manifest[["source", "status", "reason", "output"]]
        return self.faces().merge(decided, on="source", how="left", validate="one_to_one")

    def flipped_outputs(self, manifest: pd.DataFrame) -> set[str]:
        """The clean files (manifest outputs) that hold a face filed under the wrong class."""
        joined = self.joined(manifest)
        kept = joined[joined["status"] == clean.KEPT]
        return set(kept.loc[kept["label_flipped"] == "1", "output"])

    def split_truth(self, subset: str = "test") -> pd.DataFrame:
        """One subset of split.csv, in pipeline order, with each file's kind, valence, true class.

        The chain is split.csv's path -> the cleaning manifest's output -> its raw source ->
        the generator's row for that file.
        """
        frame = pipeline.ensure_split(self.profile)
        rows = frame[frame["subset"] == subset].reset_index(drop=True)
        manifest = clean.read_manifest(pipeline.clean_folder(self.profile))
        source_of = dict(zip(manifest["output"], manifest["source"], strict=True))
        sources = rows["path"].map(source_of)
        if sources.isna().any():
            missing = rows.loc[sources.isna(), "path"].iloc[0]
            raise ValueError(f"{missing}: not in the cleaning manifest; rebuild the clean folder")
        found = self.faces().set_index("source").reindex(sources.to_numpy())
        return rows.assign(
            source=sources.to_numpy(),
            kind=found["kind"].to_numpy(),
            valence=pd.to_numeric(found["valence"]).to_numpy(dtype=float),
            true_class=found["true_class"].to_numpy(),
        )

    def mouth_spread(self) -> dict[str, float]:
        """How far the mouth's centre moves between the plain faces, as shares of the image."""
        faces = self.faces()
        faces = faces[faces["kind"] == "face"]

        def number(column: str) -> pd.Series:
            return pd.to_numeric(faces[column])

        width, height = number("width"), number("height")
        x = (number("mouth_x0") + number("mouth_x1")) / 2 / width
        y = (number("mouth_y0") + number("mouth_y1")) / 2 / height
        mouth_width = (number("mouth_x1") - number("mouth_x0")) / width
        return {
            "x_std": float(x.std()),
            "y_std": float(y.std()),
            "width_mean": float(mouth_width.mean()),
        }

    def mouth_thumbnails(
        self, manifest: pd.DataFrame, size: tuple[int, int] = (24, 48)
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each kept plain face's mouth, cut out by its box and shrunk to size (rows, columns) grey.

        Returns the thumbnails as rows of values in [0, 1] and their labels (0 and 1, by the
        classes' sorted names). Chapter 2's linear model gets the mouth found and aligned for it:
        what is left is whether a fixed weight per pixel can read a mouth that sits where it should.
        """
        joined = self.joined(manifest)
        plain = joined[(joined["kind"] == "face") & (joined["status"] == clean.KEPT)]
        clean_dir = pipeline.clean_folder(self.profile)
        rows = []
        for row in plain.itertuples():
            x0, y0, x1, y1 = (float(getattr(row, f"mouth_{c}")) for c in ("x0", "y0", "x1", "y1"))
            with Image.open(clean_dir / row.output) as image:
                crop = image.convert("L").crop(
                    (int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))
                )
                small = crop.resize((size[1], size[0]), Image.BILINEAR)
            rows.append(np.asarray(small, dtype=np.float32).ravel() / 255.0)
        names = sorted(joined["class"].unique())
        labels = plain["class"].map({name: i for i, name in enumerate(names)}).to_numpy(dtype=int)
        return np.stack(rows), labels


def open_key(profile: Profile, what: str) -> AnswerKey | None:
    """The profile's answer key, or None (saying so in one line) when its source has none."""
    if profile.generated:
        return AnswerKey(profile)
    print(
        f"Skipped for this source ({profile.source_kind}): {what} needs the synthetic "
        "generator's answer key, which these images do not have."
    )
    return None


# The four versions of every face in mouth_versions: (mouth's curve, teeth shown)
MOUTH_VERSIONS: tuple[tuple[str, bool], ...] = (
    ("up", True), ("up", False), ("down", True), ("down", False)
)  # fmt: skip


def mouth_versions(
    n: int, seed: int, size: int, strength: float = 0.7
) -> tuple[np.ndarray, list[list[dict]]]:
    """n faces, each drawn four times, identical but for the open mouth (MOUTH_VERSIONS).

    The same random stream draws each version of a face, so its person, pose, background,
    lighting, size and JPEG quality are the same; only the mouth's curve (valence +strength or
    -strength, brows and eyes with it) and whether teeth show differ. Drawn and squashed like
    the downloads; returns images (n, 4, size, size, 3) and each version's landmarks.
    """
    opening = synthetic.mouth_opening(strength)
    images = np.empty((n, len(MOUTH_VERSIONS), size, size, 3), np.uint8)
    landmarks = []
    for i in range(n):
        marks = []
        for j, (curve, teeth) in enumerate(MOUTH_VERSIONS):
            valence = strength if curve == "up" else -strength
            face = synthetic.Expression(valence, opening, teeth)
            images[i, j], drawn = synthetic.draw_as_downloaded(
                face, np.random.default_rng([seed, i]), size
            )
            marks.append(drawn)
        landmarks.append(marks)
    return images, landmarks


def mouth_effects(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """Per face, how far P(second class) moves when only the curve turns down, and when teeth show.

    `probabilities` is (faces, len(MOUTH_VERSIONS)), columns in MOUTH_VERSIONS order; each
    effect is averaged over the two settings of the other change.
    """
    p = np.asarray(probabilities, dtype=float)
    if p.ndim != 2 or p.shape[1] != len(MOUTH_VERSIONS):
        raise ValueError(f"expected (faces, {len(MOUTH_VERSIONS)}) probabilities, got {p.shape}")
    column = {version: k for k, version in enumerate(MOUTH_VERSIONS)}
    curve = np.mean([p[:, column[("down", t)]] - p[:, column[("up", t)]] for t in (True, False)], 0)
    teeth = np.mean([p[:, column[(c, True)]] - p[:, column[(c, False)]] for c in ("up", "down")], 0)
    return {"curve turned down": curve, "teeth shown": teeth}


def draw_personal_faces(
    folder: Path, valences: Sequence[float], seed: int, size: int = 256
) -> list[Path]:
    """Draw one face per valence and save each as a PNG file (written atomically) in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, valence in enumerate(valences):
        image, _ = synthetic.draw_face(float(valence), np.random.default_rng([seed, index]), size)
        target = folder / f"face_{index}_valence_{valence:+.2f}.png"
        atomic_save(
            target, lambda path, image=image: Image.fromarray(image).save(path, format="PNG")
        )
        paths.append(target)
    return paths
