"""What the user asks of the window, each as a task: importing and analysing photos, page
edits, people, captions (with the text a full disk refused kept and offered again), and
exporting. A mixin of MainWindow, which supplies the task lanes and the panels."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtWidgets import QLabel

from mixbook_desktop.core.captions import Tone
from mixbook_desktop.export.pdf import write_pdf
from mixbook_desktop.services import book as book_service
from mixbook_desktop.services import captions
from mixbook_desktop.services import people as people_service
from mixbook_desktop.services.analysis import analyze_book, face_pack_of
from mixbook_desktop.services.importer import import_paths
from mixbook_desktop.store.project import Project
from mixbook_desktop.store.snapshots import BOOK, PEOPLE, Scope, caption, setting
from mixbook_desktop.ui.captions_panel import CaptionPanel
from mixbook_desktop.ui.cloud_menu import CloudMenu
from mixbook_desktop.ui.pdf_preview import PdfPreview
from mixbook_desktop.ui.settings_dialog import SettingsDialog, worker_count
from mixbook_desktop.ui.spread import SpreadView
from mixbook_desktop.ui.tasks import WRITE_REFUSED, Control, Task

# A caption the book refused to take (a full disk) is offered to it again this often.
RETRY_SAVE_MS = 5000


class UserCommands:
    if TYPE_CHECKING:  # what the window these are mixed into supplies
        settings: QSettings
        message: QLabel
        caption: CaptionPanel
        spread: SpreadView
        cloud: CloudMenu
        pdf_preview: PdfPreview | None
        settings_dialog: SettingsDialog | None

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
            lane: str = ...,
        ) -> Task: ...
        def job(
            self,
            name: str,
            work: Callable[[Project, Control], Any],
            done: Callable[[Any], object] | None = None,
            **options: Any,
        ) -> Task: ...
        def edit(
            self,
            name: str,
            work: Callable[[Project, Control], Any],
            scope: Scope,
            done: Callable[[Any], object] | None = None,
            *,
            long: bool = False,
            on_failed: Callable[[str], object] | None = None,
        ) -> Task: ...
        def show_pdf(self, path: Path) -> PdfPreview: ...

    def _init_commands(self, owner: QObject) -> None:
        # Captions the book refused (a full disk), by target: shown as typed, offered again.
        self._unsaved: dict[str, str] = {}
        self._unsaved_reason = ""
        self._caption_edits: dict[str, int] = {}  # caption edits asked for, per target
        self._retry = QTimer(owner)
        self._retry.setSingleShot(True)
        self._retry.setInterval(RETRY_SAVE_MS)
        self._retry.timeout.connect(self._save_again)

    def import_photos(self, paths: list[str]) -> Task:
        workers = worker_count(self.settings)  # read here: the window's QSettings stays on its thread

        def work(project: Project, control: Control) -> Any:
            total = [0]

            def on_total(n: int) -> None:
                total[0] = n

            done = [0]

            def on_result(_result: object) -> None:
                done[0] += 1
                control.report(done[0], total[0], f"{done[0]} of {total[0]} files")

            report = import_paths(
                project,
                paths,
                on_result=on_result,
                on_total=on_total,
                cancel=control.cancel,
                workers=workers,
            )
            control.check()  # stopped early: say so (what was done is saved)
            return report

        return self.job("Importing", work, changes_book=True, cancellable=True)

    def analyse(self) -> Task:
        workers = worker_count(self.settings)

        def work(project: Project, control: Control) -> Any:
            total = [0]
            done = [0]

            def on_total(n: int) -> None:
                total[0] = n

            def on_done(_photo: object) -> None:
                done[0] += 1
                control.report(done[0], total[0], f"{done[0]} of {total[0]} photos")

            def on_upload(sent: int, size: int) -> None:
                # Cloud mode: the photos go to S3 before Rekognition sees the first one.
                megabytes = 1 << 20
                control.report(
                    sent // megabytes,
                    size // megabytes,
                    f"uploading, {sent / 1e6:.0f} of {size / 1e6:.0f} MB",
                )

            # The book's face models, as the command line uses them: analysing it with others
            # would find all its faces again.
            report = analyze_book(
                project,
                on_done=on_done,
                on_total=on_total,
                cancel=control.cancel,
                workers=workers,
                face_pack=face_pack_of(project),
                on_upload=on_upload,
            )
            control.check()  # stopped early: say so (what was done is saved)
            if report.model_problems:
                # What stopped or shortened the run (no models, refused keys, throttling):
                # the status bar says it; every photo analysed before it is saved.
                raise RuntimeError("; ".join(report.model_problems))
            return report

        return self.job("Analysing", work, changes_book=True, cancellable=True)

    def auto_fill(self) -> Task:
        """Lay the book out again; locked pages and slots, placed and removed photos and the
        user's crops are kept (the layout service's rules)."""
        return self.edit("Auto-fill", lambda project, _control: book_service.layout_book(project), BOOK)

    def suggest_captions(self) -> Task:
        def work(project: Project, control: Control) -> Any:
            total = [0]
            done = [0]

            def on_total(n: int) -> None:
                total[0] = n

            def on_done(_done: object) -> None:
                done[0] += 1
                control.report(done[0], total[0], f"{done[0]} of {total[0]} texts")

            report = captions.caption_book(project, on_total=on_total, on_done=on_done, cancel=control.cancel)
            control.check()  # stopped early: say so (what was done is saved)
            return report

        return self.cloud.sync_after(
            self.job("Suggesting captions", work, changes_book=True, cancellable=True)
        )

    def place_photo(self, page: int, slot: int, sha256: str) -> Task:
        return self.edit(
            f"Place a photo on page {page}",
            lambda project, _control: book_service.place(project, page, slot + 1, sha256),
            BOOK,
        )

    def lock(self, page: int, slot: int, locked: bool) -> Task:
        """Lock or unlock a page (slot -1) or one slot: kept as it is by Auto-fill."""
        what = f"page {page}" if slot < 0 else f"page {page}, slot {slot + 1}"
        return self.edit(
            f"{'Lock' if locked else 'Unlock'} {what}",
            lambda project, _control: book_service.lock(
                project, page, None if slot < 0 else slot + 1, locked
            ),
            BOOK,
        )

    def change_template(self, page: int, template: str) -> Task:
        return self.edit(
            f"Template {template} on page {page}",
            lambda project, _control: book_service.set_template(project, page, template),
            BOOK,
        )

    def remove_photo(self, sha256: str) -> Task:
        return self.edit(
            "Take a photo out of the book",
            lambda project, _control: book_service.remove(project, sha256),
            BOOK,
        )

    def set_crop(self, page: int, slot: int, x: float, y: float, w: float) -> Task:
        """The part of the photo a slot shows (from a zoom or pan on the spread), kept through
        re-layouts; the spread shows it until the book read after the save has it."""
        name = f"Crop on page {page}"

        # A refusal comes back as a result, not a failure: `done` is wired before the task
        # starts, where a signal connected after it may already have gone by.
        def work(project: Project, _control: Control) -> str | None:
            try:
                book_service.set_crop(project, page, slot + 1, x, y, w)
            except book_service.BookError as exc:
                return str(exc)
            return None

        def saved(refused: str | None) -> None:
            self.spread.crop_settled(page, slot)
            if refused:
                self.message.setText(f"{name} failed: {refused}")

        return self.edit(
            name, work, BOOK, saved, on_failed=lambda _reason: self.spread.crop_settled(page, slot)
        )

    def reset_crop(self, page: int, slot: int) -> Task:
        return self.edit(
            f"Automatic crop on page {page}",
            lambda project, _control: book_service.reset_crop(project, page, slot + 1),
            BOOK,
        )

    def add_page(self, after: int) -> Task:
        """An empty page after `after`, shown once it is there; Auto-fill keeps the new count."""
        return self.edit(
            f"Add a page after {'the cover' if after == 0 else f'page {after}'}",
            lambda project, _control: book_service.add_page(project, after),
            BOOK,
            self.spread.reveal,
        )

    def remove_page(self, position: int) -> Task:
        """Its photos are no longer placed, not taken out of the book: Auto-fill may use them."""

        def removed(unplaced: list[int]) -> None:
            freed = f"; {len(unplaced)} photos are no longer placed" if unplaced else ""
            self.message.setText(f"Page {position} removed{freed}")

        return self.edit(
            f"Remove page {position}",
            lambda project, _control: book_service.remove_page(project, position),
            BOOK,
            removed,
        )

    def add_page_here(self) -> Task | None:
        page = self.spread.current_page()
        return self.add_page(page) if page is not None else None

    def remove_page_here(self) -> Task | None:
        page = self.spread.current_page()
        if page is None or page == 0:
            self.message.setText("The cover cannot be removed" if page == 0 else "No page to remove")
            return None
        return self.remove_page(page)

    # People: the user's decisions, which clustering keeps from then on.

    def rename_person(self, person_id: int, name: str) -> Task:
        """An empty name takes the name away."""
        return self.edit(
            "Name a person" if name.strip() else "Take a name away",
            lambda project, _control: people_service.name(project, person_id, name),
            PEOPLE,
        )

    def merge_people(self, from_id: int, into_id: int) -> Task:
        """`from_id`'s faces go to `into_id`, who keeps their name (or takes the other's)."""
        return self.edit(
            "Merge two people",
            lambda project, _control: people_service.merge(project, from_id, into_id),
            PEOPLE,
        )

    def split_face(self, face_id: int) -> Task:
        return self.edit(
            "Split a face off",
            lambda project, _control: people_service.split(project, face_id),
            PEOPLE,
        )

    def hide_person(self, person_id: int, hidden: bool) -> Task:
        return self.edit(
            "Hide a person" if hidden else "Show a person again",
            lambda project, _control: people_service.hide(project, person_id, hidden),
            PEOPLE,
        )

    def save_caption(self, target: str, text: str) -> Task:
        """The user's own text: kept, and never replaced by a suggestion. Text the book
        refuses stays shown as typed, and is offered again until it is saved or replaced."""
        return self._save_caption(target, text, again=False)

    def _save_caption(self, target: str, text: str, again: bool) -> Task:
        asked = self._caption_edit_asked(target)

        def saved(_result: object) -> None:
            if again:
                self.message.setText("Caption edit: saved after all")

        return self.edit(
            "Caption edit",
            lambda project, _control: captions.set_caption(project, target, text),
            caption(target),
            saved,
            on_failed=lambda reason: self._caption_not_saved(target, text, asked, reason),
        )

    def _caption_edit_asked(self, target: str) -> int:
        """Counts an edit of `target`'s caption; a text refused before it is not offered again."""
        asked = self._caption_edits.get(target, 0) + 1
        self._caption_edits[target] = asked
        self._unsaved.pop(target, None)
        return asked

    def _caption_not_saved(self, target: str, text: str, asked: int, reason: str) -> None:
        if self._caption_edits.get(target) != asked:
            return  # the user has changed this caption again since
        self._unsaved[target] = text
        self._unsaved_reason = reason
        if reason.startswith(WRITE_REFUSED):  # a full disk may have room again later
            self._retry.start()

    def _save_again(self) -> None:
        for target, text in list(self._unsaved.items()):
            self._save_caption(target, text, again=True)

    def _as_typed(self, target: str, row: Any) -> Any:
        """A caption as the book has it, or the text the user typed for it if the book refused it."""
        if target not in self._unsaved:
            return row
        return {**(row or {}), "text": self._unsaved[target], "source": "unsaved"}

    @property
    def unsaved_captions(self) -> int:
        return len(self._unsaved)

    def pick_caption(self, target: str, text: str) -> Task:
        self._caption_edit_asked(target)
        return self.edit(
            "Use a suggestion",
            lambda project, _control: captions.pick_text(project, target, text),
            caption(target),
        )

    def lock_caption(self, target: str, locked: bool) -> Task:
        return self.edit(
            "Lock the caption" if locked else "Unlock the caption",
            lambda project, _control: captions.lock(project, target, locked),
            caption(target),
        )

    def set_caption_tone(self, tone: str) -> Task:
        """The tone is the book's, kept with it as `caption --tone` keeps it: every suggestion
        from now on is written in it, and those written in another are out of date for the
        next Suggest Captions. An edit like any other, so Undo takes it back."""
        return self.edit(
            f"Caption tone {tone}",
            lambda project, _control: captions.save_options(project, tone=Tone(tone)),
            setting(captions.TONE_KEY),
        )

    def suggest_caption(self, target: str) -> Task:
        """A new suggestion for one photo, the book's title or a chapter's title, streamed
        into the panel as the model writes it."""
        # Edits asked for before this one (a tone just chosen) run in the other lane; they are
        # saved before the suggestion starts, so it is made with them. The wait is the worker's.
        saved = threading.Event()
        self.run_task(
            "Saving edits before a suggestion",
            lambda _project, _control: saved.set(),
            on_failed=lambda _reason: saved.set(),
        )

        def work(project: Project, control: Control) -> Any:
            while not saved.wait(0.05):
                control.check()
            written: dict[int, str] = {}

            def on_token(_target: object, candidate: int, piece: str) -> None:
                written[candidate] = written.get(candidate, "") + piece
                control.report(0, 0, written[candidate])

            return captions.caption_book(
                project, only=[target], regenerate=True, on_token=on_token, cancel=control.cancel
            )

        def stream(_done: int, _total: int, text: str) -> None:
            if self.caption.target == target:
                self.caption.show_streaming(text)

        return self.job("Suggesting a caption", work, changes_book=True, cancellable=True, on_progress=stream)

    def export_pdf(self, target: Path, done: Callable[[Any], object] | None = None) -> Task:
        def work(project: Project, control: Control) -> Any:
            printed = book_service.printed_book(project)

            def on_page(n: int, total: int) -> None:
                control.check()  # a cancelled export leaves the previous PDF as it was
                control.report(n, total, f"page {n} of {total}")

            return write_pdf(printed, target, on_page=on_page)

        return self.job(f"Exporting {target.name}", work, done, cancellable=True)

    def export_and_preview(self, target: Path) -> Task:
        """Export, then show the PDF that was written in the preview window."""
        target = target.expanduser().absolute()
        preview = self.pdf_preview
        showing = preview is not None and preview.isVisible() and preview.path == target
        if preview is not None and preview.path == target:
            preview.close_file()  # Windows cannot rename the new PDF over a file that is open
        task = self.export_pdf(target, lambda _report: self.show_pdf(target))
        if showing and preview is not None:
            # A failed or cancelled export leaves the previous PDF: it is shown again. The task
            # object goes once its outcome, whichever it was, is handled: a signal that cannot
            # have been sent before this connection (a quick failure's could have been).
            task.destroyed.connect(lambda: None if preview.page_count else preview.show_pdf(target))
        return task
