"""The exported PDF, previewed in the app as it was written: pdfium (through pypdfium2) renders the
file itself, so what shows is what goes to print (bleed, crops, embedded fonts), not a redraw of
the book.

pdfium has no locking of its own: two threads in it at once, even on two documents, can corrupt
it. So one worker thread per preview owns the document: it opens it, reads the page sizes and
renders the pages asked for, and `_PDFIUM` keeps two such threads (a closed preview's finishing
its last page, the next one's opening) from overlapping. The GUI thread never calls pdfium.
Opening the demo book's 21-page PDF and reading its page sizes takes about a millisecond, which
the GUI thread could afford, but only while no worker was rendering, so the worker does it too
and hands the sizes over.

The GUI thread lays the pages out as placeholders of those sizes, one under another in a single
scroll, and whenever it paints it tells the worker which pages it now wants and at what size in
device pixels: the ones in view first, then their neighbours. That list replaces the worker's
queue, so pages scrolled past are never rendered. Each image comes back as a QImage through a
queued signal and is painted as a pixmap; until a page at a new zoom arrives, the one it has is
drawn scaled. A page is rendered whole up to FULL_PIXELS; zoomed in past that, the whole page
stays at that size and the part in view is rendered at full size on top, so memory is bounded by
the window, not the zoom. Pages more than a window's height from the view are dropped.
"""

from __future__ import annotations

import atexit
import ctypes
import math
import os
import sys
import threading
import weakref
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

import pypdfium2
import pypdfium2.raw as pdfium_c
from PySide6.QtCore import QObject, QPoint, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QImage,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QLabel, QMainWindow, QSpinBox, QToolBar, QWidget

from mixbook_desktop.ui.tasks import retire

ZOOM_STEP = 1.25
ZOOM_MIN, ZOOM_MAX = 0.1, 8.0
PREVIEW_SIZE = (820, 920)
GAP = 12  # logical pixels around the pages and between them
# A page is rendered whole up to this many device pixels (26 MB); zoomed in further, the part in
# view is rendered on top of it, so a page at 800% on a HiDPI screen is never 600 MB.
FULL_PIXELS = 2560 * 2560
# Pages the worker keeps loaded: pdfium keeps a loaded page's decoded photos, so rendering it
# again (a zoom, the part in view while scrolling zoomed in) skips the JPEG decoding, half the
# time of a photo page. Two cover the pages in view; each costs its photos' decoded size.
LOADED_PAGES = 2

_PDFIUM = threading.Lock()  # held by whichever preview worker is inside pdfium


def _keep_workers_out() -> None:
    # pypdfium2 closes what is still open and destroys the library at exit, while a preview's
    # daemon worker may be rendering: the worker gets to finish that page, and never enters
    # pdfium again.
    _PDFIUM.acquire()


class _Anchor:
    pass


# Exit handlers run newest first, and ours must come before both of pypdfium2's: the library's
# own (registered when pypdfium2 was imported, above) and weakref.finalize's, which closes the
# pages and documents still open on the main thread. weakref.finalize registers that one the
# first time any finalizer is made, usually when the worker opens its first document, after
# ours; making a finalizer now puts it first.
_ANCHOR = _Anchor()
weakref.finalize(_ANCHOR, lambda: None)
atexit.register(_keep_workers_out)


# Why pdfium could not open a file, to someone who just exported a book.
_LOAD_ERRORS = {
    pdfium_c.FPDF_ERR_SUCCESS: "it has no pages",
    pdfium_c.FPDF_ERR_FILE: "the file cannot be read",
    pdfium_c.FPDF_ERR_FORMAT: "it is not a readable PDF",
    pdfium_c.FPDF_ERR_PASSWORD: "it is password-protected",
    pdfium_c.FPDF_ERR_SECURITY: "it is encrypted",
}


class ZoomMode(Enum):
    FIT_PAGE = "Fit page"
    FIT_WIDTH = "Fit width"
    CUSTOM = "Custom"


