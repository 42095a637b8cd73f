"""The Cloud menu: the book's photos to its S3 bucket, local and cloud analysis side by side,
and its captions mirrored to its PostgreSQL server, on demand or quietly in the background.

Every cloud setting is read in the job's worker, never on the GUI thread, so the menu cannot
know beforehand whether the book has a bucket or a database: its entries stay enabled, and a
book without one says so as the job's one-line failure, naming where to set it. The cloud
libraries are imported inside the work: a book in local mode never loads boto3 or psycopg."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mixbook_desktop.cloud import config
from mixbook_desktop.cloud.config import CloudError, CloudSettings
from mixbook_desktop.store.captions import photo_target
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui.tasks import Control, Task

if TYPE_CHECKING:
    from mixbook_desktop.cloud.caption_sync import SyncReport
    from mixbook_desktop.cloud.uploads import PhotoUpload
    from mixbook_desktop.services.compare import ComparisonReport, PhotoComparison, Side
    from mixbook_desktop.ui.main_window import MainWindow

UPLOAD = "Uploading photos to S3"
COMPARE = "Comparing local and cloud"
SYNC = "Syncing captions"
AUTO_SYNC_MS = 5 * 60 * 1000
# The automatic sync retries at the next tick anyway: a server that does not answer should hold
# up the jobs queued behind it for less than the manual sync's full wait.
AUTO_SYNC_TIMEOUT_S = 5.0
NO_BUCKET = "the book has no S3 bucket yet: set one in Edit > Settings, under Cloud mode"
NO_POSTGRES = "the book has no PostgreSQL URL for its captions: set the caption mirror in Edit > Settings"
# The progress bar counts in thousandths: a book's bytes can pass the int a QProgressBar holds.
PARTS = 1000
FAILURES_NAMED = 3  # in the status line; the rest are counted
PART_NAMES = ("faces", "emotions", "tags", "moderation", "overall")
COLUMNS = ("File", "Faces L/C", "Emotions local / cloud", "Tags local / cloud", "Moderation L/C", "Agreement")
LOW_AGREEMENT = 0.6  # a row agreeing less than this is marked, to be looked at first
WARNING = QColor("#b3261e")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _mb(size: int) -> str:
    megabytes = size / 1e6
    return f"{megabytes:.1f}" if megabytes < 10 else f"{megabytes:.0f}"


def _settings(project: Project, need: Literal["bucket", "postgres"]) -> CloudSettings:
    """The book's cloud settings, read in the worker; CloudError when what `need`s is not set."""
    settings = config.load(project)
    if need == "bucket" and not settings.bucket:
        raise CloudError(NO_BUCKET)
    if need == "postgres" and not settings.postgres_url:
        raise CloudError(NO_POSTGRES)
    return settings


def _one_line_failures(work: Callable[[Project, Control], Any]) -> Callable[[Project, Control], Any]:
    """A CloudError is the job's failure text in the status bar: one line there, whatever a
    server put in its answer."""

    def wrapped(project: Project, control: Control) -> Any:
        try:
            return work(project, control)
        except CloudError as exc:
            raise CloudError(_one_line(str(exc)) or type(exc).__name__) from None

    return wrapped


def _megabytes(control: Control, what: str = "") -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        share = round(PARTS * done / total) if total else 0
        control.report(share, PARTS if total else 0, f"{what}{_mb(done)} of {_mb(total)} MB")

    return report


@dataclass
class UploadOutcome:
    """An upload as the user counts it: photos, not the two objects each one makes in S3."""

    uploaded: int = 0  # photos this run sent something of
    there: int = 0  # photos the bucket held already
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    bytes_sent: int = 0

    def photo_done(self, photo: PhotoUpload) -> None:
        if photo.error is not None:
            return  # listed in the report's failures
        if photo.sent:
            self.uploaded += 1
        else:
            self.there += 1

    def summary(self) -> str:
        sent = f" ({_mb(self.bytes_sent)} MB)" if self.uploaded else ""
        line = (
            f"{_count(self.uploaded, 'photo')} uploaded{sent}, {self.there} already there, "
            f"{len(self.failed)} failed"
        )
        if not self.failed:
            return line
        named = "; ".join(f"{Path(path).name} ({reason})" for path, reason in self.failed[:FAILURES_NAMED])
        more = len(self.failed) - FAILURES_NAMED
        return f"{line}: {named}" + (f"; and {more} more" if more > 0 else "")


