"""Training plumbing: run settings, run folders with their model card, history and curves.

Chapter 5 shows the model, its callbacks (`training_callbacks`, helpers.taught) and the `fit`
call; this module holds what surrounds them, so the chapter and helpers.pipeline's `ensure_model`
train the same model the same way: `train_model` is exactly the chapter's cells in one function,
on the datasets it is given.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import logging
import shutil
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator
from tqdm import tqdm

from helpers.classify import CARD_FILE
from helpers.env import seed_everything
from helpers.profiles import Profile
from helpers.split import SPLIT_FILE
from helpers.store import STAMP_FILE, atomic_write_text, publish, read_stamp, staging_dir
from helpers.taught import (
    augmentation_layers,
    build_model,
    build_regularised_model,
    compile_model,
    training_callbacks,
)

if TYPE_CHECKING:
    from helpers.datasets import Datasets

MODEL_FILE = "model.keras"
CHECKPOINT_FILE = "best.keras"
BASELINE = "baseline"
# The comparison run of chapter 5: the regularisers the original lists under "what if we had issues"
AUGMENTED = {"augment": True, "dropout": 0.3}


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what a training run produces (besides the data)."""

    run_name: str
    input_shape: tuple[int, int, int]
    epochs: int
    batch_size: int
    seed: int
    augment: bool = False
    dropout: float = 0.0
    learning_rate: float = 1e-3

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-friendly values (tuples become lists)."""
        values = asdict(self)
        values["input_shape"] = list(self.input_shape)
        return values


def run_config(
    profile: Profile,
    *,
    epochs: int | None = None,
    augment: bool = False,
    dropout: float = 0.0,
    run_name: str = BASELINE,
    learning_rate: float = 1e-3,
    seed: int | None = None,
) -> RunConfig:
    """The settings of a run for a profile; the defaults are the baseline that ensure_model trains.

    `seed` (None: the profile's) seeds the starting weights and the dropout and augmentation
    layers; the batch order is the datasets' (built after seeding: `pipeline.make_datasets`).
    """
    chosen = profile.epochs if epochs is None else int(epochs)
    if chosen < 1:
        raise ValueError(f"epochs must be at least 1, got {chosen}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if not run_name or not run_name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"run_name must be letters, digits, '-' or '_', got {run_name!r}")
    return RunConfig(
        run_name=run_name,
        input_shape=profile.input_shape,
        epochs=chosen,
        batch_size=profile.batch_size,
        seed=profile.seed if seed is None else int(seed),
        augment=augment,
        dropout=float(dropout),
        learning_rate=float(learning_rate),
    )


def new_model(config: RunConfig) -> keras.Sequential:
    """Seed, then build and compile chapter 4's CNN (chapter 5's regularised one if the run asks)."""
    seed_everything(config.seed)
    if config.augment or config.dropout:
        model = build_regularised_model(
            config.input_shape, dropout=config.dropout, augment=config.augment, seed=config.seed
        )
    else:
        model = build_model(config.input_shape)
    return compile_model(model, learning_rate=config.learning_rate)


# --- where a run's files go --------------------------------------------------------------------


def run_folder(profile: Profile, run_name: str = BASELINE) -> Path:
    """artifacts/<P>/<run>/: a finished run's model, history, best checkpoint and TensorBoard logs."""
    return profile.artifacts / run_name


def history_paths(profile: Profile, run_name: str = BASELINE) -> tuple[Path, Path]:
    """artifacts/<P>/<run>/history.csv and history.json."""
    folder = run_folder(profile, run_name)
    return folder / "history.csv", folder / "history.json"


