"""The exported PDF, previewed in the app as it was written: QtPdf renders the file itself, so
what shows is what goes to print (bleed, crops, embedded fonts), not a redraw of the book.

QPdfView lays every page out in one scroll and asks for a page only when it comes into sight,
at the size it is shown; its QPdfPageRenderer renders in a thread of its own and hands the
image back to the GUI thread. The GUI thread only opens the file (pdfium reads the document's
cross-reference table, not its pages) and reads page sizes: this window once, on opening, and
QPdfView again when a resize or a zoom lays the pages out anew (pdfium is one library behind one
lock, so that may wait for the page being rendered, never for more).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPointF, QSizeF, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QLabel, QMainWindow, QSpinBox, QToolBar, QWidget

ZOOM_STEP = 1.25
ZOOM_MIN, ZOOM_MAX = 0.1, 8.0
PREVIEW_SIZE = (820, 920)

# What a failed load means to someone who just exported a book.
_LOAD_ERRORS = {
    QPdfDocument.Error.FileNotFound: "the file is not there any more",
    QPdfDocument.Error.InvalidFileFormat: "it is not a readable PDF",
    QPdfDocument.Error.DataNotYetAvailable: "the file is still being written",
    QPdfDocument.Error.IncorrectPassword: "it is password-protected",
    QPdfDocument.Error.UnsupportedSecurityScheme: "it is encrypted",
}


class PdfPreview(QMainWindow):
    """A window of its own (parented to the editor, so it closes with it) on one PDF."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.path: Path | None = None
        self._sizes: list[QSizeF] = []  # page sizes in points, read once when the file opens
        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitInView)
        self.view.pageNavigator().currentPageChanged.connect(self._page_changed)
        self.view.zoomModeChanged.connect(lambda _mode: self._show_zoom())
        self.view.zoomFactorChanged.connect(lambda _factor: self._show_zoom())
        self.view.viewport().installEventFilter(self)  # the fit modes' zoom follows its size
        self.setCentralWidget(self.view)
        self._build_tools()
        self.message = QLabel()
        self.statusBar().addWidget(self.message, 1)
        self.resize(*PREVIEW_SIZE)
        self._enable()

    def _tool(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | QKeySequence.StandardKey | str,
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(
            f"{text} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
        )
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_tools(self) -> None:
        tools = QToolBar("Preview")
        tools.setObjectName("preview-toolbar")
        tools.setMovable(False)
        # Plain PgUp/PgDown scroll the view by a screen, which is a page when it fits; these
        # always go to the start of a page, also when zoomed in.
        self.first_action = self._tool("First", lambda: self.go_to(0), "Ctrl+Home")
        self.previous_action = self._tool("◀ Previous", self.previous_page, "Ctrl+PgUp")
        self.next_action = self._tool("Next ▶", self.next_page, "Ctrl+PgDown")
        self.last_action = self._tool("Last", lambda: self.go_to(self.page_count - 1), "Ctrl+End")
        self.page_box = QSpinBox()
        self.page_box.setPrefix("Page ")
        self.page_box.setKeyboardTracking(False)  # typing "12" must not jump to page 1 first
        self.page_box.valueChanged.connect(lambda value: self.go_to(value - 1))
        self.zoom_out_action = self._tool("Zoom out", self.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self.zoom_in_action = self._tool("Zoom in", self.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self.fit_page_action = self._tool("Fit page", self.fit_page, "Ctrl+0")
        self.fit_width_action = self._tool("Fit width", self.fit_width, "Ctrl+9")
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(110)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for action in (self.first_action, self.previous_action):
            tools.addAction(action)
        tools.addWidget(self.page_box)
        for action in (self.next_action, self.last_action):
            tools.addAction(action)
        tools.addSeparator()
        tools.addAction(self.zoom_out_action)
        tools.addWidget(self.zoom_label)
        for action in (self.zoom_in_action, self.fit_page_action, self.fit_width_action):
            tools.addAction(action)
        self.addToolBar(tools)

    # The file.

    def show_pdf(self, path: Path) -> bool:
        """Open `path` (again, if it is the one shown: it may have been written anew) at its
        first page; False, with the reason shown, if it cannot be read."""
        self.path = path
        self.setWindowTitle(f"{path.name} - preview - mixbook-desktop")
        error = self.document.load(str(path))
        if error != QPdfDocument.Error.None_ or self.document.status() != QPdfDocument.Status.Ready:
            self._sizes = []
            reason = _LOAD_ERRORS.get(error, f"QtPdf says {error.name}")
            self.message.setText(f"Cannot show {path.name}: {reason}")
            self._enable()
            return False
        self._sizes = [self.document.pagePointSize(n) for n in range(self.document.pageCount())]
        self.message.setText(f"{path}  ({self.page_count} pages)")
        self._enable()
        self.go_to(0)
        return True

    def close_file(self) -> None:
        """Let go of the file (the path is kept for show_pdf): Windows cannot replace a file
        that is open, and an export writes its PDF by renaming a new file over it."""
        self.document.close()
        self._sizes = []
        self._enable()

    @property
    def page_count(self) -> int:
        return len(self._sizes)

    @property
    def current_page(self) -> int:
        """The page at the top of the view, from 0."""
        return self.view.pageNavigator().currentPage()

    # Pages.

    def go_to(self, index: int) -> None:
        if not self._sizes:
            return
        index = max(0, min(index, self.page_count - 1))
        navigator = self.view.pageNavigator()
        zoom = self.view.zoomFactor()
        if index == navigator.currentPage() and self.page_count > 1:
            # QPdfView scrolls to a page only when the navigator's page changes, and after a
            # zoom the current page is no longer where it was: step off it, then back.
            navigator.update(index - 1 if index else index + 1, QPointF(0, 0), zoom)
        navigator.jump(index, QPointF(0, 0), zoom)
        self._page_changed(index)

    def next_page(self) -> None:
        self.go_to(self.current_page + 1)

    def previous_page(self) -> None:
        self.go_to(self.current_page - 1)

    def _page_changed(self, index: int) -> None:
        self.page_box.blockSignals(True)
        self.page_box.setValue(index + 1)
        self.page_box.blockSignals(False)
        self.first_action.setEnabled(index > 0)
        self.previous_action.setEnabled(index > 0)
        self.next_action.setEnabled(index < self.page_count - 1)
        self.last_action.setEnabled(index < self.page_count - 1)
        self._show_zoom()

    # Zoom: a factor of 1 shows a page at its printed size on a screen of the nominal density.

    def zoom_in(self) -> None:
        self._zoom_to(self.shown_zoom() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom_to(self.shown_zoom() / ZOOM_STEP)

    def fit_page(self) -> None:
        self._keep_page(lambda: self.view.setZoomMode(QPdfView.ZoomMode.FitInView))

    def fit_width(self) -> None:
        self._keep_page(lambda: self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth))

    def _zoom_to(self, factor: float) -> None:
        factor = max(ZOOM_MIN, min(factor, ZOOM_MAX))

        def custom() -> None:
            self.view.setZoomMode(QPdfView.ZoomMode.Custom)
            self.view.setZoomFactor(factor)

        self._keep_page(custom)

    def _keep_page(self, change: Callable[[], object]) -> None:
        """Zooming changes every page's height, so the same scroll position would land on
        another page: the page shown stays shown."""
        page = self.current_page
        change()
        self.go_to(page)
        across = self.view.horizontalScrollBar()
        across.setValue(across.maximum() // 2)  # zoomed in past the window: its middle

    def shown_zoom(self) -> float:
        """The zoom the page is shown at; in the fit modes QPdfView keeps its zoom factor
        unchanged and sizes pages from the viewport, so the same sum is done here."""
        mode = self.view.zoomMode()
        if mode == QPdfView.ZoomMode.Custom or not self._sizes:
            return self.view.zoomFactor()
        page = self._sizes[max(0, min(self.current_page, self.page_count - 1))]
        screen = QGuiApplication.primaryScreen()
        per_point = screen.logicalDotsPerInch() / 72 if screen is not None else 1.0
        margins = self.view.documentMargins()
        width = self.view.viewport().width() - margins.left() - margins.right()
        height = self.view.viewport().height() - self.view.pageSpacing()
        fit_width = width / (page.width() * per_point)
        if mode == QPdfView.ZoomMode.FitToWidth:
            return fit_width
        return min(fit_width, height / (page.height() * per_point))

    def _show_zoom(self) -> None:
        percent = f"{round(self.shown_zoom() * 100)}%"
        mode = self.view.zoomMode()
        names = {QPdfView.ZoomMode.FitInView: "Fit page", QPdfView.ZoomMode.FitToWidth: "Fit width"}
        self.zoom_label.setText(f"{names[mode]} ({percent})" if mode in names else percent)
        self.zoom_out_action.setEnabled(bool(self._sizes) and self.shown_zoom() > ZOOM_MIN * 1.001)
        self.zoom_in_action.setEnabled(bool(self._sizes) and self.shown_zoom() < ZOOM_MAX * 0.999)

    def _enable(self) -> None:
        count = self.page_count
        self.page_box.blockSignals(True)
        self.page_box.setRange(1 if count else 0, max(count, 0))
        self.page_box.setSuffix(f" of {count}")
        self.page_box.blockSignals(False)
        self.page_box.setEnabled(count > 0)
        for action in (self.fit_page_action, self.fit_width_action):
            action.setEnabled(count > 0)
        self._page_changed(self.current_page if count else 0)
        if not count:
            for action in (self.first_action, self.previous_action, self.next_action, self.last_action):
                action.setEnabled(False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view.viewport() and event.type() == QEvent.Type.Resize:
            self._show_zoom()
        return super().eventFilter(watched, event)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Hidden, it keeps no file open; the editor shows it again on the next export.
        self.close_file()
        event.accept()
