"""The classifier page in a real browser: the same answers as `python -m helpers classify`."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import HTML
from PIL import Image
from test_browser import SCREENSHOTS, wait_for

from helpers import images
from helpers.paths import ROOT

PAGE = "book/classify.html"
CARD = HTML / "_static" / "model" / "export.json"
DONE = "return ['done', 'error'].includes(document.getElementById('hos-classifier').dataset.state)"
MAX_DIFFERENCE = 1e-3  # the parity bound between the page and the command line
MAX_PIXEL_DIFFERENCE = 1.0  # of 255, any one value of the model input (measured here: 0)
MAX_MEAN_PIXEL_DIFFERENCE = 0.1


@pytest.fixture(scope="module")
def card(pages: list[Path]) -> dict:
    """The exported model's card, as the site serves it (chapter 6 wrote it)."""
    assert CARD.is_file(), f"{CARD}: the site has no exported model (chapter 6 writes it)"
    return json.loads(CARD.read_text(encoding="utf-8"))


def face_images(card: dict, count: int) -> list[Image.Image]:
    """A few clean test images of the model's run, the classes by turns, as RGB pictures."""
    from helpers import pipeline
    from helpers.profiles import get_profile

    profile = get_profile(card["profile"], card["source"])
    frame = pipeline.ensure_split(profile)
    test = frame.loc[frame["subset"] == "test"]
    by_class = [group["path"].tolist() for _, group in test.groupby("label")]
    paths = [p for row in itertools.zip_longest(*by_class) for p in row if p][:count]  # alternate
    return [Image.open(pipeline.clean_folder(profile) / p).convert("RGB") for p in paths]


def save(image: Image.Image, path: Path, **options: object) -> Path:
    """Write an image and return its path."""
    image.save(path, **options)
    return path


def exif_rotated(image: Image.Image, path: Path) -> Path:
    """A JPEG whose pixels are stored turned, with the EXIF tag that turns them upright."""
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view": the stored pixels are turned 90 CCW
    return save(image.transpose(Image.Transpose.ROTATE_90), path, quality=92, exif=exif)


def with_alpha(image: Image.Image, path: Path) -> Path:
    """A PNG with an alpha gradient: the transparent part must be composited onto white."""
    rgba = image.convert("RGBA")
    alpha = np.tile(np.linspace(255, 0, rgba.width, dtype=np.uint8), (rgba.height, 1))
    rgba.putalpha(Image.fromarray(alpha))
    return save(rgba, path)


