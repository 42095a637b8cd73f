"""Autosave: what the user types is kept without asking, one undo step per burst of typing, and
a killed editor loses at most its last seconds of typing, never the project file."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

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


def test_an_editor_killed_while_typing_loses_nothing_saved(editor_book: Path, tmp_path: Path) -> None:
    book = copy_book(editor_book, tmp_path)
    typing = subprocess.Popen(
        [sys.executable, "-m", "tests.support.typing_editor", str(book), "maxscene__paris", "Rain on Paris"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        _read_until(typing, "typed")
        _read_until(typing, "saved")  # an autosave, while the user types on
        with Project.open(book) as project:
            saved = (catalog.caption_view(project).get(_paris_target(project)) or {}).get("text")
        assert saved and saved.startswith("Rain on Paris"), "autosaved while the user kept typing"
        _read_until(typing, "more")  # the kill lands mid-typing, perhaps mid-save
    finally:
        typing.send_signal(signal.SIGKILL)
        typing.wait(30)
    assert typing.returncode == -signal.SIGKILL
    with Project.open(book) as project:
        assert project.integrity_ok()
        after = (catalog.caption_view(project).get(_paris_target(project)) or {}).get("text")
    assert after is not None and after.startswith(saved), "what was saved before the kill is there"


def _read_until(process: subprocess.Popen[str], word: str, seconds: float = 60) -> None:
    """Read the editor's lines until `word`, failing after `seconds` without it."""
    assert process.stdout is not None
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as waiting:
        waiting.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if waiting.select(deadline - time.monotonic()) and process.stdout.readline().strip() == word:
                return
    raise AssertionError(f"the editor did not say {word!r} within {seconds} s")


def _paris_target(project: Project) -> str:
    row = project.db.execute(
        "SELECT photos.id FROM photos JOIN files ON files.photo_id = photos.id WHERE files.path LIKE ?",
        ["%maxscene__paris%"],
    ).fetchone()
    return f"photo:{row[0]}"
