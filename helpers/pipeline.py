"""The pipeline on one page: every step's output, what it is built from, and when it is rebuilt.

    source ─▶ downloads/ ─▶ raw/<class>/ ─▶ clean/<class>/ + manifest.csv ─▶ split/split.csv
           ─▶ tf.data pipelines ─▶ baseline/model.keras ─▶ export/model.onnx, model.tflite

Each step is an `ensure_<output>(profile)` that returns its output, building it first (from the
steps before it) when it is missing or stale, so a chapter opened on its own builds what it
needs and a re-run does no work. An output is stale when the stamp it was built with differs
from the one the step computes now: the settings that decide it and the name, size and time of
every input file. Folders are built beside the old one and put in its place in one step
(helpers.store), so a reader never sees half an output, and a killed build leaves nothing the
next one does not clear.

| output (P = profile and source)  | made by                        | rebuilt when                      |
|----------------------------------|--------------------------------|-----------------------------------|
| data/P/downloads/  (synthetic)   | synthetic.generate_downloads   | faces, seed or generator change   |
| data/P/raw/                      | extract, copy or FER import    | an input file changes             |
| data/P/clean/ + manifest.csv     | clean.clean                    | a raw file or a rule changes      |
| data/P/split/split.csv           | split.split_frame              | a clean file, fractions or seed   |
| data/P/shards/ (when streaming)  | shards.write_shards            | a clean file, the split or size   |
| artifacts/P/baseline/model.keras | train.train_model              | the run's settings or the split   |
| artifacts/P/export/              | export.export_model            | the model, its card or metrics    |

The reader's own files (a folder, a folder of <class>.zip, a FER-2013 CSV) are only ever read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from helpers import clean, extract, fer, fresh, split, synthetic
from helpers.env import seed_everything
from helpers.images import NEAR_DUPLICATE_BITS
from helpers.profiles import SYNTHETIC, Profile
from helpers.store import build_once, exclusive, files_digest, is_current

if TYPE_CHECKING:
    import keras

    from helpers import train
    from helpers.datasets import Datasets

RAW_VERSION = 1  # bump when copying, extracting or importing changes
EXPORT_VERSION = 1  # bump when the exported files or their card change


# --- data ----------------------------------------------------------------------------------------


def ensure_downloads(profile: Profile) -> Path:
    """data/P/downloads/: the generator's "web downloads", one <class>.zip each, and faces.csv."""
    stamp = {
        "step": "downloads",
        "faces_per_class": profile.faces_per_class,
        "seed": profile.seed,
        "generator": synthetic.GENERATOR_VERSION,
    }

    def build(dest: Path) -> None:
        synthetic.generate_downloads(dest, profile.faces_per_class, profile.seed)

    return build_once(profile.data / "downloads", stamp, build)


def ensure_raw(profile: Profile) -> Path:
    """data/P/raw/<class>/: the source's images, extracted, copied or imported; never modified."""
    raw, source = profile.data / "raw", Path(profile.source)
    if profile.source_kind == SYNTHETIC:
        return raw_from_zips(ensure_downloads(profile), raw)
    if profile.source_kind == "zips":
        return raw_from_zips(source, raw)
    if profile.source_kind == "folder":
        return raw_from_folders(source, raw)
    return raw_from_fer(source, raw)


def raw_from_zips(folder: Path, raw: Path) -> Path:
    """raw/<class>/ from a folder of <class>.zip (each extracted with extract.safe_extract)."""
    zips = sorted(Path(folder).glob("*.zip"))
    if not zips:
        raise FileNotFoundError(f"{folder}: no <class>.zip downloads")
    stamp = {"step": "raw", "version": RAW_VERSION, "zips": files_digest(zips, Path(folder))}
    return build_once(raw, stamp, lambda dest: extract.extract_zips(zips, dest))


def raw_from_folders(source: Path, raw: Path) -> Path:
    """raw/<class>/ as a copy of the reader's class folders (which are only read)."""
    clean.check_copy_target(source, raw)
    files = [path for _, path in clean.input_files(source)]
    stamp = {
        "step": "raw",
        "version": RAW_VERSION,
        "from": str(source),
        "files": files_digest(files, source),
    }
    return build_once(raw, stamp, lambda dest: clean.copy_class_folders(source, dest))


