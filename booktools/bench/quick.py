"""quick: this machine in under a minute, measured after every full build of the book.

`python -m booktools.book` runs it once the chapters of a full synthetic build have run (and
`python -m booktools.bench quick` alone), so that the performance page always shows this
machine's figures. It describes the machine (CPU, cores, AVX-512, memory), then runs two fresh
processes that differ only in TF_ENABLE_ONEDNN_OPTS (as the book sets it, and 0). Both start at
once, so that their imports and warm-ups share the cores, then take turns: each times its work
with the other waiting (`take_turn`), so no figure is measured beside other work. Each trains the
book's CNN from fresh weights on the run's own training set, alternating epochs through the
book's cached pipeline and from the same images held in memory as whole batches (no decoding,
no shuffling, no batching: the ceiling an input pipeline can reach), then times prediction; the
first also measures the float32 matrix-multiplication peak, which with the model's FLOPs per
training image gives the compute bound. Each rate is the fastest of its runs, the one other work
on a shared machine slowed least, and every comparison is a ratio of two figures measured in
this one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from booktools.bench.core import StartedChild, load_result, register, start_in_child
from booktools.machine import machine_facts
from helpers.profiles import Profile, get_profile

NAME = "quick"
ROUNDS = 2  # timed epochs of each input, alternated, after a one-batch warm-up of each
PREDICT_RUNS = 3
PEAK_SIZE = 2048  # side of the square float32 matrices whose product gives the matmul peak
PEAK_RUNS = 3
TURN_TIMEOUT = 600  # seconds a child waits for its turn before it gives up
# the two processes: the book's setting (unset: `import helpers` sets 1) with every figure, and
# oneDNN off, timing only what the ratio needs (training from memory, prediction)
SETTINGS = {"book": (None, ("pipeline", "memory"), True), "off": ("0", ("memory",), False)}


def quick_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the quick measurement."""
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="timed epochs of each input")


def take_turn(ready: str, go: str, timeout: float = TURN_TIMEOUT) -> None:
    """In a child: say that it is ready to measure (the file `ready`), then wait for `go`."""
    Path(ready).touch()
    deadline = time.monotonic() + timeout
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no turn to measure within {timeout:.0f} s ({go} never appeared)")
        time.sleep(0.05)


def wait_until_ready(children: dict[str, StartedChild], ready: dict[str, Path]) -> None:
    """Until every child is ready to measure, or one has ended (its `finish` says why)."""
    while not all(path.exists() for path in ready.values()):
        if any(child.process.poll() is not None for child in children.values()):
            return
        time.sleep(0.05)