@pytest.fixture(scope="module")
def good_files(card: dict, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Ten images of different formats, modes and sizes, made from the run's faces."""
    folder = tmp_path_factory.mktemp("page images")
    a, b, c, d, e = face_images(card, 5)
    files = [
        save(a, folder / "face.png"),
        save(a, folder / "face.jpg", quality=90),
        save(b.convert("L"), folder / "grey.jpg", quality=90),
        with_alpha(c, folder / "alpha.png"),
        exif_rotated(d, folder / "rotated.jpg"),
        save(e, folder / "face.bmp"),
        save(b.convert("P", palette=Image.Palette.ADAPTIVE), folder / "palette.gif"),
        save(
            c.resize((900, 600), Image.Resampling.BICUBIC), folder / "wide 900x600.jpg", quality=85
        ),
        save(
            d.resize((card["min_side"] + 3, card["min_side"] + 29)), folder / "small odd size.png"
        ),
        save(e, folder / "progressive.jpg", quality=80, progressive=True),
    ]
    assert images.exif_orientation(folder / "rotated.jpg") == 6
    assert images.has_transparency(folder / "alpha.png")
    return files


@pytest.fixture(scope="module")
def bad_files(card: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[Path, str]:
    """Files the page must refuse, each with the words its message must contain."""
    folder = tmp_path_factory.mktemp("bad images")
    (folder / "notes.jpg").write_text("not a picture, whatever the name says\n", encoding="utf-8")
    (folder / "empty.png").write_bytes(b"")
    webp = io.BytesIO()
    Image.new("RGB", (64, 64), "orange").save(webp, "WEBP")
    (folder / "photo.webp").write_bytes(webp.getvalue())
    Image.new("1", (8000, 6000)).save(folder / "huge.png")  # 48 million pixels, a small file
    side = max(int(card["min_side"]) - 1, 1)
    Image.new("RGB", (side, side), "grey").save(folder / "tiny.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff" + bytes(range(256)) * 4)
    whole = io.BytesIO()
    face_images(card, 1)[0].save(whole, "JPEG", quality=90)
    (folder / "cut.jpg").write_bytes(whole.getvalue()[: len(whole.getvalue()) * 3 // 5])
    expected = {
        folder / "notes.jpg": "not a known image format",
        folder / "empty.png": "empty file",
        folder / "photo.webp": "webp is not supported",
        folder / "huge.png": "too large",
        folder / "broken.jpg": "not a readable image",
        folder / "cut.jpg": "truncated",
    }
    if side < int(card["min_side"]):
        expected[folder / "tiny.png"] = "too small"
    return expected


def command_line(files: list[Path], card: dict) -> dict[str, tuple[str, float]]:
    """`python -m helpers classify` on the files: {file name: (class, probability)}."""
    command = [sys.executable, "-m", "helpers", "classify", "--profile", card["profile"],
               "--source", card["source"], *map(str, files)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found = {}
    for line in done.stdout.strip().splitlines():
        path, name, probability = line.split("\t")
        found[Path(path).name] = (name, float(probability.split("=")[1]))
    return found


def open_classifier(browser: object, server: str) -> float:
    """Load the page and wait for its model; return the load time the page measured (s)."""
    browser.get(f"{server}/{PAGE}")
    assert wait_for(browser, DONE + " || document.getElementById('hos-classifier').dataset.state"
                    " === 'ready'", timeout=60), "the page never finished loading its model"  # fmt: skip
    root = browser.find_element("id", "hos-classifier")
    assert root.get_attribute("data-state") == "ready", browser.find_element(
        "id", "hos-status"
    ).text
    return float(root.get_attribute("data-load-seconds"))


def page_answer(browser: object, path: Path) -> dict[str, str]:
    """Give the page one file and wait for its answer (or its error)."""
    browser.execute_script("document.getElementById('hos-classifier').dataset.state = 'working'")
    browser.find_element("id", "hos-file").send_keys(str(path))
    assert wait_for(browser, DONE, timeout=60), f"{path.name}: the page never answered"
    result = browser.find_element("id", "hos-result")
    return {
        "state": browser.find_element("id", "hos-classifier").get_attribute("data-state"),
        "status": browser.find_element("id", "hos-status").text,
        "file": result.get_attribute("data-file") or "",
        "class": result.get_attribute("data-class-name") or "",
        "probability": result.get_attribute("data-probability") or "",
        "seconds": result.get_attribute("data-seconds") or "",
        "caveat": browser.find_element("id", "hos-caveat").text,
    }


def page_input(browser: object) -> np.ndarray:
    """The pixels the page last gave its model, (height, width, 3) float32."""
    values = browser.execute_script("return Array.from(window.hosClassifier.lastInput)")
    size = browser.execute_script("const s = window.hosClassifier.size; return [s.height, s.width]")
    return np.asarray(values, dtype=np.float32).reshape(size[0], size[1], 3)


def book_input(path: Path, card: dict) -> np.ndarray:
    """The pixels `classify` gives the model for the same file."""
    from helpers import classify

    height, width = card["input_shape"][:2]
    return classify.read_model_input(path, (height, width), min_side=card["min_side"])[0]


def test_page_matches_the_command_line(
    browser: object, server: str, card: dict, good_files: list[Path]
) -> None:
    load_seconds = open_classifier(browser, server)
    expected = command_line(good_files, card)
    rows, seconds = [], []
    for path in good_files:
        answer = page_answer(browser, path)
        assert answer["state"] == "done" and answer["file"] == path.name, answer["status"]
        name, probability = expected[path.name]
        pixels = np.abs(page_input(browser) - book_input(path, card))
        rows.append({
            "file": path.name, "command line": probability, "page": float(answer["probability"]),
            "|ΔP|": abs(float(answer["probability"]) - probability),
            "pixels max |Δ|": float(pixels.max()), "pixels mean |Δ|": float(pixels.mean()),
        })  # fmt: skip
        seconds.append(float(answer["seconds"]))
        assert answer["class"] == name, f"{path.name}: page {answer['class']}, command line {name}"
        learned = (
            "drawn faces, not photographs" if card["source"] == "synthetic" else card["source"]
        )
        assert learned in answer["caveat"] and "means little" in answer["caveat"], answer["caveat"]
    report = {
        "model": {k: card[k] for k in ("profile", "source", "trained", "input_shape")},
        "load_seconds": load_seconds,
        "classify_seconds_median": float(np.median(seconds)),
        "files": rows,
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "classifier.json").write_text(json.dumps(report, indent=1) + "\n")
    page_answer(browser, good_files[0])
    browser.save_screenshot(str(SCREENSHOTS / "classifier.png"))
    table = "\n".join(
        f"{r['file']:>22}: command line {r['command line']:.4f}, page {r['page']:.6f}, |ΔP| "
        f"{r['|ΔP|']:.1e}, pixels max {r['pixels max |Δ|']:.2f} mean {r['pixels mean |Δ|']:.3f}"
        for r in rows
    )
    assert max(r["|ΔP|"] for r in rows) <= MAX_DIFFERENCE, f"the answers disagree:\n{table}"
    # the preparation itself, which a model whose answer varies little would not show: two JPEG
    # decoders may round a colour differently by a level or two; more means a different step
    assert max(r["pixels max |Δ|"] for r in rows) <= MAX_PIXEL_DIFFERENCE, table
    assert max(r["pixels mean |Δ|"] for r in rows) <= MAX_MEAN_PIXEL_DIFFERENCE, table


def test_page_refuses_bad_files_with_a_clear_message(
    browser: object, server: str, bad_files: dict[Path, str]
) -> None:
    open_classifier(browser, server)
    for path, words in bad_files.items():
        answer = page_answer(browser, path)
        assert answer["state"] == "error", f"{path.name}: accepted ({answer['status']})"
        assert answer["status"].startswith(f"error: {path.name}: ") and words in answer["status"], (
            f"{path.name}: {answer['status']!r} does not say {words!r}"
        )
        assert answer["probability"] == "", (
            f"{path.name}: a refused file left an answer on the page"
        )
        assert answer["caveat"] == "", f"{path.name}: a refused file left the caveat standing"


def test_opened_from_disk_the_page_says_why_in_place_of_the_loading_line(
    browser: object, pages: list[Path]
) -> None:
    browser.get((HTML / PAGE).resolve().as_uri())
    assert wait_for(browser, DONE), "the page opened from disk never said it cannot run"
    model_line = browser.find_element("id", "hos-model").text
    assert model_line.startswith("This page needs to be served over http"), model_line
    assert "Loading the model" not in browser.find_element("tag name", "body").text
