"""The People panel on the real services and the analysed demo book: names, merges by drag and
drop, splits, hiding, and undo, seen in the panel, the library's filter, the details and the
project file."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QModelIndex, QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QMenu
from pytestqt.qtbot import QtBot

from mixbook_desktop.services import people
from mixbook_desktop.services.people import PersonSummary
from mixbook_desktop.store.people import PeopleStore
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui.library import ROW
from mixbook_desktop.ui.main_window import MainWindow
from mixbook_desktop.ui.people_panel import PERSON_MIME, PeoplePanel
from tests.analysis_support import demo_rows
from tests.gui_support import WAIT_MS, entry, idle


def _saved(editor: MainWindow) -> dict[int, PersonSummary]:
    with Project.open(editor.book) as project:
        return {p.id: p for p in people.listing(project)}


def _index(panel: PeoplePanel, person_id: int) -> QModelIndex:
    row = panel.people_model.row_of(person_id)
    assert row is not None, f"person {person_id} is not in the list"
    return panel.people_model.index(row)


def _choose(editor: MainWindow, person_id: int) -> None:
    editor.side.setCurrentWidget(editor.people_panel)
    editor.people_panel.people.setCurrentIndex(_index(editor.people_panel, person_id))


def _library(editor: MainWindow) -> set[str]:
    return {editor.filtered.index(r, 0).data() for r in range(editor.filtered.rowCount())}


def _photos_of(editor: MainWindow, *person_ids: int) -> set[str]:
    return {
        name
        for name, row in demo_rows(editor.book).items()
        if any(f.get("person") in person_ids for f in row.get("faces") or [])
    }


def _in_filter(editor: MainWindow) -> dict[int, str]:
    combo = editor.filter_bar.person
    return {combo.itemData(n): combo.itemText(n) for n in range(1, combo.count())}


def _two_in_different_photos(editor: MainWindow) -> tuple[int, int]:
    shown = [
        editor.people_panel.people_model.person(r) for r in range(editor.people_panel.people_model.rowCount())
    ]
    first = shown[0]
    other = next(
        p for p in shown[1:] if {f.sha256 for f in p.faces}.isdisjoint({f.sha256 for f in first.faces})
    )
    return first.id, other.id


def _drop(panel: PeoplePanel, dragged: int, onto: int) -> tuple[QDropEvent, QMimeData]:
    """The drop, after a move over the person, with its data (which the event does not own)."""
    mime = panel.people_model.mimeData([_index(panel, dragged)])
    at = QPointF(panel.people.visualRect(_index(panel, onto)).center())
    move = QDragMoveEvent(
        at.toPoint(),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    panel.people.dragMoveEvent(move)
    assert move.isAccepted(), "a person may be dropped on another"
    assert panel.people_model.drop_target == _index(panel, onto).row(), "the one dropped on is marked"
    drop = QDropEvent(
        at, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    return drop, mime


def act(menu: QMenu | None, starts: str, submenu: str | None = None) -> None:
    action = entry(menu, starts, submenu)
    assert action.isEnabled()
    action.trigger()


def test_every_person_is_listed_with_a_face_and_choosing_one_filters_the_library(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    panel = window.people_panel
    saved = _saved(window)
    assert panel.people_model.rowCount() == len([p for p in saved.values() if not p.hidden]) > 1
    person = panel.people_model.person(0)
    assert person.id == next(iter(saved)) and len(person.faces) == len(saved[person.id].faces)
    assert f"{len(person.faces)} face" in _index(panel, person.id).data()
    # The portrait is cut out of the photo's thumbnail once the thumbnail is in.
    portrait = person.portrait
    assert portrait is not None
    qtbot.waitUntil(lambda: window.thumbnails.pixmap(portrait.sha256) is not None, timeout=WAIT_MS)
    icon = _index(panel, person.id).data(Qt.ItemDataRole.DecorationRole)
    assert icon.width() == icon.height() > 0 and not icon.toImage().allGray()
    _choose(window, person.id)
    assert window.filter_bar.person.currentData() == person.id
    assert _library(window) == _photos_of(window, person.id)
    assert panel.face_model.rowCount() == len(person.faces)
    # And the other way: the person chosen in the filter bar is shown in the panel.
    other = panel.people_model.person(1).id
    combo = window.filter_bar.person
    combo.setCurrentIndex(combo.findData(other))
    chosen = panel.chosen()
    assert chosen is not None and chosen.id == other


def test_a_person_named_in_place_is_named_everywhere(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    panel = window.people_panel
    person = panel.people_model.person(0).id
    _choose(window, person)
    window.library.setCurrentIndex(window.filtered.index(0, 0))
    photo = window.library.currentIndex().data(ROW)
    assert person in photo.people
    window.side.setCurrentWidget(panel)
    panel.people.edit(_index(panel, person))
    editor = panel.people.viewport().findChild(QLineEdit)
    assert isinstance(editor, QLineEdit) and editor.text() == "", "no name yet"
    assert editor.placeholderText() == f"Person {person}"
    QTest.keyClicks(editor, "  Ada   Lovelace ")
    # The book read again while the name is typed (the caption's history, another edit's
    # reload): the typing is kept.
    window.reload()
    idle(window, qtbot)
    assert panel.people.viewport().findChild(QLineEdit) is editor and editor.text() == "  Ada   Lovelace "
    # Qt saves an edit a moment after Return.
    with qtbot.waitSignal(panel.renameRequested, timeout=WAIT_MS):
        QTest.keyClick(editor, Qt.Key.Key_Return)
    idle(window, qtbot)
    assert _saved(window)[person].name == "Ada Lovelace"
    assert _in_filter(window)[person] == "Ada Lovelace"
    assert window.filter_bar.person.currentData() == person, "the filter stays on the person"
    assert "Ada Lovelace" in window.details.toPlainText(), "the details of their photo say who it is"
    assert window.side.currentWidget() is panel, "the reload leaves the user in the People panel"
    assert _index(panel, person).data().startswith("Ada Lovelace\n")
    assert window.undo_action.text() == "&Undo Name a person"


def test_a_person_dragged_onto_another_is_merged_into_them(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    panel = window.people_panel
    dragged, onto = _two_in_different_photos(window)
    before = _saved(window)
    union = _photos_of(window, dragged, onto)
    assert len(union) > len(_photos_of(window, onto))
    window.side.setCurrentWidget(panel)
    drop, _mime = _drop(panel, dragged, onto)
    panel.people.dropEvent(drop)
    assert drop.isAccepted()
    idle(window, qtbot)
    after = _saved(window)
    assert dragged not in after
    assert len(after[onto].faces) == len(before[onto].faces) + len(before[dragged].faces)
    assert panel.people_model.row_of(dragged) is None
    merged = panel.chosen()
    assert merged is not None and merged.id == onto, "the person dropped on is shown"
    assert len(merged.faces) == panel.face_model.rowCount() == len(after[onto].faces)
    assert f"{len(merged.faces)} faces" in _index(panel, onto).data()
    assert dragged not in _in_filter(window)
    assert window.filter_bar.person.currentData() == onto
    assert _library(window) == union == _photos_of(window, onto)
    # Dropping a person on themselves asks nothing.
    mime = panel.people_model.mimeData([_index(panel, onto)])
    itself = QDropEvent(
        QPointF(panel.people.visualRect(_index(panel, onto)).center()),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    asked: list[tuple[int, int]] = []
    panel.mergeRequested.connect(lambda a, b: asked.append((a, b)))
    panel.people.dropEvent(itself)
    assert not itself.isAccepted() and not asked
    assert mime.hasFormat(PERSON_MIME)


def test_a_face_split_off_becomes_a_person_of_its_own(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    panel = window.people_panel
    a, b = _two_in_different_photos(window)
    window.merge_people(a, b)
    idle(window, qtbot)
    _choose(window, b)
    assert panel.face_model.rowCount() == 2
    face = panel.face_model.face(0)
    act(panel.menu_for_face(panel.faces.visualRect(panel.face_model.index(0)).center()), "Split off")
    idle(window, qtbot)
    saved = _saved(window)
    [new] = [p for p in saved.values() if any(f["id"] == face.id for f in p.faces)]
    assert new.id not in (a, b) and len(new.faces) == 1
    assert len(saved[b].faces) == 1
    with Project.open(window.book) as project:
        assert (face.id, b) in PeopleStore(project).rejections(), "never offered to the old person again"
    assert panel.people_model.row_of(new.id) is not None and new.id in _in_filter(window)
    chosen = panel.chosen()
    assert chosen is not None and chosen.id == b and panel.face_model.rowCount() == 1
    # One face left: splitting it off would make the same person again, so it is not offered.
    menu = panel.menu_for_face(panel.faces.visualRect(panel.face_model.index(0)).center())
    assert menu is not None
    assert not next(a for a in menu.actions() if a.text().startswith("Split off")).isEnabled()


def test_a_hidden_person_leaves_the_filter_and_can_be_shown_again(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    panel = window.people_panel
    person = panel.people_model.person(0).id
    _choose(window, person)
    act(panel.menu_for_person(panel.people.visualRect(_index(panel, person)).center()), "Hide")
    idle(window, qtbot)
    assert _saved(window)[person].hidden
    assert person not in _in_filter(window) and window.filter_bar.person.currentData() is None
    assert panel.people_model.row_of(person) is None
    panel.show_hidden.setChecked(True)
    index = _index(panel, person)
    assert "(hidden)" in index.data()
    assert index.data(Qt.ItemDataRole.ForegroundRole) is not None, "shown greyed"
    panel.people.setCurrentIndex(index)
    assert panel.hide_button.text() == "Show again"
    assert window.filter_bar.person.currentData() is None, "a hidden person is not a filter"
    panel.hide_button.click()
    idle(window, qtbot)
    assert not _saved(window)[person].hidden and person in _in_filter(window)
    assert "(hidden)" not in _index(panel, person).data()


def test_a_merge_from_the_menu_is_undone(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    panel = window.people_panel
    a, b = _two_in_different_photos(window)
    before = _saved(window)
    label = panel.people_model.person(_index(panel, b).row()).label
    # From the keyboard: the menu key opens the menu of the person chosen.
    _choose(window, a)
    asked: list[QPoint] = []
    panel.people.menuAsked.disconnect()  # the menu is shown here, not run modally
    panel.people.menuAsked.connect(asked.append)
    corner = QPoint(0, 0)
    panel.people.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, corner, corner))
    [at] = asked
    assert panel.people.indexAt(at) == _index(panel, a)
    act(panel.menu_for_person(at), label, "Merge into")
    idle(window, qtbot)
    assert a not in _saved(window) and a not in _in_filter(window)
    assert window.undo_action.text() == "&Undo Merge two people"
    window.undo_action.trigger()
    idle(window, qtbot)
    after = _saved(window)
    assert {p: [f["id"] for f in s.faces] for p, s in after.items()} == {
        p: [f["id"] for f in s.faces] for p, s in before.items()
    }
    assert {a, b} <= set(_in_filter(window))
    assert len(panel.people_model.person(_index(panel, a).row()).faces) == len(before[a].faces)
    assert _photos_of(window, a) and _photos_of(window, a).isdisjoint(_photos_of(window, b))
