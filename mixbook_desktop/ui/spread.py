"""The book editor's page view: one spread at a time (the cover alone, then page 1 alone on the
right, then left and right pages side by side), drawn from the book as it will print, with
the bleed, trim, safe area and gutter, the faces, and every print problem marked on its slot.
Photos can be dropped from the library onto a slot."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QMimeData, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QFontDatabase,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from mixbook_desktop.core.book import Rect, safe_rect
from mixbook_desktop.core.printed import PrintedBook, PrintedPage, map_box
from mixbook_desktop.export.text import FONT_FILES, FONTS_DIR, LEADING, fit_block
from mixbook_desktop.layout.checks import Problem, Severity
from mixbook_desktop.ui.library import PHOTO_MIME
from mixbook_desktop.ui.thumbnails import Thumbnails

MARGIN = 24  # pixels around the spread
COLOURS = {
    "bleed": QColor("#f3d9d9"),
    "paper": QColor("#ffffff"),
    "desk": QColor("#6b6f75"),
    "trim": QColor("#202020"),
    "safe": QColor("#2f6fd6"),
    "face": QColor("#27a844"),
    Severity.ERROR: QColor("#d62f2f"),
    Severity.WARNING: QColor("#e39b12"),
    "selected": QColor("#1f8ef1"),
}


def spreads_of(book: PrintedBook) -> list[tuple[PrintedPage | None, PrintedPage | None]]:
    """(left, right) page pairs in reading order: the cover alone, page 1 on the right facing
    the inside of the cover, then 2-3, 4-5, ..."""
    by_position = {p.position: p for p in book.pages}
    out: list[tuple[PrintedPage | None, PrintedPage | None]] = []
    if 0 in by_position:
        out.append((None, by_position[0]))
    last = max((p for p in by_position if p > 0), default=0)
    if last >= 1:
        out.append((None, by_position.get(1)))
    for left in range(2, last + 1, 2):
        out.append((by_position.get(left), by_position.get(left + 1)))
    return out


@cache
def _book_families() -> dict[str, str]:
    """The PDF's fonts, loaded into Qt too, so a page on screen sets text as it prints."""
    families = {}
    for name, file in FONT_FILES.items():
        loaded = QFontDatabase.addApplicationFont(str(FONTS_DIR / file))
        found = QFontDatabase.applicationFontFamilies(loaded) if loaded >= 0 else []
        families[name] = found[0] if found else "Serif"
    return families


def book_font(name: str, pixels: float) -> QFont:
    """The book font `name` (as export.text names it) at a size in pixels."""
    font = QFont(_book_families()[name])
    font.setPixelSize(max(1, round(pixels)))
    font.setItalic("Italic" in name)
    font.setWeight(QFont.Weight.DemiBold if "Semibold" in name else QFont.Weight.Normal)
    return font