class CloudMenu(QObject):
    """The window's &Cloud menu and its automatic caption sync (see `start`)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.compare_dialog: CompareDialog | None = None  # made on the first comparison, then reused
        self.conflicts_box: QMessageBox | None = None
        menu = window.menuBar().addMenu("&Cloud")
        self.upload_action = self._action("&Upload Photos to S3", self.upload)
        self.compare_action = self._action("&Compare Local and Cloud...", self.compare)
        self.sync_action = self._action("&Sync Captions Now", self.sync)
        for action in (self.upload_action, self.compare_action, self.sync_action):
            menu.addAction(action)
        self.timer = QTimer(self)
        self.timer.setInterval(AUTO_SYNC_MS)
        self.timer.timeout.connect(self.auto_sync)
        self._auto_pending = False  # a quiet sync is asked for, waiting or running
        self._offline: str | None = None  # why the last quiet sync failed, already said once
        window.closed.connect(self._window_closed)

    def _action(self, text: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self.window)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def start(self) -> None:
        """Sync the captions every few minutes while the window is idle (books with a mirror)."""
        self.timer.start()

    def _window_closed(self) -> None:
        self.timer.stop()
        # Like the preview and the settings: this book's windows go with it.
        for other in (self.compare_dialog, self.conflicts_box):
            if other is not None:
                other.close()

    # Upload.

    def upload(self) -> Task:
        outcome = UploadOutcome()

        def work(project: Project, control: Control) -> UploadOutcome:
            from mixbook_desktop.cloud import aws, uploads

            settings = _settings(project, "bucket")
            s3 = aws.client(settings, "s3")  # one client: each one made loads botocore's models again
            uploads.ensure_bucket(settings, s3)
            report = uploads.upload_book(
                project,
                settings,
                s3,
                on_photo=outcome.photo_done,
                on_progress=_megabytes(control),
                cancel=control.cancel,
            )
            control.check()  # stopped early: say so (what was sent is remembered in the book)
            outcome.failed = list(report.failed)
            outcome.bytes_sent = report.bytes_sent
            return outcome

        def done(result: UploadOutcome) -> None:
            self.window.message.setText(f"{UPLOAD}: {result.summary()}")

        return self.window.job(UPLOAD, _one_line_failures(work), done, cancellable=True)

    # Compare.

    def compare(self) -> Task:
        def work(project: Project, control: Control) -> ComparisonReport:
            from mixbook_desktop.cloud import aws, uploads
            from mixbook_desktop.services import cloud_analysis

            settings = _settings(project, "bucket")
            s3 = aws.client(settings, "s3")
            uploads.ensure_bucket(settings, s3)
            # The comparison uploads what the bucket lacks itself, silently: done first here, the
            # upload shows its progress, and counts the photos the comparison then goes through.
            photos = [0]

            def counted(_photo: PhotoUpload) -> None:
                photos[0] += 1

            uploads.upload_book(
                project,
                settings,
                s3,
                on_photo=counted,
                on_progress=_megabytes(control, "uploading, "),
                cancel=control.cancel,
            )
            control.check()
            compared = [0]

            def on_photo(_photo: PhotoComparison) -> None:
                compared[0] += 1
                total = max(photos[0], compared[0])
                control.report(compared[0], total, f"{compared[0]} of {total} photos compared")

            report = cloud_analysis.compare(project, settings, on_photo=on_photo, cancel=control.cancel)
            control.check()  # a part of the book is no comparison of it
            return report

        return self.window.job(COMPARE, _one_line_failures(work), self.show_comparison, cancellable=True)

    def show_comparison(self, report: ComparisonReport) -> CompareDialog:
        if self.compare_dialog is None:
            self.compare_dialog = CompareDialog(self.window)
            # The window's own way for a panel to show a photo: selected in the library.
            self.compare_dialog.photoChosen.connect(self.window._show_photo)
        self.compare_dialog.show_report(report)
        self.compare_dialog.show()
        self.compare_dialog.raise_()
        self.compare_dialog.activateWindow()
        overall = report.mean("overall")
        compared = sum(1 for p in report.photos if p.agreement is not None)
        line = f"Compared {compared} of {_count(len(report.photos), 'photo')}"
        if overall is not None:
            line += f": {overall:.0%} agreement"
        self.window.message.setText(line)
        return self.compare_dialog

    # Captions, now.

    def sync(self) -> Task:
        def work(project: Project, _control: Control) -> SyncReport:
            from mixbook_desktop.cloud import caption_sync

            return caption_sync.sync_captions(project, _settings(project, "postgres"))

        def done(report: SyncReport) -> None:
            self.window.message.setText(report.summary())
            if report.conflicts:
                self.show_conflicts(report, activate=True)

        # Captions may come in from the server: the window reads the book again.
        return self.window.job(SYNC, _one_line_failures(work), done, changes_book=True)

    def _label(self, target: str) -> str:
        """A caption's target as the user knows it: the photo's file, or the title's place."""
        overview = self.window.overview
        for shown, label, _caption in overview.titles if overview is not None else []:
            if shown == target:
                return label
        model = self.window.model
        for row in range(model.rowCount()):
            photo = model.photo(row)
            if photo_target(photo.photo_id) == target:
                return photo.name
        return target

    def show_conflicts(self, report: SyncReport, activate: bool) -> QMessageBox:
        """Non-modal: the user goes on working, and may look each caption up while it is open."""
        lines = [
            f"{self._label(c.target)}: kept “{c.kept or ''}”; set aside “{c.set_aside or ''}” "
            f"(from {c.set_aside_from})"
            for c in report.conflicts
        ]
        if self.conflicts_box is not None:
            self.conflicts_box.close()
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "Caption conflicts",
            f"{_count(len(lines), 'caption')} changed both here and on {report.server} since the last "
            "sync. The newer text is kept; the other text is in each one's history (the Caption "
            "panel), from where it can be taken back.",
            QMessageBox.StandardButton.Ok,
            self.window,
        )
        box.setInformativeText("\n".join(lines))
        box.setWindowModality(Qt.WindowModality.NonModal)
        # A box from the background sync must not take the keys from what the user is typing.
        box.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, not activate)
        box.show()
        self.conflicts_box = box
        return box

    # Captions, quietly: after Suggest Captions and every few minutes.

    def sync_after(self, task: Task) -> Task:
        """Sync the captions once `task` is over, whatever its outcome (a cancelled one has
        saved suggestions too)."""
        # The task object goes once the window has handled its outcome: a signal that cannot
        # have gone by before this connection, unlike a quick task's own ones.
        task.destroyed.connect(lambda: self.sync_quietly() if self.window.isVisible() else None)
        return task

    def auto_sync(self) -> None:
        """The timer's tick: only while no work is running; a busy window waits for the next."""
        if not self.window.busy and self.window.isVisible():
            self.sync_quietly()

    def sync_quietly(self) -> None:
        """A sync in the jobs lane for a book with a mirror; nothing at all for one without. The
        setting is read in the edits' lane, where a read that finds nothing to do says nothing."""
        if self._auto_pending:
            return
        self._auto_pending = True
        self.window.run_task(
            "Reading the caption mirror's setting",
            lambda project, _control: config.load(project).postgres_url,
            self._queue_quiet_sync,
            on_failed=lambda _reason: self._quiet_sync_over(),
        )

    def _quiet_sync_over(self) -> None:
        self._auto_pending = False

    def _queue_quiet_sync(self, url: str | None) -> None:
        if not url or not self.window.isVisible():
            self._auto_pending = False
            return
        # With no job running, this one starts at once: what the status bar shows now is what it
        # shows again after a sync that had nothing to do.
        before = self.window.message.text() if self.window.task is None else None

        def work(project: Project, _control: Control) -> SyncReport | str | None:
            from mixbook_desktop.cloud import caption_sync

            settings = config.load(project)
            if not settings.postgres_url:
                return None  # taken away since
            try:
                return caption_sync.sync_captions(project, settings, timeout=AUTO_SYNC_TIMEOUT_S)
            except CloudError as exc:
                # Offline is a laptop's usual state, no failure: `done` says it once.
                return _one_line(str(exc))

        self.window.job(
            SYNC,
            work,
            lambda outcome: self._quietly_synced(outcome, before),
            on_failed=lambda _reason: self._quiet_sync_over(),
        )

    def _quietly_synced(self, outcome: SyncReport | str | None, before: str | None) -> None:
        self._auto_pending = False
        message = self.window.message

        def as_before() -> None:
            if before is not None and message.text() == f"{SYNC}: done":
                message.setText(before)

        if outcome is None:
            as_before()
        elif isinstance(outcome, str):
            if self._offline is None:
                # What to do first, the server's words after: a long answer is cut at the edge.
                minutes = AUTO_SYNC_MS // 60_000
                message.setText(f"Captions not synced, trying again in {minutes} minutes: {outcome}")
            else:
                as_before()
            self._offline = outcome
        else:
            received = outcome.captions_received + outcome.history_received + outcome.suggestions_received
            sent = outcome.captions_sent + outcome.history_sent + outcome.suggestions_sent
            if self._offline is not None:
                message.setText(f"Caption sync works again: {outcome.summary()}")
            elif received or sent or outcome.conflicts:
                message.setText(outcome.summary())
            else:
                as_before()
            self._offline = None
            if outcome.conflicts:
                self.show_conflicts(outcome, activate=False)
            if received or outcome.conflicts:
                self.window.reload()


