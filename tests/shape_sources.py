"""Sources made by the tests: class folders of drawn shapes and a small FER-format CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = {"happy": "ellipse", "sad": "rectangle"}


def draw_shape(shape: str, rng: np.random.Generator, side: int = 120) -> Image.Image:
    """One picture not from the book's generator: a coloured shape on a noisy gradient.

    `shape` is an ImageDraw method drawn in a box ("ellipse", "rectangle") or "triangle".
    """
    ramp = np.linspace(0, 1, side)
    angle = rng.uniform(0, 2 * np.pi)
    gradient = np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None]
    base = rng.uniform(40, 200, 3) + 60 * gradient[..., None]
    pixels = np.clip(base + rng.normal(0, 25, (side, side, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    size = int(rng.integers(side // 4, side // 2))
    x, y = (int(v) for v in rng.integers(0, side - size, 2))
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    if shape == "triangle":
        draw.polygon([(x, y + size), (x + size // 2, y), (x + size, y + size)], fill=colour)
    else:
        getattr(draw, shape)([x, y, x + size, y + size], fill=colour)
    return image


def make_shape_folder(
    root: Path,
    per_class: int = 30,
    seed: int = 0,
    classes: tuple[str, str] = ("happy", "sad"),
    counts: tuple[int, int] | None = None,
) -> Path:
    """root/<class>/shape_NNN.(png|jpg): ellipses for the first class, rectangles for the second.

    `classes` names the two folders (a reader's photos need not be happy and sad) and `counts`
    gives each its own number of files (unequal classes), else `per_class` each.
    """
    rng = np.random.default_rng(seed)
    sizes = counts or (per_class, per_class)
    for label, shape, count in zip(classes, SHAPES.values(), sizes, strict=True):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            suffix = "png" if index % 2 else "jpg"
            draw_shape(shape, rng).save(folder / f"shape_{index:03d}.{suffix}")
    return root


def add_copied_class(root: Path, name: str, count: int) -> Path:
    """root/<name>/N.jpg: `count` copies of the folder's first image, a class that only counts files.

    For the checks of a folder's classes (their number and sizes), which never decode the files.
    """
    first = (root / "happy" / "shape_000.jpg").read_bytes()
    (root / name).mkdir()
    for index in range(count):
        (root / name / f"{index}.jpg").write_bytes(first)
    return root
