"""Editing the book on its spreads: a photo zoomed and panned in its slot, pages added and
removed, a locked page kept by Auto-fill, a text edited where it prints. Real services, the
real analysed demo book, events sent as Qt sends them."""

from __future__ import annotations

from dataclasses import astuple
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from mixbook_desktop.core.book import Page
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.services import book as book_service
from mixbook_desktop.store.book import PAGES_KEY, BookStore
from mixbook_desktop.store.captions import CaptionStore
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui.main_window import MainWindow
from tests.analysis_support import demo_rows
from tests.gui_support import WAIT_MS, act, idle, slot_centre


def _pages(book: Path) -> dict[int, Page]:
    with Project.open(book) as project:
        return BookStore(project).pages()


def _crop(book: Path, position: int, slot: int = 0) -> tuple[Box | None, bool]:
    fill = _pages(book)[position].fills[slot]
    return fill.crop, fill.crop_by_user


def _wheel(shown: MainWindow, at: QPointF, notches: int) -> None:
    spread = shown.spread
    QApplication.sendEvent(
        spread,
        QWheelEvent(
            at,
            spread.mapToGlobal(at),
            QPoint(0, 0),
            QPoint(0, notches * 120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        ),
    )


def _mouse(
    shown: MainWindow,
    kind: QEvent.Type,
    at: QPointF,
    button: Qt.MouseButton,
    held: Qt.MouseButton,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    spread = shown.spread
    QApplication.sendEvent(spread, QMouseEvent(kind, at, spread.mapToGlobal(at), button, held, modifiers))


def _text_centre(shown: MainWindow, position: int, role: str) -> QPointF:
    spread = shown.spread
    spread.show_page(position)
    page = next(p for p in spread._pages_here() if p.position == position)
    text = next(t for t in page.texts if t.role == role)
    return QPointF(spread._slot_on_screen(page, text.rect).center())


def test_a_photo_zoomed_and_panned_in_its_slot_is_saved_once_a_gesture_and_undone(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    before, by_user = _crop(window.book, 2)
    assert before is not None and not by_user
    edits = window.undo_stack.count()
    centre = slot_centre(window, 2)
    # Three notches in, around a point right of the centre: shown at once, saved once.
    for _ in range(3):
        _wheel(window, centre + QPointF(15, 0), 1)
    preview = window.spread._previews[(2, 0)]
    assert preview.w == pytest.approx(before.w / 1.1**3)
    assert _crop(window.book, 2)[0] == before, "nothing saved while the wheel turns"
    qtbot.waitUntil(lambda: window.undo_stack.count() == edits + 1, timeout=WAIT_MS)
    idle(window, qtbot)
    zoomed, by_user = _crop(window.book, 2)
    assert by_user and zoomed is not None and astuple(zoomed) == pytest.approx(astuple(preview))
    # The point under the pointer stayed there: the zoom is not about the slot's centre.
    assert zoomed.x + zoomed.w / 2 > before.x + before.w / 2

    # A middle-button drag pans: the photo follows the pointer, saved on release.
    start = slot_centre(window, 2)
    _mouse(
        window, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.MiddleButton, Qt.MouseButton.MiddleButton
    )
    for step in range(1, 4):
        _mouse(
            window,
            QEvent.Type.MouseMove,
            start + QPointF(-6 * step, -4 * step),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.MiddleButton,
        )
    end = start + QPointF(-18, -12)
    _mouse(window, QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.MiddleButton, Qt.MouseButton.NoButton)
    panned_preview = window.spread._previews[(2, 0)]
    idle(window, qtbot)
    panned, _ = _crop(window.book, 2)
    assert panned is not None and astuple(panned) == pytest.approx(astuple(panned_preview))
    assert panned.w == pytest.approx(zoomed.w)
    assert panned.x > zoomed.x and panned.y > zoomed.y, "dragged up and left: the window moved right and down"
    assert window.undo_stack.count() == edits + 2 and not window.spread._previews

    # An Alt-drag pans too; a plain click starts no pan (a plain drag still swaps photos).
    _mouse(
        window,
        QEvent.Type.MouseButtonPress,
        start,
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.AltModifier,
    )
    assert window.spread._pan_from is not None
    _mouse(window, QEvent.Type.MouseButtonRelease, start, Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton)
    _mouse(window, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
    assert window.spread._pan_from is None and window.spread._press is not None
    _mouse(window, QEvent.Type.MouseButtonRelease, start, Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton)
    idle(window, qtbot)
    assert window.undo_stack.count() == edits + 2, "a gesture that moved nothing is no edit"

    window.undo_action.trigger()
    idle(window, qtbot)
    undone = _crop(window.book, 2)[0]
    assert undone is not None and astuple(undone) == pytest.approx(astuple(zoomed))
    window.undo_action.trigger()
    idle(window, qtbot)
    assert _crop(window.book, 2) == (before, False)


def test_zooming_out_stops_at_the_whole_photo_and_a_double_click_crops_automatically(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    before, _ = _crop(window.book, 3)
    centre = slot_centre(window, 3)
    _wheel(window, centre, 2)
    idle(window, qtbot)
    qtbot.waitUntil(lambda: _crop(window.book, 3)[1], timeout=WAIT_MS)
    _wheel(window, centre, -40)  # far further out than the photo goes
    window.spread.commit_crop()
    idle(window, qtbot)
    widest, by_user = _crop(window.book, 3)
    assert by_user and widest is not None
    assert max(widest.w, widest.h) == pytest.approx(1.0) and widest.x >= 0 and widest.y >= 0
    QTest.mouseDClick(window.spread, Qt.MouseButton.LeftButton, pos=slot_centre(window, 3).toPoint())
    idle(window, qtbot)
    assert _crop(window.book, 3) == (before, False)


def test_a_page_added_and_removed_through_the_page_menu(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    before = _pages(window.book)
    assert len(before) == 21
    act(window, qtbot, slot_centre(window, 5), "Add a page after this one")
    pages = _pages(window.book)
    assert len(pages) == 22 and pages[6].template == book_service.NEW_PAGE_TEMPLATE
    assert pages[6].photo_ids() == [] and pages[7].photo_ids() == before[6].photo_ids()
    assert "page 6" in window.spread.label(), "the new page is shown"
    assert window.overview is not None
    assert {"page-count", "empty-slot"} <= {p.code for p in window.overview.problems}
    # Nothing removes the cover.
    cover_menu = window.spread.menu_for(slot_centre(window, 0))
    assert cover_menu is not None
    assert "Remove this page" not in [a.text() for a in cover_menu.actions()]
    assert "Add a page after this one" in [a.text() for a in cover_menu.actions()]

    act(window, qtbot, slot_centre(window, 6), "Remove this page")
    after = _pages(window.book)
    assert len(after) == 21
    assert [p.photo_ids() for _, p in sorted(after.items())] == [
        p.photo_ids() for _, p in sorted(before.items())
    ]
    with Project.open(window.book) as project:
        assert (
            project.db.execute("SELECT value FROM settings WHERE key = ?", [PAGES_KEY]).fetchone()[0] == "20"
        )
    # Both are edits: undone, the added page is back.
    window.undo_action.trigger()
    idle(window, qtbot)
    assert len(_pages(window.book)) == 22


def test_the_book_menu_adds_and_removes_a_page_on_the_spread_shown(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    actions = {a.text(): a for menu in window.menuBar().findChildren(QMenu) for a in menu.actions()}
    window.spread.show_page(1)
    actions["Add a Page &After This One"].trigger()
    idle(window, qtbot)
    pages = _pages(window.book)
    assert len(pages) == 22 and pages[2].template == book_service.NEW_PAGE_TEMPLATE
    assert window.spread.current_page() == 2, "the new page is the one the menu acts on next"
    actions["&Remove This Page"].trigger()
    idle(window, qtbot)
    assert len(_pages(window.book)) == 21 and _pages(window.book)[2].photo_ids()
    window.spread.show_page(0)
    assert window.remove_page_here() is None and "cover" in window.message.text()


def test_auto_fill_keeps_a_page_locked_through_its_menu(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    act(window, qtbot, slot_centre(window, 6), "Lock the page")
    locked = _pages(window.book)[6]
    assert locked.locked and locked.photo_ids()
    # Something for Auto-fill to redo: the photo of page 2 (a chapter of its own) taken out,
    # so every page after it has a reason to move up.
    act(window, qtbot, slot_centre(window, 2), "Take this photo out")
    before = _pages(window.book)
    assert before[2].photo_ids() == []
    window.auto_fill()
    idle(window, qtbot)
    after = _pages(window.book)
    assert after[2].photo_ids() and after[2] != before[2], "Auto-fill did lay the pages out again"
    kept = after[6]
    assert (kept.template, kept.photo_ids(), kept.locked) == (locked.template, locked.photo_ids(), True)
    assert kept == locked


def test_a_text_edited_where_it_prints_lands_in_the_captions(
    window: MainWindow,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    window.activateWindow()
    title = _text_centre(window, 0, "title")
    QTest.mouseDClick(window.spread, Qt.MouseButton.LeftButton, pos=title.toPoint())
    editor = window.spread.editor
    assert editor is not None and editor.isVisible()
    assert editor.toPlainText() == "The Demo Book" and editor.geometry().contains(title.toPoint())
    editor.setPlainText("A Year of Small Things")
    window.grab().save(str(tmp_path / "inline-title.png"))
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.spread.editor is None
    idle(window, qtbot)
    with Project.open(window.book) as project:
        saved = CaptionStore(project).user_captions()["book"]
    assert saved.text == "A Year of Small Things"
    assert window.undo_stack.undoText() == "Caption edit"

    # A photo's caption: Esc drops what was typed, leaving the box keeps it.
    name = "maxcaption__surfing.jpg"
    before = (demo_rows(window.book)[name].get("caption") or {}).get("text")
    caption = _text_centre(window, 6, "caption")
    QTest.mouseDClick(window.spread, Qt.MouseButton.LeftButton, pos=caption.toPoint())
    editor = window.spread.editor
    assert editor is not None
    editor.setPlainText("Not this")
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert window.spread.editor is None
    QTest.mouseDClick(window.spread, Qt.MouseButton.LeftButton, pos=caption.toPoint())
    editor = window.spread.editor
    assert editor is not None
    editor.setPlainText("Sunset over the   harbour")
    window.library.setFocus()  # leaving the box keeps the text
    qtbot.waitUntil(lambda: window.spread.editor is None, timeout=WAIT_MS)
    idle(window, qtbot)
    assert demo_rows(window.book)[name]["caption"]["text"] == "Sunset over the harbour"
    window.undo_action.trigger()
    idle(window, qtbot)
    assert (demo_rows(window.book)[name].get("caption") or {}).get("text") == before