def raw_from_fer(source: Path, raw: Path) -> Path:
    """raw/<class>/ + usage.csv + fer_report.txt, imported from a FER-2013 CSV."""
    stamp = {"step": "raw", "version": RAW_VERSION, "fer": files_digest([source], source.parent)}
    return build_once(raw, stamp, lambda dest: fer.import_with_report(source, dest))


def ensure_clean(profile: Profile) -> Path:
    """data/P/clean/<class>/ + manifest.csv: every raw file judged, the usable ones as PNG."""
    clean_dir = clean_folder(profile)
    clean.clean(
        ensure_raw(profile),
        clean_dir,
        min_side=clean.min_side_for(profile),
        crop_faces=profile.crop_faces,
    )
    return clean_dir


def clean_folder(profile: Profile) -> Path:
    """data/P/clean/: the folder split.csv's paths are relative to."""
    return profile.clean_folder


def ensure_split(
    profile: Profile, fractions: Sequence[float] = split.DEFAULT_FRACTIONS
) -> pd.DataFrame:
    """data/P/split/split.csv: each clean file's subset (train, val, test) and duplicate group."""
    fractions = split.check_fractions(fractions)
    clean_dir = ensure_clean(profile)
    images = [clean_dir / rel for rel in split.list_images(clean_dir)["path"]]
    stamp = {
        "step": "split",
        "version": split.SPLIT_VERSION,
        "fractions": list(fractions),
        "seed": profile.seed,
        "near_bits": NEAR_DUPLICATE_BITS,
        "files": files_digest(images, clean_dir),
    }

    def build(dest: Path) -> None:
        split.write_split(split.split_frame(clean_dir, fractions, profile.seed), dest)

    return split.read_split(build_once(profile.split_folder, stamp, build))


def official_split(profile: Profile) -> pd.DataFrame:
    """FER-2013's own split of the clean images (only FER-2013 sources have one; see split)."""
    return split.official_split_of(ensure_raw(profile), ensure_clean(profile))


def shards_folder(profile: Profile) -> Path:
    """data/P/shards/: the decoded images as TFRecord shards, when the pipelines stream."""
    return profile.data / "shards"


def make_datasets(profile: Profile, stream: bool | None = None) -> Datasets:
    """The train/val/test tf.data pipelines of the profile's split (pixels 0-255, sorted labels).

    Cached in memory, or streamed from data/P/shards/ (stream=None: when the cache would exceed
    datasets.cache_limit_bytes(); see datasets.datasets_from_frame).
    """
    from helpers import datasets  # imported here: its pipelines load TensorFlow

    frame = ensure_split(profile)
    return datasets.datasets_from_frame(
        frame,
        clean_folder(profile),
        profile.image_size,
        profile.batch_size,
        profile.seed,
        stream=stream,
        shards_dir=shards_folder(profile),
    )


# --- the model -----------------------------------------------------------------------------------


def model_path(profile: Profile) -> Path:
    """artifacts/P/baseline/model.keras: the model every chapter after chapter 5 uses."""
    return profile.baseline_model


def run_is_current(profile: Profile, config: train.RunConfig) -> bool:
    """True when the run's model was trained with these settings and today's code and split.csv."""
    from helpers import train

    folder = train.run_folder(profile, config.run_name)
    return (folder / train.MODEL_FILE).is_file() and is_current(
        folder, train.run_stamp(profile, config)
    )


def model_is_current(profile: Profile) -> bool:
    """True when the baseline was trained with today's settings, code and split.csv."""
    from helpers import train

    return run_is_current(profile, train.run_config(profile))


def ensure_model(profile: Profile) -> Path:
    """artifacts/P/baseline/model.keras, trained first (chapter 5's settings) if missing or stale."""
    from helpers import train

    ensure_split(profile)
    with exclusive(train.run_folder(profile, train.BASELINE)):  # one trains; others wait, reuse it
        if not model_is_current(profile):
            reason = "missing" if not model_path(profile).is_file() else "stale"
            print(f"the baseline model is {reason} for profile {profile.name!r}: training it now.")
            retrain(profile, train.BASELINE)
    return model_path(profile)


