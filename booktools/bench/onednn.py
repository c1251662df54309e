"""onednn: the book's TF_ENABLE_ONEDNN_OPTS against TensorFlow's default, in fresh processes."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from booktools.bench.core import register, run_in_child, time_epochs
from booktools.machine import cpu_flags
from helpers.profiles import Profile, get_profile


def onednn_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the oneDNN benchmark."""
    parser.add_argument("--epochs", type=int, default=3, help="per run, the first one untimed")
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternate the two settings this often"
    )


def onednn_child(profile_name: str, source: str, epochs: int) -> dict[str, Any]:
    """In a fresh process: train the book's CNN for some epochs and predict the test set, timed."""
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    from helpers import pipeline
    from helpers.env import seed_everything
    from helpers.taught import build_model, compile_model

    chosen = get_profile(profile_name, source)
    data = pipeline.make_datasets(chosen)
    train_images = int((data.frame["subset"] == "train").sum())
    test_images = int((data.frame["subset"] == "test").sum())
    seed_everything(chosen.seed)
    model = compile_model(build_model(chosen.input_shape))
    seconds = time_epochs(model, data.train, train_images, epochs)
    model.predict(data.test, verbose=0)  # warm-up: tracing, the cache
    start = time.perf_counter()
    for _ in range(3):
        model.predict(data.test, verbose=0)
    predict_seconds = (time.perf_counter() - start) / 3
    return {
        "onednn": bool(_pywrap_util_port.IsMklEnabled()),
        "variable": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "tensorflow": tf.__version__,
        "train_seconds": seconds,
        "train_images": train_images,
        "predict_seconds": predict_seconds,
        "test_images": test_images,
    }


@register(
    "onednn",
    "training and predicting images/s with oneDNN as the book sets it, and with it off",
    onednn_arguments,
)
def bench_onednn(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """The same model and data in fresh processes: TF_ENABLE_ONEDNN_OPTS as the book sets it, and 0."""
    from helpers import pipeline

    if args.epochs < 2:
        raise ValueError("--epochs must be at least 2: the first epoch is a warm-up")
    pipeline.make_datasets(profile)  # build the data once, outside the timed processes
    settings = {"book": None, "off": "0"}  # None: unset, so helpers sets it to 1
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in settings}
    for _ in range(args.rounds):
        for name, value in settings.items():
            child = run_in_child(
                "booktools.bench.onednn:onednn_child",
                env={"TF_ENABLE_ONEDNN_OPTS": value},
                profile_name=profile.name,
                source=profile.source,
                epochs=args.epochs,
            )
            runs[name].append(child.result)
    figures: dict[str, Any] = {}
    for name, results in runs.items():
        train = [s for r in results for s in r["train_seconds"]]
        predict = [r["predict_seconds"] for r in results]
        figures[name] = {
            "onednn": results[0]["onednn"],
            "train_images_per_second": round(
                results[0]["train_images"] / float(np.median(train)), 2
            ),
            "predict_images_per_second": round(
                results[0]["test_images"] / float(np.median(predict)), 2
            ),
        }
    ratio_train = (
        figures["book"]["train_images_per_second"] / figures["off"]["train_images_per_second"]
    )
    ratio_predict = (
        figures["book"]["predict_images_per_second"] / figures["off"]["predict_images_per_second"]
    )
    result = {
        "image_size": profile.image_size,
        "batch_size": profile.batch_size,
        "epochs": args.epochs,
        "rounds": args.rounds,
        "tensorflow": runs["book"][0]["tensorflow"],
        "cpu_flags": cpu_flags(),
        "book": figures["book"],
        "off": figures["off"],
        "train_ratio": round(ratio_train, 3),
        "predict_ratio": round(ratio_predict, 3),
    }
    print(
        f"\noneDNN benchmark, profile {profile.name}: {profile.image_size} px, batches of "
        f"{profile.batch_size}, {args.epochs} epochs per run (first untimed), {args.rounds} "
        f"round(s) alternating, fresh processes; CPU flags {', '.join(result['cpu_flags']) or '?'}"
    )
    for name, label in (
        ("book", "as the book sets it (TF_ENABLE_ONEDNN_OPTS=1)"),
        ("off", "TF_ENABLE_ONEDNN_OPTS=0"),
    ):
        row = figures[name]
        print(
            f"  {label:48} oneDNN {'on ' if row['onednn'] else 'off'}  train "
            f"{row['train_images_per_second']:7.1f} images/s, predict "
            f"{row['predict_images_per_second']:7.1f} images/s"
        )
    print(f"  ratio, book / off: training {ratio_train:.2f}, predicting {ratio_predict:.2f}")
    return result