def model_card(run: Run, best_epoch: int, images_per_second: float) -> dict[str, Any]:
    """What a saved model needs to be used anywhere: its classes, input, data and training."""
    from helpers import clean

    return {
        "class_names": run.class_names,
        "positive_class": run.class_names[-1],
        "input_shape": list(run.config.input_shape),
        "min_side": clean.min_side_for(run.profile),
        "crop_faces": run.profile.crop_faces,
        "profile": run.profile.name,
        "source": run.profile.source,
        "source_kind": run.profile.source_kind,
        "run": run.config.run_name,
        "best_epoch": best_epoch,
        "images_per_second": round(images_per_second, 2),
        "trained": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


TRAINING_CODE = (
    build_model,
    build_regularised_model,
    augmentation_layers,
    compile_model,
    training_callbacks,
)  # the taught functions a run's result depends on (chapters 4 and 5)


def training_code_digest() -> str:
    """SHA-256 of the taught training code: a run kept before it was edited is stale."""
    source = "\n".join(inspect.getsource(function) for function in TRAINING_CODE)
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def run_stamp(profile: Profile, config: RunConfig) -> dict[str, Any]:
    """What a run's folder was made from: its settings, the training code and the split.csv."""
    return {
        "step": "model",
        "config": config.as_dict(),
        "code_sha256": training_code_digest(),
        "split_sha256": split_digest(profile),
    }


# --- callbacks ---------------------------------------------------------------------------------


class ThroughputMeter(keras.callbacks.Callback):
    """Times each epoch's training pass (validation excluded) to report images per second."""

    def __init__(self, images_per_epoch: int) -> None:
        super().__init__()
        self.images_per_epoch = images_per_epoch
        self.seconds: list[float] = []
        self._start = 0.0
        self._stopped = False

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start, self._stopped = time.perf_counter(), False

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._stop()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._stop()

    def _stop(self) -> None:
        if not self._stopped:
            self.seconds.append(time.perf_counter() - self._start)
            self._stopped = True

    def images_per_second(self) -> float:
        """Training images per second in the median epoch, the first left out (tracing, caching).

        The median, not the mean: an epoch slowed by a recompilation (Keras on JAX compiles its
        step again in the second epoch) or by another program on a shared machine does not count.
        """
        timed = self.seconds[1:] if len(self.seconds) > 1 else self.seconds
        if not timed or float(np.median(timed)) <= 0:
            return float("nan")
        return self.images_per_epoch / float(np.median(timed))


class EpochBar(keras.callbacks.Callback):
    """A tqdm bar over epochs, for training that is not printed epoch by epoch."""

    def __init__(self, epochs: int, description: str) -> None:
        super().__init__()

        # disable=None: a bar on a terminal, none in a notebook (no progress residue in its outputs)
        self.bar = tqdm(total=epochs, desc=description, unit="epoch", disable=None)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in (logs or {}).items() if "acc" in k})
        self.bar.update(1)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()


@dataclass
class Run:
    """A run in progress: its settings, model, throughput meter and scratch folder under artifacts/<P>."""

    profile: Profile
    config: RunConfig
    model: keras.Sequential
    scratch: Path
    train_images: int
    meter: ThroughputMeter
    class_names: list[str]
    started: float = field(default_factory=time.perf_counter)

    @property
    def scratch_logs(self) -> Path | None:
        """Where TensorBoard writes during the run (None: the tensorboard package is missing)."""
        return None if tensorboard_missing() else self.scratch / "logs"

    @property
    def scratch_checkpoint(self) -> Path:
        """Where ModelCheckpoint keeps the epoch with the lowest validation loss."""
        return self.scratch / CHECKPOINT_FILE


def start_run(
    profile: Profile, config: RunConfig, datasets: Datasets, model: keras.Model | None = None
) -> Run:
    """Prepare a run: the model (built by `new_model` unless given), a meter, a scratch folder."""
    if model is None:
        model = new_model(config)
    train_images = int((datasets.frame["subset"] == "train").sum())
    if train_images == 0:
        raise ValueError("the split has no training images")
    profile.artifacts.mkdir(parents=True, exist_ok=True)
    scratch = staging_dir(run_folder(profile, config.run_name))  # published by finish_run
    meter = ThroughputMeter(train_images)
    run = Run(profile, config, model, scratch, train_images, meter, list(datasets.class_names))
    if run.scratch_logs is None:
        print("TensorBoard logs skipped: the tensorboard package is not installed.")
    return run


def tensorboard_missing() -> bool:
    """True when the tensorboard package, which Keras's TensorBoard callback needs, is absent."""

    return importlib.util.find_spec("tensorboard") is None


# --- finishing a run: best epoch, files moved into place ---------------------------------------