class _Job(NamedTuple):
    """One image for the worker to render: page `page` of document `generation` drawn at
    `width` x `height` device pixels, of which the part from (`left`, `top`) to (`right`,
    `bottom`); `detail` marks the part in view of a page too large to render whole."""

    generation: int
    page: int
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    detail: bool


def _whole(generation: int, page: int, width: int, height: int) -> _Job:
    return _Job(generation, page, width, height, 0, 0, width, height, False)


def _covers(job: _Job, width: int, height: int, part: tuple[int, int, int, int]) -> bool:
    left, top, right, bottom = part
    return (job.width, job.height) == (width, height) and (
        job.left <= left and job.top <= top and job.right >= right and job.bottom >= bottom
    )


class _Renderer(QObject):
    """The worker thread and its requests. Its signals arrive on the GUI thread."""

    opened = Signal(int, object)  # generation, the pages' (width, height) in points
    failed = Signal(int, str)  # generation, why the file cannot be shown
    rendered = Signal(object, QImage)  # the _Job, its image (null if the page cannot be drawn)
    _done = Signal(object, QImage)  # from the worker thread, queued to the GUI thread

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Condition()
        self._asked: tuple[int, Path | None] | None = None  # a document to open (None: none)
        self._generation = -1  # of the latest document asked for
        self._queue: list[_Job] = []  # first, the one to render first
        # Taken by the worker and not yet delivered on the GUI thread: the view still wants
        # them until they arrive, and they must not be rendered twice.
        self._underway: set[_Job] = set()
        self._stopping = False
        self._done.connect(self._deliver)
        self._thread = threading.Thread(target=self._work, name="pdf preview", daemon=True)
        self._thread.start()

    def open(self, generation: int, path: Path | None) -> None:
        """Open `path` in place of the document held, or with None only let go of it; the
        requests made until now are dropped."""
        with self._lock:
            self._asked = (generation, path)
            self._generation = generation
            self._queue = []
            self._underway.clear()
            self._lock.notify()

    def want(self, jobs: list[_Job]) -> None:
        """What the view needs now, the most urgent first, instead of what it asked before."""
        with self._lock:
            self._queue = [j for j in jobs if j.generation == self._generation and j not in self._underway]
            self._lock.notify()

    def stop(self) -> None:
        """End the worker once the page it may be rendering is done; never waits for it."""
        with self._lock:
            self._stopping = True
            self._lock.notify()
        retire(self, self._thread)

    def _deliver(self, job: _Job, image: QImage) -> None:
        with self._lock:
            self._underway.discard(job)
        self.rendered.emit(job, image)

    def _work(self) -> None:
        document: Any = None
        generation = -1
        pages: OrderedDict[int, Any] = OrderedDict()
        try:
            while True:
                with self._lock:
                    while not (self._stopping or self._asked is not None or self._queue):
                        self._lock.wait()
                    if self._stopping:
                        return
                    asked, self._asked = self._asked, None
                    job = self._queue.pop(0) if asked is None else None
                    if job is not None:
                        self._underway.add(job)
                if asked is not None:
                    _close(document, pages)
                    document = None
                    generation, path = asked
                    if path is not None:
                        document = self._open(generation, path)
                elif job is not None and document is not None and job.generation == generation:
                    self._done.emit(job, _render(document, pages, job))
                elif job is not None:
                    with self._lock:
                        self._underway.discard(job)
        finally:
            _close(document, pages)

    def _open(self, generation: int, path: Path) -> Any:
        try:
            with _PDFIUM:
                document = pypdfium2.PdfDocument(str(path))
                try:
                    sizes = [document.get_page_size(n) for n in range(len(document))]
                except BaseException:
                    document.close()
                    raise
        except FileNotFoundError:
            self.failed.emit(generation, "the file is not there any more")
            return None
        except pypdfium2.PdfiumError as exc:
            code = getattr(exc, "err_code", None)
            self.failed.emit(generation, _LOAD_ERRORS.get(code, f"pdfium says {exc}"))
            return None
        except OSError as exc:
            self.failed.emit(generation, exc.strerror or str(exc))
            return None
        except Exception as exc:  # shown in the window; the worker goes on for the next file
            self.failed.emit(generation, str(exc) or type(exc).__name__)
            return None
        self.opened.emit(generation, sizes)
        return document