def quick_child(
    profile_name: str,
    source: str,
    inputs: list[str],
    rounds: int,
    peak: bool,
    turn: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """In a fresh process: the CNN's training (cached pipeline, in memory) and prediction, timed.

    `turn` (the files `ready` and `go`): once warmed up, wait for the parent's go to time.
    """
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    from booktools.bench.compute import measured_peaks
    from booktools.flops import training_flops
    from helpers import pipeline
    from helpers.env import seed_everything
    from helpers.taught import build_model, compile_model
    from helpers.train import ThroughputMeter

    chosen = get_profile(profile_name, source)
    data = pipeline.make_datasets(chosen)
    batches = list(data.train)  # one pass: decodes the images and fills the pipeline's cache
    size = chosen.batch_size
    whole = sum(len(y) for _, y in batches) // size * size  # in memory: whole batches only
    images = np.concatenate([x.numpy() for x, _ in batches])[:whole]
    labels = np.concatenate([y.numpy() for _, y in batches])[:whole]
    in_memory = tf.data.Dataset.from_tensor_slices(
        (images.reshape(-1, size, *images.shape[1:]), labels.reshape(-1, size))
    )  # each element a stored batch: the model's own step time, nothing else
    sources = {"pipeline": data.train, "memory": in_memory}
    counts = {"pipeline": sum(len(y) for _, y in batches), "memory": whole}
    seed_everything(chosen.seed)
    model = compile_model(build_model(chosen.input_shape))
    for name in inputs:  # one batch of each: traces the model, starts the input
        model.fit(sources[name].take(1), epochs=1, shuffle=False, verbose=0)
    model.predict(in_memory.take(1), verbose=0)  # and prediction
    if turn:
        take_turn(*turn)
    seconds: dict[str, list[float]] = {name: [] for name in inputs}
    for _ in range(rounds):
        for name in inputs:
            meter = ThroughputMeter(counts[name])
            model.fit(sources[name], epochs=1, callbacks=[meter], shuffle=False, verbose=0)
            seconds[name] += meter.seconds
    model.predict(in_memory, verbose=0)  # warm-up: a whole pass
    predict = []
    for _ in range(PREDICT_RUNS):
        start = time.perf_counter()
        model.predict(in_memory, verbose=0)
        predict.append(time.perf_counter() - start)
    return {
        "onednn": bool(_pywrap_util_port.IsMklEnabled()),
        "tensorflow": tf.__version__,
        "images": counts,
        "train_seconds": seconds,
        "predict_seconds": predict,
        "peaks_gflops": measured_peaks(PEAK_SIZE, PEAK_RUNS, fastest=True) if peak else {},
        # counted here, where Keras is loaded already: importing it in the parent costs seconds
        "training_flops": training_flops(chosen.input_shape) if peak else None,
    }


def rate(images: int, seconds: list[float]) -> float:
    """Images per second in the fastest of several timed runs, rounded for the record."""
    return round(images / min(seconds), 1)


@register(
    NAME,
    "this machine in under a minute: training against the in-memory ceiling and the compute "
    "bound, prediction, oneDNN on/off (run after every full build)",
    quick_arguments,
)
def bench_quick(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """The machine, then the two processes of SETTINGS; rates, and their ratios within this run."""
    if args.rounds < 1:
        raise ValueError("--rounds must be at least 1")
    start = time.perf_counter()
    runs = {}
    with tempfile.TemporaryDirectory(prefix="quick-") as folder:
        turns = {
            name: (Path(folder) / f"{name}.ready", Path(folder) / f"{name}.go") for name in SETTINGS
        }
        children = {
            name: start_in_child(
                "booktools.bench.quick:quick_child",
                env={"TF_ENABLE_ONEDNN_OPTS": value},
                profile_name=profile.name,
                source=profile.source,
                inputs=list(inputs),
                rounds=args.rounds,
                peak=peak,
                turn=[str(path) for path in turns[name]],
            )
            for name, (value, inputs, peak) in SETTINGS.items()
        }
        try:
            wait_until_ready(children, {name: ready for name, (ready, _) in turns.items()})
            for name, child in children.items():  # one at a time, the other waiting
                turns[name][1].touch()
                runs[name] = child.finish().result
        finally:
            for child in children.values():
                child.stop()
    book, off = runs["book"], runs["off"]
    images = book["images"]
    train = {name: rate(images[name], seconds) for name, seconds in book["train_seconds"].items()}
    predict = {name: rate(images["memory"], run["predict_seconds"]) for name, run in runs.items()}
    off_train = rate(images["memory"], off["train_seconds"]["memory"])
    source = max(book["peaks_gflops"], key=book["peaks_gflops"].__getitem__)
    peak = book["peaks_gflops"][source]
    flops = book["training_flops"]
    bound = peak * 1e9 / flops
    result = {
        "machine_facts": machine_facts(),
        "profile": profile.name,
        "image_size": profile.image_size,
        "batch_size": profile.batch_size,
        "images": images["pipeline"],
        "rounds": args.rounds,
        "tensorflow": book["tensorflow"],
        "train_pipeline_images_per_second": train["pipeline"],
        "train_memory_images_per_second": train["memory"],
        "pipeline_of_memory": round(train["pipeline"] / train["memory"], 3),
        "training_gflop": round(flops / 1e9, 4),
        "peak_gflops": round(peak, 1),
        "peak_source": f"{source}, {PEAK_SIZE}x{PEAK_SIZE}",
        "bound_images_per_second": round(bound, 1),
        "pipeline_of_bound": round(train["pipeline"] / bound, 4),
        "memory_of_bound": round(train["memory"] / bound, 4),
        "predict_images_per_second": predict["book"],
        "onednn": {
            name: {
                "onednn": run["onednn"],
                "train_images_per_second": trained,
                "predict_images_per_second": predict[name],
            }
            for name, run, trained in (("book", book, train["memory"]), ("off", off, off_train))
        },
        "onednn_train_ratio": round(train["memory"] / off_train, 3),
        "onednn_predict_ratio": round(predict["book"] / predict["off"], 3),
        "cpu_load_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    result["measure_seconds"] = round(time.perf_counter() - start, 1)
    print(summary(result))
    return result


def summary(result: dict[str, Any]) -> str:
    """The measurement in one line, for the runner's console."""
    return (
        f"training {result['train_pipeline_images_per_second']:.0f} images/s "
        f"({result['pipeline_of_memory']:.2f} of the in-memory ceiling, "
        f"{result['pipeline_of_bound']:.0%} of the compute bound), predicting "
        f"{result['predict_images_per_second']:.0f} images/s; oneDNN on/off "
        f"{result['onednn_train_ratio']:.1f}x training, {result['onednn_predict_ratio']:.1f}x "
        "predicting"
    )


def measure_build(profile: Profile, log: Path) -> bool:
    """Run `python -m booktools.bench quick` after a build, its output in `log`, and print one
    line: what it found, or (on stderr) that it failed and where its log is. A failed measurement
    does not fail the build: the page then shows the last figures that were measured.
    """
    from helpers.paths import ROOT, shown
    from helpers.profiles import SOURCE_ENV_VAR

    start = time.perf_counter()
    command = [sys.executable, "-m", "booktools.bench", NAME, "--profile", profile.name]
    env = {**os.environ, SOURCE_ENV_VAR: profile.source}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as handle:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    record = load_result(profile, NAME)
    if done.returncode != 0 or not record:
        print(
            f"warning: measuring this machine failed (exit {done.returncode}), so the performance "
            f"page shows older figures; see {shown(log)}",
            file=sys.stderr,
            flush=True,
        )
        return False
    seconds = time.perf_counter() - start
    print(f"measured this machine in {seconds:.0f} s: {summary(record)}", flush=True)
    return True