def _emotions(side: Side) -> str:
    return ", ".join(e.lower() if e else "-" for e in side.emotions) or "-"


def _tags(side: Side) -> str:
    return ", ".join(sorted(side.tags)) or "-"


def _cell(text: str, tip: str | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    item.setToolTip(tip or text)
    return item


class CompareDialog(QDialog):
    """A comparison of local and cloud analysis, one row per photo, their means at the bottom.
    Not modal: the book stays in view, and choosing a row shows its photo there."""

    photoChosen = Signal(str)  # the SHA-256 of the photo of the row chosen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Local and cloud analysis")
        self.resize(1100, 560)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Tags local / cloud"), QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._row_chosen)
        self.means = QLabel()
        self.means.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.means)
        layout.addWidget(buttons)
        self.report: ComparisonReport | None = None

    def show_report(self, report: ComparisonReport) -> None:
        self.report = report
        table = self.table
        table.clearSpans()
        table.setRowCount(len(report.photos))
        for row, photo in enumerate(report.photos):
            self._fill(row, photo)
        table.resizeRowsToContents()
        self.means.setText(self._means(report))

    def _fill(self, row: int, photo: PhotoComparison) -> None:
        table = self.table
        name = _cell(Path(photo.path).name, photo.path)
        name.setData(Qt.ItemDataRole.UserRole, photo.sha256)
        table.setItem(row, 0, name)
        local, cloud, agreement = photo.local, photo.cloud, photo.agreement
        if local is None or cloud is None or agreement is None:
            # The side that failed says why, across the row: there is nothing to compare.
            error = _cell(photo.error or "not compared")
            error.setForeground(QBrush(WARNING))
            table.setItem(row, 1, error)
            for column in range(2, len(COLUMNS)):
                table.setItem(row, column, _cell(""))
            table.setSpan(row, 1, 1, len(COLUMNS) - 1)
            return
        cells = (
            f"{len(local.faces)}/{len(cloud.faces)}",
            f"{_emotions(local)} / {_emotions(cloud)}",
            f"{_tags(local)} / {_tags(cloud)}",
            f"{local.moderation or '-'}/{cloud.moderation or '-'}",
        )
        for column, text in enumerate(cells, start=1):
            table.setItem(row, column, _cell(text))
        parts = [f"{k} {v:.0%}" for k, v in agreement.as_json().items() if v is not None and k != "overall"]
        overall = _cell(f"{agreement.overall:.0%}", ", ".join(parts))
        overall.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if agreement.overall < LOW_AGREEMENT:
            overall.setForeground(QBrush(WARNING))
            bold = QFont(overall.font())
            bold.setBold(True)
            overall.setFont(bold)
        table.setItem(row, len(COLUMNS) - 1, overall)

    @staticmethod
    def _means(report: ComparisonReport) -> str:
        means = [(part, report.mean(part)) for part in PART_NAMES]
        shown = ", ".join(f"{part} {value:.0%}" for part, value in means if value is not None)
        compared = sum(1 for p in report.photos if p.agreement is not None)
        text = f"Mean agreement over {_count(compared, 'photo')}: {shown or 'none'}"
        failed = len(report.photos) - compared
        if failed:
            text += f". {_count(failed, 'photo')} could not be compared (the reason is in its row)"
        return text

    def sha_at(self, row: int) -> str | None:
        item = self.table.item(row, 0)
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return value if isinstance(value, str) else None

    def _row_chosen(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        sha = self.sha_at(rows.pop()) if len(rows) == 1 else None
        if sha is not None:
            self.photoChosen.emit(sha)
