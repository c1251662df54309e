"""Scaling up: logical CPU devices for tf.distribute, and worker processes started, bounded, ended.

The chapter "Scaling up" writes the training code; this module holds the plumbing around it:
making one CPU look like several devices, giving every run the same start and the same batches
whatever its engine, starting N local worker processes that find each other on 127.0.0.1, waiting for them with a deadline, and
never leaving one behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from helpers.profiles import Profile
    from helpers.train import RunConfig

# what a worker process writes: one JSON file per process, named by its process id
RESULT_FILE = "process-{index}.json"
LOG_FILE = "process-{index}.log"


class ScalingError(RuntimeError):
    """A worker failed, timed out, or the devices could not be set up; the message says which."""


def logical_cpus(count: int) -> list[str]:
    """Split the CPU into `count` logical devices for TensorFlow; their names ('/cpu:0', ...).

    TensorFlow fixes its devices when it first runs an operation, so this must come before any
    computation in the process (in a notebook: before the first training or tensor op).
    """
    import tensorflow as tf

    if count < 1:
        raise ValueError(f"need at least one device, got {count}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError:  # already initialised: fine if it already has what we asked for
        have = len(tf.config.list_logical_devices("CPU"))
        if have < count:
            raise ScalingError(
                f"TensorFlow already started with {have} CPU device(s); restart the kernel and "
                f"run this cell before any other TensorFlow work to get {count}"
            ) from None
    return [f"/cpu:{index}" for index in range(count)]


def epoch_batches(
    items: Any, images: int, batch_size: int, epochs: int, seed: int
) -> tuple[Any, int]:
    """`epochs` passes over `items` in full batches, pass k in an order drawn from (seed, k); steps.

    `items` yields single (image, label) pairs, the same ones in the same order on every pass (a
    cached pipeline that does not reshuffle). A pipeline that reshuffles on every pass gives each
    pass the next order, so the batches a run sees depend on how many passes were opened before:
    Keras opens them differently on each engine (on TensorFlow, one more per epoch than it reads),
    and a run on TensorFlow would see other batches than one on JAX. Here the batches depend only on
    the seed and the pass's number, however often and by whom the data set is opened. Each pass
    drops its last, partial batch, which the replicas could not split evenly (a different handful
    of images each pass); fit it with `steps_per_epoch=steps`.
    """
    import tensorflow as tf

    steps = images // batch_size
    if steps < 1:
        raise ValueError(f"{images} images make no full batch of {batch_size}")

    def one_pass(number: Any) -> Any:
        # the whole pass at once (a full shuffle buffer holds as much), put in the pass's order
        order = tf.argsort(tf.random.stateless_uniform([images], seed=tf.stack([seed, number])))
        whole = items.batch(images, drop_remainder=True)
        shuffled = whole.map(lambda x, y: (tf.gather(x, order), tf.gather(y, order)))
        return shuffled.unbatch().batch(batch_size, drop_remainder=True)

    passes = tf.data.Dataset.range(epochs).flat_map(one_pass)
    passes = passes.apply(tf.data.experimental.assert_cardinality(epochs * steps))
    return passes.prefetch(tf.data.AUTOTUNE), steps


def training_epochs(profile: Profile, epochs: int) -> tuple[Any, int]:
    """The profile's training images as `epochs` passes of full batches (`epoch_batches`); steps.

    The images are the split's training images, decoded and cached by chapter 3's
    `cached_pipeline` (without its reshuffling); the orders come from the profile's seed.
    """
    from helpers import pipeline
    from helpers.taught import cached_pipeline

    frame = pipeline.ensure_split(profile)
    rows = frame[frame["subset"] == "train"]
    index = {name: i for i, name in enumerate(sorted(frame["label"].unique()))}
    paths = [str(pipeline.clean_folder(profile) / rel) for rel in rows["path"]]
    labels = [index[label] for label in rows["label"]]
    items = cached_pipeline(paths, labels, profile.image_size, profile.batch_size).unbatch()
    return epoch_batches(items, len(paths), profile.batch_size, epochs, profile.seed)


def start_model(config: RunConfig, start: Path | str) -> keras.Model:
    """Chapter 5's model for `config` (`train.new_model`), its weights read from the file `start`.

    One seed does not give one start on every engine: TensorFlow and JAX draw their random
    numbers with different generators, so `train.new_model(config)` starts from other weights on
    each, and a short training run ends where its start sends it. Runs to be compared therefore
    start from one file, written once with `model.save_weights(start)` (a `.weights.h5` file,
    which every backend reads). Build it inside a strategy's scope, or after the distribution is
    set, as `train.new_model` would be.
    """
    from helpers import train

    model = train.new_model(config)
    model.load_weights(start)
    return model


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for the coordinator)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def jax_environment(threads: int | None = None) -> dict[str, str]:
    """The environment of a Keras-on-JAX worker: the backend chosen before keras is imported."""
    env = dict(os.environ)
    env["KERAS_BACKEND"] = "jax"
    env.pop("XLA_FLAGS", None)  # one CPU device per process; the processes are the replicas
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


@dataclass(frozen=True)
class WorkerRun:
    """What N worker processes left: each one's result (JSON) and the wall time of the whole run."""

    results: list[dict[str, Any]]
    seconds: float
    folder: Path


