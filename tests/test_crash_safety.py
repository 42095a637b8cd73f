"""Killed at any moment, or out of disk space: the book opens, passes SQLite's integrity check,
keeps everything committed before, and the work resumes; a PDF is either whole or not there.

Each run is a real `mixbook-desktop` process killed with SIGKILL (its whole process group, the
worker processes too) at a moment drawn from a seeded generator, several times in a row. The
import's kills (five in a row) are in tests/test_resume.py and the editor's, killed four times
while typing and autosaving, in tests/test_gui_autosave.py.
"""

from __future__ import annotations

import contextlib
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mixbook_desktop.store.project import Project
from tests.analysis_support import copy_book
from tests.conftest import DEMO_PHOTOS, ROOT, run_cli

KILLS = 4


def _rows(book: Path, sql: str) -> set[tuple[Any, ...]]:
    """Committed rows, read as another process would (WAL: a reader sees commits only)."""
    with contextlib.closing(sqlite3.connect(f"file:{book}?mode=ro", uri=True)) as db:
        try:
            return set(db.execute(sql).fetchall())
        except sqlite3.OperationalError:
            return set()


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    """The command in a process group of its own, so a kill takes its workers too."""
    return subprocess.Popen(
        [sys.executable, "-m", "mixbook_desktop", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _killed_at_random(args: list[str], rng: random.Random, longest: float) -> bool:
    """Runs the command and SIGKILLs it after a random time up to `longest` seconds; False if
    it finished first."""
    process = _start(args)
    try:
        process.wait(timeout=rng.uniform(0.1, 1.0) * longest)
        return False
    except subprocess.TimeoutExpired:
        _kill(process)
        return True


def _killed_after_rows(args: list[str], book: Path, sql: str, rows: int) -> bool:
    """Runs the command and SIGKILLs it as soon as `rows` more rows of `sql` are committed, a
    moment in the middle of its work; False if it finished first."""
    start = len(_rows(book, sql))
    process = _start(args)
    while len(_rows(book, sql)) < start + rows:
        try:
            process.wait(timeout=0.02)  # doubles as the polling pause
            return False
        except subprocess.TimeoutExpired:
            continue
    _kill(process)
    return True


def _sound(book: Path) -> None:
    with Project.open(book) as project:
        assert project.integrity_ok()


def _kill_repeatedly(book: Path, args: list[str], sql: str, most_rows: int, seed: int) -> int:
    """Kills the command KILLS times, each after a random number of new rows (1 to
    `most_rows`); after each, the book is sound and keeps every row it had. Returns how many
    runs were really killed (the rest finished first)."""
    rng = random.Random(seed)
    before = _rows(book, sql)
    killed = 0
    for _ in range(KILLS):
        killed += _killed_after_rows(args, book, sql, rng.randint(1, most_rows))
        _sound(book)
        after = _rows(book, sql)
        assert before <= after, "rows committed before the kill are gone"
        before = after
    return killed


def test_analysis_killed_again_and_again_resumes_and_loses_nothing(tmp_path: Path) -> None:
    book = tmp_path / "book.mbook"
    run_cli("import", str(book), str(DEMO_PHOTOS))
    # A row is a finished stage of a photo; a kill keeps all of a photo's stages or none.
    sql = "SELECT photo_id, stage, version FROM analysis WHERE error IS NULL"
    killed = _kill_repeatedly(book, ["analyze", str(book), "--jobs", "1"], sql, 12, seed=11)
    assert killed == KILLS
    done = run_cli("analyze", str(book))
    assert "0 with errors" in done.stdout
    photos = len(_rows(book, "SELECT id FROM photos"))
    assert len(_rows(book, sql)) == photos * 5  # every stage of every photo, none twice
    _sound(book)


def test_captions_killed_again_and_again_keep_every_suggestion_and_edit(
    demo_book: Path, tmp_path: Path
) -> None:
    book = copy_book(demo_book, tmp_path)
    run_cli("caption", str(book), "--set", "book", "Written before the kills")
    sql = "SELECT id, target, text FROM caption_suggestions"
    killed = _kill_repeatedly(book, ["caption", str(book)], sql, 4, seed=12)
    assert killed == KILLS
    run_cli("caption", str(book))
    assert ("book", "Written before the kills") in _rows(book, "SELECT target, text FROM captions")
    targets = _rows(book, "SELECT DISTINCT target FROM caption_suggestions")
    assert len(targets) >= len(_rows(book, "SELECT id FROM photos"))  # every photo suggested once
    _sound(book)


def _whole_pdf(path: Path) -> int:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        return len(document)
    finally:
        document.close()


def test_an_export_killed_midway_leaves_the_pdf_whole_or_absent(demo_book: Path, tmp_path: Path) -> None:
    book = copy_book(demo_book, tmp_path)
    run_cli("layout", str(book))
    pdf = tmp_path / "book.pdf"
    started = time.monotonic()
    run_cli("export", str(book), str(pdf))
    took = time.monotonic() - started  # kills fall within a run's own length
    rng = random.Random(13)
    killed = 0
    for _ in range(KILLS):
        pdf.unlink(missing_ok=True)
        if _killed_at_random(["export", str(book), str(pdf)], rng, took * 0.9):
            killed += 1
            # Killed before its rename there is no PDF; after it, the whole one.
            assert not pdf.exists() or _whole_pdf(pdf) > 0
        _sound(book)
    assert killed >= 2
    run_cli("export", str(book), str(pdf))
    pages = _whole_pdf(pdf)
    # Killed while replacing a good PDF: the old one stays whole until the new one is complete.
    for _ in range(KILLS):
        _killed_at_random(["export", str(book), str(pdf)], rng, took * 0.9)
        assert _whole_pdf(pdf) == pages
    run_cli("export", str(book), str(pdf))
    assert _whole_pdf(pdf) == pages
    assert not list(tmp_path.glob(".book.pdf.*.part")), "stale partial exports were not cleared"


def _limited(size: int) -> Any:
    """A child process that may write no file past `size` bytes: the OS fails the write (EFBIG)
    as a full disk would, instead of killing the process (SIGXFSZ ignored)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_a_full_disk_stops_with_a_clear_message_and_loses_nothing(demo_book: Path, tmp_path: Path) -> None:
    book = tmp_path / "book.mbook"
    run_cli("import", str(book), str(DEMO_PHOTOS / "maxinception__dog.jpg"))
    before = _rows(book, "SELECT path, sha256 FROM files")
    size = book.stat().st_size + (tmp_path / "book.mbook-wal").stat().st_size
    # Room for a little more, not for sixteen thumbnails.
    done = subprocess.run(
        [sys.executable, "-m", "mixbook_desktop", "import", str(book), str(DEMO_PHOTOS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limited(size + 40_000),
    )
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "disk" in said.lower() or "space" in said.lower(), said
    assert "Traceback" not in said, said
    _sound(book)
    assert before <= _rows(book, "SELECT path, sha256 FROM files")
    run_cli("import", str(book), str(DEMO_PHOTOS))  # room again: the import finishes
    assert len(_rows(book, "SELECT id FROM photos")) == 16

    # An export that runs out of space keeps the previous PDF and says why.
    (tmp_path / "analysed").mkdir()
    analysed = copy_book(demo_book, tmp_path / "analysed")
    run_cli("layout", str(analysed))
    pdf = tmp_path / "book.pdf"
    run_cli("export", str(analysed), str(pdf))
    first = pdf.read_bytes()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mixbook_desktop", "export", str(analysed), str(pdf)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limited(len(first) // 3),
    )
    assert done.returncode != 0 and time.monotonic() - started < 300
    said = done.stdout + done.stderr
    assert ("disk" in said.lower() or "space" in said.lower()) and "Traceback" not in said, said
    assert pdf.read_bytes() == first
    assert not list(tmp_path.glob(".book.pdf.*.part"))
    _sound(analysed)


def _refused(args: list[str], limit: int) -> str:
    """Runs the command with writes past `limit` bytes per file refused; returns what it said,
    after checking it failed in one line of its own, not a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "mixbook_desktop", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_limited(limit),
    )
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    assert "a write was refused" in said and "Traceback" not in said, said
    return said


def test_a_full_disk_during_analysis_and_captions_loses_nothing(demo_book: Path, tmp_path: Path) -> None:
    book = tmp_path / "book.mbook"
    run_cli("import", str(book), str(DEMO_PHOTOS))
    sql = "SELECT photo_id, stage, version FROM analysis WHERE error IS NULL"
    # Too little room even to open the book (its WAL index is 32 KB): not called damaged.
    said = _refused(["analyze", str(book)], 20_000)
    assert "damaged" not in said and "cannot open" in said, said
    # Room for a few commits: the analysis stops with one line and keeps them.
    _refused(["analyze", str(book)], 120_000)
    _sound(book)
    kept = _rows(book, sql)
    assert kept, "nothing was committed before the disk filled"
    assert "0 with errors" in run_cli("analyze", str(book)).stdout
    assert kept <= _rows(book, sql)

    analysed = copy_book(demo_book, tmp_path)
    run_cli("caption", str(analysed), "--set", "book", "Written before the disk filled")
    sql = "SELECT id, target, text FROM caption_suggestions"
    _refused(["caption", str(analysed)], 120_000)
    _sound(analysed)
    kept = _rows(analysed, sql)
    assert kept, "nothing was committed before the disk filled"
    run_cli("caption", str(analysed))
    assert kept <= _rows(analysed, sql)
    assert ("book", "Written before the disk filled") in _rows(analysed, "SELECT target, text FROM captions")
    targets = _rows(analysed, "SELECT DISTINCT target FROM caption_suggestions")
    assert len(targets) >= len(_rows(analysed, "SELECT id FROM photos"))
