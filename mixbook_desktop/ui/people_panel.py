"""People: everyone the faces were grouped into, each shown by a face, and the faces of the one
chosen. The user names a person in place, drags one person onto another to merge them, splits a
face off into a person of its own, and hides or shows people again. Every change is the people
service's, run by the window as an undoable edit; this panel only shows and asks."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from mixbook_desktop.services.overview import FaceView, PersonView
from mixbook_desktop.ui.thumbnails import Thumbnails

PERSON_MIME = "application/x-mixbook-person"  # a dragged person: their id
PORTRAIT = 48
FACE = 72
# Room around the detected box, as a share of its size on each side: a box is tight on the
# features, and hair and chin are what make a face recognisable at icon size.
MARGIN = 0.4
# Crops kept; at 72 px a side some 20 KB each.
KEPT = 2000
HIDDEN_GREY = QColor("#8a8a8a")
DROP_TARGET = QColor("#cfe3ff")

Index = QModelIndex | QPersistentModelIndex


def crop_box(width: int, height: int, box: tuple[float, float, float, float]) -> QRect:
    """The square of the image around a face box (fractions of the image), with a margin,
    kept inside the image."""
    x, y, w, h = box
    side = max(w * width, h * height) * (1 + 2 * MARGIN)
    side = max(1.0, min(side, width, height))
    cx, cy = (x + w / 2) * width, (y + h / 2) * height
    left = min(max(cx - side / 2, 0.0), width - side)
    top = min(max(cy - side / 2, 0.0), height - side)
    return QRect(round(left), round(top), round(side), round(side))


class FaceCrops(QObject):
    """Faces cut out of the photos' thumbnails, made when a view first shows them. `ready`
    says a photo's thumbnail has arrived, so its faces can now be shown."""

    ready = Signal(str)  # the photo's SHA-256

    def __init__(self, thumbnails: Thumbnails, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._kept: OrderedDict[tuple[FaceView, int], QPixmap] = OrderedDict()
        self._placeholders: dict[int, QPixmap] = {}
        thumbnails.ready.connect(self.ready)

    def pixmap(self, face: FaceView | None, size: int) -> QPixmap:
        if face is None:
            return self._placeholder(size)
        key = (face, size)
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        photo = self._thumbnails.pixmap(face.sha256)
        if photo is None:
            return self._placeholder(size)  # `ready` comes when it is in
        crop = photo.copy(crop_box(photo.width(), photo.height(), face.box)).scaled(
            size,
            size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self._kept[key] = crop
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return crop

    def _placeholder(self, size: int) -> QPixmap:
        if size not in self._placeholders:
            blank = QPixmap(size, size)
            blank.fill(QColor("#e4e4e4"))
            self._placeholders[size] = blank
        return self._placeholders[size]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class PeopleModel(QAbstractListModel):
    """The people shown, each by their portrait. Editing a name asks for a rename."""

    renamed = Signal(int, str)  # person id, the new name ("" takes the name away)

    def __init__(self, crops: FaceCrops, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._people: list[PersonView] = []
        self._crops = crops
        self.drop_target: int | None = None  # the row a dragged person would merge into
        crops.ready.connect(self._photo_ready)

    def set_people(self, people: list[PersonView]) -> None:
        self.beginResetModel()
        self._people = people
        self.drop_target = None
        self.endResetModel()

    def person(self, row: int) -> PersonView:
        return self._people[row]

    def row_of(self, person_id: int) -> int | None:
        return next((n for n, p in enumerate(self._people) if p.id == person_id), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's own signature)
        return 0 if parent.isValid() else len(self._people)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        person = self._people[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            hidden = "  (hidden)" if person.hidden else ""
            faces = _plural(len(person.faces), "face")
            return f"{person.label}{hidden}\n{faces} in {_plural(person.photo_count, 'photo')}"
        if role == Qt.ItemDataRole.EditRole:
            return person.name or ""
        if role == Qt.ItemDataRole.DecorationRole:
            return self._crops.pixmap(person.portrait, PORTRAIT)
        if role == Qt.ItemDataRole.ForegroundRole and person.hidden:
            return QBrush(HIDDEN_GREY)
        if role == Qt.ItemDataRole.FontRole and person.hidden:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.BackgroundRole and index.row() == self.drop_target:
            return QBrush(DROP_TARGET)
        if role == Qt.ItemDataRole.ToolTipRole:
            return "Double-click to name; drag onto another person to merge the two"
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        person = self._people[index.row()]
        name = " ".join(str(value).split())
        if name == (person.name or ""):
            return False
        # Shown at once; the reload after the rename brings the name as saved.
        self._people[index.row()] = replace(person, name=name or None)
        self.dataChanged.emit(index, index)
        self.renamed.emit(person.id, name)
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base
        return (
            base | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
        )

    def mimeTypes(self) -> list[str]:
        return [PERSON_MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # type: ignore[override]
        mime = QMimeData()
        rows = [i.row() for i in indexes if i.isValid()]
        if rows:
            mime.setData(PERSON_MIME, QByteArray(str(self._people[rows[0]].id).encode()))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def set_drop_target(self, row: int | None) -> None:
        if row == self.drop_target:
            return
        changed = [r for r in (self.drop_target, row) if r is not None]
        self.drop_target = row
        for r in changed:
            self.dataChanged.emit(self.index(r), self.index(r), [Qt.ItemDataRole.BackgroundRole])

    def _photo_ready(self, sha256: str) -> None:
        for n, person in enumerate(self._people):
            portrait = person.portrait
            if portrait is not None and portrait.sha256 == sha256:
                self.dataChanged.emit(self.index(n), self.index(n), [Qt.ItemDataRole.DecorationRole])


class FaceModel(QAbstractListModel):
    """The faces of one person."""

    def __init__(self, crops: FaceCrops, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._faces: tuple[FaceView, ...] = ()
        self._crops = crops
        crops.ready.connect(self._photo_ready)

    def set_faces(self, faces: tuple[FaceView, ...]) -> None:
        self.beginResetModel()
        self._faces = faces
        self.endResetModel()

    def face(self, row: int) -> FaceView:
        return self._faces[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's own signature)
        return 0 if parent.isValid() else len(self._faces)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        face = self._faces[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._crops.pixmap(face, FACE)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{face.photo}\nRight-click to split this face off; double-click to show the photo"
        return None

    def _photo_ready(self, sha256: str) -> None:
        for n, face in enumerate(self._faces):
            if face.sha256 == sha256:
                self.dataChanged.emit(self.index(n), self.index(n), [Qt.ItemDataRole.DecorationRole])


class NameDelegate(QStyledItemDelegate):
    """Names are typed into a line showing who is being named."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        editor = super().createEditor(parent, option, index)
        model = index.model()
        if isinstance(editor, QLineEdit) and isinstance(model, PeopleModel):
            editor.setPlaceholderText(model.person(index.row()).label)
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        # Qt refreshes an open editor whenever its row changes at all (a portrait arriving):
        # what the user typed stays.
        if isinstance(editor, QLineEdit) and editor.isModified():
            return
        super().setEditorData(editor, index)


class MenuView(QListView):
    """A list that asks for the menu of an item: the one right-clicked, or the current one
    when the menu key is used."""

    menuAsked = Signal(QPoint)  # where, in the viewport

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        point = event.pos()
        if event.reason() == QContextMenuEvent.Reason.Keyboard and self.currentIndex().isValid():
            point = self.visualRect(self.currentIndex()).center()
        self.menuAsked.emit(point)


class PeopleView(MenuView):
    """The list of people; a person dropped on another asks for the two to be merged."""

    mergeRequested = Signal(int, int)  # the person dragged, the person dropped on

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIconSize(QSize(PORTRAIT, PORTRAIT))
        self.setSpacing(2)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.setItemDelegate(NameDelegate(self))
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        # The model marks the person under the drag; Qt's indicator would suggest a reorder.
        self.setDropIndicatorShown(False)

    def _model(self) -> PeopleModel:
        model = self.model()
        assert isinstance(model, PeopleModel)
        return model

    def _target(self, event: QDropEvent | QDragMoveEvent) -> tuple[int, int] | None:
        """(dragged person, person under the pointer) when that is a merge."""
        raw = bytes(event.mimeData().data(PERSON_MIME).data()).decode().strip()
        index = self.indexAt(event.position().toPoint())
        if not raw.isdigit() or not index.isValid():
            return None
        into = self._model().person(index.row()).id
        return (int(raw), into) if int(raw) != into else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(PERSON_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        target = self._target(event)
        self._model().set_drop_target(None if target is None else self._model().row_of(target[1]))
        if target is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._model().set_drop_target(None)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._model().set_drop_target(None)
        target = self._target(event)
        if target is None:
            event.ignore()
            return
        event.acceptProposedAction()
        # The person dropped on is the one the merged faces end up with: show them.
        row = self._model().row_of(target[1])
        if row is not None:
            self.setCurrentIndex(self._model().index(row))
        self.mergeRequested.emit(*target)


class PeoplePanel(QWidget):
    renameRequested = Signal(int, str)  # person id, the new name ("" takes the name away)
    mergeRequested = Signal(int, int)  # the person merged away, the person who gets their faces
    splitRequested = Signal(int)  # face id
    hideRequested = Signal(int, bool)  # person id, hidden
    personChosen = Signal(object)  # person id, or None
    photoRequested = Signal(str)  # a photo's SHA-256

    def __init__(self, thumbnails: Thumbnails, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._everyone: list[PersonView] = []
        self._filling = False
        self._stale = False  # people arrived while a name was being typed
        crops = FaceCrops(thumbnails, self)
        self.people_model = PeopleModel(crops, self)
        self.people_model.renamed.connect(self._renamed)
        self.people = PeopleView()
        self.people.setModel(self.people_model)
        self.people.itemDelegate().closeEditor.connect(self._editor_closed)
        self.people.mergeRequested.connect(self.mergeRequested)
        self.people.selectionModel().currentChanged.connect(self._current_changed)
        self.people.menuAsked.connect(lambda at: self._pop_up(self.people, self.menu_for_person(at), at))
        self.face_model = FaceModel(crops, self)
        self.faces = MenuView()
        self.faces.setModel(self.face_model)
        self.faces.setViewMode(QListView.ViewMode.IconMode)
        self.faces.setIconSize(QSize(FACE, FACE))
        self.faces.setGridSize(QSize(FACE + 10, FACE + 10))
        self.faces.setResizeMode(QListView.ResizeMode.Adjust)
        self.faces.setMovement(QListView.Movement.Static)
        self.faces.setUniformItemSizes(True)
        self.faces.doubleClicked.connect(lambda index: self.photoRequested.emit(self._face(index).sha256))
        self.faces.menuAsked.connect(lambda at: self._pop_up(self.faces, self.menu_for_face(at), at))
        self.show_hidden = QCheckBox("Show hidden people")
        self.show_hidden.toggled.connect(lambda _on: self._fill())
        self.hint = QLabel("Drag a person onto another to merge them. Double-click a name to change it.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #555")
        self.rename_button = QPushButton("Name...")
        self.rename_button.clicked.connect(self.rename_chosen)
        self.hide_button = QPushButton("Hide")
        self.hide_button.clicked.connect(self._toggle_hidden)
        self.faces_title = QLabel()
        buttons = QHBoxLayout()
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.hide_button)
        buttons.addStretch(1)
        buttons.addWidget(self.show_hidden)
        rows = QVBoxLayout(self)
        rows.addWidget(self.hint)
        rows.addWidget(self.people, 3)
        rows.addLayout(buttons)
        rows.addWidget(self.faces_title)
        rows.addWidget(self.faces, 2)
        self._show_chosen()

    # What is shown.

    def set_people(self, people: list[PersonView]) -> None:
        """Everyone, hidden too; the person chosen stays chosen while they exist."""
        self._everyone = people
        self._fill()

    def _fill(self) -> None:
        if self.people.state() == QAbstractItemView.State.EditingState:
            # A new list would close the editor and lose what is typed: it waits.
            self._stale = True
            return
        chosen = self.chosen()
        shown = [p for p in self._everyone if self.show_hidden.isChecked() or not p.hidden]
        self._filling = True
        try:
            self.people_model.set_people(shown)
            row = self.people_model.row_of(chosen.id) if chosen is not None else None
            if row is not None:
                self.people.setCurrentIndex(self.people_model.index(row))
        finally:
            self._filling = False
        self._show_chosen()

    def chosen(self) -> PersonView | None:
        index = self.people.currentIndex()
        if not index.isValid() or not self.people.selectionModel().isSelected(index):
            return None
        return self.people_model.person(index.row())

    def choose(self, person_id: int | None) -> None:
        """Show this person as chosen without asking anything of the window (it follows the
        library's person filter); None leaves the choice as it is."""
        row = self.people_model.row_of(person_id) if person_id is not None else None
        chosen = self.chosen()
        if row is None or (chosen is not None and chosen.id == person_id):
            return
        self._filling = True
        try:
            self.people.setCurrentIndex(self.people_model.index(row))
        finally:
            self._filling = False
        self._show_chosen()

    def _current_changed(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        if self._filling:
            return
        self._show_chosen()
        chosen = self.chosen()
        self.personChosen.emit(chosen.id if chosen is not None else None)

    def _show_chosen(self) -> None:
        chosen = self.chosen()
        self.face_model.set_faces(chosen.faces if chosen is not None else ())
        self.rename_button.setEnabled(chosen is not None)
        self.hide_button.setEnabled(chosen is not None)
        self.hide_button.setText("Show again" if chosen is not None and chosen.hidden else "Hide")
        if chosen is None:
            self.faces_title.setText("Choose a person to see their faces.")
        else:
            self.faces_title.setText(
                f"<b>{chosen.label}</b>: {_plural(len(chosen.faces), 'face')}"
                + (" (right-click one to split it off)" if len(chosen.faces) > 1 else "")
            )

    def _renamed(self, person_id: int, name: str) -> None:
        self._stale = False  # the rename is followed by a reload that brings everything
        self.renameRequested.emit(person_id, name)

    def _editor_closed(self, *_editor_and_hint: object) -> None:
        if self._stale:
            self._stale = False
            self._fill()

    def _face(self, index: QModelIndex) -> FaceView:
        return self.face_model.face(index.row())

    # What the user asks for.

    def rename_chosen(self) -> None:
        index = self.people.currentIndex()
        if index.isValid():
            self.people.edit(index)

    def _toggle_hidden(self) -> None:
        chosen = self.chosen()
        if chosen is not None:
            self.hideRequested.emit(chosen.id, not chosen.hidden)

    def menu_for_person(self, point: QPoint) -> QMenu | None:
        """What can be done with the person at `point` in the people list."""
        index = self.people.indexAt(point)
        if not index.isValid():
            return None
        person = self.people_model.person(index.row())
        menu = QMenu(self)
        menu.addAction("Name...").triggered.connect(lambda: self.people.edit(index))
        into = menu.addMenu("Merge into")
        others = [p for p in self._everyone if p.id != person.id and not p.hidden]
        for other in others:
            action = QAction(f"{other.label} ({_plural(len(other.faces), 'face')})", into)
            action.triggered.connect(self._merger(person.id, other.id))
            into.addAction(action)
        into.setEnabled(bool(others))
        menu.addAction("Show again" if person.hidden else "Hide").triggered.connect(
            lambda: self.hideRequested.emit(person.id, not person.hidden)
        )
        return menu

    def _merger(self, from_id: int, into_id: int) -> Callable[..., None]:
        return lambda *_checked: self.mergeRequested.emit(from_id, into_id)

    def menu_for_face(self, point: QPoint) -> QMenu | None:
        """What can be done with the face at `point` in the faces grid."""
        index = self.faces.indexAt(point)
        if not index.isValid():
            return None
        face = self._face(index)
        menu = QMenu(self)
        split = menu.addAction("Split off into a new person")
        split.triggered.connect(lambda: self.splitRequested.emit(face.id))
        # The only face of a person is that person already.
        split.setEnabled(self.face_model.rowCount() > 1)
        menu.addAction(f"Show {face.photo or 'the photo'}").triggered.connect(
            lambda: self.photoRequested.emit(face.sha256)
        )
        return menu

    @staticmethod
    def _pop_up(view: QListView, menu: QMenu | None, point: QPoint) -> None:
        if menu is not None:
            menu.exec(view.viewport().mapToGlobal(point))
            menu.deleteLater()
