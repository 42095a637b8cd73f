"""Side panels: the selected photo's details, the print check, and the library's filters."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QDate, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
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
        self.setWordWrap(True)  # a problem says where, what and how to fix it: all of it shows
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
    """Search; person, tag and chapter; a date range; the flagged / duplicates / not-placed
    switches. Every change is applied at once."""

    changed = Signal(object)  # Filters

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Search names, tags, descriptions")
        self.search.setClearButtonEnabled(True)
        self.person = QComboBox()
        self.tag = QComboBox()
        self.chapter = QComboBox()
        self.dated = QCheckBox("Taken from")
        today = QDate.currentDate()
        self.since = QDateEdit(today.addYears(-1))
        self.until = QDateEdit(today)
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.flagged = QCheckBox("Flagged")
        self.duplicates = QCheckBox("Duplicates")
        self.not_placed = QCheckBox("Not in the book")
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addWidget(self.search)
        choices = QHBoxLayout()
        for combo in (self.person, self.tag, self.chapter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
            choices.addWidget(combo, 1)
            combo.currentIndexChanged.connect(self._emit)
        rows.addLayout(choices)
        dates = QHBoxLayout()
        dates.addWidget(self.dated)
        dates.addWidget(self.since, 1)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.until, 1)
        rows.addLayout(dates)
        switches = QHBoxLayout()
        for box in (self.flagged, self.duplicates, self.not_placed, self.dated):
            box.toggled.connect(self._emit)
        for box in (self.flagged, self.duplicates, self.not_placed):
            switches.addWidget(box)
        rows.addLayout(switches)
        for edit in (self.since, self.until):
            edit.dateChanged.connect(self._emit)
        self.search.textChanged.connect(self._emit)
        self.set_people([])
        self.set_choices([], [], [])

    def set_people(self, people: list[tuple[int, str]]) -> None:
        _refill(self.person, "Everyone", people)

    def set_choices(self, chapters: list[tuple[str, str]], tags: list[str], days: list[str]) -> None:
        """`days`: the ISO dates the photos were taken on; the range offered starts as theirs."""
        _refill(self.chapter, "Every chapter", chapters)
        _refill(self.tag, "Any tag", [(t, t) for t in tags])
        if days and not self.dated.isChecked():
            for edit, day in ((self.since, min(days)), (self.until, max(days))):
                with QSignalBlocker(edit):
                    edit.setDate(QDate.fromString(day, "yyyy-MM-dd"))

    def filters(self) -> Filters:
        dated = self.dated.isChecked()
        return Filters(
            text=self.search.text().strip(),
            person=self.person.currentData(),
            flagged_only=self.flagged.isChecked(),
            duplicates_only=self.duplicates.isChecked(),
            not_placed_only=self.not_placed.isChecked(),
            tag=self.tag.currentData(),
            chapter=self.chapter.currentData(),
            since=self.since.date().toString("yyyy-MM-dd") if dated else None,
            until=self.until.date().toString("yyyy-MM-dd") if dated else None,
        )

    def _emit(self) -> None:
        self.changed.emit(self.filters())


def _refill(combo: QComboBox, everything: str, choices: Sequence[tuple[Any, str]]) -> None:
    """New choices, keeping the one made when it is still there (a reload must not reset the
    user's filter)."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    combo.addItem(everything, None)
    for value, label in choices:
        combo.addItem(label, value)
    index = combo.findData(current) if current is not None else 0
    combo.setCurrentIndex(max(index, 0))
    combo.blockSignals(False)
    if current is not None and index < 0:
        combo.currentIndexChanged.emit(0)  # what was chosen is gone: show everything again
