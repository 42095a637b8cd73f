"""Autosave: what the user types is kept without asking, one undo step per burst of typing, and
a killed editor loses at most its last seconds of typing, never the project file."""

from __future__ import annotations

import queue
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from mixbook_desktop.services import captions as captions_service
from mixbook_desktop.services import catalog
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui.main_window import MainWindow
from tests.analysis_support import copy_book, demo_rows
from tests.conftest import ROOT
from tests.gui_support import WAIT_MS, idle


def _select(window: MainWindow, name: str) -> None:
    window.filter_bar.search.setText(name)
    window.library.setCurrentIndex(window.filtered.index(0, 0))


def _caption(book: Path, name: str) -> str | None:
    return ((demo_rows(book)[name].get("caption")) or {}).get("text")


def test_typing_is_saved_after_a_pause_and_undone_in_one_step(window: MainWindow, qtbot: QtBot) -> None:
    _select(window, "maxinception__dog")
    editor = window.caption.editor
    editor.setFocus()
    QTest.keyClicks(editor, "Biscuit ")  # a pause after a space: the cursor stays where it is
    assert window.autosave.pending, "saved once the typing stops, not at every key"
    qtbot.waitUntil(lambda: not window.autosave.pending and not window.busy, timeout=WAIT_MS)
    QTest.keyClicks(editor, "on the beach")
    qtbot.waitUntil(lambda: not window.autosave.pending and not window.busy, timeout=WAIT_MS)
    assert _caption(window.book, "maxinception__dog.jpg") == "Biscuit on the beach"
    assert window.undo_stack.count() == 1, "two autosaves of one caption are one step"
    window.undo_action.trigger()
    idle(window, qtbot)
    assert _caption(window.book, "maxinception__dog.jpg") is None and editor.toPlainText() == ""


def test_typing_is_kept_when_another_photo_is_selected(window: MainWindow, qtbot: QtBot) -> None:
    _select(window, "maxinception__dog")
    QTest.keyClicks(window.caption.editor, "Biscuit again")
    _select(window, "maxscene__paris")  # at once, before the pause
    idle(window, qtbot)
    assert _caption(window.book, "maxinception__dog.jpg") == "Biscuit again"
    assert window.caption.editor.toPlainText() != "Biscuit again"


class _Lines:
    """The editor's output, line by line, read by a thread of its own: select() on the pipe
    would miss lines already taken into the file object's buffer."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._lines.put(line.strip())
        self._lines.put("")  # the end

    def until(self, word: str, seconds: float = 60) -> list[str]:
        """Lines up to `word`, failing after `seconds` without it; the lines read."""
        deadline = time.monotonic() + seconds
        lines: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the editor did not say {word!r} within {seconds} s") from None
            if not line:
                raise AssertionError(f"the editor ended before saying {word!r}")
            lines.append(line)
            if line == word:
                return lines


KILLS = 4


def test_an_editor_killed_again_and_again_while_typing_loses_nothing_saved(
    editor_book: Path, tmp_path: Path
) -> None:
    """Each round opens the book a killed editor left, types a new caption and is killed in
    turn, after a random number of further words (seeded): mid-typing, sometimes mid-save."""
    book = copy_book(editor_book, tmp_path)
    rng = random.Random(3)
    for round_ in range(KILLS):
        text = f"Rain on Paris, take {round_ + 1}"
        typing = subprocess.Popen(
            [sys.executable, "-m", "tests.support.typing_editor", str(book), "maxscene__paris", text],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = _Lines(typing)
        try:
            lines.until("typed")
            lines.until("saved")  # an autosave, while the user types on
            with Project.open(book) as project:
                saved = (catalog.caption_view(project).get(_paris_target(project)) or {}).get("text")
            assert saved and saved.startswith(text), "autosaved while the user kept typing"
            for _ in range(rng.randint(1, 8)):
                lines.until("more")
        finally:
            typing.send_signal(signal.SIGKILL)
            typing.wait(30)
        assert typing.returncode == -signal.SIGKILL
        with Project.open(book) as project:
            assert project.integrity_ok()
            after = (catalog.caption_view(project).get(_paris_target(project)) or {}).get("text")
        assert after is not None and after.startswith(saved), f"round {round_ + 1}: the saved text is gone"


def _paris_target(project: Project) -> str:
    row = project.db.execute(
        "SELECT photos.id FROM photos JOIN files ON files.photo_id = photos.id WHERE files.path LIKE ?",
        ["%maxscene__paris%"],
    ).fetchone()
    return f"photo:{row[0]}"


def test_typing_on_a_full_disk_keeps_the_text_and_saves_it_once_there_is_room(
    editor_book: Path, tmp_path: Path
) -> None:
    """The disk fills while the user types (a file size limit on the editor's process, so the
    OS refuses its writes): the editor says so and keeps the text; the user stops typing, and
    once the limit is lifted the text is saved without the user doing anything."""
    book = copy_book(editor_book, tmp_path)
    limit = 64_000  # room for the WAL index (32 KB) and a few saves, then every write fails

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    typing = subprocess.Popen(
        [sys.executable, "-m", "tests.support.typing_editor", str(book), "maxscene__paris", "Rain on Paris"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the refused saves' tracebacks
        text=True,
        preexec_fn=limited,
    )
    lines = _Lines(typing)
    try:
        words = lines.until("refused", seconds=120).count("more")
        resource.prlimit(typing.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        lines.until("kept", seconds=60)
    finally:
        typing.send_signal(signal.SIGKILL)
        typing.wait(30)
    with Project.open(book) as project:
        assert project.integrity_ok()
        text = (catalog.caption_view(project).get(_paris_target(project)) or {}).get("text") or ""
    # Every word typed up to the refusal, kept in the editor through it, is in the book.
    assert text == " ".join(["Rain on Paris", *(f"w{n}" for n in range(1, words + 1))])


def test_closing_with_a_caption_the_book_refused_asks_first(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The save made on the way out is refused: the window asks once, after every edit is done,
    without saving again and again meanwhile; kept open, it saves the text once it can."""
    attempts: list[str] = []

    def refused(_project: Project, _target: str, text: str) -> None:
        attempts.append(text)
        full = sqlite3.OperationalError("database or disk is full")  # what SQLite raises
        full.sqlite_errorcode = sqlite3.SQLITE_FULL
        raise full

    real = captions_service.set_caption
    monkeypatch.setattr(captions_service, "set_caption", refused)
    asked: list[int] = []

    def keep_open(unsaved: int) -> bool:
        asked.append(unsaved)
        return False

    window.confirm_lose = keep_open  # type: ignore[method-assign]
    _select(window, "maxscene__paris")
    editor = window.caption.editor
    editor.setFocus()
    editor.selectAll()
    QTest.keyClicks(editor, "Typed while the disk was full")
    window.close()  # saves what was typed first: refused
    qtbot.waitUntil(lambda: asked == [1], timeout=WAIT_MS)
    assert window.isVisible() and editor.toPlainText() == "Typed while the disk was full"
    assert attempts == ["Typed while the disk was full"]
    assert "a write was refused" in window.message.text()

    monkeypatch.setattr(captions_service, "set_caption", real)  # room again
    qtbot.waitUntil(lambda: window.unsaved_captions == 0 and not window.busy, timeout=WAIT_MS)
    assert _caption(window.book, "maxscene__paris.jpg") == "Typed while the disk was full"
    assert window.message.text() == "Caption edit: saved after all"
    assert window.close() and asked == [1]  # nothing left unsaved: no question
