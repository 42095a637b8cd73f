"""Face data and captions stay on this machine in local mode, and a book can be given away
without its face embeddings (biometric data)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from mixbook_desktop.cloud import config
from mixbook_desktop.store.project import Project
from tests.analysis_support import copy_book
from tests.conftest import ROOT, run_cli

GUARD = Path(__file__).parent / "support" / "no_network"


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return list(db.execute(sql))


def test_a_shared_copy_has_no_face_embeddings_and_nothing_of_the_owners_services(
    demo_book: Path, tmp_path: Path
) -> None:
    book = copy_book(demo_book, tmp_path)
    with Project.open(book) as project:
        config.save(project, postgres_url="postgresql://me@db.example/books", bucket="my-photos")
        owner_id = config.book_id(project)
    run_cli("people", str(book), "--name", "1", "Grace")
    run_cli("caption", str(book), "--set", "book", "Our Year")
    embeddings = [bytes(r[0]) for r in _rows(book, "SELECT embedding FROM faces WHERE embedding IS NOT NULL")]
    assert embeddings

    shared = tmp_path / "out" / "to-share.mbook"
    shared.parent.mkdir()
    done = run_cli("share", str(book), str(shared))
    assert f"{len(embeddings)} face embeddings left out" in done.stdout
    assert sorted(p.name for p in shared.parent.iterdir()) == ["to-share.mbook"]  # one file, no -wal
    raw = shared.read_bytes()
    assert not any(e in raw for e in embeddings)  # not even in freed pages
    assert b"db.example" not in raw and b"my-photos" not in raw
    with Project.open(shared) as copy:
        assert copy.integrity_ok()
        assert config.book_id(copy) != owner_id  # a book of its own: never syncs into the owner's
        assert config.load(copy) == config.CloudSettings()
    # What a reader sees is all there.
    for sql in (
        "SELECT sha256, taken_at, place FROM photos ORDER BY id",
        "SELECT photo_id, x, y, w, h, person_id, emotions FROM faces ORDER BY id",
        "SELECT id, name FROM people ORDER BY id",
        "SELECT target, text FROM captions ORDER BY target",
        "SELECT * FROM book_slots ORDER BY page_id, slot",
    ):
        assert _rows(shared, sql) == _rows(book, sql), sql
    assert _rows(shared, "SELECT COUNT(*) FROM faces WHERE embedding IS NOT NULL") == [(0,)]
    assert len(_rows(book, "SELECT embedding FROM faces WHERE embedding IS NOT NULL")) == len(embeddings)

    kept = tmp_path / "out" / "with-faces.mbook"
    run_cli("share", str(book), str(kept), "--keep-faces")
    assert _rows(kept, "SELECT COUNT(*) FROM faces WHERE embedding IS NOT NULL") == [(len(embeddings),)]


def test_the_editor_in_local_mode_opens_no_network_socket(demo_book: Path, tmp_path: Path) -> None:
    """The whole local pipeline runs offline (test_offline.py: `make`); the editor as well, on
    an analysed book with people and captions, down to its screenshots and the PDF preview."""
    book = copy_book(demo_book, tmp_path)
    run_cli("layout", str(book))
    log = tmp_path / "network.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(GUARD),
        "MIXBOOK_NETWORK_LOG": str(log),
        "QT_QPA_PLATFORM": "offscreen",
    }
    shots = tmp_path / "shots"
    done = subprocess.run(
        [sys.executable, "-m", "mixbook_desktop", "gui", str(book), "--screenshots", str(shots), "--quit"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert len(list(shots.glob("*.png"))) >= 5
    assert not log.exists(), log.read_text()
