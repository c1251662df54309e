"""Scaling up: even batches, worker processes that never outlive their call, data-parallel training.

The training tests run in processes of their own (TensorFlow fixes its devices at its first op, and
the backend of Keras is chosen when it is imported), each bounded in time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from helpers import scaling
from helpers.paths import ROOT

TIME_LIMIT = 180  # seconds for one training test, start-up included


def write_script(folder: Path, body: str) -> Path:
    """A worker script taking run_workers' arguments, with `body` after the parsing."""
    head = """
        import argparse, json, os, sys, time
        parser = argparse.ArgumentParser()
        for name in ("--process", "--processes", "--port"):
            parser.add_argument(name, type=int, required=True)
        parser.add_argument("--out", required=True)
        args, rest = parser.parse_known_args()
    """
    path = folder / "worker.py"
    path.write_text(textwrap.dedent(head) + textwrap.dedent(body))
    return path


def alive(pid: int) -> bool:
    """Whether a process id still names a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_epoch_batches_depend_only_on_the_seed_and_the_pass() -> None:
    items = tf.data.Dataset.range(50).map(lambda i: (i, i % 2))
    passes, steps = scaling.epoch_batches(items, 50, 8, 3, seed=1)
    assert steps == 6 and int(passes.cardinality()) == 18
    first = [x.numpy().tolist() for x, _ in passes]
    assert all(len(batch) == 8 for batch in first)
    for number in range(3):  # each pass: 48 distinct images, a new order, the partial batch dropped
        seen = sum(first[number * steps : (number + 1) * steps], [])
        assert len(set(seen)) == 48 and set(seen) <= set(range(50))
    assert first[0] != first[steps]
    opened = iter(passes)
    next(opened)  # a pass opened and abandoned, as Keras does, changes nothing
    assert [x.numpy().tolist() for x, _ in passes] == first
    tf.random.set_seed(7)  # nor does the global seed
    again = scaling.epoch_batches(items, 50, 8, 3, seed=1)[0]
    assert [x.numpy().tolist() for x, _ in again] == first
    other = scaling.epoch_batches(items, 50, 8, 3, seed=2)[0]
    assert [x.numpy().tolist() for x, _ in other] != first
    with pytest.raises(ValueError, match="no full batch"):
        scaling.epoch_batches(items, 50, 64, 1, seed=1)


def test_run_workers_collects_every_result(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        sys.path.insert(0, os.environ["BOOK_ROOT"])
        from helpers import scaling
        scaling.write_result(args.out, args.process, {"me": args.process, "of": args.processes,
                                                      "rest": rest})
        """,
    )
    env = {**os.environ, "BOOK_ROOT": str(ROOT)}
    done = scaling.run_workers(script, 3, tmp_path / "run", ["--extra", "1"], timeout=60, env=env)
    assert [result["me"] for result in done.results] == [0, 1, 2]
    assert {result["of"] for result in done.results} == {3}
    assert done.results[0]["rest"] == ["--extra", "1"]


def test_a_failing_worker_stops_the_others_and_shows_its_log(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        print(os.getpid(), flush=True)
        if args.process == 1:
            print("worker one gives up", flush=True)
            sys.exit(3)
        time.sleep(600)
        """,
    )
    start = time.monotonic()
    with pytest.raises(scaling.ScalingError, match="worker 1 of 2 exited with 3") as raised:
        scaling.run_workers(script, 2, tmp_path / "run", timeout=60)
    assert "worker one gives up" in str(raised.value)
    assert time.monotonic() - start < 30
    pids = [int((tmp_path / "run" / f"process-{i}.log").read_text().split()[0]) for i in (0, 1)]
    assert not any(alive(pid) for pid in pids)


def test_workers_past_the_time_limit_are_stopped(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        import subprocess
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(os.getpid(), child.pid, flush=True)
        time.sleep(600)
        """,
    )
    with pytest.raises(scaling.ScalingError, match=r"still running at the time limit"):
        scaling.run_workers(script, 2, tmp_path / "run", timeout=3)
    for index in (0, 1):
        pids = [int(p) for p in (tmp_path / "run" / f"process-{index}.log").read_text().split()]
        assert not any(alive(pid) for pid in pids)  # the worker and what it started


def test_a_worker_without_a_result_is_an_error(tmp_path: Path) -> None:
    script = write_script(tmp_path, "pass\n")
    with pytest.raises(scaling.ScalingError, match="without writing"):
        scaling.run_workers(script, 1, tmp_path / "run", timeout=60)


MIRRORED = """
import json, sys
import helpers
import numpy as np
import tensorflow as tf
from helpers import scaling
devices = scaling.logical_cpus(2)
import keras
from helpers.taught import build_model, compile_model

rng = np.random.default_rng(0)
x = rng.uniform(0, 255, size=(64, 32, 32, 3)).astype("float32")
y = (x[:, :16].mean(axis=(1, 2, 3)) > x[:, 16:].mean(axis=(1, 2, 3))).astype("int32")
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
losses = {}
for name, strategy in [("one", tf.distribute.OneDeviceStrategy(devices[0])),
                       ("mirrored", tf.distribute.MirroredStrategy(devices))]:
    keras.utils.set_random_seed(1)
    with strategy.scope():
        model = compile_model(build_model((32, 32, 3)))
    history = model.fit(data, epochs=2, shuffle=False, verbose=0)
    losses[name] = {"loss": history.history["loss"], "replicas": strategy.num_replicas_in_sync}
print("RESULT", json.dumps(losses))
"""


