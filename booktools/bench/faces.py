"""The benchmarks' one cached face-drawer: the first N fresh generated faces of a kind, drawn once.

Three benchmarks need more faces than the book's data holds: memory (10x the clean images),
streaming (up to 100x the training set) and clean-scale (up to 100,000). Each asks for the first
N faces of a `FaceKind` (side, file format, drawn like the downloads or square).
helpers.synthetic.sample_faces draws them in chunks of CHUNK, each chunk a build-once folder
data/<P>-faces/<kind>/chunk-NNNNNN/<class>/ stamped with what it was drawn from (seed, generator
version, ...), so a larger N draws only the chunks it lacks and a smaller one none. A chunk keeps
its faces' keys (file name, perceptual hash as the cleaner computes it, SHA-256) in keys.npz and
how long drawing it took. `first_faces` offers the first N as a folder of links,
data/<P>-faces/<kind>/first-<N>/<class>/, with their keys.npz beside the class folders.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from booktools.bench.core import link_images
from helpers.profiles import Profile

CHUNK = 250  # faces drawn, and cached, per folder: at most 249 more than asked for
KEYS = "keys.npz"  # each face's file (class/name), perceptual hash and SHA-256
DRAWN = "drawn.json"  # how many faces a chunk holds and how long drawing them took


@dataclass(frozen=True)
class FaceKind:
    """Which faces: side x side pixels, saved as PNG or JPEG, drawn like the downloads or square.

    like_downloads (sample_faces' option): drawn at a web photo's size and aspect, JPEG-compressed
    and squashed to side x side; otherwise drawn square at side x side directly.
    """

    side: int
    fmt: str = "PNG"  # "PNG" or "JPEG"
    quality: int = 90  # JPEG quality
    like_downloads: bool = True

    @property
    def name(self) -> str:
        """The kind's folder name, e.g. '96px-jpeg90' or '64px-png-square'."""
        fmt = "png" if self.fmt == "PNG" else f"jpeg{self.quality}"
        return f"{self.side}px-{fmt}" + ("" if self.like_downloads else "-square")

    @property
    def suffix(self) -> str:
        """The files' extension."""
        return ".png" if self.fmt == "PNG" else ".jpg"


def kind_folder(profile: Profile, kind: FaceKind) -> Path:
    """data/<P>-faces/<kind>/: the kind's chunks and its first-<N> folders."""
    return profile.data.with_name(f"{profile.folder_name}-faces") / kind.name


def chunk_stamp(kind: FaceKind, start: int, seed: int) -> dict[str, Any]:
    """What a chunk is drawn from: its first index, the kind, the seed, the generator's version."""
    from helpers import synthetic

    return {
        "step": "benchmark faces",
        "start": start,
        "faces": CHUNK,
        **dataclasses.asdict(kind),
        "seed": seed,
        "generator": synthetic.GENERATOR_VERSION,
    }


def draw_chunk(dest: Path, kind: FaceKind, start: int, seed: int) -> None:
    """Faces start .. start + CHUNK - 1 as files in dest/<class>/, their keys in keys.npz."""
    import hashlib

    from helpers import images, synthetic

    begin = time.perf_counter()
    sample = synthetic.sample_faces(
        CHUNK, seed + start, kind.side, like_downloads=kind.like_downloads
    )
    names, hashes, digests = [], [], []
    for offset, (image, label) in enumerate(zip(sample.images, sample.labels, strict=True)):
        name = f"{synthetic.CLASS_NAMES[int(label)]}/face{start + offset:06d}{kind.suffix}"
        data = synthetic.encode_image(image, kind.fmt, kind.quality)
        (dest / name).parent.mkdir(exist_ok=True)
        (dest / name).write_bytes(data)
        names.append(name)
        hashes.append(images.perceptual_hash(images.load_rgb(dest / name)))  # what clean sees
        digests.append(hashlib.sha256(data).hexdigest())
    np.savez(dest / KEYS, names=names, phash=images.hash_array(hashes), sha256=digests)
    seconds = round(time.perf_counter() - begin, 2)
    (dest / DRAWN).write_text(json.dumps({"faces": CHUNK, "seconds": seconds}) + "\n")


def ensure_chunk(folder: str, kind: dict[str, Any], start: int, seed: int) -> str:
    """folder/chunk-<start>/, drawn first if it is missing (a pool's task: names, not objects)."""
    from helpers.store import build_once

    chosen = FaceKind(**kind)
    target = Path(folder) / f"chunk-{start:06d}"
    stamp = chunk_stamp(chosen, start, seed)
    return str(build_once(target, stamp, lambda dest: draw_chunk(dest, chosen, start, seed)))


def ensure_chunks(
    profile: Profile, kind: FaceKind, count: int, workers: int = 1
) -> tuple[list[Path], dict[str, Any]]:
    """The chunks holding the first `count` faces, the missing ones drawn by `workers` processes.

    Also how they came to be: faces drawn now, this call's seconds, and the seconds drawing every
    chunk took (one process's time each, whenever it was drawn).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    from helpers.store import is_current

    folder = kind_folder(profile, kind)
    starts = list(range(0, count, CHUNK))
    missing = [
        start
        for start in starts
        if not is_current(folder / f"chunk-{start:06d}", chunk_stamp(kind, start, profile.seed))
    ]
    begin = time.perf_counter()
    drawing = f"drawing {len(missing) * CHUNK} faces ({kind.name})"
    task = (str(folder), dataclasses.asdict(kind))
    if workers > 1 and len(missing) > 1:
        context = multiprocessing.get_context("spawn")  # no fork of a process that may hold TF
        with ProcessPoolExecutor(min(workers, len(missing)), mp_context=context) as pool:
            tasks = [pool.submit(ensure_chunk, *task, start, profile.seed) for start in missing]
            for done in tqdm(as_completed(tasks), total=len(tasks), desc=drawing, unit="chunk"):
                done.result()
    else:
        for start in tqdm(missing, desc=drawing, unit="chunk", disable=not missing):
            ensure_chunk(*task, start, profile.seed)
    chunks = [folder / f"chunk-{start:06d}" for start in starts]
    drawn = [json.loads((chunk / DRAWN).read_text()) for chunk in chunks]
    info = {
        "faces": count,
        "drawn_now": len(missing) * CHUNK,
        "seconds": round(time.perf_counter() - begin, 1),
        "workers": min(workers, len(missing)) if missing else 0,
        "drawing_seconds": round(sum(entry["seconds"] for entry in drawn), 1),
    }
    return chunks, info


def read_keys(chunks: list[Path], count: int) -> dict[str, np.ndarray]:
    """The first `count` faces' keys; names are relative to their chunk ('chunk' says which)."""
    parts = [np.load(chunk / KEYS) for chunk in chunks[: -(-count // CHUNK)]]
    keys = {name: np.concatenate([part[name] for part in parts])[:count] for name in parts[0]}
    keys["chunk"] = np.repeat(np.arange(len(parts)), CHUNK)[:count]
    return keys


def first_faces(
    profile: Profile, kind: FaceKind, count: int, workers: int = 1
) -> tuple[Path, dict[str, Any]]:
    """data/<P>-faces/<kind>/first-<N>/: the first N faces as <class>/ links, keys.npz beside.

    Draws the chunks it lacks first; returns the folder and how the faces came to be
    (`ensure_chunks`).
    """
    from helpers.store import build_once, read_stamp

    chunks, info = ensure_chunks(profile, kind, count, workers)
    stamp = {"step": "first faces", "faces": count, "chunks": [read_stamp(c) for c in chunks]}

    def build(dest: Path) -> None:
        keys = read_keys(chunks, count)
        paths = [chunks[c] / name for c, name in zip(keys["chunk"], keys["names"], strict=True)]
        link_images(paths, [str(name).split("/")[0] for name in keys["names"]], dest)
        np.savez(dest / KEYS, **{k: v for k, v in keys.items() if k != "chunk"})

    return build_once(kind_folder(profile, kind) / f"first-{count}", stamp, build), info