@dataclass
class TrainingResult:
    """What a finished run produced: the model (best epoch), its history and where files went."""

    config: RunConfig
    model: keras.Sequential
    history: pd.DataFrame
    best_epoch: int  # 1-based, lowest validation loss
    seconds: float  # wall time of the whole run
    images_per_second: float  # training throughput in the median epoch, the first left out
    train_images: int
    folder: Path  # artifacts/<P>/<run>/: model.keras, best.keras, history.*, logs/

    @property
    def model_path(self) -> Path:
        """The run's saved model (the best epoch's weights)."""
        return self.folder / MODEL_FILE

    @property
    def log_dir(self) -> Path:
        """The run's TensorBoard event files."""
        return self.folder / "logs"

    @property
    def checkpoint(self) -> Path:
        """The checkpoint ModelCheckpoint kept: the epoch with the lowest validation loss."""
        return self.folder / CHECKPOINT_FILE

    @property
    def history_csv(self) -> Path:
        """Every epoch's loss and accuracy, as a table."""
        return self.folder / "history.csv"

    @property
    def history_json(self) -> Path:
        """The run's settings, best epoch, throughput and history."""
        return self.folder / "history.json"

    @property
    def final(self) -> pd.Series:
        """The last epoch's row of the history."""
        return self.history.iloc[-1]

    @property
    def best(self) -> pd.Series:
        """The history row of the best epoch (the weights the model holds)."""
        return self.history.loc[self.history["epoch"] == self.best_epoch].iloc[0]