def _render(document: Any, pages: OrderedDict[int, Any], job: _Job) -> QImage:
    """The part of the page the job asks for, on white; a null image if pdfium fails on it."""
    image = QImage(job.right - job.left, job.bottom - job.top, QImage.Format.Format_RGB32)
    if image.isNull():
        return image  # too large to allocate: the placeholder stays
    bits = image.bits()
    assert isinstance(bits, memoryview)
    # pdfium draws straight into the QImage's memory: BGRx is Format_RGB32's byte order on
    # little-endian machines, and the white fill leaves the unused byte at 0xff, as Qt wants it.
    buffer = (ctypes.c_ubyte * image.sizeInBytes()).from_buffer(bits)
    try:
        with _PDFIUM:
            page = pages.pop(job.page, None)
            if page is None:
                page = document[job.page]
            pages[job.page] = page
            while len(pages) > LOADED_PAGES:
                pages.popitem(last=False)[1].close()
            bitmap = pypdfium2.PdfBitmap.new_native(
                image.width(),
                image.height(),
                pdfium_c.FPDFBitmap_BGRx,
                buffer=buffer,
                stride=image.bytesPerLine(),
            )
            try:
                bitmap.fill_rect((255, 255, 255, 255), 0, 0, image.width(), image.height())
                pdfium_c.FPDF_RenderPageBitmap(
                    bitmap, page, -job.left, -job.top, job.width, job.height, 0, pdfium_c.FPDF_ANNOT
                )
            finally:
                bitmap.close()
    except Exception as exc:  # one page pdfium cannot draw is shown as such, not the end of all
        print(f"pdf preview: page {job.page + 1}: {exc}", file=sys.stderr)
        return QImage()
    return image


def _close(document: Any, pages: OrderedDict[int, Any]) -> None:
    with _PDFIUM:
        while pages:
            pages.popitem()[1].close()
        if document is not None:
            document.close()


