"""Side panels: the selected photo's details, the print check, and the library's filters."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mixbook_desktop.layout.checks import Problem, Severity
from mixbook_desktop.ui.library import Filters, LibraryPhoto

COLOUR = {Severity.ERROR: "#b3261e", Severity.WARNING: "#8a5a00", Severity.INFO: "#555555"}


class DetailsPanel(QTextBrowser):
    """Everything known about one photo, as the catalogue has it."""

    def show_photo(self, photo: LibraryPhoto | None) -> None:
        if photo is None:
            self.setHtml("<p>Select a photo to see its details.</p>")
            return
        row = photo.row
        camera = row.get("camera") or {}
        gps = row.get("gps") or {}
        quality = row.get("quality") or {}
        moderation = row.get("moderation") or {}
        caption = (row.get("caption") or {}).get("text")
        faces = row.get("faces") or []
        lines: list[tuple[str, Any]] = [
            ("File", row.get("file")),
            ("Size", f"{row.get('width')} x {row.get('height')} px"),
            ("Taken", row.get("taken_at") or "no time in the file"),
            ("Place", row.get("place") or (f"{gps.get('lat')}, {gps.get('lon')}" if gps else "")),
            ("Camera", " ".join(v for v in (camera.get("make"), camera.get("model")) if v)),
            (
                "Faces",
                ", ".join(
                    f"{f.get('person_name') or 'person ' + str(f.get('person'))} ({f.get('emotion') or '?'})"
                    for f in faces
                )
                or "none",
            ),
            ("Tags", ", ".join(photo.tags)),
            ("Description", photo.description),
            (
                "Quality",
                f"{quality.get('score', '')} (sharpness {quality.get('sharpness', '')})" if quality else "",
            ),
            (
                "Content check",
                "flagged"
                if moderation.get("flagged")
                else moderation.get("level") or moderation.get("status"),
            ),
            ("Duplicate", "a weaker shot of a near-duplicate group" if photo.duplicate else ""),
            ("In the book", "yes" if photo.placed else "no"),
            ("Caption", caption or ""),
            ("Analysis errors", row.get("analysis_error") or ""),
        ]
        body = "".join(
            f"<tr><th align='left' valign='top'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in lines
            if v
        )
        self.setHtml(f"<h3>{html.escape(photo.name)}</h3><table cellspacing='4'>{body}</table>")


class ChecksPanel(QListWidget):
    """The print check's problems; choosing one shows its page."""

    pageRequested = Signal(int, int)  # page position, slot from 0 (-1: the page itself)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.itemActivated.connect(self._chosen)
        self.itemClicked.connect(self._chosen)

    def set_problems(self, problems: list[Problem]) -> None:
        self.clear()
        shown = [p for p in problems if p.severity is not Severity.INFO] or problems
        for problem in shown:
            item = QListWidgetItem(f"{problem.severity.value}: {problem.where}: {problem.message}")
            item.setForeground(QColor(COLOUR[problem.severity]))
            item.setData(Qt.ItemDataRole.UserRole, (problem.page, (problem.slot or 0) - 1))
            item.setToolTip(problem.message)
            self.addItem(item)
        if not problems:
            self.addItem("No problems: the book is ready to print.")

    def _chosen(self, item: QListWidgetItem) -> None:
        where = item.data(Qt.ItemDataRole.UserRole)
        if where is not None:
            self.pageRequested.emit(*where)


class FilterBar(QWidget):
    """Search, person, and the flagged / duplicates / not-placed switches."""

    changed = Signal(object)  # Filters

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Search names, tags, descriptions")
        self.person = QComboBox()
        self.flagged = QCheckBox("Flagged")
        self.duplicates = QCheckBox("Duplicates")
        self.not_placed = QCheckBox("Not in the book")
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addWidget(self.search)
        line = QHBoxLayout()
        line.addWidget(self.person, 1)
        for box in (self.flagged, self.duplicates, self.not_placed):
            line.addWidget(box)
            box.toggled.connect(self._emit)
        rows.addLayout(line)
        self.search.textChanged.connect(self._emit)
        self.person.currentIndexChanged.connect(self._emit)
        self.set_people([])

    def set_people(self, people: list[tuple[int, str]]) -> None:
        current = self.person.currentData()
        self.person.blockSignals(True)
        self.person.clear()
        self.person.addItem("Everyone", None)
        for pid, name in people:
            self.person.addItem(name, pid)
        index = self.person.findData(current)
        self.person.setCurrentIndex(max(index, 0))
        self.person.blockSignals(False)

    def filters(self) -> Filters:
        return Filters(
            text=self.search.text().strip(),
            person=self.person.currentData(),
            flagged_only=self.flagged.isChecked(),
            duplicates_only=self.duplicates.isChecked(),
            not_placed_only=self.not_placed.isChecked(),
        )

    def _emit(self) -> None:
        self.changed.emit(self.filters())
