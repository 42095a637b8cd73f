"""The analysis pipeline: stored per stage, resumable, cancellable, honest about what failed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from mixbook_desktop.analysis import manifest
from mixbook_desktop.core.analysis import Stage
from mixbook_desktop.services.analysis import PhotoDone, analyze_book
from mixbook_desktop.services.importer import import_paths
from mixbook_desktop.store.project import Project
from tests.analysis_support import by_name, copy_book
from tests.conftest import DEMO_PHOTOS, FIXTURE_PHOTOS, ROOT, photos_json, run_cli

GUARD = Path(__file__).parent / "support" / "no_network"


def _stage_rows(book: Path) -> dict[tuple[int, str], tuple[str, str]]:
    conn = sqlite3.connect(f"file:{book}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT photo_id, stage, version, analysed_at FROM analysis").fetchall()
    finally:
        conn.close()
    return {(pid, stage): (version, at) for pid, stage, version, at in rows}


def test_a_second_run_has_nothing_to_do(demo_book: Path, tmp_path: Path) -> None:
    book = copy_book(demo_book, tmp_path)
    before = _stage_rows(book)
    done = run_cli("analyze", str(book))
    assert "0 photos analysed" in done.stdout
    assert _stage_rows(book) == before


@pytest.fixture
def models_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "models"
    shutil.copytree(manifest.models_dir(), folder, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    monkeypatch.setenv("MIXBOOK_MODELS_DIR", str(folder))
    manifest.manifest.cache_clear()
    yield folder
    manifest.manifest.cache_clear()


def _edit_manifest(folder: Path, model: str, **changes: str) -> None:
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    data["models"][model].update(changes)
    path.write_text(json.dumps(data))
    manifest.manifest.cache_clear()


def test_a_new_model_version_reruns_only_its_stage(
    demo_book: Path, tmp_path: Path, models_copy: Path
) -> None:
    book = copy_book(demo_book, tmp_path)
    _edit_manifest(models_copy, "fer_emotion", version="2")
    seen: list[PhotoDone] = []
    with Project.open(book) as project:
        report = analyze_book(project, on_done=seen.append)
    assert report.model_problems == []
    assert len(seen) == 16
    assert {frozenset(d.stages) for d in seen} == {frozenset({Stage.EMOTIONS})}
    versions = {stage: version for (_, stage), (version, _) in _stage_rows(book).items()}
    assert versions["emotions"].startswith("fer_emotion@2:")
    # Faces (and so people) were not touched: the same face ids keep the same people.
    assert [f["person"] for f in by_name(photos_json(book))["maxpose__Pilots.jpg"]["faces"]] == [
        f["person"] for f in by_name(photos_json(demo_book))["maxpose__Pilots.jpg"]["faces"]
    ]


def test_a_broken_model_is_named_and_unchecked_is_not_safe(tmp_path: Path, models_copy: Path) -> None:
    _edit_manifest(models_copy, "opennsfw", sha256="0" * 64)
    env_book = tmp_path / "b.mbook"
    run_cli("import", str(env_book), str(DEMO_PHOTOS / "skimage__coffee.png"))
    checked = run_cli("models", check=False)
    assert checked.returncode == 1
    assert "model opennsfw is wrong" in checked.stdout
    done = run_cli("analyze", str(env_book))
    assert "model opennsfw is wrong" in done.stderr
    (row,) = photos_json(env_book)
    assert row["labels"] and row["faces"] == []  # the other stages ran
    mod = row["moderation"]
    assert mod["status"] == "unavailable" and mod["flagged"] is None and mod["cleared"] is False
    assert "opennsfw" in row["analysis_error"]
    flagged = json.loads(run_cli("flagged", str(env_book), "--json").stdout)
    assert [r["sha256"] for r in flagged] == [row["sha256"]]


def test_missing_and_changed_files_get_errors_and_the_rest_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("skimage__astronaut.png", "skimage__coffee.png", "skimage__chelsea.png"):
        shutil.copy(DEMO_PHOTOS / name, folder / name)
    book = tmp_path / "b.mbook"
    run_cli("import", str(book), str(folder))
    (folder / "skimage__coffee.png").unlink()
    Image.open(folder / "skimage__chelsea.png").filter(ImageFilter.BLUR).save(folder / "skimage__chelsea.png")
    done = run_cli("analyze", str(book))
    assert "3 photos analysed, 2 with errors" in done.stdout
    rows = by_name(photos_json(book))
    assert "original file not found" in rows["skimage__coffee.png"]["analysis_error"]
    assert "changed since it was imported" in rows["skimage__chelsea.png"]["analysis_error"]
    assert rows["skimage__astronaut.png"]["analysis_error"] is None
    assert len(rows["skimage__astronaut.png"]["faces"]) == 1


def test_cancel_stops_after_the_photo_in_hand_and_the_rest_stays_pending(tmp_path: Path) -> None:
    with Project.open(tmp_path / "b.mbook", create=True) as project:
        import_paths(project, [str(DEMO_PHOTOS)])
        cancel = threading.Event()
        first = analyze_book(project, on_done=lambda _: cancel.set(), cancel=cancel, workers=1)
        assert first.cancelled and len(first.done) == 1
        rest = analyze_book(project)
        assert len(rest.done) == 15 and not rest.cancelled


def _analysed_count(book: Path) -> int:
    conn = sqlite3.connect(f"file:{book}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(DISTINCT photo_id) FROM analysis").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_killed_analysis_resumes_without_loss(tmp_path: Path) -> None:
    book = tmp_path / "b.mbook"
    run_cli("import", str(book), str(DEMO_PHOTOS), str(FIXTURE_PHOTOS))
    with Project.open(book) as project:
        total = project.conn.execute("SELECT count(*) FROM files WHERE status = 'ok'").fetchone()[0]
    kills = 0
    for at_least in (3, 12):
        proc = subprocess.Popen(
            [sys.executable, "-m", "mixbook_desktop", "analyze", str(book), "--jobs", "1"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        while _analysed_count(book) < at_least and proc.poll() is None:
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker, mid-photo
            proc.wait()
            kills += 1
        with Project.open(book) as project:
            assert project.integrity_ok()
    assert kills >= 1
    kept = _analysed_count(book)
    done = run_cli("analyze", str(book))
    assert f"{total - kept} photos analysed" in done.stdout
    rows = [r for r in photos_json(book) if r["status"] == "ok"]
    assert all(r["analysed"] and r["quality"] for r in rows)
    with Project.open(book) as project:
        # Each photo's faces were written once: no half-written or doubled faces after the kills.
        doubled = "SELECT photo_id, idx FROM faces GROUP BY photo_id, idx HAVING count(*) > 1"
        dupes = project.conn.execute(f"SELECT count(*) FROM ({doubled})").fetchone()[0]
        assert dupes == 0


def test_analysis_opens_no_network_socket(tmp_path: Path) -> None:
    log = tmp_path / "network.log"
    book = tmp_path / "offline.mbook"
    env = {**os.environ, "PYTHONPATH": str(GUARD), "MIXBOOK_NETWORK_LOG": str(log)}
    outputs = []
    for args in (
        ["import", str(book), str(DEMO_PHOTOS)],
        ["analyze", str(book)],
        ["people", str(book), "--json"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "mixbook_desktop", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert "16 photos analysed, 0 with errors" in outputs[1]
    assert len(json.loads(outputs[2])) == 13  # the people were grouped, offline too
    assert not log.exists(), log.read_text()


def test_hostile_files_leave_import_errors_and_analysis_of_the_rest(tmp_path: Path) -> None:
    book = tmp_path / "b.mbook"
    run_cli("import", str(book), str(FIXTURE_PHOTOS))
    done = run_cli("analyze", str(book))
    assert "0 with errors" in done.stdout
    rows = photos_json(book)
    assert any(r["status"] == "error" for r in rows)
    for row in rows:
        if row["status"] == "ok":
            assert row["analysed"] and row["analysis_error"] is None, row["file"]