class PageView(QAbstractScrollArea):
    """The pages one under another, each drawn from the images the worker renders; it asks
    for them as it paints, so only what comes into view is rendered."""

    page_changed = Signal(int)
    zoom_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.renderer: _Renderer | None = None
        self.mode = ZoomMode.FIT_PAGE
        self.zoom = 1.0  # as shown: a factor of 1 is a page at its printed size on the screen
        self._factor = 1.0  # the zoom of the custom mode
        self._generation = -1
        self._sizes: list[tuple[float, float]] = []  # in points
        self._rects: list[QRect] = []  # in logical pixels, from the top left of all pages
        self._bottoms: list[int] = []  # of the rects, for bisecting
        self._content_width = 0
        self._current = 0
        self._quiet = False  # the view is scrolled by the program, not the user
        self._whole: dict[int, tuple[_Job, QPixmap]] = {}
        self._detail: dict[int, tuple[_Job, QPixmap]] = {}
        self._asked_detail: dict[int, _Job] = {}
        self._failed: set[int] = set()
        self._sent: list[_Job] = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # Always there, so that fitting the width cannot make it appear and the width change.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    # The document.

    def show_pages(self, generation: int, sizes: list[tuple[float, float]]) -> None:
        self._reset(generation)
        self._sizes = sizes
        self._layout()
        self.go_to(0)

    def clear(self, generation: int) -> None:
        self._reset(generation)
        self._layout()

    def _reset(self, generation: int) -> None:
        self._generation = generation
        self._sizes = []
        self._rects, self._bottoms = [], []
        self._current = 0
        self._whole.clear()
        self._detail.clear()
        self._asked_detail.clear()
        self._failed.clear()
        self._sent = []

    @property
    def page_count(self) -> int:
        return len(self._sizes)

    @property
    def current_page(self) -> int:
        return self._current

    def rendered(self, page: int) -> bool:
        """Whether the worker's image of the whole `page` is in."""
        return page in self._whole

    def take(self, job: _Job, image: QImage) -> None:
        """An image from the worker."""
        if job.generation != self._generation or job.page >= len(self._rects):
            return
        if image.isNull():
            self._failed.add(job.page)
        else:
            (self._detail if job.detail else self._whole)[job.page] = (job, QPixmap.fromImage(image))
        self.viewport().update(self._rects[job.page].translated(-self._offset()))

    # Zoom and scrolling.

    def set_zoom(self, mode: ZoomMode, factor: float | None = None) -> None:
        self.mode = mode
        if factor is not None:
            self._factor = max(ZOOM_MIN, min(factor, ZOOM_MAX))
        custom = mode is ZoomMode.CUSTOM
        self.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded if custom else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self._layout()

    def go_to(self, index: int) -> None:
        if not self._rects:
            return
        self._current = max(0, min(index, len(self._rects) - 1))
        self._scroll(self.horizontalScrollBar().value(), self._rects[self._current].top() - GAP)
        self.page_changed.emit(self._current)

    def _offset(self) -> QPoint:
        return QPoint(self.horizontalScrollBar().value(), self.verticalScrollBar().value())

    def _scroll(self, x: int, y: int) -> None:
        quiet, self._quiet = self._quiet, True
        try:
            self.horizontalScrollBar().setValue(x)
            self.verticalScrollBar().setValue(y)
        finally:
            self._quiet = quiet

    def _layout(self) -> None:
        """Place the pages at the zoom of the mode, keeping the current page where it was in
        the view: the same scroll position would land on another page at another zoom."""
        anchor = self._anchor()
        viewport = self.viewport()
        width, height = viewport.width(), viewport.height()
        per_point = viewport.logicalDpiX() / 72
        self._rects, self._bottoms = [], []
        if self._sizes:
            widest = max(w for w, _h in self._sizes) * per_point
            tallest = max(h for _w, h in self._sizes) * per_point
            across, down = (width - 2 * GAP) / widest, (height - 2 * GAP) / tallest
            zoom = {ZoomMode.FIT_WIDTH: across, ZoomMode.FIT_PAGE: min(across, down)}.get(
                self.mode, self._factor
            )
            self.zoom = max(zoom, 0.01)  # a window too small for any page still shows a dot of each
            sizes = [
                (max(1, round(w * per_point * self.zoom)), max(1, round(h * per_point * self.zoom)))
                for w, h in self._sizes
            ]
            self._content_width = max(width, max(w for w, _h in sizes) + 2 * GAP)
            top = GAP
            for w, h in sizes:
                self._rects.append(QRect((self._content_width - w) // 2, top, w, h))
                top += h
                self._bottoms.append(top)
                top += GAP
            content_height = top
        else:
            self._content_width, content_height = width, height
        quiet, self._quiet = self._quiet, True
        try:
            across_bar, down_bar = self.horizontalScrollBar(), self.verticalScrollBar()
            across_bar.setRange(0, max(0, self._content_width - width))
            across_bar.setPageStep(width)
            across_bar.setSingleStep(max(20, width // 20))
            # That range may have shown or hidden the horizontal scroll bar (at a custom zoom
            # only), which changed the height and laid the pages out again from within this
            # call, at the same zoom: the height is read again, the anchor kept below.
            height = viewport.height()
            down_bar.setRange(0, max(0, content_height - height))
            down_bar.setPageStep(height)
            down_bar.setSingleStep(max(20, height // 20))
            if anchor is not None and self._rects:
                page, down, above, across = anchor
                rect = self._rects[min(page, len(self._rects) - 1)]
                viewport_width = self.viewport().width()
                self._scroll(
                    round(across * self._content_width - viewport_width / 2),
                    round(rect.top() + down * rect.height() - above),
                )
        finally:
            self._quiet = quiet
        viewport.update()
        self.zoom_changed.emit()

    def _anchor(self) -> tuple[int, float, int, float] | None:
        """The current page; where the top of the view is on it, as a fraction of its height, or
        else in pixels above it (the gap above a page stays a gap at any zoom); and where the
        middle of the view is across all pages, as a fraction of their width."""
        if not self._rects or self._current >= len(self._rects):
            return None
        rect = self._rects[self._current]
        top = self.verticalScrollBar().value()
        down, above = max(0.0, (top - rect.top()) / rect.height()), max(0, rect.top() - top)
        middle = self.horizontalScrollBar().value() + self.viewport().width() / 2
        return self._current, down, above, middle / max(1, self._content_width)

    def _pages_in(self, top: int, bottom: int) -> Iterator[int]:
        """The pages with a row of pixels from `top` to `bottom` (excluded)."""
        for index in range(bisect_right(self._bottoms, top), len(self._rects)):
            if self._rects[index].top() >= bottom:
                return
            yield index

    def _shown_height(self, index: int, view: QRect) -> int:
        rect = self._rects[index]
        return min(self._bottoms[index], view.top() + view.height()) - max(rect.top(), view.top())

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._layout()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.viewport().update()
        if self._quiet or not self._rects:
            return
        # Scrolled by hand: the current page is the one taking the most of the view.
        view = self._view()
        shown = list(self._pages_in(view.top(), view.top() + view.height()))
        if shown:
            page = max(shown, key=lambda index: self._shown_height(index, view))
            if page != self._current:
                self._current = page
                self.page_changed.emit(page)

    def _view(self) -> QRect:
        viewport = self.viewport()
        return QRect(
            self.horizontalScrollBar().value(),
            self.verticalScrollBar().value(),
            viewport.width(),
            viewport.height(),
        )

    # Painting, and asking for what it needs.

    def paintEvent(self, event: QPaintEvent) -> None:
        view = self._view()
        painter = QPainter(self.viewport())
        try:
            painter.fillRect(event.rect(), self.palette().color(QPalette.ColorRole.Dark))
            painter.translate(-view.left(), -view.top())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            for index in self._pages_in(view.top(), view.top() + view.height()):
                self._paint_page(painter, index)
        finally:
            painter.end()
        self._ask(view)

    def _paint_page(self, painter: QPainter, index: int) -> None:
        rect = self._rects[index]
        painter.setPen(self.palette().color(QPalette.ColorRole.Shadow))
        painter.drawRect(rect.adjusted(-1, -1, 0, 0))
        whole = self._whole.get(index)
        if whole is None:
            painter.fillRect(rect, Qt.GlobalColor.white)
            if index in self._failed:
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "This page cannot be shown")
        else:
            painter.drawPixmap(QRectF(rect), whole[1], QRectF(whole[1].rect()))
        detail = self._detail.get(index)
        if detail is not None and (whole is None or detail[0].width > whole[0].width):
            job, pixmap = detail
            across, down = rect.width() / job.width, rect.height() / job.height
            target = QRectF(
                rect.left() + job.left * across,
                rect.top() + job.top * down,
                (job.right - job.left) * across,
                (job.bottom - job.top) * down,
            )
            painter.drawPixmap(target, pixmap, QRectF(pixmap.rect()))

    def _ask(self, view: QRect) -> None:
        """Tell the worker what to render now: the pages in view, the one taking the most of it
        first, then the part in view of those zoomed past FULL_PIXELS, then the pages within
        half a view below and above. Pages more than a view away are let go of."""
        if self.renderer is None or not self._rects:
            return
        top, bottom, height = view.top(), view.top() + view.height(), view.height()
        near = set(self._pages_in(top - height, bottom + height))
        for kept in (self._whole, self._detail):
            for index in [i for i in kept if i not in near]:
                del kept[index]
        shown = sorted(self._pages_in(top, bottom), key=lambda index: -self._shown_height(index, view))
        below = [i for i in self._pages_in(bottom, bottom + height // 2) if i not in shown]
        above = [i for i in self._pages_in(top - height // 2, top) if i not in shown]
        scale = self.viewport().devicePixelRatioF()
        wholes: list[_Job] = []
        details: list[_Job] = []
        for index in [*shown, *below, *reversed(above)]:
            if index in self._failed:
                continue
            whole, detail = self._wanted(index, view if index in shown else None, scale)
            had = self._whole.get(index)
            if had is None or had[0] != whole:
                wholes.append(whole)
            if detail is not None:
                details.append(detail)
        self._asked_detail = {job.page: job for job in details}
        shown_wholes = [job for job in wholes if job.page in shown]
        jobs = [*shown_wholes, *details, *(job for job in wholes if job.page not in shown)]
        if jobs != self._sent:
            self._sent = jobs
            self.renderer.want(jobs)

    def _wanted(self, index: int, view: QRect | None, scale: float) -> tuple[_Job, _Job | None]:
        """The whole page as it should be, and the part in `view` to render at full size if
        the page is too large to render whole (None if it is not, or is already there)."""
        rect = self._rects[index]
        width, height = max(1, round(rect.width() * scale)), max(1, round(rect.height() * scale))
        if width * height <= FULL_PIXELS:
            self._detail.pop(index, None)
            return _whole(self._generation, index, width, height), None
        shrink = math.sqrt(FULL_PIXELS / (width * height))
        whole = _whole(self._generation, index, max(1, int(width * shrink)), max(1, int(height * shrink)))
        if view is None:
            return whole, None
        part = rect.intersected(view)
        across, down = width / rect.width(), height / rect.height()
        seen = (
            math.floor((part.left() - rect.left()) * across),
            math.floor((part.top() - rect.top()) * down),
            math.ceil((part.left() + part.width() - rect.left()) * across),
            math.ceil((part.top() + part.height() - rect.top()) * down),
        )
        had = self._detail.get(index)
        if had is not None and _covers(had[0], width, height, seen):
            return whole, None
        asked = self._asked_detail.get(index)
        if asked is not None and _covers(asked, width, height, seen):
            return whole, asked
        # A quarter of the view more on each side: scrolling a little needs no new render.
        margin_x, margin_y = view.width() * scale / 4, view.height() * scale / 4
        detail = _Job(
            self._generation,
            index,
            width,
            height,
            max(0, math.floor(seen[0] - margin_x)),
            max(0, math.floor(seen[1] - margin_y)),
            min(width, math.ceil(seen[2] + margin_x)),
            min(height, math.ceil(seen[3] + margin_y)),
            True,
        )
        return whole, detail


class PdfPreview(QMainWindow):
    """A window of its own (parented to the editor, so it closes with it) on one PDF."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.path: Path | None = None
        self._generation = 0  # of the document shown or being opened; a new one for each
        self._opening: tuple[Path, tuple[int, int, int]] | None = None
        self._renderer: _Renderer | None = None
        self.view = PageView(self)
        self.view.page_changed.connect(self._page_changed)
        self.view.zoom_changed.connect(self._show_zoom)
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

    def show_pdf(self, path: Path) -> None:
        """Open `path` (again, if it is the one shown: it may have been written anew) at its
        first page. The worker opens it: the pages, or why they cannot be shown, follow."""
        key = _identity(path)
        if key is not None and self._opening == (path, key):
            # Being opened already, and not written since it was asked for: that open will show
            # it. (The editor asks once when an export is done and once when its task goes.)
            return
        self.path = path
        self.setWindowTitle(f"{path.name} - preview - mixbook-desktop")
        self._opening = (path, key) if key is not None else None
        self._generation += 1
        self.view.clear(self._generation)
        self._started().open(self._generation, path)
        self.message.setText(f"Opening {path.name}...")
        self._enable()

    def close_file(self) -> None:
        """Let go of the file (the path is kept for show_pdf): Windows cannot replace a file
        that is open, and an export writes its PDF by renaming a new file over it. The worker
        closes it after the page it may be rendering, long before an export gets to its rename."""
        self._opening = None
        self._generation += 1
        self.view.clear(self._generation)
        if self._renderer is not None:
            self._renderer.open(self._generation, None)
        self._enable()

    def _started(self) -> _Renderer:
        if self._renderer is None:
            self._renderer = _Renderer()
            self._renderer.opened.connect(self._opened)
            self._renderer.failed.connect(self._failed)
            self._renderer.rendered.connect(self.view.take)
            self.destroyed.connect(self._renderer.stop)  # gone without being closed
            self.view.renderer = self._renderer
        return self._renderer

    def _opened(self, generation: int, sizes: list[tuple[float, float]]) -> None:
        if generation != self._generation:
            return  # a file since closed, or opened again
        self._opening = None
        self.view.show_pages(generation, sizes)
        self.message.setText(f"{self.path}  ({self.page_count} pages)")
        self._enable()

    def _failed(self, generation: int, reason: str) -> None:
        if generation != self._generation:
            return
        self._opening = None
        name = self.path.name if self.path is not None else "the file"
        self.message.setText(f"Cannot show {name}: {reason}")
        self._enable()

    @property
    def page_count(self) -> int:
        return self.view.page_count

    @property
    def current_page(self) -> int:
        """The page at the top of the view after going to it, else the one taking the most of
        the view; from 0."""
        return self.view.current_page

    @property
    def zoom_mode(self) -> ZoomMode:
        return self.view.mode

    # Pages.

    def go_to(self, index: int) -> None:
        self.view.go_to(index)

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

    # Zoom: a factor of 1 shows a page at its printed size on a screen of the nominal density.
    # Every page is shown at the same zoom, so the cover's wider bleed shows as it prints.

    def zoom_in(self) -> None:
        self.view.set_zoom(ZoomMode.CUSTOM, self.shown_zoom() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.view.set_zoom(ZoomMode.CUSTOM, self.shown_zoom() / ZOOM_STEP)

    def fit_page(self) -> None:
        self.view.set_zoom(ZoomMode.FIT_PAGE)

    def fit_width(self) -> None:
        self.view.set_zoom(ZoomMode.FIT_WIDTH)

    def shown_zoom(self) -> float:
        return self.view.zoom

    def _show_zoom(self) -> None:
        zoom = self.shown_zoom()
        percent = f"{round(zoom * 100)}%"
        mode = self.view.mode
        self.zoom_label.setText(percent if mode is ZoomMode.CUSTOM else f"{mode.value} ({percent})")
        self.zoom_out_action.setEnabled(self.page_count > 0 and zoom > ZOOM_MIN * 1.001)
        self.zoom_in_action.setEnabled(self.page_count > 0 and zoom < ZOOM_MAX * 0.999)

    def _enable(self) -> None:
        count = self.page_count
        self.page_box.blockSignals(True)
        self.page_box.setRange(1 if count else 0, count)
        self.page_box.setSuffix(f" of {count}")
        self.page_box.blockSignals(False)
        self.page_box.setEnabled(count > 0)
        for action in (self.fit_page_action, self.fit_width_action):
            action.setEnabled(count > 0)
        self._page_changed(self.current_page if count else 0)
        if not count:
            for action in (self.first_action, self.previous_action, self.next_action, self.last_action):
                action.setEnabled(False)
        self._show_zoom()

    def closeEvent(self, event: QCloseEvent) -> None:
        # Hidden, it keeps no file open and no thread; the editor shows it again on the next
        # export, with a worker of its own.
        self.close_file()
        if self._renderer is not None:
            self._renderer.stop()
            self._renderer = None
            self.view.renderer = None
        event.accept()


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What tells a file written anew from the one that was there: an export renames a new file
    over the old one."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns
