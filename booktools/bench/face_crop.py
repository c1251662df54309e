"""face-crop: faces the detector finds, and test accuracy on faces in scenes, cropped or not."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from booktools.bench.core import register
from helpers.profiles import Profile, get_profile


def face_crop_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the face-crop benchmark."""
    parser.add_argument("--drawn", type=int, default=60, help="drawn faces to detect")
    parser.add_argument("--faces", type=int, default=155, help="scenes per class to train on")


def face_found(rgb: np.ndarray, truth: tuple[float, ...]) -> bool:
    """Whether the detector's largest box overlaps the true face box (IoU >= 0.3)."""
    from helpers import faces

    boxes = faces.detect_faces(rgb)
    return bool(boxes) and faces.iou(boxes[0], truth) >= 0.3


def detection_figures(drawn: int, seed: int) -> dict[str, Any]:
    """Faces found in the package photos and in drawn faces (by thirds of skin brightness)."""
    from matplotlib import cbook
    from PIL import Image
    from sklearn.datasets import load_sample_images

    from helpers import faces, synthetic

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        hopper = np.asarray(Image.open(handle).convert("RGB"))
    photos = {"grace_hopper.jpg (one face)": hopper}
    samples = load_sample_images()
    for name, image in zip(("china.jpg", "flower.jpg"), samples.images, strict=True):
        photos[f"{name} (no face)"] = image
    found_in_photos = {name: len(faces.detect_faces(image)) for name, image in photos.items()}
    rows = []
    for index in range(drawn):
        rng = np.random.default_rng([seed, index])
        valence = float(rng.uniform(-1, 1))
        image, marks = synthetic.draw_face(valence, rng, 256)
        x0, y0, x1, y1 = (int(v) for v in marks["face"])
        cheeks = image[
            y0 + (y1 - y0) // 4 : y1 - (y1 - y0) // 4, x0 + (x1 - x0) // 4 : x1 - (x1 - x0) // 4
        ]
        rows.append((float(cheeks.mean()), face_found(image, marks["face"])))
    rows.sort()
    thirds = np.array_split(np.array([found for _, found in rows]), 3)
    return {
        "photos": found_in_photos,
        "drawn": drawn,
        "drawn_found": int(sum(found for _, found in rows)),
        "drawn_found_by_skin_third": [int(third.sum()) for third in thirds],
        "drawn_per_third": [len(third) for third in thirds],
    }


def scene_source(faces_per_class: int, seed: int) -> Path:
    """_build/bench/scenes-<n>-<seed>/: faces small in larger scenes (synthetic), built once."""
    from helpers import synthetic
    from helpers.paths import BUILD
    from helpers.store import build_once

    stamp = {"faces": faces_per_class, "seed": seed, "generator": synthetic.GENERATOR_VERSION}
    folder = BUILD / "bench" / f"scenes-{faces_per_class}-{seed}"
    return build_once(
        folder, stamp, lambda dest: synthetic.write_scene_folder(dest, faces_per_class, seed)
    )


def accuracy_on_scenes(profile: Profile, source: Path, crop: bool) -> dict[str, Any]:
    """Train the baseline on the scene source with or without face crops; its test accuracy."""
    import dataclasses

    from helpers import classify, clean, evaluate, pipeline

    chosen = dataclasses.replace(get_profile(profile.name, source), crop_faces=crop)
    model_path = pipeline.ensure_model(chosen)
    model = classify.load_model(model_path)
    y_true, y_prob = evaluate.predict_dataset(model, pipeline.make_datasets(chosen).test)
    accuracy = evaluate.proportion(int((evaluate.to_labels(y_prob) == y_true).sum()), len(y_true))
    manifest = clean.read_manifest(pipeline.clean_folder(chosen))
    fates = manifest.loc[manifest["status"] == clean.KEPT, "face"].value_counts().to_dict()
    return {
        "test_images": len(y_true),
        "accuracy": round(accuracy.value, 4),
        "low": round(accuracy.low, 4),
        "high": round(accuracy.high, 4),
        "fates": {fate or "not cropped": int(count) for fate, count in fates.items()},
    }


@register(
    "face-crop",
    "faces found by the detector, and test accuracy on faces in scenes with and without crops",
    face_crop_arguments,
)
def bench_face_crop(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """Detection on package photos and drawn faces; then chapter 6's accuracy on scenes, both ways."""
    import cv2

    if args.drawn < 3 or args.faces < 20:
        raise ValueError("--drawn must be at least 3 and --faces at least 20")
    detected = detection_figures(args.drawn, profile.seed)
    source = scene_source(args.faces, profile.seed)
    runs = {
        name: accuracy_on_scenes(profile, source, crop)
        for name, crop in (("whole", False), ("cropped", True))
    }
    result = {
        "opencv": cv2.__version__,
        "epochs": profile.epochs,
        **detected,
        "scenes_per_class": args.faces,
        **runs,
    }
    print(f"\nface detector (OpenCV {cv2.__version__} Haar cascade):")
    for name, count in detected["photos"].items():
        print(f"  {name:30} {count} face(s) found")
    per_third = ", ".join(
        f"{found}/{total}"
        for found, total in zip(
            detected["drawn_found_by_skin_third"], detected["drawn_per_third"], strict=True
        )
    )
    print(
        f"  drawn faces: {detected['drawn_found']} of {args.drawn} found; by skin brightness, "
        f"darkest to lightest third: {per_third}"
    )
    print(
        f"\nscenes ({args.faces} per class, faces 25-40% of the width), baseline trained for "
        f"{profile.epochs} epochs, test accuracy (95% Wilson interval):"
    )
    for name, run in runs.items():
        print(
            f"  {name:8} {run['accuracy']:.3f} ({run['low']:.3f}-{run['high']:.3f}) on "
            f"{run['test_images']} test images; kept images: {run['fates']}"
        )
    return result