def retrain(
    profile: Profile,
    run_name: str,
    seed: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    **settings: Any,
) -> train.TrainingResult:
    """Train chapter 5's CNN from `seed` (None: the profile's) on a pipeline built after seeding.

    The same seed gives the baseline's starting weights and batch order, so two runs differ only
    in `settings` (train.run_config's: epochs, augment, dropout, learning_rate) and `callbacks`.
    """
    from helpers import train

    seed_everything(profile.seed if seed is None else seed)  # the batch order of the next pipeline
    data = make_datasets(profile)
    return train.train_model(
        profile, datasets=data, run_name=run_name, seed=seed, callbacks=callbacks, **settings
    )


def ensure_run(
    profile: Profile, run_name: str, seed: int | None = None, **settings: Any
) -> train.TrainingResult:
    """artifacts/P/<run_name>/: retrain's run, trained first if missing or stale, then read back.

    One process trains it while others wait and reuse it: chapter 5's second seed of the baseline
    is chapter 12's second ensemble member.
    """
    from helpers import train

    config = train.run_config(profile, run_name=run_name, seed=seed, **settings)
    ensure_split(profile)
    with exclusive(train.run_folder(profile, run_name)):
        if run_is_current(profile, config):
            return train.load_result(profile, run_name)
        return retrain(profile, run_name, seed=seed, **settings)


def export_folder(profile: Profile) -> Path:
    """artifacts/P/export/: the baseline as ONNX and LiteRT files, with export.json."""
    return profile.artifacts / "export"


def ensure_export(profile: Profile) -> Path:
    """artifacts/P/export/, written from the baseline model (trained first if need be)."""
    from helpers import classify, evaluate, export

    source = ensure_model(profile)
    inputs = (source, source.with_name(classify.CARD_FILE), evaluate.metrics_path(profile))
    stamp = {
        "step": "export",
        "version": EXPORT_VERSION,
        "inputs": files_digest([p for p in inputs if p.is_file()], profile.artifacts),
    }
    metrics = export.read_metrics(evaluate.metrics_path(profile))
    return build_once(
        export_folder(profile), stamp, lambda staging: export.export_model(source, staging, metrics)
    )


# --- fresh faces ---------------------------------------------------------------------------------

FRESH_SEED_OFFSET = 8_000_000  # the shared fresh draw's seed, far from every other stream


def ensure_fresh(profile: Profile, expressions: Sequence[str] | None = None) -> Path:
    """data/P/fresh/: profile.fresh_faces new faces at the model's input size (synthetic only).

    With `expressions` (chapter 13: some of synthetic.EXPRESSIONS), data/P/fresh-expressions/: as
    many faces of those expressions, drawn as chapter 13 draws its own (see fresh.write_fresh_faces).
    """
    if not profile.generated:
        raise ValueError(f"only the synthetic source can draw fresh faces, not {profile.source}")
    n, seed, size = profile.fresh_faces, profile.seed + FRESH_SEED_OFFSET, profile.image_size
    names = None if expressions is None else tuple(expressions)
    stamp = {
        "step": "fresh",
        "version": fresh.FRESH_VERSION,
        "faces": n,
        "seed": seed,
        "size": size,
        "generator": synthetic.GENERATOR_VERSION,
        **({} if names is None else {"expressions": list(names)}),
    }
    folder = profile.data / ("fresh" if names is None else "fresh-expressions")
    return build_once(
        folder, stamp, lambda dest: fresh.write_fresh_faces(dest, n, seed, size, names)
    )


def comparison_set(profile: Profile, expressions: Sequence[str] | None = None) -> fresh.FaceSet:
    """The images methods are compared on: the fresh draw, or (other sources) the test split.

    `expressions`: chapter 13's fresh draw of those expressions (see ensure_fresh).
    """
    if profile.generated:
        return fresh.read_fresh_faces(ensure_fresh(profile, expressions), profile.fresh_faces)
    return split_test_set(profile)


def split_test_set(profile: Profile) -> fresh.FaceSet:
    """The split's test images, as chapter 6 scores them: what a reader's own photos can measure."""
    data = make_datasets(profile)
    batches = [(images.numpy(), labels.numpy()) for images, labels in data.test]
    images = np.concatenate([b[0] for b in batches])  # float32, as chapter 6 scores them
    labels = np.concatenate([b[1] for b in batches]).astype(int)
    return fresh.FaceSet(
        images=images, labels=labels, name=f"the test split ({len(labels)} images)"
    )