class SpreadView(QWidget):
    slotClicked = Signal(int, int)  # page position, slot (from 0)
    lockRequested = Signal(int, int, bool)  # page, slot from 0 (-1: the whole page), lock or unlock
    templateRequested = Signal(int, str)  # page, template id
    removeRequested = Signal(str)  # photo SHA-256
    photoDropped = Signal(int, int, str)  # page position, slot, photo SHA-256
    spreadChanged = Signal(int)

    def __init__(self, thumbnails: Thumbnails, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._book: PrintedBook | None = None
        self._spreads: list[tuple[PrintedPage | None, PrintedPage | None]] = []
        self._problems: list[Problem] = []
        self.index = 0
        self.selected: tuple[int, int] | None = None
        self.show_faces = True
        self.templates: list[tuple[str, int, bool]] = []  # (id, photo slots, cover) to offer
        self._press: QPointF | None = None
        self.setAcceptDrops(True)
        self.setMinimumSize(480, 300)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        thumbnails.ready.connect(lambda _sha: self.update())

    def set_book(self, book: PrintedBook | None, problems: list[Problem]) -> None:
        self._book = book
        self._spreads = spreads_of(book) if book else []
        self._problems = problems
        self.index = min(self.index, max(0, len(self._spreads) - 1))
        self.update()

    @property
    def count(self) -> int:
        return len(self._spreads)

    def label(self) -> str:
        if not self._spreads:
            return "no pages yet"
        left, right = self._spreads[self.index]
        names = [p.label for p in (left, right) if p is not None]
        return " and ".join(names)

    def show_spread(self, index: int) -> None:
        if self._spreads:
            self.index = max(0, min(index, len(self._spreads) - 1))
            self.spreadChanged.emit(self.index)
            self.update()

    def show_page(self, position: int) -> None:
        for n, (left, right) in enumerate(self._spreads):
            if any(p is not None and p.position == position for p in (left, right)):
                self.show_spread(n)
                return

    # Geometry: page points to widget pixels.

    def _frame(self) -> tuple[float, float, float]:
        """Scale, and where the binding's top (the trim's top edge at the spine) sits."""
        assert self._book is not None
        product = self._book.product
        width = 2 * (product.width + product.bleed)
        height = product.height + 2 * product.bleed
        scale = min((self.width() - 2 * MARGIN) / width, (self.height() - 2 * MARGIN) / height)
        spine_x = self.width() / 2
        top = (self.height() - product.height * scale) / 2
        return max(scale, 0.01), spine_x, top

    def _page_origin(self, page: PrintedPage, spine_x: float, scale: float) -> float:
        """Widget x of the page's trim's left edge."""
        assert self._book is not None
        if page.position == 0:
            return spine_x - self._book.product.width * scale / 2
        return spine_x if page.side.value == "right" else spine_x - self._book.product.width * scale

    def _to_widget(self, rect: Rect, x0: float, top: float, scale: float) -> QRectF:
        x, y, w, h = rect
        return QRectF(x0 + x * scale, top + y * scale, w * scale, h * scale)

    def _pages_here(self) -> list[PrintedPage]:
        if not self._spreads:
            return []
        return [p for p in self._spreads[self.index] if p is not None]

    def slot_at(self, point: QPointF) -> tuple[int, int] | None:
        if self._book is None:
            return None
        scale, spine_x, top = self._frame()
        for page in self._pages_here():
            x0 = self._page_origin(page, spine_x, scale)
            for photo in page.photos:
                if self._to_widget(photo.rect, x0, top, scale).contains(point):
                    return page.position, photo.slot
        return None

    # Painting.

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.fillRect(self.rect(), COLOURS["desk"])
        if self._book is None or not self._spreads:
            painter.setPen(QColor("white"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No pages yet: Book > Auto-fill")
            painter.end()
            return
        scale, spine_x, top = self._frame()
        for page in self._pages_here():
            self._paint_page(painter, page, self._page_origin(page, spine_x, scale), top, scale)
        painter.end()

    def _paint_page(self, painter: QPainter, page: PrintedPage, x0: float, top: float, scale: float) -> None:
        assert self._book is not None
        product = self._book.product
        bleed = product.bleed
        left_bleed = 0.0 if page.side.value == "right" else bleed
        right_bleed = 0.0 if page.side.value == "left" else bleed
        media = (-left_bleed, -bleed, product.width + left_bleed + right_bleed, product.height + 2 * bleed)
        painter.fillRect(self._to_widget(media, x0, top, scale), COLOURS["bleed"])
        trim = self._to_widget((0, 0, product.width, product.height), x0, top, scale)
        painter.fillRect(trim, COLOURS["paper"])
        painter.save()
        painter.setClipRect(self._to_widget(media, x0, top, scale))
        for photo in page.photos:
            target = self._to_widget(photo.rect, x0, top, scale)
            pixmap = self._thumbnails.pixmap(photo.sha256) if photo.sha256 else None
            if pixmap is None or photo.crop is None:
                painter.fillRect(target, QColor("#d0d0d0"))
                painter.setPen(QColor("#707070"))
                painter.drawText(
                    target,
                    Qt.AlignmentFlag.AlignCenter,
                    "drop a photo here" if photo.photo_id is None else "",
                )
                continue
            crop = photo.crop
            source = QRectF(
                crop.x * pixmap.width(),
                crop.y * pixmap.height(),
                crop.w * pixmap.width(),
                crop.h * pixmap.height(),
            )
            painter.drawPixmap(target, pixmap, source)
            if self.show_faces:
                painter.setPen(QPen(COLOURS["face"], 1.5))
                for face in photo.faces:
                    painter.drawRect(self._to_widget(map_box(crop, photo.rect, face), x0, top, scale))
        painter.restore()
        for text in page.texts:
            self._paint_text(painter, text.parts(), self._to_widget(text.rect, x0, top, scale), scale)
        # Guides: the trim, and the safe area (the gutter is its wide side at the binding).
        painter.setPen(QPen(COLOURS["trim"], 1))
        painter.drawRect(trim)
        painter.setPen(QPen(COLOURS["safe"], 1, Qt.PenStyle.DashLine))
        painter.drawRect(self._to_widget(safe_rect(product, page.side), x0, top, scale))
        self._paint_problems(painter, page, x0, top, scale)

    def _paint_text(self, painter: QPainter, parts: list[tuple[str, str]], box: QRectF, scale: float) -> None:
        fitted = fit_block(parts, box.width() / scale, box.height() / scale) if parts else None
        if not fitted:
            return
        painter.setPen(QColor("#222222"))
        total = sum(f.height for f in fitted) * scale
        y = box.top() + (box.height() - total) / 2
        for part in fitted:
            painter.setFont(book_font(part.font, part.size * scale))
            line_height = part.size * LEADING * scale
            for line in part.lines:
                painter.drawText(
                    QRectF(box.left(), y, box.width(), line_height), Qt.AlignmentFlag.AlignCenter, line
                )
                y += line_height

    def _paint_problems(
        self, painter: QPainter, page: PrintedPage, x0: float, top: float, scale: float
    ) -> None:
        slots = {s.slot: s.rect for s in page.photos} | {t.slot: t.rect for t in page.texts}
        for problem in self._problems:
            if problem.page != page.position or problem.slot is None or problem.severity is Severity.INFO:
                continue
            rect = slots.get(problem.slot - 1)
            if rect is None:
                continue
            painter.setPen(QPen(COLOURS[problem.severity], 3))
            painter.drawRect(self._to_widget(rect, x0, top, scale).adjusted(2, 2, -2, -2))
        if self.selected and self.selected[0] == page.position and self.selected[1] in slots:
            painter.setPen(QPen(COLOURS["selected"], 3, Qt.PenStyle.DashLine))
            painter.drawRect(self._to_widget(slots[self.selected[1]], x0, top, scale))

    # Interaction.

    def page_at(self, point: QPointF) -> PrintedPage | None:
        if self._book is None:
            return None
        scale, spine_x, top = self._frame()
        product = self._book.product
        for page in self._pages_here():
            x0 = self._page_origin(page, spine_x, scale)
            if self._to_widget((0, 0, product.width, product.height), x0, top, scale).contains(point):
                return page
        return None

    def photo_in(self, position: int, slot: int) -> str | None:
        """The SHA-256 of the photo in a slot of a page on screen."""
        for page in self._pages_here():
            for photo in page.photos if page.position == position else ():
                if photo.slot == slot:
                    return photo.sha256
        return None

    def menu_for(self, point: QPointF) -> QMenu | None:
        """What can be done where the user right-clicked: the slot's photo, then its page."""
        page = self.page_at(point)
        if page is None:
            return None
        menu = QMenu(self)
        slot = self.slot_at(point)
        if slot is not None:
            photo = next(p for p in page.photos if p.slot == slot[1])
            locked = photo.placed_by_user
            menu.addAction("Unlock this photo" if locked else "Keep this photo here").triggered.connect(
                lambda: self.lockRequested.emit(page.position, slot[1], not locked)
            )
            if photo.sha256:
                sha = photo.sha256
                menu.addAction("Take this photo out of the book").triggered.connect(
                    lambda: self.removeRequested.emit(sha)
                )
            menu.addSeparator()
        menu.addAction("Unlock the page" if page.locked else "Lock the page").triggered.connect(
            lambda: self.lockRequested.emit(page.position, -1, not page.locked)
        )
        layouts = menu.addMenu("Page template")
        for template_id, photos, cover in self.templates:
            if cover == (page.position == 0) and template_id != page.template:
                layouts.addAction(f"{template_id} ({photos} photos)").triggered.connect(
                    lambda _checked=False, t=template_id: self.templateRequested.emit(page.position, t)
                )
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.menu_for(QPointF(event.pos()))
        if menu is not None:
            menu.exec(event.globalPos())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        found = self.slot_at(event.position())
        self.selected = found
        self._press = event.position() if found is not None else None
        self.update()
        if found is not None:
            self.slotClicked.emit(*found)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        # Dragging a photo out of its slot onto another swaps the two (the place service).
        if self._press is None or self.selected is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return
        if (event.position() - self._press).manhattanLength() < QApplication.startDragDistance():
            return
        sha = self.photo_in(*self.selected)
        self._press = None
        if sha:
            mime = QMimeData()
            mime.setData(PHOTO_MIME, QByteArray(sha.encode()))
            drag = QDrag(self)
            drag.setMimeData(mime)
            drag.exec(Qt.DropAction.MoveAction | Qt.DropAction.CopyAction)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Right, Qt.Key.Key_PageDown):
            self.show_spread(self.index + 1)
        elif event.key() in (Qt.Key.Key_Left, Qt.Key.Key_PageUp):
            self.show_spread(self.index - 1)
        else:
            super().keyPressEvent(event)

    def _accepts(self, mime: QMimeData) -> bool:
        return mime.hasFormat(PHOTO_MIME)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._accepts(event.mimeData()) and self.slot_at(event.position()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        target = self.slot_at(event.position())
        shas = bytes(event.mimeData().data(PHOTO_MIME).data()).decode().split()
        if target is not None and shas:
            event.acceptProposedAction()
            self.photoDropped.emit(target[0], target[1], shas[0])
