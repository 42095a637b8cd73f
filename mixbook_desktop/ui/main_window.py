"""The main window: the library on the left, the book's spreads in the middle, details and the
print check on the right, background work in the status bar with its progress and a cancel
button. Every change goes through the services in a task; the window only shows the result."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from mixbook_desktop.core.paths import PROJECT_SUFFIX
from mixbook_desktop.export.pdf import write_pdf
from mixbook_desktop.services import book as book_service
from mixbook_desktop.services import captions
from mixbook_desktop.services.analysis import analyze_book
from mixbook_desktop.services.importer import import_paths
from mixbook_desktop.services.overview import Overview, overview
from mixbook_desktop.store.captions import CaptionStore, photo_target
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui.captions_panel import CaptionPanel
from mixbook_desktop.ui.library import ROW, LibraryPhoto, LibraryView, PhotoFilter, PhotoModel, library_photos
from mixbook_desktop.ui.panels import ChecksPanel, DetailsPanel, FilterBar
from mixbook_desktop.ui.spread import SpreadView
from mixbook_desktop.ui.tasks import Control, Task
from mixbook_desktop.ui.thumbnails import Thumbnails

RECENT_KEY = "recent"
RECENT_KEPT = 8


class MainWindow(QMainWindow):
    def __init__(self, book: Path, settings: QSettings | None = None) -> None:
        super().__init__()
        self.book = book.expanduser().absolute()
        self.settings = settings or QSettings("mixbook-desktop", "mixbook-desktop")
        self.thumbnails = Thumbnails(self.book)
        self.overview: Overview | None = None
        self.task: Task | None = None
        self._queue: list[tuple[Task, Callable[[Any], object] | None]] = []
        self._build()
        self._remember(self.book)
        self.setAcceptDrops(True)
        self.reload()

    # Layout of the window.

    def _build(self) -> None:
        self.setWindowTitle(f"{self.book.stem} - mixbook-desktop")
        self.model = PhotoModel(self.thumbnails, self)
        self.filtered = PhotoFilter(self)
        self.filtered.setSourceModel(self.model)
        self.library = LibraryView()
        self.library.setModel(self.filtered)
        self.library.selectionModel().selectionChanged.connect(self._selection_changed)
        self.filter_bar = FilterBar()
        self.filter_bar.changed.connect(self.filtered.set_filters)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.filter_bar)
        column.addWidget(self.library, 1)

        self.spread = SpreadView(self.thumbnails)
        self.spread.photoDropped.connect(self.place_photo)
        self.spread.lockRequested.connect(self.lock)
        self.spread.templateRequested.connect(self.change_template)
        self.spread.removeRequested.connect(self.remove_photo)
        self.spread.templates = sorted(
            (t.id, len(t.photo_slots), t.cover) for t in book_service.templates().values()
        )
        self.spread.spreadChanged.connect(lambda _n: self._show_spread_label())
        self.details = DetailsPanel()
        self.checks = ChecksPanel()
        self.checks.pageRequested.connect(self._show_problem)
        self.caption = CaptionPanel()
        self.caption.saveRequested.connect(self.save_caption)
        self.caption.pickRequested.connect(self.pick_caption)
        self.caption.lockRequested.connect(self.lock_caption)
        self.caption.suggestRequested.connect(self.suggest_caption)
        self.spread.slotClicked.connect(self._slot_clicked)
        self.side = QTabWidget()
        self.side.addTab(self.checks, "Print check")
        self.side.addTab(self.details, "Details")
        self.side.addTab(self.caption, "Caption")

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.spread)
        splitter.addWidget(self.side)
        splitter.setSizes([380, 760, 320])
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)

        self.message = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(240)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_task)
        self.statusBar().addWidget(self.message, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self._idle()
        self._menus()

    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self._action("&Open Book...", self._open_dialog, QKeySequence.StandardKey.Open))
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addAction(self._action("&Import Photos...", self._import_dialog, "Ctrl+I"))
        file.addAction(self._action("&Export PDF...", self._export_dialog, "Ctrl+E"))
        file.addSeparator()
        file.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))
        book = bar.addMenu("&Book")
        self.analyse_action = self._action("&Analyse Photos", self.analyse, "Ctrl+Shift+A")
        self.autofill_action = self._action("Auto-&fill Pages", self.auto_fill, "Ctrl+L")
        self.caption_action = self._action("Suggest &Captions", self.suggest_captions, "Ctrl+Shift+C")
        for action in (self.analyse_action, self.autofill_action, self.caption_action):
            book.addAction(action)
        book.addAction(self._action("&Check Again", self.reload, "F5"))
        view = bar.addMenu("&View")
        view.addAction(
            self._action("&Next Spread", lambda: self.spread.show_spread(self.spread.index + 1), "PgDown")
        )
        view.addAction(
            self._action("&Previous Spread", lambda: self.spread.show_spread(self.spread.index - 1), "PgUp")
        )
        faces = QAction("Show &Faces", self, checkable=True, checked=True)
        faces.toggled.connect(self._toggle_faces)
        view.addAction(faces)
        tools = QToolBar("Book")
        tools.setObjectName("book-toolbar")
        for action in (self.analyse_action, self.autofill_action, self.caption_action):
            tools.addAction(action)
        tools.addSeparator()
        tools.addAction(self._action("◀", lambda: self.spread.show_spread(self.spread.index - 1)))
        self.spread_label = QLabel()
        tools.addWidget(self.spread_label)
        tools.addAction(self._action("▶", lambda: self.spread.show_spread(self.spread.index + 1)))
        self.addToolBar(tools)

    # Tasks: one at a time, in order, each with its own connection to the book.

    def run_task(
        self, name: str, work: Callable[[Project, Control], Any], done: Callable[[Any], object] | None = None
    ) -> Task:
        book = self.book

        def in_worker(control: Control) -> Any:
            with Project.open(book) as project:
                return work(project, control)

        task = Task(name, in_worker)
        task.progress.connect(self._progress)
        task.finished.connect(lambda result: self._task_over(task, f"{name}: done", done, result))
        task.failed.connect(lambda reason: self._task_over(task, f"{name} failed: {reason}", None, None))
        task.cancelled.connect(lambda: self._task_over(task, f"{name}: cancelled", None, None))
        self._queue.append((task, done))
        if self.task is None:
            self._next_task()
        return task

    def _next_task(self) -> None:
        if not self._queue:
            self.task = None
            self._idle()
            return
        self.task, _ = self._queue.pop(0)
        self.message.setText(f"{self.task.name}...")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.task.start()

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if text and self.task is not None:
            self.message.setText(f"{self.task.name}: {text}")

    def _task_over(self, task: Task, message: str, done: Callable[[Any], object] | None, result: Any) -> None:
        self.message.setText(message)
        if done is not None:
            done(result)
        if task is self.task:
            self._next_task()
        self.message.setText(message)

    def _idle(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.message.setText(f"{self.task.name}: cancelling...")

    # What the window shows.

    def reload(self) -> Task:
        return self.run_task("Reading the book", lambda project, _control: overview(project), self._show)

    def _show(self, result: Overview) -> None:
        self.overview = result
        self.model.set_photos(library_photos(result.rows, result.ids, result.placed))
        if self.caption.target is not None:
            # The caption shown may have changed in the task that led here: show it anew.
            shown = self.caption.target
            photo = next((p for p in self._photos() if photo_target(p.photo_id) == shown), None)
            self._select(photo)
        self.filter_bar.set_people(result.people)
        self.spread.set_book(result.book, result.problems)
        self.checks.set_problems(result.problems)
        self._show_spread_label()

    def _show_spread_label(self) -> None:
        count = self.spread.count
        where = f"{self.spread.index + 1}/{count}" if count else ""
        self.spread_label.setText(f"  {self.spread.label()}  {where}  ")

    def _show_problem(self, page: int, slot: int) -> None:
        self.spread.show_page(page)
        self.spread.selected = (page, slot) if slot >= 0 else None
        self.spread.update()

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = self.library.selectionModel().selectedIndexes()
        photo = indexes[0].data(ROW) if indexes else None
        self._select(photo if isinstance(photo, LibraryPhoto) else None)
        if indexes:
            self.side.setCurrentWidget(self.details)

    def _slot_clicked(self, page: int, slot: int) -> None:
        sha = self.spread.photo_in(page, slot)
        photo = next((p for p in self._photos() if p.sha256 == sha), None)
        if photo is not None:
            self._select(photo)
            self.side.setCurrentWidget(self.caption)

    def _photos(self) -> list[LibraryPhoto]:
        return [self.model.photo(n) for n in range(self.model.rowCount())]

    def _select(self, photo: LibraryPhoto | None) -> None:
        """Show a photo's details and caption (and fetch the caption's history)."""
        self.details.show_photo(photo)
        if photo is None:
            self.caption.show_caption(None, "", None)
            return
        target = photo_target(photo.photo_id)
        self.caption.show_caption(target, photo.name, photo.row.get("caption"))
        self.run_task(
            "Reading the caption's history",
            lambda project, _control: CaptionStore(project).history(target),
            lambda events: self.caption.show_history(events) if self.caption.target == target else None,
        )

    def _toggle_faces(self, on: bool) -> None:
        self.spread.show_faces = on
        self.spread.update()

    # The user's commands.

    def import_photos(self, paths: list[str]) -> Task:
        def work(project: Project, control: Control) -> Any:
            total = [0]

            def on_total(n: int) -> None:
                total[0] = n

            done = [0]

            def on_result(_result: object) -> None:
                done[0] += 1
                control.report(done[0], total[0], f"{done[0]} of {total[0]} files")

            return import_paths(project, paths, on_result=on_result, on_total=on_total, cancel=control.cancel)

        return self.run_task("Importing", work, lambda _report: self.reload())

    def analyse(self) -> Task:
        def work(project: Project, control: Control) -> Any:
            total = [0]
            done = [0]

            def on_total(n: int) -> None:
                total[0] = n

            def on_done(_photo: object) -> None:
                done[0] += 1
                control.report(done[0], total[0], f"{done[0]} of {total[0]} photos")

            return analyze_book(project, on_done=on_done, on_total=on_total, cancel=control.cancel)

        return self.run_task("Analysing", work, lambda _report: self.reload())

    def auto_fill(self) -> Task:
        """Lay the book out again; locked pages and slots, placed and removed photos and the
        user's crops are kept (the layout service's rules)."""
        return self.run_task(
            "Auto-filling the pages",
            lambda project, _control: book_service.layout_book(project),
            lambda _r: self.reload(),
        )

    def suggest_captions(self) -> Task:
        def work(project: Project, control: Control) -> Any:
            total = [0]
            done = [0]

            def on_total(n: int) -> None:
                total[0] = n

            def on_done(_done: object) -> None:
                done[0] += 1
                control.report(done[0], total[0], f"{done[0]} of {total[0]} texts")

            return captions.caption_book(project, on_total=on_total, on_done=on_done, cancel=control.cancel)

        return self.run_task("Suggesting captions", work, lambda _report: self.reload())

    def place_photo(self, page: int, slot: int, sha256: str) -> Task:
        return self.run_task(
            f"Placing a photo on page {page}",
            lambda project, _control: book_service.place(project, page, slot + 1, sha256),
            lambda _outcome: self.reload(),
        )

    def lock(self, page: int, slot: int, locked: bool) -> Task:
        """Lock or unlock a page (slot -1) or one slot: kept as it is by Auto-fill."""
        what = f"page {page}" if slot < 0 else f"page {page}, slot {slot + 1}"
        return self.run_task(
            f"{'Locking' if locked else 'Unlocking'} {what}",
            lambda project, _control: book_service.lock(
                project, page, None if slot < 0 else slot + 1, locked
            ),
            lambda _r: self.reload(),
        )

    def change_template(self, page: int, template: str) -> Task:
        return self.run_task(
            f"Page {page}: template {template}",
            lambda project, _control: book_service.set_template(project, page, template),
            lambda _r: self.reload(),
        )

    def remove_photo(self, sha256: str) -> Task:
        return self.run_task(
            "Taking a photo out of the book",
            lambda project, _control: book_service.remove(project, sha256),
            lambda _r: self.reload(),
        )

    def save_caption(self, target: str, text: str) -> Task:
        """The user's own text: kept, and never replaced by a suggestion."""
        return self.run_task(
            "Keeping your caption",
            lambda project, _control: captions.set_caption(project, target, text),
            lambda _r: self.reload(),
        )

    def pick_caption(self, target: str, text: str) -> Task:
        return self.run_task(
            "Using a suggestion",
            lambda project, _control: captions.pick_text(project, target, text),
            lambda _r: self.reload(),
        )

    def lock_caption(self, target: str, locked: bool) -> Task:
        return self.run_task(
            "Locking the caption" if locked else "Unlocking the caption",
            lambda project, _control: captions.lock(project, target, locked),
            lambda _r: self.reload(),
        )

    def suggest_caption(self, target: str) -> Task:
        """A new suggestion for one photo, streamed into the panel as the model writes it."""

        def work(project: Project, control: Control) -> Any:
            written: dict[int, str] = {}

            def on_token(_target: object, candidate: int, piece: str) -> None:
                written[candidate] = written.get(candidate, "") + piece
                control.report(0, 0, written[candidate])

            return captions.caption_book(
                project, only=[target], regenerate=True, on_token=on_token, cancel=control.cancel
            )

        task = self.run_task("Suggesting a caption", work, lambda _r: self.reload())
        task.progress.connect(lambda _d, _t, text: self.caption.show_streaming(text))
        return task

    def export_pdf(self, target: Path) -> Task:
        def work(project: Project, control: Control) -> Any:
            printed = book_service.printed_book(project)
            return write_pdf(
                printed, target, on_page=lambda n, total: control.report(n, total, f"page {n} of {total}")
            )

        return self.run_task(f"Exporting {target.name}", work)

    # Dialogs, recent books, drops.

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a book", str(self.book.parent), f"Books (*{PROJECT_SUFFIX})"
        )
        if path:
            self.open_book(Path(path))

    def open_book(self, path: Path) -> None:
        other = MainWindow(path, self.settings)
        other.resize(self.size())
        other.show()
        self.close()

    def _import_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of photos")
        if folder:
            self.import_photos([folder])

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the book", str(self.book.with_suffix(".pdf")), "PDF (*.pdf)"
        )
        if path:
            self.export_pdf(Path(path))

    def _remember(self, book: Path) -> None:
        recent = [str(book)] + [p for p in self._recent() if p != str(book)]
        self.settings.setValue(RECENT_KEY, recent[:RECENT_KEPT])

    def _recent(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        return [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            if os.path.exists(path):
                self.recent_menu.addAction(self._action(path, self._opener(Path(path))))

    def _opener(self, path: Path) -> Callable[[], None]:
        return lambda: self.open_book(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_photos(paths)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.task is not None and self.task.running:
            answer = QMessageBox.question(
                self, "Work in progress", f"{self.task.name} is still running. Stop it and close?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self._queue.clear()
            self.task.cancel()
            self.task.wait(30)
        self.thumbnails.close()
        event.accept()
