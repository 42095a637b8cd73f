"""The main window: the library on the left, the book's spreads in the middle, details and the
print check on the right, background work in the status bar with its progress and a cancel
button. Every change goes through the services in a task; the window only shows the result."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QUndoStack
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
from mixbook_desktop.services import book as book_service
from mixbook_desktop.services.overview import Overview, overview
from mixbook_desktop.store.captions import CaptionStore, photo_target
from mixbook_desktop.store.project import Project
from mixbook_desktop.store.snapshots import Scope, Snapshot, put_back, take
from mixbook_desktop.ui.autosave import Autosave
from mixbook_desktop.ui.captions_panel import CaptionPanel
from mixbook_desktop.ui.cloud_menu import CloudMenu
from mixbook_desktop.ui.commands import UserCommands
from mixbook_desktop.ui.library import ROW, LibraryPhoto, LibraryView, PhotoFilter, PhotoModel, library_photos
from mixbook_desktop.ui.panels import ChecksPanel, DetailsPanel, FilterBar
from mixbook_desktop.ui.pdf_preview import PdfPreview
from mixbook_desktop.ui.people_panel import PeoplePanel
from mixbook_desktop.ui.settings_dialog import SettingsDialog
from mixbook_desktop.ui.spread import SpreadView
from mixbook_desktop.ui.tasks import Control, Task
from mixbook_desktop.ui.thumbnails import Thumbnails
from mixbook_desktop.ui.undo import Undoable

RECENT_KEY = "recent"
RECENT_KEPT = 8
# What the file dialog offers first; the importer reads a file by its content, whatever its name.
PHOTO_PATTERNS = "*.jpg *.jpeg *.png *.heic *.heif *.tif *.tiff *.webp *.JPG *.JPEG *.PNG *.HEIC"
JOBS = "jobs"
READING = "Reading the book"
EDITS = "edits"


# Every editor window not yet gone, its closing work included: one opened from another (File >
# Open) lives on here, and the app ends when this is empty.
OPEN_WINDOWS: list[MainWindow] = []


class MainWindow(UserCommands, QMainWindow):
    closed = Signal()  # the window has gone, its work saved

    def __init__(self, book: Path, settings: QSettings | None = None) -> None:
        super().__init__()
        self.book = book.expanduser().absolute()
        self.settings = settings or QSettings("mixbook-desktop", "mixbook-desktop")
        self.thumbnails = Thumbnails(self.book)
        self.overview: Overview | None = None
        self._running: dict[str, Task | None] = {JOBS: None, EDITS: None}
        self._waiting: dict[str, list[Task]] = {JOBS: [], EDITS: []}
        self.undo_stack = QUndoStack(self)
        self._deferred: list[Callable[[], None]] = []  # undo and redo waiting for the edits
        self._closing = False
        self._init_commands(self)
        self.read_failed: str | None = None
        self._restoring_selection = False  # a reload selecting again what was selected
        self.pdf_preview: PdfPreview | None = None  # made on the first export, then reused
        self.settings_dialog: SettingsDialog | None = None
        self._build()
        self._remember(self.book)
        self.setAcceptDrops(True)
        OPEN_WINDOWS.append(self)
        self.reload()
        self.cloud.start()

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
        self.spread.cropChanged.connect(self.set_crop)
        self.spread.cropResetRequested.connect(self.reset_crop)
        self.spread.pageAddRequested.connect(self.add_page)
        self.spread.pageRemoveRequested.connect(self.remove_page)
        self.spread.textEdited.connect(self.save_caption)
        self.spread.templates = sorted(
            (t.id, len(t.photo_slots), t.cover) for t in book_service.templates().values()
        )
        self.spread.spreadChanged.connect(lambda _n: self._show_spread_label())
        self.details = DetailsPanel()
        self.checks = ChecksPanel()
        self.checks.pageRequested.connect(self._show_problem)
        self.caption = CaptionPanel()
        self.caption.saveRequested.connect(self.save_caption)
        self.autosave = Autosave(self.caption)
        self.caption.leaving.connect(self.autosave.flush)  # what was typed for the text shown is kept
        self.caption.historyRequested.connect(self._read_history)
        self.caption.toneRequested.connect(self.set_caption_tone)
        self.spread.textClicked.connect(self._text_clicked)
        self.caption.pickRequested.connect(self.pick_caption)
        self.caption.lockRequested.connect(self.lock_caption)
        self.caption.suggestRequested.connect(self.suggest_caption)
        self.spread.slotClicked.connect(self._slot_clicked)
        self.side = QTabWidget()
        self.side.addTab(self.checks, "Print check")
        self.side.addTab(self.details, "Details")
        self.side.addTab(self.caption, "Caption")
        self.people_panel = PeoplePanel(self.thumbnails)
        self.people_panel.renameRequested.connect(self.rename_person)
        self.people_panel.mergeRequested.connect(self.merge_people)
        self.people_panel.splitRequested.connect(self.split_face)
        self.people_panel.hideRequested.connect(self.hide_person)
        self.people_panel.personChosen.connect(self._person_chosen)
        self.people_panel.photoRequested.connect(self._show_photo)
        self.filter_bar.changed.connect(lambda filters: self.people_panel.choose(filters.person))
        self.side.addTab(self.people_panel, "People")

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.spread)
        splitter.addWidget(self.side)
        splitter.setSizes([380, 760, 320])
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)

        self.message = QLabel()
        self.message.setMinimumWidth(1)  # a long message is cut at the edge, never widens the window
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
        file.addAction(self._action("&Import Photos...", self._import_files_dialog, "Ctrl+I"))
        file.addAction(self._action("Import a &Folder...", self._import_dialog, "Ctrl+Shift+I"))
        file.addAction(self._action("&Export PDF...", self._export_dialog, "Ctrl+E"))
        file.addSeparator()
        file.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))
        edit = bar.addMenu("&Edit")
        self.undo_action = self._stack_action("&Undo", QKeySequence.StandardKey.Undo, undo=True)
        self.redo_action = self._stack_action("&Redo", QKeySequence.StandardKey.Redo, undo=False)
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        edit.addAction(self._action("&Settings...", self.open_settings, "Ctrl+,"))
        book = bar.addMenu("&Book")
        self.analyse_action = self._action("&Analyse Photos", self.analyse, "Ctrl+Shift+A")
        self.autofill_action = self._action("Auto-&fill Pages", self.auto_fill, "Ctrl+L")
        self.caption_action = self._action("Suggest &Captions", self.suggest_captions, "Ctrl+Shift+C")
        for action in (self.analyse_action, self.autofill_action, self.caption_action):
            book.addAction(action)
        book.addAction(self._action("&Check Again", self.reload, "F5"))
        book.addSeparator()
        book.addAction(self._action("Add a Page &After This One", self.add_page_here))
        book.addAction(self._action("&Remove This Page", self.remove_page_here))
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
        self.cloud = CloudMenu(self)  # its own menu, and the automatic caption sync
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

    # Tasks, in two lanes that each run one task at a time, in order, each task with its own
    # connection to the book: long jobs (models, imports, exports) in one, and the user's edits
    # and the reads that show them in the other, so an edit never waits for an analysis.

    @property
    def task(self) -> Task | None:
        """The long job running, if any (it is what the status bar shows)."""
        return self._running[JOBS]

    @property
    def busy(self) -> bool:
        return any(self._running.values()) or any(self._waiting.values())

    def run_task(
        self,
        name: str,
        work: Callable[[Project, Control], Any],
        done: Callable[[Any], object] | None = None,
        *,
        changes_book: bool = False,
        cancellable: bool = False,
        on_progress: Callable[[int, int, str], object] | None = None,
        on_failed: Callable[[str], object] | None = None,
        lane: str = EDITS,
    ) -> Task:
        """Queue `work` to run in a worker with its own connection to the book. `done` gets the
        result on the GUI thread. A task that `changes_book` is followed by a reload whatever
        its outcome, since part of the work may be saved even when it fails or is cancelled.
        Only a `cancellable` task (one whose work checks the cancel flag) offers Cancel."""
        book = self.book

        def in_worker(control: Control) -> Any:
            with Project.open(book) as project:
                return work(project, control)

        task = Task(name, in_worker)
        task.cancellable = cancellable
        if lane == JOBS:
            task.progress.connect(self._progress)
        if on_progress is not None:
            task.progress.connect(on_progress)
        if on_failed is not None:  # before the task starts, or a quick failure would be missed
            task.failed.connect(on_failed)
        task.finished.connect(
            lambda result: self._task_over(lane, f"{name}: done", done, result, changes_book)
        )
        task.failed.connect(
            lambda reason: self._task_over(lane, f"{name} failed: {reason}", None, None, changes_book)
        )
        task.cancelled.connect(lambda: self._task_over(lane, f"{name}: cancelled", None, None, changes_book))
        self._waiting[lane].append(task)
        if self._running[lane] is None:
            self._next_task(lane)
        return task

    def job(
        self,
        name: str,
        work: Callable[[Project, Control], Any],
        done: Callable[[Any], object] | None = None,
        **options: Any,
    ) -> Task:
        """Long work: shown with its progress in the status bar, behind any other long work."""
        return self.run_task(name, work, done, lane=JOBS, **options)

    def _stack_action(self, text: str, keys: QKeySequence.StandardKey, undo: bool) -> QAction:
        """Undo or Redo, applied once the edits asked for before it are saved: an edit still
        waiting is not yet on the stack, and undoing past it would undo the wrong thing."""
        stack = self.undo_stack
        action = self._action(text, lambda: self._after_edits(stack.undo if undo else stack.redo), keys)
        action.setEnabled(False)
        (stack.canUndoChanged if undo else stack.canRedoChanged).connect(action.setEnabled)
        (stack.undoTextChanged if undo else stack.redoTextChanged).connect(
            lambda what: action.setText(f"{text} {what}".strip())
        )
        return action

    def _edits_pending(self) -> bool:
        edits = [self._running[EDITS], *self._waiting[EDITS]]
        long_edits = [t for t in (self._running[JOBS], *self._waiting[JOBS]) if t is not None and t.undoable]
        return any(t is not None for t in edits) or bool(long_edits)

    def _after_edits(self, step: Callable[[], None]) -> None:
        if self._edits_pending():
            self._deferred.append(step)
        else:
            step()

    def _next_task(self, lane: str) -> None:
        waiting = self._waiting[lane]
        if not waiting:
            self._running[lane] = None
            if lane == JOBS:
                self._idle()
            if self._deferred and not self._edits_pending():
                steps, self._deferred = self._deferred, []
                for step in steps:
                    step()
                if self._running[EDITS] is not None:
                    return  # the undo runs as an edit; what follows waits for it
            if self._closing and not self.busy:
                self.close()
            return
        task = self._running[lane] = waiting.pop(0)
        if lane == JOBS:
            self.message.setText(f"{task.name}...")
            self.progress.setRange(0, 0)
            self.progress.show()
            self.cancel_button.setVisible(task.cancellable)
        task.start()

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if text and self.task is not None:
            self.message.setText(f"{self.task.name}: {text}")

    def _task_over(
        self, lane: str, message: str, done: Callable[[Any], object] | None, result: Any, changes_book: bool
    ) -> None:
        finished = self._running[lane]
        if lane == JOBS or "done" not in message:
            self.message.setText(message)
        try:
            if done is not None:
                done(result)
        except Exception as exc:  # a bug in showing a result must not stall the queue
            self.message.setText(f"{message}; showing it failed: {exc}")
        finally:
            if changes_book and not self._closing:
                self.reload()
            if finished is not None:
                finished.deleteLater()
            self._next_task(lane)

    def _idle(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.message.setText(f"{self.task.name}: cancelling...")

    # Edits: each one undoable. The rows of its scope are read before and after it (in the
    # worker), and the undo stack keeps both.

    def edit(
        self,
        name: str,
        work: Callable[[Project, Control], Any],
        scope: Scope,
        done: Callable[[Any], object] | None = None,
        *,
        long: bool = False,
        on_failed: Callable[[str], object] | None = None,
    ) -> Task:
        """`long`: an edit that may take a while (regrouping every face) goes in the long
        jobs' lane, with its progress in the status bar, so that it holds up no other edit."""

        def snapshotted(project: Project, control: Control) -> tuple[Any, Snapshot, Snapshot]:
            before = take(project, scope)
            result = work(project, control)
            return result, before, take(project, scope)

        def recorded(outcome: tuple[Any, Snapshot, Snapshot]) -> None:
            result, before, after = outcome
            if not before.same_as(after):
                self.undo_stack.push(Undoable(name, before, after, self.put_back))
            if done is not None:
                done(result)

        task = self.run_task(
            name, snapshotted, recorded, changes_book=True, lane=JOBS if long else EDITS, on_failed=on_failed
        )
        task.undoable = True
        return task

    def put_back(self, name: str, target: Snapshot, current: Snapshot, action: str) -> Task:
        """Undo or redo: the scope's rows as they were in `target`."""
        if target.scope.caption_target is not None:
            self._caption_edit_asked(target.scope.caption_target)
        return self.run_task(
            f"{action.capitalize()} {name}",
            lambda project, _control: put_back(project, target, current, action),
            changes_book=True,
        )

    # What the window shows.

    def reload(self) -> Task:
        # A read still waiting will show every edit saved before it runs: one is enough.
        waiting = next((t for t in self._waiting[EDITS] if t.name == READING), None)
        if waiting is not None and self._waiting[EDITS][-1] is waiting:
            return waiting
        return self.run_task(
            READING, lambda project, _control: overview(project), self._show, on_failed=self._read_failed
        )

    def _read_failed(self, reason: str) -> None:
        self.read_failed = reason

    def _show(self, result: Overview) -> None:
        self.overview = result
        current = self.library.currentIndex().data(ROW)
        self.model.set_photos(library_photos(result.rows, result.ids, result.placed, result.chapter_of))
        if isinstance(current, LibraryPhoto):
            # A reload replaces every row: the photo the user had selected stays selected.
            row = next(
                (n for n in range(self.model.rowCount()) if self.model.photo(n).sha256 == current.sha256),
                None,
            )
            if row is not None:
                # Not a choice of the user's, so the side panel they are working in stays
                # (even a moment away would end a name being typed there).
                self._restoring_selection = True
                try:
                    self.library.setCurrentIndex(self.filtered.mapFromSource(self.model.index(row)))
                finally:
                    self._restoring_selection = False
        # The texts shown may have changed in the task that led here: show them anew.
        titles = [(target, label, self._as_typed(target, row)) for target, label, row in result.titles]
        self.caption.set_titles(titles, result.caption_tone)
        if self.caption.photo is not None:
            shown = self.caption.photo
            photo = next((p for p in self._photos() if photo_target(p.photo_id) == shown), None)
            self._select(photo)
        self.filter_bar.set_people(result.people)
        self.people_panel.set_people(result.persons)
        photos = self._photos()
        self.filter_bar.set_choices(
            result.chapters,
            sorted({t for p in photos for t in p.tags}),
            [p.taken_at[:10] for p in photos if p.taken_at],
        )
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
        photo = self.library.currentIndex().data(ROW) if indexes else None
        self._select(photo if isinstance(photo, LibraryPhoto) else None)
        if indexes and not self._restoring_selection:
            self.side.setCurrentWidget(self.details)

    def _slot_clicked(self, page: int, slot: int) -> None:
        sha = self.spread.photo_in(page, slot)
        photo = next((p for p in self._photos() if p.sha256 == sha), None)
        if photo is not None:
            self._select(photo)
            self.caption.choose(photo_target(photo.photo_id))  # even from a title shown before
            self.side.setCurrentWidget(self.caption)

    def _text_clicked(self, target: str) -> None:
        """A title or a caption clicked on a page: its text in the caption panel."""
        photo = next((p for p in self._photos() if photo_target(p.photo_id) == target), None)
        if photo is not None:
            self._select(photo)
        if self.caption.choose(target):
            self.side.setCurrentWidget(self.caption)

    def _photos(self) -> list[LibraryPhoto]:
        return [self.model.photo(n) for n in range(self.model.rowCount())]

    def _select(self, photo: LibraryPhoto | None) -> None:
        """Show a photo's details and caption. Typing for the text shown before is saved
        by the panel's `leaving`, only when another text is shown: a reload while the user
        types a title leaves the title alone."""
        self.details.show_photo(photo)
        if photo is None:
            self.caption.show_photo(None, "", None)
            return
        target = photo_target(photo.photo_id)
        self.caption.show_photo(target, photo.name, self._as_typed(target, photo.row.get("caption")))

    def _read_history(self, target: str) -> None:
        self.run_task(
            "Reading the caption's history",
            lambda project, _control: CaptionStore(project).history(target),
            lambda events: self.caption.show_history(events) if self.caption.target == target else None,
        )

    def _toggle_faces(self, on: bool) -> None:
        self.spread.show_faces = on
        self.spread.update()

    def _person_chosen(self, person_id: int | None) -> None:
        """The library shows the photos of the person chosen in the People panel; everyone's
        for a hidden person, whom the filter does not offer."""
        combo = self.filter_bar.person
        combo.setCurrentIndex(max(combo.findData(person_id), 0) if person_id is not None else 0)

    def _show_photo(self, sha256: str) -> None:
        """A photo asked for from another panel: selected in the library when the filters let
        it be seen there, and its details shown."""
        row = next((n for n in range(self.model.rowCount()) if self.model.photo(n).sha256 == sha256), None)
        if row is None:
            return
        index = self.filtered.mapFromSource(self.model.index(row))
        if index.isValid():
            self.library.setCurrentIndex(index)
            self.library.scrollTo(index)
        else:
            self._select(self.model.photo(row))
        self.side.setCurrentWidget(self.details)

    def show_pdf(self, path: Path) -> PdfPreview:
        if self.pdf_preview is None:
            self.pdf_preview = PdfPreview(self)
        self.pdf_preview.show_pdf(path)
        self.pdf_preview.show()
        self.pdf_preview.raise_()
        self.pdf_preview.activateWindow()
        return self.pdf_preview

    def open_settings(self) -> SettingsDialog:
        """Edit > Settings, not modal: the book stays in view while a setting is tried. One
        dialog per window, read afresh each time it opens."""
        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(self)
        if not self.settings_dialog.isVisible():
            self.settings_dialog.reload()
        self.settings_dialog.show()
        self.settings_dialog.raise_()
        self.settings_dialog.activateWindow()
        return self.settings_dialog

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

    def _import_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Import photos",
            "",
            f"Photos ({PHOTO_PATTERNS});;All files (*)",
        )
        if files:
            self.import_photos(files)

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the book", str(self.book.with_suffix(".pdf")), "PDF (*.pdf)"
        )
        if path:
            self.export_and_preview(Path(path))

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

    def confirm_close(self, running: str) -> bool:
        """Ask before closing on running work (tests answer for the user)."""
        answer = QMessageBox.question(
            self, "Work in progress", f"{running} is running. Stop it, save what is waiting, and close?"
        )
        return answer == QMessageBox.StandardButton.Yes

    def confirm_lose(self, unsaved: int) -> bool:
        """Ask before closing with captions the book refused (tests answer for the user)."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Not saved",
            f"{unsaved} caption(s) could not be saved: {self._unsaved_reason}",
            parent=self,
        )
        if self._retry.isActive():
            box.setInformativeText("They are offered to the book again every few seconds.")
        wait = box.addButton("Keep the Window Open", QMessageBox.ButtonRole.RejectRole)
        box.addButton("Close and Lose Them", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(wait)
        box.exec()
        return box.clickedButton() is not wait

    def closeEvent(self, event: QCloseEvent) -> None:
        """Work already asked for is finished, not thrown away: a long job is stopped at its
        next step, every edit waiting is still saved, and the window goes as soon as both
        lanes are empty, without ever blocking the GUI thread."""
        if self.task is not None and not self._closing and not self.confirm_close(self.task.name):
            event.ignore()
            return
        self.autosave.flush()
        # A zoom waiting for the wheel to rest, and a text being typed on the page, are kept.
        self.spread.commit_crop()
        self.spread.finish_text(commit=True)
        if self.busy:
            self._closing = True
            self._waiting[JOBS] = []  # long work not yet begun is not begun now
            self._waiting[EDITS] = [t for t in self._waiting[EDITS] if t.name != READING]
            for running in self._running.values():
                if running is not None and running.cancellable:
                    running.cancel()
            self.hide()
            event.ignore()
            return
        # Only now, with every save done: one refused on the way out is counted too.
        if self._unsaved:
            self._closing = False
            self.show()
            if not self.confirm_lose(len(self._unsaved)):
                event.ignore()
                return
            self._unsaved.clear()
        self._retry.stop()
        # The preview and the settings are this book's: they go with its window.
        for other in (self.pdf_preview, self.settings_dialog):
            if other is not None:
                other.close()
        self.thumbnails.close()
        event.accept()
        if self in OPEN_WINDOWS:
            OPEN_WINDOWS.remove(self)
        self.closed.emit()
