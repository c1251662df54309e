"""The source switch: resolving SOURCE, per-source folders, and filling raw/ from each kind."""

from __future__ import annotations

import dataclasses
import shutil
import zipfile
from pathlib import Path

import pytest
from shape_sources import add_copied_class, make_shape_folder

from booktools import book
from helpers import clean, env, fer, pipeline, profiles, split, store


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Profiles write their data and artifacts under tmp_path, not the repository."""
    root = tmp_path / "repo"
    monkeypatch.setattr(profiles, "data_dir", lambda name: root / "data" / name)
    monkeypatch.setattr(profiles, "artifacts_dir", lambda name: root / "artifacts" / name)
    monkeypatch.delenv(profiles.SOURCE_ENV_VAR, raising=False)
    return root


def fer_csv(path: Path, rows: int = 60) -> Path:
    """A small FER-format CSV with a malformed row every 20 rows."""
    return fer.write_fer_like_csv(path, rows=rows, seed=1, malformed_every=20)


def test_source_defaults_to_synthetic_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(profiles.SOURCE_ENV_VAR, raising=False)
    assert profiles.resolve_source() == "synthetic"
    shapes = make_shape_folder(tmp_path / "shapes", per_class=10)
    monkeypatch.setenv(profiles.SOURCE_ENV_VAR, str(shapes))
    assert profiles.resolve_source() == str(shapes.resolve())
    assert profiles.resolve_source("synthetic") == "synthetic"  # the argument wins


def test_each_kind_of_source_is_recognised(tmp_path: Path) -> None:
    shapes = make_shape_folder(tmp_path / "shapes", per_class=10)
    zips = tmp_path / "zips"
    zips.mkdir()
    for label in ("happy", "sad"):
        with zipfile.ZipFile(zips / f"{label}.zip", "w") as archive:
            for path in sorted((shapes / label).iterdir()):
                archive.write(path, path.name)
    csv_path = fer_csv(tmp_path / "fer2013.csv")
    assert profiles.get_profile("smoke", "synthetic").source_kind == "synthetic"
    assert profiles.get_profile("smoke", shapes).source_kind == "folder"
    assert profiles.get_profile("smoke", zips).source_kind == "zips"
    assert profiles.get_profile("smoke", csv_path).source_kind == "fer"


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda root: root / "missing", FileNotFoundError, "source does not exist"),
        (lambda root: root, ValueError, "no class sub-folders and no <class>.zip"),
        (lambda root: (root / "only").mkdir() or root, ValueError, "this source has 1"),
        (
            lambda root: (root / "x.csv").write_text("a,b\n1,2\n") and root / "x.csv",
            ValueError,
            "not a FER-2013 CSV",
        ),
    ],
    ids=["missing path", "no class folders", "one class", "csv not in FER format"],
)
def test_bad_sources_are_clear_errors(tmp_path: Path, make, error, message) -> None:
    path = make(tmp_path)
    with pytest.raises(error, match=message):
        profiles.get_profile("smoke", path)
    with pytest.raises(error, match=message):
        env.setup("smoke", source=path)


def test_a_folder_source_needs_exactly_two_classes_of_enough_files(tmp_path: Path) -> None:
    three = add_copied_class(make_shape_folder(tmp_path / "three", per_class=10), "neutral", 12)
    with pytest.raises(ValueError, match=r"has 3 \(happy: 10, neutral: 12, sad: 10\)"):
        profiles.get_profile("smoke", three)
    # the multi-class chapter opens the check to two classes or more, and only that check
    assert profiles.get_profile("smoke", three, several_classes=True).source_kind == "folder"
    assert env.setup("smoke", source=three, several_classes=True).source == str(three.resolve())
    lonely = make_shape_folder(tmp_path / "lonely", per_class=10)
    shutil.rmtree(lonely / "sad")
    with pytest.raises(ValueError, match="two classes or more; this source has happy: 10"):
        profiles.get_profile("smoke", lonely, several_classes=True)
    empty = make_shape_folder(tmp_path / "empty", per_class=10)
    for path in (empty / "sad").iterdir():
        path.unlink()
    with pytest.raises(
        ValueError, match=r"at least 10 files .* sad has fewer \(happy: 10, sad: 0\)"
    ):
        profiles.get_profile("smoke", empty)
    looped = make_shape_folder(tmp_path / "looped", per_class=10)
    (looped / "everything").symlink_to(looped, target_is_directory=True)
    with pytest.raises(ValueError, match="everything are links"):
        profiles.get_profile("smoke", looped)


def test_each_source_has_its_own_folders(tmp_path: Path, data_root: Path) -> None:
    one = make_shape_folder(tmp_path / "a" / "photos", per_class=10)
    two = make_shape_folder(tmp_path / "b" / "photos", per_class=10)  # same name, other path
    synthetic = profiles.get_profile("smoke")
    first, second = profiles.get_profile("smoke", one), profiles.get_profile("smoke", two)
    assert synthetic.data == data_root / "data" / "smoke"  # the default keeps its folders
    folders = {synthetic.data, first.data, second.data}
    assert len(folders) == 3 and len({p.artifacts for p in (synthetic, first, second)}) == 3
    assert first.data.name.startswith("smoke-photos-") and first.artifacts.name == first.data.name
    assert profiles.get_profile("smoke", one) == first  # stable for the same path
    assert synthetic.generated and not first.generated


def test_setup_takes_the_source_and_refuses_it_as_an_override(tmp_path: Path) -> None:
    shapes = make_shape_folder(tmp_path / "shapes", per_class=10)
    chosen = env.setup("smoke", source=shapes, epochs=1)
    assert chosen.source == str(shapes.resolve()) and chosen.epochs == 1
    assert chosen.source_kind == "folder"
    with pytest.raises(ValueError, match="source="):
        env.setup("smoke", SOURCE=str(shapes))


def test_folder_source_is_copied_not_touched(tmp_path: Path, data_root: Path) -> None:
    shapes = make_shape_folder(tmp_path / "shapes", per_class=10)
    before = clean.folder_hashes(shapes)
    chosen = profiles.get_profile("smoke", shapes)
    raw = pipeline.ensure_raw(chosen)
    assert raw == chosen.data / "raw"
    copied = {k: v for k, v in clean.folder_hashes(raw).items() if not k.startswith(".")}
    assert copied == before and clean.folder_hashes(shapes) == before
    stamp = (raw / store.STAMP_FILE).stat().st_mtime_ns
    assert (
        pipeline.ensure_raw(chosen) == raw and (raw / store.STAMP_FILE).stat().st_mtime_ns == stamp
    )
    (shapes / "sad" / "shape_000.jpg").unlink()  # the reader changes the folder: copied again
    pipeline.ensure_raw(chosen)
    assert not (raw / "sad" / "shape_000.jpg").exists()
    manifest = clean.read_manifest(pipeline.ensure_clean(chosen))
    assert (manifest["status"] == clean.KEPT).sum() == 19


def test_zips_at_an_awkward_path_give_the_clean_data_of_class_folders(
    tmp_path: Path, data_root: Path
) -> None:
    """A folder of <class>.zip differs from class folders only in the raw step: the same clean data."""
    shapes = make_shape_folder(tmp_path / "Mes photos" / "été 2026", per_class=10)
    zips = tmp_path / "Téléchargements d'été" / "zips"
    zips.mkdir(parents=True)
    for label in ("happy", "sad"):
        with zipfile.ZipFile(zips / f"{label}.zip", "w") as archive:
            for path in sorted((shapes / label).iterdir()):
                archive.write(path, path.name)
    by_folder = profiles.get_profile("smoke", shapes)
    by_zips = profiles.get_profile("smoke", zips)
    assert (by_folder.source_kind, by_zips.source_kind) == ("folder", "zips")
    assert by_folder.data.name.isascii() and by_zips.data.name.isascii()  # slugs, never the path
    manifests = [clean.read_manifest(pipeline.ensure_clean(p)) for p in (by_folder, by_zips)]
    columns = ["source", "class", "sha256", "status", "reason"]
    assert manifests[0][columns].equals(manifests[1][columns])
    frames = [pipeline.ensure_split(p) for p in (by_folder, by_zips)]
    assert frames[0].equals(frames[1])


def test_zip_source_is_extracted(tmp_path: Path, data_root: Path) -> None:
    shapes = make_shape_folder(tmp_path / "shapes", per_class=10)
    zips = tmp_path / "downloads"
    zips.mkdir()
    for label in ("happy", "sad"):
        with zipfile.ZipFile(zips / f"{label}.zip", "w") as archive:
            for path in sorted((shapes / label).iterdir()):
                archive.write(path, path.name)
    raw = pipeline.ensure_raw(profiles.get_profile("smoke", zips))
    assert sorted(
        p.relative_to(raw).as_posix() for p in raw.rglob("*.*") if "/" in str(p.relative_to(raw))
    ) == sorted(
        f"{label}/{p.name}" for label in ("happy", "sad") for p in (shapes / label).iterdir()
    )


def test_fer_source_is_imported_with_its_usage_and_kept_at_48_pixels(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture
) -> None:
    source = fer_csv(tmp_path / "fer2013.csv", rows=200)
    expected = fer.import_fer2013(source, tmp_path / "direct", progress=False)
    chosen = profiles.get_profile("smoke", source)
    raw = pipeline.ensure_raw(chosen)
    assert f"malformed rows: {len(expected.malformed)}" in capsys.readouterr().out
    assert (raw / fer.USAGE_FILE).is_file() and (raw / fer.REPORT_FILE).is_file()
    for label, count in expected.written.items():
        assert len(list((raw / label).glob("*.png"))) == count
    manifest = clean.read_manifest(pipeline.ensure_clean(chosen))
    assert (manifest["status"] == clean.KEPT).sum() == expected.total_written  # none "too small"
    assert clean.min_side_for(chosen) == fer.SIDE < clean.MIN_SIDE


def test_switching_sources_never_mixes_images(tmp_path: Path, data_root: Path) -> None:
    shapes = make_shape_folder(tmp_path / "shapes", per_class=10)
    source = fer_csv(tmp_path / "fer2013.csv", rows=100)
    folder_raw = pipeline.ensure_raw(profiles.get_profile("smoke", shapes))
    fer_raw = pipeline.ensure_raw(profiles.get_profile("smoke", source))
    assert folder_raw != fer_raw
    assert not list(folder_raw.rglob("fer_*.png")) and not list(fer_raw.rglob("shape_*"))
    assert pipeline.ensure_raw(profiles.get_profile("smoke", shapes)) == folder_raw


def test_profile_with_a_source_is_still_a_frozen_dataclass(tmp_path: Path) -> None:
    shapes = make_shape_folder(tmp_path / "shapes", per_class=10)
    chosen = profiles.get_profile("smoke", shapes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        chosen.source = "synthetic"  # type: ignore[misc]


def test_book_refuses_a_bad_source_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(profiles.SOURCE_ENV_VAR, raising=False)
    status = book.main(["--profile", "smoke", "--source", str(tmp_path / "nope"), "--no-build"])
    error = capsys.readouterr().err
    assert status == 1 and "bad source" in error and "does not exist" in error


def test_fer_official_split_follows_its_usage_column(tmp_path: Path, data_root: Path) -> None:
    import pandas as pd

    source = fer_csv(tmp_path / "fer2013.csv", rows=200)
    chosen = profiles.get_profile("smoke", source)
    frame = pipeline.official_split(chosen)
    usage = pd.read_csv(chosen.data / "raw" / fer.USAGE_FILE)
    assert len(frame) == len(usage) and frame["path"].is_unique
    assert set(frame["subset"]) <= set(split.SUBSETS)
    expected = (
        usage["usage"].map(split.OFFICIAL_SUBSETS).rename("subset").value_counts().sort_index()
    )
    pd.testing.assert_series_equal(frame["subset"].value_counts().sort_index(), expected)
    assert (frame["label"].to_numpy() == frame["path"].str.split("/").str[0].to_numpy()).all()


def test_only_fer_sources_have_an_official_split(tmp_path: Path, data_root: Path) -> None:
    (tmp_path / "raw").mkdir()
    with pytest.raises(FileNotFoundError, match="only FER-2013 sources have one"):
        split.official_split_of(tmp_path / "raw", tmp_path / "clean")
