"""Killing an import at any moment, again and again, loses nothing committed; running it again
finishes the job."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mixbook_desktop.store.project import Project
from tests.conftest import ROOT

PHOTOS = 90
KILLS = 5


@pytest.fixture(scope="module")
def many_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("many")
    rng = random.Random(7)
    for i in range(PHOTOS):
        # Noise makes every file distinct content and slow enough to decode to be caught mid-run.
        im = Image.frombytes("RGB", (1200, 900), rng.randbytes(1200 * 900 * 3))
        im.save(folder / f"img_{i:03d}.jpg", quality=90)
    return folder


def _committed(book: Path) -> dict[str, str]:
    if not book.exists():
        return {}
    conn = sqlite3.connect(f"file:{book}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT path, sha256 FROM files").fetchall())
    except sqlite3.OperationalError:
        return {}  # schema not created yet
    finally:
        conn.close()


def _start(book: Path, folder: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mixbook_desktop", "import", str(book), str(folder), "--jobs", "1"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill_after(proc: subprocess.Popen[bytes], book: Path, at_least: int) -> None:
    while len(_committed(book)) < at_least:
        try:
            proc.wait(timeout=0.02)  # doubles as the polling pause
            pytest.fail("the import finished before it could be killed")
        except subprocess.TimeoutExpired:
            pass
    os.killpg(proc.pid, signal.SIGKILL)  # the app and its decoder processes, mid-write
    proc.wait()


def test_kill_and_resume(tmp_path: Path, many_photos: Path) -> None:
    book = tmp_path / "killed.mbook"
    seen: dict[str, str] = {}
    rng = random.Random(11)
    for _ in range(KILLS):
        # A random moment (seeded): after 1 to 12 more photos are committed, so the import
        # cannot finish before the last kill.
        at_least = len(seen) + rng.randint(1, 12)
        _kill_after(_start(book, many_photos), book, at_least)
        with Project.open(book) as project:
            assert project.integrity_ok()
            thumbs = project.conn.execute(
                "SELECT count(*) FROM files f JOIN photos p ON p.id = f.photo_id "
                "JOIN thumbnails t ON t.sha256 = p.sha256"
            ).fetchone()[0]
        committed = _committed(book)
        assert len(committed) >= at_least
        assert thumbs == len(committed)  # a photo is never committed without its thumbnail
        assert seen.items() <= committed.items()  # nothing committed earlier was lost
        seen = committed
    finish = _start(book, many_photos)
    assert finish.wait(timeout=300) == 0
    final = _committed(book)
    assert len(final) == PHOTOS
    assert seen.items() <= final.items()
    assert len(set(final.values())) == PHOTOS
