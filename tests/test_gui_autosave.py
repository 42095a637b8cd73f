"""Autosave: what the user types is kept without asking, one undo step per burst of typing, and
a killed editor loses at most its last seconds of typing, never the project file."""

from __future__ import annotations

import random
import resource
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
        try:
            _read_until(typing, "typed")
            _read_until(typing, "saved")  # an autosave, while the user types on
            with Project.open(book) as project:
                saved = (catalog.caption_view(project).get(_paris_target(project)) or {}).get("text")
            assert saved and saved.startswith(text), "autosaved while the user kept typing"
            for _ in range(rng.randint(1, 8)):
                _read_until(typing, "more")
        finally:
            typing.send_signal(signal.SIGKILL)
            typing.wait(30)
        assert typing.returncode == -signal.SIGKILL
        with Project.open(book) as project:
            assert project.integrity_ok()
            after = (catalog.caption_view(project).get(_paris_target(project)) or {}).get("text")
        assert after is not None and after.startswith(saved), f"round {round_ + 1}: the saved text is gone"


def _read_until(process: subprocess.Popen[str], word: str, seconds: float = 60) -> list[str]:
    """Read the editor's lines until `word`, failing after `seconds` without it; the lines read."""
    assert process.stdout is not None
    deadline = time.monotonic() + seconds
    lines: list[str] = []
    with selectors.DefaultSelector() as waiting:
        waiting.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if waiting.select(deadline - time.monotonic()):
                line = process.stdout.readline()
                if not line:
                    raise AssertionError(f"the editor ended before saying {word!r}")
                lines.append(line.strip())
                if lines[-1] == word:
                    return lines
    raise AssertionError(f"the editor did not say {word!r} within {seconds} s")


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
    OS refuses its writes): the editor says so, keeps the text, and saves it once the limit is
    lifted, without the user doing anything."""
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
    try:
        words = _read_until(typing, "refused", seconds=120).count("more")
        resource.prlimit(typing.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        _read_until(typing, "kept", seconds=60)
    finally:
        typing.send_signal(signal.SIGKILL)
        typing.wait(30)
    with Project.open(book) as project:
        assert project.integrity_ok()
        text = (catalog.caption_view(project).get(_paris_target(project)) or {}).get("text") or ""
    # Every word typed up to the refusal, and kept in the editor through it, is in the book.
    typed = " ".join(["Rain on Paris", *(f"w{n}" for n in range(1, words + 1))])
    assert text.startswith(typed), (text, typed)


def test_closing_with_a_caption_the_book_refused_asks_first(window: MainWindow, qtbot: QtBot) -> None:
    asked: list[int] = []

    def keep_open(unsaved: int) -> bool:
        asked.append(unsaved)
        return False

    window.confirm_lose = keep_open  # type: ignore[method-assign]
    _select(window, "maxscene__paris")
    target = window.caption.target
    assert target is not None
    window._caption_not_saved(target, "Typed while the disk was full")  # what a refused save calls
    assert not window.close() and window.isVisible() and asked == [1]
    # The text is offered to the book again a few seconds later, and this time it takes it.
    qtbot.waitUntil(lambda: window.unsaved_captions == 0, timeout=WAIT_MS)
    idle(window, qtbot)
    assert _caption(window.book, "maxscene__paris.jpg") == "Typed while the disk was full"