def history_frame(history: dict[str, list[float]], seconds: list[float]) -> pd.DataFrame:
    """Keras's history dictionary as a table with a 1-based epoch column and training seconds."""
    frame = pd.DataFrame(history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    if len(seconds) == len(frame):
        frame["train_seconds"] = seconds
    return frame


def split_digest(profile: Profile) -> str:
    """SHA-256 of data/<P>/split/split.csv: which images trained the model, and in which subset."""
    path = profile.split_folder / SPLIT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the split first (chapter 3)")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def finish_run(run: Run, history: keras.callbacks.History) -> TrainingResult:
    """Restore the best epoch, write the run's files into its folder and publish it.

    The run was made in a staging folder (start_run); here the best epoch's weights go back
    into the model, which is saved beside its history and stamp, and the folder replaces
    artifacts/<P>/<run>/ in one step (helpers.store.publish), logs and checkpoint included.
    """
    profile, config = run.profile, run.config
    table = history_frame(history.history, run.meter.seconds)
    if "val_loss" not in table or table["val_loss"].isna().all():
        raise ValueError("the run has no validation loss: fit with validation_data")
    best_epoch = int(table.loc[table["val_loss"].idxmin(), "epoch"])
    if run.scratch_checkpoint.is_file():
        best = keras.saving.load_model(run.scratch_checkpoint)
        run.model.set_weights(best.get_weights())
    else:  # no epoch improved on infinity (a NaN loss): keep the last weights
        run.model.save(run.scratch_checkpoint)
    seconds = time.perf_counter() - run.started
    result = TrainingResult(
        config=config,
        model=run.model,
        history=table,
        best_epoch=best_epoch,
        seconds=seconds,
        images_per_second=run.meter.images_per_second(),
        train_images=run.train_images,
        folder=run_folder(profile, config.run_name),
    )
    summary = {
        "config": config.as_dict(),
        "best_epoch": best_epoch,
        "seconds": round(seconds, 2),
        "images_per_second": round(result.images_per_second, 2),
        "train_images": run.train_images,
        "history": table.to_dict(orient="list"),
    }
    staging = run.scratch
    atomic_write_text(staging / result.history_csv.name, table.to_csv(index=False))
    atomic_write_text(staging / result.history_json.name, json.dumps(summary, indent=2) + "\n")
    run.model.save(staging / MODEL_FILE)
    card = model_card(run, best_epoch, result.images_per_second)
    atomic_write_text(staging / CARD_FILE, json.dumps(card, indent=2) + "\n")
    stamp = run_stamp(profile, config)
    atomic_write_text(staging / STAMP_FILE, json.dumps(stamp, indent=1, sort_keys=True) + "\n")
    publish(staging, result.folder)
    return result


# --- one call: the chapter's cells as a function -----------------------------------------------


def train_model(
    profile: Profile,
    *,
    datasets: Datasets,
    epochs: int | None = None,
    augment: bool = False,
    dropout: float = 0.0,
    run_name: str = BASELINE,
    verbose: int = 0,
    learning_rate: float = 1e-3,
    seed: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> TrainingResult:
    """Train chapter 4's CNN on the datasets (the profile's split) and keep its best epoch and records.

    `callbacks` are added to the run's own (chapter 5's checkpoint and TensorBoard logs, the
    throughput meter), e.g. EarlyStopping.
    """
    config = run_config(
        profile,
        epochs=epochs,
        augment=augment,
        dropout=dropout,
        run_name=run_name,
        learning_rate=learning_rate,
        seed=seed,
    )
    run = start_run(profile, config, datasets)
    own = training_callbacks(run.scratch_checkpoint, run.scratch_logs)
    callbacks = [*own, run.meter, *callbacks]
    if verbose == 0:
        callbacks.append(EpochBar(config.epochs, f"training {run_name} ({profile.name})"))
    try:
        history = run.model.fit(
            datasets.train,
            validation_data=datasets.val,
            epochs=config.epochs,
            callbacks=callbacks,
            shuffle=False,  # the training pipeline shuffles itself, every epoch
            verbose=verbose,
        )
        return finish_run(run, history)
    finally:
        shutil.rmtree(run.scratch, ignore_errors=True)


def load_history(profile: Profile, run_name: str = BASELINE) -> pd.DataFrame:
    """A finished run's history table (epoch, loss, accuracy, val_loss, val_accuracy, ...)."""
    csv, _ = history_paths(profile, run_name)
    if not csv.is_file():
        raise FileNotFoundError(f"{csv} is missing: run {run_name!r} has not been trained")
    return pd.read_csv(csv)


# --- reading the curves ------------------------------------------------------------------------


def plot_learning_curves(runs: dict[str, pd.DataFrame], best: dict[str, int] | None = None) -> Any:
    """Accuracy and loss per epoch, training (solid) against validation (dashed), for each run."""

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (name, history), colour in zip(runs.items(), colours, strict=False):
        for axis, metric in zip(axes, ("accuracy", "loss"), strict=True):
            axis.plot(history["epoch"], history[metric], color=colour, label=f"{name}: training")
            axis.plot(
                history["epoch"],
                history[f"val_{metric}"],
                color=colour,
                linestyle="--",
                label=f"{name}: validation",
            )
            if best and name in best:
                axis.axvline(best[name], color=colour, linestyle=":", linewidth=1)
    for axis, metric in zip(axes, ("Accuracy", "Loss"), strict=True):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(f"{metric} per epoch")
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric.lower())
    axes[0].set_ylim(0, 1.02)
    handles, labels = axes[1].get_legend_handles_labels()
    columns = min(len(labels), 4)
    dotted = " (dotted line: epoch with the lowest validation loss)" if best else ""
    figure.suptitle(f"Learning curves{dotted}")
    figure.tight_layout(rect=(0, 0.06 * ((len(labels) + columns - 1) // columns), 1, 1))
    # below the axes, where it cannot cover a curve
    figure.legend(
        handles, labels, loc="lower center", ncols=columns, fontsize="small", frameon=False
    )
    return figure


def h5_save_warnings(path: Path) -> list[str]:
    """What Keras logs when a (tiny) model is saved in the legacy .h5 format; the file is removed."""

    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    tiny = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    logger, handler = logging.getLogger("absl"), Keep(logging.WARNING)
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.WARNING)
    logger.propagate = False  # keep the message out of the notebook's stderr: we print it
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # h5py's NumPy 2 chatter, not Keras's message
            tiny.save(path)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
        Path(path).unlink(missing_ok=True)
    return messages


def load_result(profile: Profile, run_name: str = BASELINE) -> TrainingResult:
    """A finished run read back from artifacts/<P>/<run>/: its model, history and records."""
    folder = run_folder(profile, run_name)
    summary = json.loads((folder / "history.json").read_text(encoding="utf-8"))
    settings = {**summary["config"], "input_shape": tuple(summary["config"]["input_shape"])}
    return TrainingResult(
        config=RunConfig(**settings),
        model=keras.saving.load_model(folder / MODEL_FILE),
        history=load_history(profile, run_name),
        best_epoch=int(summary["best_epoch"]),
        seconds=float(summary["seconds"]),
        images_per_second=float(summary["images_per_second"]),
        train_images=int(summary["train_images"]),
        folder=folder,
    )


def load_stamp(profile: Profile, run_name: str = BASELINE) -> dict[str, Any]:
    """The stamp of a finished run: its settings and the digest of the split.csv it trained on."""
    stamp = read_stamp(run_folder(profile, run_name))
    if stamp is None:
        raise FileNotFoundError(
            f"{run_folder(profile, run_name)} holds no finished run {run_name!r} (chapter 5 trains it)"
        )
    return stamp
