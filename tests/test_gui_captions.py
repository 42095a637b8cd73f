"""The caption panel beyond one photo: the book's tone, the book's and the chapters' titles,
each suggested again (streamed), chosen from the alternatives, edited, undone, and found by
clicking them on the page. Real services, the analysed demo book and the real caption model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from mixbook_desktop.core.captions import Source, TextKind, Tone
from mixbook_desktop.services import catalog
from mixbook_desktop.services.captions import load_options
from mixbook_desktop.store.captions import CaptionStore, StoredSuggestion
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui.library import ROW
from mixbook_desktop.ui.main_window import MainWindow
from mixbook_desktop.ui.tasks import Task
from tests.gui_support import WAIT_MS, idle


def _caption(book: Path, target: str) -> dict[str, Any]:
    with Project.open(book) as project:
        return catalog.caption_view(project).get(target) or {}


def _suggested(book: Path, target: str) -> StoredSuggestion:
    with Project.open(book) as project:
        return CaptionStore(project).latest()[target]


def _streamed(task: Task, qtbot: QtBot, window: MainWindow) -> list[str]:
    """What the model wrote, piece by piece, until the suggestion is saved and shown."""
    streamed: list[str] = []
    task.progress.connect(lambda _done, _total, text: streamed.append(text))
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        pass
    idle(window, qtbot)
    return streamed


def _click_text(window: MainWindow, target: str) -> None:
    """A left click on the text box of `target` on the page it prints on, as a user clicks."""
    spread = window.spread
    assert window.overview is not None and window.overview.book is not None
    book = window.overview.book
    position = next(p.position for p in book.pages if any(t.target == target for t in p.texts))
    spread.show_page(position)
    page = next(p for p in spread._pages_here() if p.position == position)
    scale, spine_x, top = spread._frame()
    text = next(t for t in page.texts if t.target == target)
    rect = spread._to_widget(text.rect, spread._page_origin(page, spine_x, scale), top, scale)
    QTest.mouseClick(
        spread, Qt.MouseButton.LeftButton, pos=QPoint(int(rect.center().x()), int(rect.center().y()))
    )


def test_a_tone_chosen_is_the_books_and_the_photo_suggested_again_is_written_in_it(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    window.filter_bar.search.setText("maxinception__dog")
    window.library.setCurrentIndex(window.filtered.index(0, 0))
    panel = window.caption
    target = f"photo:{window.filtered.index(0, 0).data(ROW).photo_id}"
    assert panel.target == target and panel.tone.currentData() == Tone.NEUTRAL.value
    panel.tone.setCurrentIndex(panel.tone.findData(Tone.PLAYFUL.value))
    # At once, as a user who picks a tone and presses Suggest again: the tone is saved first.
    streamed = _streamed(window.suggest_caption(target), qtbot, window)
    assert streamed and any(len(t.split()) >= 3 for t in streamed), "the suggestion streamed in"
    with Project.open(window.book) as project:
        assert load_options(project).tone is Tone.PLAYFUL, "the tone is kept with the book"
    assert _suggested(window.book, target).tone is Tone.PLAYFUL
    assert panel.tone.currentData() == Tone.PLAYFUL.value and panel.target == target
    assert "playful tone" in panel.source.text()
    assert panel.editor.toPlainText() == _caption(window.book, target)["text"]
    # The tone was an edit like any other.
    assert window.undo_action.text() == "&Undo Caption tone playful"
    window.undo_action.trigger()
    idle(window, qtbot)
    with Project.open(window.book) as project:
        assert load_options(project).tone is Tone.NEUTRAL
    assert panel.tone.currentData() == Tone.NEUTRAL.value


def test_the_book_title_is_edited_in_the_panel_saved_and_undone(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    panel = window.caption
    window.side.setCurrentWidget(window.details)
    _click_text(window, "book")  # the title on the cover
    assert panel.target == "book" and window.side.currentWidget() is panel
    assert panel.chooser.currentText() == "Book title: The Demo Book"
    assert panel.editor.toPlainText() == "The Demo Book" and panel.source.text() == "Your own text"
    qtbot.waitUntil(lambda: panel.history.count() > 0, timeout=WAIT_MS)
    panel.editor.setPlainText("  Summers   by the Sea ")
    panel.save_button.click()
    idle(window, qtbot)
    assert _caption(window.book, "book")["text"] == "Summers by the Sea"
    assert panel.target == "book", "the reload after the edit leaves the title in view"
    assert panel.chooser.currentText() == "Book title: Summers by the Sea"
    assert panel.editor.toPlainText() == "Summers by the Sea"
    qtbot.waitUntil(
        lambda: (
            panel.history.count() > 0
            and "edited: Summers by the Sea" in panel.history.item(panel.history.count() - 1).text()
        ),
        timeout=WAIT_MS,
    )
    cover = next(p for p in window.overview.book.pages if p.position == 0)  # type: ignore[union-attr]
    assert [t.text for t in cover.texts if t.target == "book"] == ["Summers by the Sea"]

    assert window.undo_action.text() == "&Undo Caption edit"
    window.undo_action.trigger()
    idle(window, qtbot)
    assert _caption(window.book, "book")["text"] == "The Demo Book"
    assert panel.target == "book" and panel.editor.toPlainText() == "The Demo Book"


def test_a_chapter_title_suggested_again_streams_and_one_of_its_alternatives_is_used(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    panel = window.caption
    titles = window.overview.titles  # type: ignore[union-attr]
    assert [label for _t, label, _c in titles][:3] == [
        "Book title",
        "Chapter 1, 2008-08-01",
        "Chapter 2, 2015-04-10",
    ]
    assert panel.chooser.count() == 1 + len(titles) == 1 + 1 + 5
    chapter = titles[2][0]
    _click_text(window, chapter)  # its title on the page the chapter opens with
    assert panel.target == chapter and panel.chooser.currentText() == "Chapter 2, 2015-04-10 (none yet)"
    assert panel.editor.toPlainText() == "" and panel.alternatives.count() == 0
    panel.suggest_button.click()
    assert panel.streaming.text() == "writing..."
    task = window.task
    assert task is not None and task.name == "Suggesting a caption"
    streamed = _streamed(task, qtbot, window)
    assert streamed, "the title streamed in as the model wrote it"
    suggestion = _suggested(window.book, chapter)
    assert suggestion.kind is TextKind.CHAPTER_TITLE and suggestion.tone is Tone.NEUTRAL
    assert panel.target == chapter and panel.editor.toPlainText() == suggestion.text
    shown = [panel.alternatives.item(n).text() for n in range(panel.alternatives.count())]
    assert shown == [a for a in suggestion.alternatives if a != suggestion.text]
    assert shown, "alternatives to choose from"
    panel.alternatives.itemDoubleClicked.emit(panel.alternatives.item(0))
    idle(window, qtbot)
    used = _caption(window.book, chapter)
    assert used["text"] == shown[0] and used["source"] == Source.MODEL.value
    assert panel.editor.toPlainText() == shown[0]
    assert panel.chooser.currentText() == f"Chapter 2, 2015-04-10: {shown[0]}"
    assert suggestion.text in [panel.alternatives.item(n).text() for n in range(panel.alternatives.count())]
    assert window.undo_action.text() == "&Undo Use a suggestion"


def test_a_title_of_the_users_is_never_replaced_by_a_new_suggestion(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    panel = window.caption
    chapter = window.overview.titles[3][0]  # type: ignore[union-attr]
    panel.chooser.setCurrentIndex(panel.chooser.findData(chapter))
    assert panel.target == chapter
    panel.editor.setPlainText("Paris in April")
    panel.save_button.click()
    idle(window, qtbot)
    streamed = _streamed(window.suggest_caption(chapter), qtbot, window)
    assert streamed
    suggestion = _suggested(window.book, chapter)
    assert suggestion.text != "Paris in April"
    kept = _caption(window.book, chapter)
    assert kept["text"] == "Paris in April" and kept["source"] == Source.USER.value
    assert panel.editor.toPlainText() == "Paris in April" and panel.source.text() == "Your own text"
    shown = [panel.alternatives.item(n).text() for n in range(panel.alternatives.count())]
    assert suggestion.text in shown, "the new suggestion is offered beside the user's title"
    # Suggesting every text of the book keeps it too.
    window.suggest_captions()
    idle(window, qtbot)
    assert _caption(window.book, chapter)["text"] == "Paris in April"
    assert panel.target == chapter and panel.editor.toPlainText() == "Paris in April"
