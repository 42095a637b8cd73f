"""The library: every photo of the book as a thumbnail grid, with filters.

The grid is a list view over a model; the view draws only the rows on screen, and asks for
their thumbnails, which arrive from the Thumbnails worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QListView, QWidget

from mixbook_desktop.ui.thumbnails import Thumbnails

ROW = Qt.ItemDataRole.UserRole + 1
ICON = 128
PHOTO_MIME = "application/x-mixbook-photo"  # dragged photos: their SHA-256s, space-separated

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class LibraryPhoto:
    """One photo as the library shows it."""

    photo_id: int
    sha256: str
    name: str
    description: str
    tags: tuple[str, ...]
    people: tuple[int, ...]
    flagged: bool
    duplicate: bool  # a weaker shot of a near-duplicate group
    placed: bool  # on a page of the book
    taken_at: str | None
    chapter: str | None  # chapter key
    row: dict[str, Any] = field(compare=False, repr=False)

    def matches(self, text: str) -> bool:
        haystack = " ".join([self.name, self.description, *self.tags]).lower()
        return all(word in haystack for word in text.lower().split())


class PhotoModel(QAbstractListModel):
    def __init__(self, thumbnails: Thumbnails, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._photos: list[LibraryPhoto] = []
        self._row_of: dict[str, int] = {}
        self._thumbnails = thumbnails
        self._placeholder = QPixmap(ICON, ICON)
        self._placeholder.fill(QColor("#e4e4e4"))
        thumbnails.ready.connect(self._thumbnail_ready)

    def set_photos(self, photos: list[LibraryPhoto]) -> None:
        self.beginResetModel()
        self._photos = photos
        self._row_of = {p.sha256: n for n, p in enumerate(photos)}
        self.endResetModel()

    def photo(self, row: int) -> LibraryPhoto:
        return self._photos[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's own signature)
        return 0 if parent.isValid() else len(self._photos)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        photo = self._photos[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return photo.name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnails.pixmap(photo.sha256) or self._placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{photo.name}\n{photo.description}"
        if role == ROW:
            return photo
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return [PHOTO_MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # type: ignore[override]
        mime = QMimeData()
        shas = " ".join(self._photos[i.row()].sha256 for i in indexes if i.isValid())
        mime.setData(PHOTO_MIME, QByteArray(shas.encode()))
        return mime

    def _thumbnail_ready(self, sha256: str) -> None:
        row = self._row_of.get(sha256)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


@dataclass
class Filters:
    text: str = ""
    person: int | None = None
    flagged_only: bool = False
    duplicates_only: bool = False
    not_placed_only: bool = False
    tag: str | None = None
    chapter: str | None = None
    since: str | None = None  # ISO dates, both ends included; an undated photo is outside any range
    until: str | None = None


class PhotoFilter(QSortFilterProxyModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.filters = Filters()

    def set_filters(self, filters: Filters) -> None:
        self.beginFilterChange()
        self.filters = filters
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, PhotoModel)
        photo = model.photo(source_row)
        f = self.filters
        return (
            (not f.text or photo.matches(f.text))
            and (f.person is None or f.person in photo.people)
            and (not f.flagged_only or photo.flagged)
            and (not f.duplicates_only or photo.duplicate)
            and (not f.not_placed_only or not photo.placed)
            and (f.tag is None or f.tag in photo.tags)
            and (f.chapter is None or f.chapter == photo.chapter)
            and in_range(photo.taken_at, f.since, f.until)
        )


def in_range(taken_at: str | None, since: str | None, until: str | None) -> bool:
    if since is None and until is None:
        return True
    if taken_at is None:
        return False
    day = taken_at[:10]
    return (since is None or day >= since) and (until is None or day <= until)


class LibraryView(QListView):
    """A grid of thumbnails, virtualised: only what is on screen is laid out and drawn."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(ICON, ICON))
        self.setGridSize(QSize(ICON + 16, ICON + 36))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setWordWrap(True)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)


def library_photos(
    rows: list[dict[str, Any]], ids: dict[str, int], placed: set[int], chapter_of: dict[int, str]
) -> list[LibraryPhoto]:
    """The library's photos from `catalog.photo_listing` rows (the imported, readable ones)."""
    photos = []
    for row in rows:
        if row["status"] != "ok" or not row.get("sha256"):
            continue
        pid = ids[row["sha256"]]
        labels = row.get("labels") or []
        photos.append(
            LibraryPhoto(
                photo_id=pid,
                sha256=row["sha256"],
                name=Path(row["file"]).name,
                description=row.get("description") or "",
                tags=tuple(str(label["name"]) for label in labels),
                people=tuple(f["person"] for f in row.get("faces") or [] if f.get("person") is not None),
                flagged=bool((row.get("moderation") or {}).get("flagged")),
                duplicate=row.get("best_in_group") is False,
                placed=pid in placed,
                taken_at=row.get("taken_at"),
                chapter=chapter_of.get(pid),
                row=row,
            )
        )
    return photos