def test_mirrored_strategy_on_two_logical_cpus_computes_the_one_device_step() -> None:
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    losses = json.loads(line.removeprefix("RESULT "))
    assert losses["one"]["replicas"] == 1 and losses["mirrored"]["replicas"] == 2
    # the same global batch: the same arithmetic, up to the order of the additions
    assert np.isclose(losses["one"]["loss"][0], losses["mirrored"]["loss"][0], rtol=1e-4)


JAX_BODY = """
os.environ["KERAS_BACKEND"] = "jax"
sys.path.insert(0, os.environ["BOOK_ROOT"])
import jax
import keras
import numpy as np
import tensorflow as tf
from helpers import scaling

if args.processes > 1:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize(f"127.0.0.1:{args.port}", args.processes, args.process)
keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
rng = np.random.default_rng(0)
x = rng.normal(size=(128, 8)).astype("float32")
y = (x[:, 0] > 0).astype("float32")
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
keras.utils.set_random_seed(1)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile("adam", "binary_crossentropy")
model.fit(data, epochs=2, shuffle=False, verbose=0)
weights = [w.tolist() for w in model.get_weights()]
scaling.write_result(args.out, args.process, {"devices": len(jax.devices()), "weights": weights})
"""


def test_two_jax_processes_on_localhost_train_like_one(tmp_path: Path) -> None:
    pytest.importorskip("jax")
    script = write_script(tmp_path, JAX_BODY)
    env = {**scaling.jax_environment(), "BOOK_ROOT": str(ROOT)}
    runs = {
        count: scaling.run_workers(
            script, count, tmp_path / f"run{count}", timeout=TIME_LIMIT, env=env
        )
        for count in (1, 2)
    }
    one, two = runs[1].results, runs[2].results
    assert one[0]["devices"] == 1 and {result["devices"] for result in two} == {2}
    assert two[0]["weights"] == two[1]["weights"]  # the replicas stay identical
    for a, b in zip(one[0]["weights"], two[0]["weights"], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)  # same global batch: one device's training


# The chapter's training on both engines, in a worker: the start read from one file
# (scaling.start_model), the batches from scaling.epoch_batches, fit told the steps per epoch.
BOTH_ENGINES = """
os.environ["KERAS_BACKEND"] = os.environ["ENGINE"]
sys.path.insert(0, os.environ["BOOK_ROOT"])
import contextlib
import keras
import numpy as np
import tensorflow as tf
from helpers import scaling
from helpers.train import RunConfig

if keras.backend.backend() == "jax":
    import jax
    if args.processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        keras.distribution.initialize(f"127.0.0.1:{args.port}", args.processes, args.process)
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
    scope = contextlib.nullcontext()
else:
    scope = tf.distribute.OneDeviceStrategy("/cpu:0").scope()
data = np.load(os.environ["DATA"])
images = len(data["y"])
items = tf.data.Dataset.from_tensor_slices((data["x"], data["y"])).cache()
batches, steps = scaling.epoch_batches(items, images, 16, 3, seed=1)
config = RunConfig("tiny", (24, 24, 3), epochs=3, batch_size=16, seed=1)
with scope:
    model = scaling.start_model(config, os.environ["START"])
history = model.fit(batches, epochs=config.epochs, steps_per_epoch=steps, shuffle=False, verbose=0)
scaling.write_result(args.out, args.process, {
    "engine": keras.backend.backend(), "devices": model.distribute_strategy.num_replicas_in_sync
    if keras.backend.backend() == "tensorflow" else len(jax.devices()),
    "loss": history.history["loss"], "weights": [w.tolist() for w in model.get_weights()]})
"""


def test_one_device_on_tensorflow_and_two_jax_processes_train_the_same_model(
    tmp_path: Path,
) -> None:
    """The chapter's runs, small: one start file and the same batches give the same training.

    A seed alone gives each engine its own start (TensorFlow and JAX draw other numbers), and a
    pipeline reshuffled on every pass gives TensorFlow's runs other batches than JAX's from the
    second epoch on (Keras on TensorFlow opens one more pass per epoch): either makes the losses
    part at epoch 1 or 2.
    """
    pytest.importorskip("jax")
    from helpers import train

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(64, 24, 24, 3)).astype("float32")
    y = (x[:, :12].mean(axis=(1, 2, 3)) > x[:, 12:].mean(axis=(1, 2, 3))).astype("int32")
    np.savez(tmp_path / "data.npz", x=x, y=y)
    config = train.RunConfig("tiny", (24, 24, 3), epochs=3, batch_size=16, seed=1)
    start = tmp_path / "start.weights.h5"
    train.new_model(config).save_weights(start)
    script = write_script(tmp_path, BOTH_ENGINES)
    env = {
        **scaling.jax_environment(),
        "BOOK_ROOT": str(ROOT),
        "DATA": str(tmp_path / "data.npz"),
        "START": str(start),
    }
    runs = {
        engine: scaling.run_workers(
            script, processes, tmp_path / engine, timeout=TIME_LIMIT, env={**env, "ENGINE": engine}
        ).results[0]
        for engine, processes in (("tensorflow", 1), ("jax", 2))
    }
    tf_run, jax_run = runs["tensorflow"], runs["jax"]
    assert (tf_run["engine"], tf_run["devices"]) == ("tensorflow", 1)
    assert (jax_run["engine"], jax_run["devices"]) == ("jax", 2)
    # the same start, the same batches: the same losses, epoch by epoch, up to rounding
    np.testing.assert_allclose(tf_run["loss"], jax_run["loss"], rtol=1e-4)
    for a, b in zip(tf_run["weights"], jax_run["weights"], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