def _stop(processes: Sequence[subprocess.Popen]) -> None:
    """End every worker and all it started: SIGTERM to each group, SIGKILL to what is left at 5 s."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + 5
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    while any(_group_alive(process) for process in processes) and time.monotonic() < deadline:
        time.sleep(0.05)  # what the workers started is ending too
    for process in processes:
        _signal_group(process, signal.SIGKILL)


def _group_alive(process: subprocess.Popen) -> bool:
    """Whether any process of the worker's group (it or a process it started) still runs."""
    try:
        os.killpg(process.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    """Send a signal to the process's own group (it and anything it started)."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a worker's log, indented, for an error message."""
    if not path.is_file():
        return "    (no log)"
    text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in text)


def _wait(processes: Sequence[subprocess.Popen], deadline: float, folder: Path) -> None:
    """Wait for every process; raise at the first failure or at the deadline."""
    while True:
        codes = [process.poll() for process in processes]
        failed = [index for index, code in enumerate(codes) if code not in (None, 0)]
        if failed:
            index = failed[0]
            log = folder / LOG_FILE.format(index=index)
            raise ScalingError(
                f"worker {index} of {len(processes)} exited with {codes[index]}; its log "
                f"({log}) ends:\n{_log_tail(log)}"
            )
        if all(code == 0 for code in codes):
            return
        if time.monotonic() > deadline:
            waiting = [index for index, code in enumerate(codes) if code is None]
            raise ScalingError(
                f"workers {waiting} of {len(processes)} still running at the time limit; stopped "
                f"them. Worker {waiting[0]}'s log ends:\n"
                f"{_log_tail(folder / LOG_FILE.format(index=waiting[0]))}"
            )
        time.sleep(0.2)


def run_workers(
    script: Path | str,
    processes: int,
    folder: Path | str,
    arguments: Sequence[str] = (),
    *,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> WorkerRun:
    """Run `python SCRIPT --process I --processes N --port P --out FOLDER ARGS` for I < N.

    The processes find each other through a coordinator on 127.0.0.1:P (process 0). Each writes
    its log to FOLDER/process-I.log and its result to FOLDER/process-I.json. The call returns when
    all have exited with 0; if one fails or the time limit passes, every one still running is
    stopped and ScalingError says which, with the end of its log. No process outlives the call.
    """
    if processes < 1:
        raise ValueError(f"need at least one process, got {processes}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(processes):
        (folder / RESULT_FILE.format(index=index)).unlink(missing_ok=True)
    port = free_port()
    started: list[subprocess.Popen] = []
    start = time.perf_counter()
    try:
        for index in range(processes):
            command = [sys.executable, str(script), "--process", str(index)]
            command += ["--processes", str(processes), "--port", str(port), "--out", str(folder)]
            with open(folder / LOG_FILE.format(index=index), "w") as log:
                started.append(
                    subprocess.Popen(
                        [*command, *arguments],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        start_new_session=True,  # its own group: stopped with all it started
                    )
                )
        _wait(started, time.monotonic() + timeout, folder)
    finally:
        _stop(started)
    seconds = time.perf_counter() - start
    results = [read_result(folder, index) for index in range(processes)]
    return WorkerRun(results, seconds, folder)


def read_result(folder: Path, index: int) -> dict[str, Any]:
    """Worker `index`'s result file, or ScalingError if it exited without writing one."""
    path = Path(folder) / RESULT_FILE.format(index=index)
    if not path.is_file():
        raise ScalingError(f"worker {index} exited without writing {path}")
    return json.loads(path.read_text())


def write_result(folder: Path | str, index: int, result: dict[str, Any]) -> Path:
    """A worker's result, written atomically as FOLDER/process-I.json."""
    from helpers.store import atomic_write_text

    path = Path(folder) / RESULT_FILE.format(index=index)
    atomic_write_text(path, json.dumps(result, indent=2))
    return path
