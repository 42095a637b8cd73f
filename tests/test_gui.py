"""The editor on the real services and the analysed demo book, through pytest-qt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from mixbook_desktop.store.book import BookStore
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui.library import PHOTO_MIME, ROW
from mixbook_desktop.ui.main_window import MainWindow
from tests.analysis_support import copy_book, demo_rows
from tests.conftest import demo_subset, run_cli

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def editor_book(demo_book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = copy_book(demo_book, tmp_path_factory.mktemp("editor"))
    run_cli("caption", str(book), "--set", "book", "The Demo Book")
    run_cli("layout", str(book))
    return book


@pytest.fixture
def window(editor_book: Path, tmp_path: Path, qtbot: QtBot) -> Iterator[MainWindow]:
    book = copy_book(editor_book, tmp_path)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    shown = MainWindow(book, settings)
    qtbot.addWidget(shown)
    shown.resize(1400, 900)
    shown.show()
    qtbot.waitUntil(lambda: shown.overview is not None and shown.task is None, timeout=WAIT_MS)
    yield shown
    shown.thumbnails.close()


def _idle(window: MainWindow, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: window.task is None, timeout=WAIT_MS)


def test_the_window_shows_the_library_the_spreads_and_the_print_check(
    window: MainWindow, qtbot: QtBot
) -> None:
    assert window.model.rowCount() == 16
    assert window.spread.count == 12  # the cover, page 1, then 2-3 ... 20
    problems = json.loads(run_cli("check", str(window.book), "--json", check=False).stdout)
    shown = [p for p in problems if p["severity"] != "info"]
    assert window.checks.count() == len(shown) > 0
    # Thumbnails arrive from the worker for the rows on screen.
    first = window.model.photo(0).sha256
    qtbot.waitUntil(lambda: window.thumbnails.pixmap(first) is not None, timeout=WAIT_MS)
    # Choosing a problem shows its page.
    item = window.checks.item(0)
    page, slot = item.data(Qt.ItemDataRole.UserRole)
    window.checks.itemClicked.emit(item)
    assert f"page {page}" in window.spread.label() and window.spread.selected == (page, slot)
    # The book is now the first of the recent ones.
    window.settings.sync()
    assert window.settings.value("recent")[0] == str(window.book)


def test_filters_by_words_and_by_person(window: MainWindow) -> None:
    bar = window.filter_bar
    bar.search.setText("dog")
    assert {window.filtered.index(r, 0).data() for r in range(window.filtered.rowCount())} == {
        "maxinception__dog.jpg",
        "maxobjdet__dog-human.jpg",
    }
    bar.search.setText("")
    rows = demo_rows(window.book)
    person = bar.person.itemData(1)
    bar.person.setCurrentIndex(1)
    expected = {
        name for name, row in rows.items() if any(f["person"] == person for f in row.get("faces") or [])
    }
    shown = {window.filtered.index(r, 0).data() for r in range(window.filtered.rowCount())}
    assert shown == expected and 0 < len(shown) < 16
    bar.person.setCurrentIndex(0)
    bar.not_placed.setChecked(True)
    assert window.filtered.rowCount() == 0, "every demo photo is in the book"


def test_a_photo_dropped_on_a_slot_is_placed_there(window: MainWindow, qtbot: QtBot) -> None:
    dog = demo_rows(window.book)["maxinception__dog.jpg"]["sha256"]
    window.spread.show_page(2)
    target = next(p for p in window.spread._pages_here() if p.position == 2).photos[0]
    scale, spine_x, top = window.spread._frame()
    page = next(p for p in window.spread._pages_here() if p.position == 2)
    rect = window.spread._to_widget(target.rect, window.spread._page_origin(page, spine_x, scale), top, scale)
    mime = QMimeData()
    mime.setData(PHOTO_MIME, QByteArray(dog.encode()))
    drop = QDropEvent(
        QPointF(rect.center()),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.spread.dropEvent(drop)
    _idle(window, qtbot)
    with Project.open(window.book) as project:
        fill = BookStore(project).pages()[2].fills[0]
        ids = {sha: pid for sha, pid in project.db.execute("SELECT sha256, id FROM photos").fetchall()}
    assert fill.photo_id == ids[dog] and fill.locked


def test_export_runs_in_the_background_and_writes_the_pdf(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    pdf = tmp_path / "from-the-editor.pdf"
    task = window.export_pdf(pdf)
    assert window.cancel_button.isVisibleTo(window)
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        pass
    _idle(window, qtbot)
    assert pdf.read_bytes().startswith(b"%PDF") and "done" in window.message.text()


def test_a_background_analysis_can_be_cancelled(tmp_path: Path, qtbot: QtBot) -> None:
    photos = demo_subset(
        tmp_path / "photos",
        "maxinception__dog.jpg",
        "maxscene__paris.jpg",
        "maxemotion__group.jpeg",
        "rekog__image-2-women-on-phones.jpg",
        "exifpy__HMD_Nokia_8.3_5G.jpg",
    )
    book = tmp_path / "fresh.mbook"
    run_cli("import", str(book), str(photos))
    window = MainWindow(book, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    _idle(window, qtbot)
    task = window.analyse()
    with qtbot.waitSignal(task.cancelled, timeout=WAIT_MS):
        window.cancel_task()
    _idle(window, qtbot)
    assert "cancelled" in window.message.text()
    with Project.open(book) as project:
        assert project.integrity_ok()
        analysed = project.db.execute("SELECT count(DISTINCT photo_id) FROM analysis").fetchone()[0]
    assert analysed < 5, "the analysis stopped before the end"
    window.thumbnails.close()


def test_photos_dropped_on_the_window_are_imported(tmp_path: Path, qtbot: QtBot) -> None:
    photos = demo_subset(tmp_path / "photos", "maxinception__dog.jpg", "maxscene__paris.jpg")
    book = tmp_path / "dropped.mbook"
    run_cli("import", str(book), str(photos / "maxinception__dog.jpg"))
    window = MainWindow(book, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    _idle(window, qtbot)
    assert window.model.rowCount() == 1
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photos))])  # a folder, as a file manager drags it
    window.dropEvent(
        QDropEvent(
            QPointF(10, 10),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    )
    _idle(window, qtbot)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT_MS)
    window.thumbnails.close()


def _slot_centre(window: MainWindow, position: int, slot: int = 0) -> QPointF:
    window.spread.show_page(position)
    page = next(p for p in window.spread._pages_here() if p.position == position)
    scale, spine_x, top = window.spread._frame()
    photo = next(p for p in page.photos if p.slot == slot)
    rect = window.spread._to_widget(photo.rect, window.spread._page_origin(page, spine_x, scale), top, scale)
    return QPointF(rect.center())


def _act(window: MainWindow, qtbot: QtBot, point: QPointF, starts: str, submenu: str | None = None) -> None:
    menu = window.spread.menu_for(point)
    assert menu is not None
    actions = menu.actions()
    if submenu is not None:
        sub = next(a for a in actions if a.text() == submenu).menu()
        assert isinstance(sub, QMenu)
        actions = sub.actions()
    next(a for a in actions if a.text().startswith(starts)).trigger()
    _idle(window, qtbot)


def test_the_page_menu_locks_changes_templates_removes_and_drags_swap(
    window: MainWindow, qtbot: QtBot
) -> None:
    _act(window, qtbot, _slot_centre(window, 4), "Lock the page")
    _act(window, qtbot, _slot_centre(window, 6), "Keep this photo here")
    _act(window, qtbot, _slot_centre(window, 8), "1-full-bleed", submenu="Page template")
    with Project.open(window.book) as project:
        pages = BookStore(project).pages()
        assert pages[4].locked and pages[6].fills[0].locked and pages[8].template == "1-full-bleed"
    # A photo dragged from page 10 onto page 9 swaps the two.
    window.spread.show_page(10)
    ten = window.spread.photo_in(10, 0)
    window.spread.show_page(9)
    nine = window.spread.photo_in(9, 0)
    assert nine and ten
    mime = QMimeData()
    mime.setData(PHOTO_MIME, QByteArray(ten.encode()))
    window.spread.dropEvent(
        QDropEvent(
            _slot_centre(window, 9),
            Qt.DropAction.MoveAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    )
    _idle(window, qtbot)
    window.spread.show_page(9)
    assert window.spread.photo_in(9, 0) == ten
    window.spread.show_page(10)
    assert window.spread.photo_in(10, 0) == nine
    _act(window, qtbot, _slot_centre(window, 10), "Take this photo out")
    assert nine not in {p.sha256 for page in window.overview.book.pages for p in page.photos}  # type: ignore[union-attr]
    assert not window.model.photo(next(r for r in range(16) if window.model.photo(r).sha256 == nine)).placed


def test_a_caption_edited_in_the_panel_stays_through_a_new_suggestion(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.filter_bar.search.setText("maxinception__dog")
    window.library.setCurrentIndex(window.filtered.index(0, 0))
    panel = window.caption
    dog = window.filtered.index(0, 0).data(ROW)
    assert panel.target == f"photo:{dog.photo_id}"
    panel.editor.setPlainText("  Biscuit waits   for the ball ")
    panel.save_button.click()
    _idle(window, qtbot)
    assert (
        panel.editor.toPlainText() == "Biscuit waits for the ball" and panel.source.text() == "Your own text"
    )
    qtbot.waitUntil(lambda: panel.history.count() > 0, timeout=WAIT_MS)
    assert "edited: Biscuit waits for the ball" in panel.history.item(panel.history.count() - 1).text()
    streamed: list[str] = []
    task = window.suggest_caption(panel.target)
    task.progress.connect(lambda _d, _t, text: streamed.append(text))
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        pass
    _idle(window, qtbot)
    assert streamed and any(len(t.split()) >= 3 for t in streamed), "the suggestion streamed in"
    assert panel.editor.toPlainText() == "Biscuit waits for the ball", "a suggestion never replaces your text"
    assert panel.alternatives.count() >= 1
    rows = demo_rows(window.book)
    assert rows["maxinception__dog.jpg"]["caption"]["text"] == "Biscuit waits for the ball"
