"""Near duplicates and bursts with their best shot; model files checked against the manifest."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from mixbook_desktop.analysis import manifest
from tests.analysis_support import by_name
from tests.conftest import DEMO_PHOTOS, ROOT, photos_json, run_cli


def test_bursts_and_copies_are_grouped_and_the_sharp_smiling_shot_wins(tmp_path: Path) -> None:
    folder = tmp_path / "burst"
    folder.mkdir()
    source = Image.open(DEMO_PHOTOS / "rekog__image-2-women-on-phones.jpg")
    exif = source.getexif()
    exif[0x9003] = "2023:07:14 10:00:00"  # DateTimeOriginal: three shots a second apart
    source.save(folder / "a_sharp.jpg", exif=exif, quality=92)
    exif[0x9003] = "2023:07:14 10:00:01"
    source.filter(ImageFilter.GaussianBlur(6)).save(folder / "b_blurred.jpg", exif=exif, quality=92)
    exif[0x9003] = "2023:07:14 10:00:02"
    source.resize((source.width // 3, source.height // 3)).save(folder / "c_small.jpg", exif=exif, quality=60)
    shutil.copy(DEMO_PHOTOS / "skimage__coffee.png", folder / "d_other.png")
    book = tmp_path / "b.mbook"
    run_cli("import", str(book), str(folder))
    run_cli("analyze", str(book))
    rows = by_name(photos_json(book))
    group = {rows[n]["duplicate_group"] for n in ("a_sharp.jpg", "b_blurred.jpg", "c_small.jpg")}
    assert len(group) == 1 and None not in group
    assert rows["d_other.png"]["duplicate_group"] is None
    assert [n for n in ("a_sharp.jpg", "b_blurred.jpg", "c_small.jpg") if rows[n]["best_in_group"]] == [
        "a_sharp.jpg"
    ]
    assert rows["b_blurred.jpg"]["quality"]["sharpness"] < rows["a_sharp.jpg"]["quality"]["sharpness"] / 2


def test_every_model_is_present_and_intact() -> None:
    assert all(state == "ok" for _, state in manifest.status())
    done = run_cli("models")
    assert done.stdout.count("ok ") == len(manifest.manifest())


def test_a_missing_model_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "models"
    shutil.copytree(manifest.models_dir(), folder, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    (folder / "fer_emotion.onnx").unlink()
    monkeypatch.setenv("MIXBOOK_MODELS_DIR", str(folder))
    done = run_cli("models", check=False)
    assert done.returncode == 1
    assert "model fer_emotion missing" in done.stdout and str(folder / "fer_emotion.onnx") in done.stdout


def test_the_manifest_records_sources_and_licences() -> None:
    data = json.loads((manifest.models_dir() / "manifest.json").read_text())
    for name, entry in data["models"].items():
        assert entry["licence"], name
        assert len(entry["sha256"]) == 64, name
        assert entry["source"]["package"] and entry["source"]["package_version"], name
        assert len(entry["source"]["sha256"]) == 64, name


def test_converted_models_rebuild_byte_for_byte_from_the_registry_packages() -> None:
    """The converted ONNX files are what the build script makes from the pinned wheels."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "models" / "build_models.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
