"""Tests for booktools.bench (the registry, the command line, the face-drawer, the children) and
booktools.flops and booktools.perf (FLOPs, the page)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from booktools import bench, flops, perf, perf_sections
from booktools.bench import clean_scale, faces, memory, streaming


def test_registry_lists_every_benchmark_the_page_reports(capsys: pytest.CaptureFixture) -> None:
    # the chapter times are measured by the runner (timings.json), every other section by a benchmark
    assert set(perf.PAGE_BENCHMARKS) - {"chapters"} <= set(bench.BENCHMARKS)
    assert "chapters" not in bench.BENCHMARKS
    assert bench.main(["--list"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert listed == set(bench.BENCHMARKS)


def test_registering_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        bench.register("training", "again")(lambda profile, args: {})


def test_every_benchmark_has_a_parser_with_a_profile_option() -> None:
    parser = bench.build_parser()
    for name in bench.BENCHMARKS:
        args = parser.parse_args([name, "--profile", "smoke"])
        assert args.name == name and args.profile == "smoke"


# --- FLOPs, against a hand computation -------------------------------------------------------


def test_flops_of_a_32_pixel_input_match_a_hand_computation() -> None:
    # 32x32x3 -> conv 3x3x16: 30x30x16 -> pool 15x15 -> conv 3x3x32: 13x13x32 -> pool 6x6
    # -> conv 3x3x16: 4x4x16 -> pool 2x2x16 -> flatten 64 -> dense 256 -> dense 1
    conv1 = 30 * 30 * 16 * 3 * 3 * 3
    conv2 = 13 * 13 * 32 * 3 * 3 * 16
    conv3 = 4 * 4 * 16 * 3 * 3 * 32
    dense1 = 64 * 256
    dense2 = 256 * 1
    macs = [row["macs"] for row in flops.layer_macs((32, 32, 3))]
    assert macs == [conv1, conv2, conv3, dense1, dense2]
    total = conv1 + conv2 + conv3 + dense1 + dense2
    assert flops.forward_flops((32, 32, 3)) == 2 * total
    assert flops.training_flops((32, 32, 3)) == 3 * 2 * total


def test_flops_grow_with_the_input_and_refuse_a_too_small_one() -> None:
    assert flops.forward_flops((64, 64, 3)) > flops.forward_flops((32, 32, 3))
    assert flops.forward_flops((32, 32, 1)) < flops.forward_flops((32, 32, 3))
    with pytest.raises(ValueError, match="too small"):
        flops.layer_macs((8, 8, 3))


# --- the page writer, on fake figures ------------------------------------------------------------


def fake(folder: Path, name: str, record: dict) -> None:
    """Write one fake figures file the way the benchmarks do."""
    stamped = {"date": "2000-01-02 03:04 UTC", "machine": "Test CPU, 2 cores", **record}
    (folder / name).write_text(json.dumps(stamped), encoding="utf-8")


TRAINING = {
    "images": 216,
    "image_size": 256,
    "batch_size": 32,
    "epochs": 3,
    "rounds": 2,
    "original_images_per_second": 40.0,
    "book_images_per_second": 100.0,
    "ratio": 2.5,
    "median_original_images_per_second": 38.0,
    "median_book_images_per_second": 95.0,
    "median_ratio": 2.4,
}
TIMINGS = {
    "profile": "full",
    "machine": "Test CPU, 2 cores",
    "chapters": {
        "01_acquisition": {"seconds": 12.0, "measured": "2000-01-02 03:04 UTC", "jobs": 2},
        "02_eda": {"seconds": 30.0, "measured": "2000-01-01 01:00 UTC", "jobs": 2},
    },
    "last_run": {"chapters": ["01_acquisition"], "jobs": 2, "wall_seconds": 33.0},
}
ONEDNN = {
    "image_size": 256,
    "batch_size": 32,
    "epochs": 3,
    "rounds": 2,
    "tensorflow": "2.21.0",
    "cpu_flags": ["avx2", "avx512f"],
    "book": {"onednn": True, "train_images_per_second": 80.0, "predict_images_per_second": 330.0},
    "off": {"onednn": False, "train_images_per_second": 25.0, "predict_images_per_second": 90.0},
    "train_ratio": 3.2,
    "predict_ratio": 3.667,
}
INFERENCE = {
    "images": 64,
    "runs": 5,
    "batch_size": 32,
    "single_images_per_second": 20.0,
    "batched_images_per_second": 90.0,
    "ratio": 4.5,
}


def test_page_shows_measured_tables_and_lists_the_missing_ones(tmp_path: Path) -> None:
    fake(tmp_path, "timings.json", TIMINGS)
    fake(tmp_path, "bench_training.json", TRAINING)
    fake(tmp_path, "bench_inference.json", INFERENCE)
    page = perf.write_performance_page(tmp_path / "out" / "performance.md", artifacts=tmp_path)
    text = page.read_text(encoding="utf-8")
    assert "| 01_acquisition | 12 | 2000-01-02 03:04 UTC |" in text
    assert "| 02_eda | 30 | 2000-01-01 01:00 UTC |" in text  # each chapter keeps its own date
    assert "| **total** | **42** |" in text
    assert "2 chapters at a time" in text and "33 s of wall time" in text
    assert "| **ratio book / original** | **2.40** | 2.50 |" in text
    assert "| **ratio batched / one by one** | **4.50** |" in text
    assert "Test CPU, 2 cores" in text and "2000-01-02 03:04 UTC" in text
    assert "This machine has not been measured yet" in text  # no quick figures saved
    to_run = text.split("### Longer benchmarks", 1)[1]
    for name in ("onednn", "memory", "fer", "compute"):
        assert f"- `{name}`: " in to_run
    for name in ("training", "inference"):
        assert f"- `{name}`: " not in to_run


def test_onednn_section_gives_both_settings_the_ratio_and_why(tmp_path: Path) -> None:
    fake(tmp_path, "bench_onednn.json", ONEDNN)
    text = perf.performance_markdown(tmp_path)
    assert "| as the book sets it (1) | on | 80.0 | 330.0 |" in text
    assert "| 0 | off | 25.0 | 90.0 |" in text
    assert "| **ratio** |  | **3.20** | **3.67** |" in text
    assert "no AVX-512 VNNI or AMX" in text  # this CPU's flags: the book's setting matters
    vnni = {**ONEDNN, "cpu_flags": ["avx2", "avx512f", "avx512_vnni"]}
    fake(tmp_path, "bench_onednn.json", vnni)
    assert "changes nothing here" in perf.performance_markdown(tmp_path)


def test_page_with_nothing_measured_says_so_once_per_benchmark(tmp_path: Path) -> None:
    text = perf.write_performance_page(tmp_path / "p.md", artifacts=tmp_path).read_text()
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) == len(perf.PAGE_BENCHMARKS)
    assert "|" not in text  # no table without figures


QUICK = {
    "machine_facts": {
        "cpu": "Test CPU",
        "cores": 2,
        "cpu_flags": ["avx2", "avx512f"],
        "memory_gib": 7.6,
        "python": "3.11.7",
        "system": "Linux 6.1",
    },
    "profile": "full",
    "image_size": 128,
    "batch_size": 32,
    "images": 216,
    "rounds": 2,
    "tensorflow": "2.21.0",
    "train_pipeline_images_per_second": 90.0,
    "train_memory_images_per_second": 100.0,
    "pipeline_of_memory": 0.9,
    "training_gflop": 0.1705,
    "peak_gflops": 34.1,
    "peak_source": "tensorflow, 2048x2048",
    "bound_images_per_second": 200.0,
    "pipeline_of_bound": 0.45,
    "memory_of_bound": 0.5,
    "predict_images_per_second": 400.0,
    "onednn": {
        "book": {
            "onednn": True,
            "train_images_per_second": 100.0,
            "predict_images_per_second": 400.0,
        },
        "off": {
            "onednn": False,
            "train_images_per_second": 40.0,
            "predict_images_per_second": 100.0,
        },
    },
    "onednn_train_ratio": 2.5,
    "onednn_predict_ratio": 4.0,
    "cpu_load_1min": 1.5,
}


def test_a_fresh_build_shows_the_machine_its_figures_and_what_else_can_be_run(
    tmp_path: Path,
) -> None:
    """What a full build saves (quick, timings) is all the page needs: nothing 'not measured'."""
    fake(tmp_path, "timings.json", TIMINGS)
    fake(tmp_path, "bench_quick.json", QUICK)
    text = perf.performance_markdown(tmp_path)
    assert "| processor | Test CPU |" in text and "| AVX-512 | yes (avx512f) |" in text
    assert "| memory | 7.6 GiB |" in text and "| cores (logical) | 2 |" in text
    assert (
        "| training, through the book's cached pipeline | 90.0 | **0.90** of the in-memory rate, "
        "**45%** of the bound |" in text
    )
    assert "over 0.171 GFLOP per training image | 200 |" in text
    assert "| predicting, batches of 32 in memory | 400.0 |" in text
    assert "| **ratio** |  | **2.50** | **4.00** |" in text  # oneDNN on / off
    assert "fastest of 2 epochs" in text and "2000-01-02 03:04 UTC" in text
    assert "### Executing each chapter" in text
    assert "Not measured yet" not in text and "never" not in text
    to_run = text.split("### Longer benchmarks", 1)[1]
    assert [line.split("`")[1] for line in to_run.splitlines() if line.startswith("- ")] == [
        name for name in perf.PAGE_BENCHMARKS if name not in perf.BUILD_MEASURES
    ]
    fake(
        tmp_path, "bench_training.json", TRAINING
    )  # a long benchmark run: shown, dated, not listed
    text = perf.performance_markdown(tmp_path)
    assert "### Training: the original's pipeline against the book's" in text
    assert "- `training`" not in text


def test_the_build_measurement_says_one_line_and_never_fails_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess

    from booktools.bench import quick
    from helpers.profiles import get_profile

    profile, log = get_profile("full"), tmp_path / "logs" / "quick.log"
    saved: dict = {}
    monkeypatch.setattr(quick, "load_result", lambda profile, name: saved.get(name))
    exits = iter([0, 3])

    def run(command, **kwargs):  # the measuring process, its output going to the log
        assert command[-4:] == ["booktools.bench", "quick", "--profile", "full"]
        kwargs["stdout"].write("figures\n")
        saved["quick"] = QUICK
        return subprocess.CompletedProcess(command, next(exits))

    monkeypatch.setattr(quick.subprocess, "run", run)
    assert quick.measure_build(profile, log) is True
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("measured this machine in ")
    assert (
        "training 90 images/s (0.90 of the in-memory ceiling, 45% of the compute bound)" in out[0]
    )
    assert "oneDNN on/off 2.5x training, 4.0x predicting" in out[0]
    assert log.read_text() == "figures\n"
    assert quick.measure_build(profile, log) is False  # exit 3
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith("warning: measuring this machine failed (exit 3)")


def test_page_reports_an_unreadable_or_outdated_file_instead_of_failing(tmp_path: Path) -> None:
    (tmp_path / "bench_fer.json").write_text("{half a file", encoding="utf-8")
    fake(tmp_path, "bench_compute.json", {"image_size": 256})  # an older format: fields missing
    text = perf.performance_markdown(tmp_path)
    assert "- `fer`: " in text  # unreadable: as if never saved
    assert "older format" in text and "python -m booktools.bench compute" in text


def test_compute_section_states_the_fraction_of_the_peak(tmp_path: Path) -> None:
    per_image = flops.training_flops((256, 256, 3))
    fake(
        tmp_path,
        "bench_compute.json",
        {
            "image_size": 256,
            "layers": flops.layer_macs((256, 256, 3)),
            "forward_gflop": flops.forward_flops((256, 256, 3)) / 1e9,
            "training_gflop": per_image / 1e9,
            "peak_gflops": 100.0,
            "peak_source": "numpy, 2048x2048",
            "peak_runs": 7,
            "bound_images_per_second": 100e9 / per_image,
            "training_images_per_second": 50.0,
            "achieved_gflops": 50.0 * per_image / 1e9,
            "fraction_of_peak": 50.0 * per_image / 100e9,
            "median_training_images_per_second": 40.0,
            "median_achieved_gflops": 40.0 * per_image / 1e9,
            "median_fraction_of_peak": 40.0 * per_image / 100e9,
        },
    )
    text = perf.performance_markdown(tmp_path)
    assert f"{per_image / 1e9:.3f} GFLOP" in text
    assert f"**{40.0 * per_image / 100e9:.0%}**; {50.0 * per_image / 100e9:.0%}" in text
    assert "27,870,912" in text  # conv1 at 256x256: 254 * 254 * 16 * 3 * 3 * 3


# --- the child-process runner ----------------------------------------------------------------------


def test_run_in_child_returns_the_result_and_a_peak_rss() -> None:
    child = bench.run_in_child("booktools.perf_sections:table", header=["a", "b"], rows=[[1, 2]])
    assert child.result == perf_sections.table(("a", "b"), [(1, 2)])
    assert child.seconds > 0
    if hasattr(os, "wait4"):
        assert child.peak_rss_mb > 1


def test_run_in_child_says_which_call_failed() -> None:
    with pytest.raises(RuntimeError, match="booktools.perf_sections:table"):
        bench.run_in_child("booktools.perf_sections:table", header=["a"])


def test_run_in_child_raises_the_childs_memory_error_without_its_traceback(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # 2^57 float64 is 1 EiB, beyond any address space: the allocation fails however memory is set
    with pytest.raises(MemoryError, match=r"^numpy:empty in its own process: Unable to allocate"):
        bench.run_in_child("numpy:empty", shape=[2**57])
    assert "Traceback" not in capfd.readouterr().err


def test_a_benchmark_out_of_memory_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked = (
        "Unable to allocate 74.5 GiB for an array with shape (100000, 100000) and data type uint64"
    )

    def exhausted(profile, kind, count, workers):
        raise MemoryError(f"booktools.bench.clean_scale:clean_child in its own process: {asked}")

    monkeypatch.setattr(faces, "ensure_chunks", exhausted)
    status = bench.main(["clean-scale", "--profile", "smoke", "--sizes", "10", "20"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.strip().splitlines() == [
        "error: out of memory while running the benchmark clean-scale "
        "(booktools.bench.clean_scale:clean_child "
        f"in its own process: {asked}): close other programs, or run it on fewer files or on a "
        "machine with more memory"
    ]


def test_measure_stats_reports_time_and_memory_for_both_methods(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("happy", "sad"):
        (tmp_path / "clean" / label).mkdir(parents=True)
        for index in range(5):
            pixels = rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "clean" / label / f"{index}.png")
    for method in ("streaming", "concatenate"):
        row = memory.measure_stats(str(tmp_path / "clean"), method, image_size=8, batch_size=4)
        assert set(row) == {"images", "method", "seconds", "python_peak_mb", "rss_growth_mb"}
        assert row["images"] == 10 and row["method"] == method
        assert row["seconds"] >= 0 and row["python_peak_mb"] >= 0 and row["rss_growth_mb"] >= 0


def test_face_crop_section_gives_detection_by_skin_and_both_accuracies(tmp_path: Path) -> None:
    run = {"test_images": 40, "low": 0.3, "high": 0.6}
    fake(
        tmp_path,
        "bench_face-crop.json",
        {
            "opencv": "4.14.0",
            "epochs": 20,
            "photos": {"grace_hopper.jpg (one face)": 1, "flower.jpg (no face)": 0},
            "drawn": 30,
            "drawn_found": 19,
            "drawn_found_by_skin_third": [3, 7, 9],
            "drawn_per_third": [10, 10, 10],
            "scenes_per_class": 155,
            "whole": {**run, "accuracy": 0.45, "fates": {"not cropped": 300}},
            "cropped": {
                **run,
                "accuracy": 0.7,
                "fates": {"one face": 200, "no face found: kept whole": 80},
            },
        },
    )
    text = perf.performance_markdown(tmp_path)
    assert "darkest to lightest third: 3 of 10, 7 of 10, 9 of 10" in text
    assert "| whole scenes | 0.450 (0.300-0.600) | 40 | not cropped 300 |" in text
    assert (
        "| cropped to the face | 0.700 (0.300-0.600) | 40 | one face 200, no face found: kept whole 80 |"
        in text
    )


def test_every_child_process_is_called_with_the_arguments_it_takes() -> None:
    """run_in_child's keywords must be the child's parameters (a renamed one fails only at run time)."""
    import ast
    import importlib
    import inspect

    calls = [
        node
        for path in sorted(Path(bench.__file__).parent.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_in_child"
    ]
    assert calls, "the benchmarks start children"
    for call in calls:
        module, name = call.args[0].value.split(":")
        child = getattr(importlib.import_module(module), name)
        given = {keyword.arg for keyword in call.keywords} - {"env"}
        taken = set(inspect.signature(child).parameters)
        assert given == taken, f"{module}:{name} takes {taken}, is given {given}"


def test_streaming_children_iterate_every_image_each_pass(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(1)
    for label, count in (("happy", 6), ("sad", 5)):
        (tmp_path / "clean" / label).mkdir(parents=True)
        for index in range(count):
            pixels = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "clean" / label / f"{index}.png")
    folder, shards_dir = str(tmp_path / "clean"), str(tmp_path / "shards")
    cached = streaming.stream_cached_child(folder, image_size=8, batch_size=4, seed=1, epochs=2)
    written = streaming.stream_write_child(folder, shards_dir=shards_dir, image_size=8)
    streamed = streaming.stream_read_child(shards_dir, batch_size=4, seed=1, epochs=2)
    assert cached["images"] == written["images"] == streamed["images"] == 11
    assert len(cached["epoch_seconds"]) == len(streamed["epoch_seconds"]) == 2
    assert written["shard_mb"] * 2**20 > 11 * 8 * 8 * 3  # the pixels, the keys, the index


# --- clean-scale: faces drawn once, the children, the fitted exponents ---------------------------


def test_growth_exponents_are_the_slopes_of_log_log_fits() -> None:
    sizes = [1000, 4000, 16000, 64000]
    assert clean_scale.growth_exponent([(n, 3e-6 * n**1.5) for n in sizes]) == 1.5
    assert clean_scale.growth_exponent([(n, 2e-9 * n**2) for n in sizes]) == 2.0
    assert clean_scale.growth_exponent([(n, 7.0) for n in sizes]) == 0.0
    assert clean_scale.growth_exponent([(1000, 2.0)]) is None  # one size: no slope
    assert (
        clean_scale.growth_exponent([(1000, 2.0), (4000, 0.0)]) is None
    )  # nothing to fit a log to


def test_the_all_pairs_estimate_is_the_matrix_and_its_counts() -> None:
    # the issue's figures: 16,000 images took 2,383 MB with the interpreter; 100,000 asked 74.5 GiB
    assert clean_scale.matrix_bytes(16_000) / 2**20 == pytest.approx(2197, abs=1)
    assert clean_scale.matrix_bytes(100_000) * 8 / 9 / 2**30 == pytest.approx(74.5, abs=0.05)
    with pytest.raises(ValueError, match="unknown search"):
        clean_scale.install_search("every other pair")


def test_faces_are_drawn_once_in_chunks_and_the_first_n_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers import images
    from helpers.profiles import get_profile

    monkeypatch.setattr(faces, "CHUNK", 6)
    monkeypatch.setattr(faces, "kind_folder", lambda profile, kind: tmp_path / kind.name)
    profile = get_profile("smoke")
    kind = faces.FaceKind(32, "JPEG", 90)
    chunks, made = faces.ensure_chunks(profile, kind, 10)
    assert len(chunks) == 2 and made["drawn_now"] == 12 and made["drawing_seconds"] > 0
    again = faces.ensure_chunks(profile, kind, 10)[1]
    assert again["drawn_now"] == 0 and again["drawing_seconds"] == made["drawing_seconds"]
    assert faces.ensure_chunks(profile, kind, 4)[1]["drawn_now"] == 0  # fewer: a chunk it has
    source, _ = faces.first_faces(profile, kind, 10)
    keys = np.load(source / faces.KEYS)
    assert len(keys["phash"]) == 10 and len(list(source.rglob("*.jpg"))) == 10
    for index, (name, saved) in enumerate(zip(keys["names"], keys["phash"], strict=True)):
        link = source / str(name).split("/")[0] / f"{index:05d}.jpg"
        assert images.perceptual_hash(images.load_rgb(link)) == int(saved)  # what clean sees
    square = faces.FaceKind(16, like_downloads=False)
    assert square.name == "16px-png-square" and kind.name == "32px-jpeg90"
    folder, _ = faces.first_faces(profile, square, 3)
    assert len(list(folder.rglob("*.png"))) == 3


def test_clean_scale_children_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers import images
    from helpers.profiles import get_profile

    monkeypatch.setattr(faces, "CHUNK", 6)
    monkeypatch.setattr(faces, "kind_folder", lambda profile, kind: tmp_path / kind.name)
    source, _ = faces.first_faces(get_profile("smoke"), clean_scale.SCALE_KIND, 10)
    keys = np.load(source / faces.KEYS)
    key_file = str(source / faces.KEYS)
    now = clean_scale.clean_child(str(source), str(tmp_path / "now"), "near_pairs")
    found = clean_scale.near_pairs_child(key_file, "near_pairs")
    split = clean_scale.groups_child(key_file)
    assert sum(now["verdicts"].values()) == 10
    groups = images.duplicate_groups(keys["sha256"].tolist(), keys["phash"])
    assert split["groups"] == len(set(groups.tolist())) and split["assign_seconds"] >= 0
    monkeypatch.setattr(images, "near_pairs", images.near_pairs)  # undone after the test
    before = clean_scale.clean_child(str(source), str(tmp_path / "before"), "all pairs")
    assert images.near_pairs is images.near_pairs_by_matrix  # the all-pairs child's search
    assert before["manifest_sha256"] == now["manifest_sha256"]
    assert (
        clean_scale.near_pairs_child(key_file, "all pairs")["pairs_sha256"] == found["pairs_sha256"]
    )


def test_the_quick_measurement_reads_every_figure_from_its_two_children(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from booktools.bench import quick
    from booktools.bench.core import ChildRun
    from helpers.profiles import get_profile

    children = {  # what each process returns; the parent loads no Keras to count the FLOPs
        None: {"onednn": True, "tensorflow": "9.9", "images": {"pipeline": 100, "memory": 96},
               "train_seconds": {"pipeline": [2.0, 1.0], "memory": [0.8, 0.9]},
               "predict_seconds": [0.5, 0.4, 0.6], "peaks_gflops": {"numpy": 50.0, "tf": 80.0},
               "training_flops": 4e8},
        "0": {"onednn": False, "tensorflow": "9.9", "images": {"memory": 96},
              "train_seconds": {"memory": [2.4, 3.0]}, "predict_seconds": [1.6, 2.0, 1.7],
              "peaks_gflops": {}, "training_flops": None},
    }  # fmt: skip

    measured_beside = []  # at each child's measurement: the go files given so far

    class Child:  # ready at once; it times its work when finish() is called
        def __init__(self, target, env=None, **kwargs):
            assert kwargs["peak"] == (env["TF_ENABLE_ONEDNN_OPTS"] is None)
            self.result = children[env["TF_ENABLE_ONEDNN_OPTS"]]
            self.ready, self.go = (Path(path) for path in kwargs["turn"])
            self.ready.touch()
            self.process = SimpleNamespace(poll=lambda: None)

        def finish(self):
            assert self.go.exists()
            measured_beside.append(sorted(path.name for path in self.go.parent.glob("*.go")))
            return ChildRun(self.result, 1.0, 1.0)

        def stop(self):
            pass

    monkeypatch.setattr(quick, "start_in_child", Child)
    result = quick.bench_quick(get_profile("full"), argparse.Namespace(rounds=2))
    assert measured_beside == [["book.go"], ["book.go", "off.go"]]  # one at a time
    assert result["train_pipeline_images_per_second"] == 100.0  # the fastest round
    assert result["train_memory_images_per_second"] == 120.0
    assert result["training_gflop"] == 0.4 and result["peak_gflops"] == 80.0
    assert result["bound_images_per_second"] == 200.0  # 80 GFLOP/s over 0.4 GFLOP per image
    assert result["pipeline_of_bound"] == 0.5
    assert result["onednn_train_ratio"] == 3.0  # 120 against 96 / 2.4 = 40 images/s
    assert result["onednn_predict_ratio"] == 4.0  # 96 / 0.4 against 96 / 1.6
    assert capsys.readouterr().out.startswith("training 100 images/s (0.83 of the in-memory")


def test_a_quick_child_waits_for_its_turn_and_gives_up_after_the_timeout(tmp_path: Path) -> None:
    import threading

    from booktools.bench import quick

    ready, go = tmp_path / "ready", tmp_path / "go"
    threading.Timer(0.2, go.touch).start()
    quick.take_turn(str(ready), str(go), timeout=30)
    assert ready.exists() and go.exists()
    with pytest.raises(TimeoutError, match="no turn to measure within"):
        quick.take_turn(str(tmp_path / "ready2"), str(tmp_path / "never"), timeout=0.1)


def test_the_parent_stops_waiting_for_a_child_that_ended_before_it_was_ready(
    tmp_path: Path,
) -> None:
    from booktools.bench import quick

    ended, waiting = SimpleNamespace(poll=lambda: 1), SimpleNamespace(poll=lambda: None)
    children = {"book": SimpleNamespace(process=waiting), "off": SimpleNamespace(process=ended)}
    ready = {"book": tmp_path / "book.ready", "off": tmp_path / "off.ready"}
    quick.wait_until_ready(children, ready)  # returns: the ended child's finish() says why


def test_a_started_child_returns_its_result_or_is_stopped(tmp_path: Path) -> None:
    from booktools.bench.core import start_in_child

    def started(name: str):
        ready, go = tmp_path / f"{name}.ready", tmp_path / f"{name}.go"
        child = start_in_child(
            "booktools.bench.quick:take_turn", ready=str(ready), go=str(go), timeout=60
        )
        deadline = time.monotonic() + 60
        while not ready.exists() and child.process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return child, go

    child, go = started("first")
    go.touch()
    done = child.finish()
    assert done.result is None and done.seconds > 0
    child, _ = started("second")  # never told to go
    start = time.monotonic()
    child.stop()
    assert child.process.returncode is not None and time.monotonic() - start < 5
