"""The editor on the real services and the analysed demo book, through pytest-qt."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QByteArray, QDate, QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from mixbook_desktop.store.book import BookStore
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui.library import PHOTO_MIME, ROW
from mixbook_desktop.ui.main_window import MainWindow
from tests.analysis_support import demo_rows
from tests.conftest import DEMO_PHOTOS, demo_subset, run_cli
from tests.gui_support import WAIT_MS, act, idle, slot_centre


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
    idle(window, qtbot)
    with Project.open(window.book) as project:
        fill = BookStore(project).pages()[2].fills[0]
        ids = {sha: pid for sha, pid in project.db.execute("SELECT sha256, id FROM photos").fetchall()}
    assert fill.photo_id == ids[dog] and fill.locked


def test_export_runs_in_the_background_and_writes_the_pdf(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    pdf = tmp_path / "from-the-editor.pdf"
    window.export_pdf(pdf)
    assert window.cancel_button.isVisibleTo(window)
    idle(window, qtbot)
    assert pdf.read_bytes().startswith(b"%PDF") and "done" in window.message.text()


def test_an_analysis_cancelled_midway_keeps_what_it_did_and_shows_it(tmp_path: Path, qtbot: QtBot) -> None:
    names = sorted(p.name for p in DEMO_PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    photos = demo_subset(tmp_path / "photos", *names)
    # Three times the demo, each copy a file of its own, so that the analysis outlasts the cancel.
    for n in (1, 2):
        for name in names:
            with Image.open(photos / name) as image:
                copy = image.convert("RGB")
            copy.paste((n * 90, 40, 200), (0, 0, 24, 24))
            copy.save(photos / f"copy{n}-{Path(name).stem}.jpg", quality=90)
    total = 3 * len(names)
    book = tmp_path / "fresh.mbook"
    run_cli("import", str(book), str(photos))
    window = MainWindow(book, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    idle(window, qtbot)
    task = window.analyse()
    assert window.cancel_button.isVisibleTo(window)
    stopped: list[str] = []

    def at_first_photo(_done: int, _total: int, _text: str) -> None:
        # Cancel as the first photo is saved (the click a user makes while it works).
        if not stopped:
            stopped.append("asked")
            window.cancel_task()

    task.progress.connect(at_first_photo)
    idle(window, qtbot)
    assert stopped == ["asked"] and window.message.text() == "Analysing: cancelled"
    with Project.open(book) as project:
        assert project.integrity_ok()
        analysed = project.db.execute("SELECT count(DISTINCT photo_id) FROM analysis").fetchone()[0]
    assert 1 <= analysed < total, "stopped midway, with the photos done before kept"
    # The window read the book again after the cancel: the analysed photos have descriptions.
    described = [
        window.model.photo(n) for n in range(window.model.rowCount()) if window.model.photo(n).description
    ]
    assert len(described) >= 1
    window.thumbnails.close()


def test_typing_survives_a_reload_and_closing_saves_what_is_queued(window: MainWindow, qtbot: QtBot) -> None:
    window.filter_bar.search.setText("maxscene__paris")
    window.library.setCurrentIndex(window.filtered.index(0, 0))
    panel = window.caption
    target = panel.target
    panel.editor.setPlainText("Half a thought")
    panel.editor.document().setModified(True)  # as typing does
    window.lock(4, -1, True)  # some other change, and the reload after it
    idle(window, qtbot)
    assert panel.target == target and panel.editor.toPlainText() == "Half a thought"
    assert window.library.currentIndex().data(ROW).name == "maxscene__paris.jpg", "the selection stays"
    # Typed on while a long task runs, then the window closed before the autosave: the text is
    # saved on the way out.
    slow = window.job("Waiting", lambda _project, control: control.cancel.wait(1.0), cancellable=True)
    panel.editor.setPlainText("Paris, kept on close")
    panel.editor.document().setModified(True)
    asked: list[str] = []

    def confirm(running: str) -> bool:
        asked.append(running)
        return True

    window.confirm_close = confirm  # type: ignore[method-assign]
    window.close()
    assert asked == ["Waiting"]
    assert slow.cancellable and not window.isVisible()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert demo_rows(window.book)["maxscene__paris.jpg"]["caption"]["text"] == "Paris, kept on close"


def test_photos_dropped_on_the_window_are_imported(tmp_path: Path, qtbot: QtBot) -> None:
    photos = demo_subset(tmp_path / "photos", "maxinception__dog.jpg", "maxscene__paris.jpg")
    book = tmp_path / "dropped.mbook"
    run_cli("import", str(book), str(photos / "maxinception__dog.jpg"))
    window = MainWindow(book, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    idle(window, qtbot)
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
    idle(window, qtbot)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT_MS)
    window.thumbnails.close()


def test_the_page_menu_locks_changes_templates_removes_and_drags_swap(
    window: MainWindow, qtbot: QtBot
) -> None:
    act(window, qtbot, slot_centre(window, 4), "Lock the page")
    act(window, qtbot, slot_centre(window, 6), "Keep this photo here")
    act(window, qtbot, slot_centre(window, 8), "1-full-bleed", submenu="Page template")
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
            slot_centre(window, 9),
            Qt.DropAction.MoveAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    )
    idle(window, qtbot)
    window.spread.show_page(9)
    assert window.spread.photo_in(9, 0) == ten
    window.spread.show_page(10)
    assert window.spread.photo_in(10, 0) == nine
    act(window, qtbot, slot_centre(window, 10), "Take this photo out")
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
    idle(window, qtbot)
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
    idle(window, qtbot)
    assert streamed and any(len(t.split()) >= 3 for t in streamed), "the suggestion streamed in"
    assert panel.editor.toPlainText() == "Biscuit waits for the ball", "a suggestion never replaces your text"
    assert panel.alternatives.count() >= 1
    rows = demo_rows(window.book)
    assert rows["maxinception__dog.jpg"]["caption"]["text"] == "Biscuit waits for the ball"


def test_the_editor_refuses_a_file_that_is_not_a_book(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mbook"
    fake.write_text("not a book")
    done = run_cli(
        "gui", str(fake), "--screenshots", str(tmp_path / "shots"), "--quit", check=False, timeout=60
    )
    assert done.returncode == 1 and "not a mixbook project" in done.stderr and "Traceback" not in done.stderr


def test_a_caption_edit_and_a_placement_are_undone_and_redone(window: MainWindow, qtbot: QtBot) -> None:
    window.filter_bar.search.setText("maxscene__paris")
    window.library.setCurrentIndex(window.filtered.index(0, 0))
    panel = window.caption
    before = panel.editor.toPlainText()
    panel.editor.setPlainText("Paris in the rain")
    panel.save_button.click()
    idle(window, qtbot)
    dog = demo_rows(window.book)["maxinception__dog.jpg"]["sha256"]
    window.spread.show_page(2)
    was_there = window.spread.photo_in(2, 0)
    assert was_there != dog
    window.place_photo(2, 0, dog)
    idle(window, qtbot)
    assert window.undo_stack.count() == 2 and window.undo_action.text() == "&Undo Place a photo on page 2"

    window.undo_action.trigger()  # the placement
    idle(window, qtbot)
    window.spread.show_page(2)
    assert window.spread.photo_in(2, 0) == was_there
    with Project.open(window.book) as project:
        assert not BookStore(project).pages()[2].fills[0].locked, "the lock the placement made is gone too"
    window.undo_action.trigger()  # the caption
    idle(window, qtbot)
    assert panel.editor.toPlainText() == before and panel.source.text() != "Your own text"
    assert (demo_rows(window.book)["maxscene__paris.jpg"]["caption"] or {}).get("text", "") == before
    qtbot.waitUntil(lambda: panel.history.count() > 0, timeout=WAIT_MS)
    assert panel.history.item(panel.history.count() - 1).text().split("  ", 1)[1].startswith("undo")

    window.redo_action.trigger()
    idle(window, qtbot)
    assert panel.editor.toPlainText() == "Paris in the rain"
    window.redo_action.trigger()
    idle(window, qtbot)
    window.spread.show_page(2)
    assert window.spread.photo_in(2, 0) == dog and not window.undo_stack.canRedo()


def test_filters_by_tag_chapter_and_dates(window: MainWindow, qtbot: QtBot) -> None:
    bar = window.filter_bar
    photos = [window.model.photo(r) for r in range(window.model.rowCount())]

    def shown() -> set[str]:
        return {window.filtered.index(r, 0).data() for r in range(window.filtered.rowCount())}

    tag = bar.tag.itemData(1)
    bar.tag.setCurrentIndex(1)
    assert shown() == {p.name for p in photos if tag in p.tags} and shown()
    bar.tag.setCurrentIndex(0)
    assert bar.chapter.count() == 1 + len(window.overview.chapters)  # type: ignore[union-attr]
    key = bar.chapter.itemData(1)
    bar.chapter.setCurrentIndex(1)
    assert shown() == {p.name for p in photos if p.chapter == key} and 0 < len(shown()) < 16
    bar.chapter.setCurrentIndex(0)
    dated = sorted(p.taken_at[:10] for p in photos if p.taken_at)
    assert (bar.since.date().toString("yyyy-MM-dd"), bar.until.date().toString("yyyy-MM-dd")) == (
        dated[0],
        dated[-1],
    ), "the range offered is the photos' own"
    bar.since.setDate(QDate.fromString(dated[0], "yyyy-MM-dd"))
    bar.until.setDate(QDate.fromString(dated[0], "yyyy-MM-dd"))
    assert len(shown()) == 16, "the range applies only once it is switched on"
    bar.dated.setChecked(True)
    assert shown() == {p.name for p in photos if p.taken_at and p.taken_at[:10] == dated[0]}
    bar.tag.setCurrentIndex(1)
    chosen = bar.tag.currentData()
    window.reload()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert bar.tag.currentData() == chosen and bar.dated.isChecked(), "a reload keeps the filters"


def test_undo_pressed_before_an_edit_is_saved_undoes_that_edit(window: MainWindow, qtbot: QtBot) -> None:
    dog = demo_rows(window.book)["maxinception__dog.jpg"]["sha256"]
    window.lock(4, -1, True)
    idle(window, qtbot)
    window.spread.show_page(2)
    was_there = window.spread.photo_in(2, 0)
    window.place_photo(2, 0, dog)
    window.undo_action.trigger()  # at once: the placement is still waiting to be saved
    idle(window, qtbot)
    with Project.open(window.book) as project:
        pages = BookStore(project).pages()
    window.spread.show_page(2)
    assert window.spread.photo_in(2, 0) == was_there, "the placement is undone"
    assert pages[4].locked, "the edit before it is not"
    assert window.undo_stack.canRedo() and window.undo_stack.canUndo()
