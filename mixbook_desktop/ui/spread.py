"""The book editor's page view: one spread at a time (the cover alone, then page 1 alone on the
right, then left and right pages side by side), drawn from the book as it will print, with
the bleed, trim, safe area and gutter, the faces, and every print problem marked on its slot.
Photos can be dropped from the library onto a slot; the wheel zooms a photo in its slot and a
middle- or Alt-drag pans it (shown as it goes, saved once the gesture ends); a double-click
edits a text in place, or gives a photo its automatic crop again."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from PySide6.QtCore import QByteArray, QMimeData, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFocusEvent,
    QFont,
    QFontDatabase,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QTextOption,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication, QMenu, QPlainTextEdit, QWidget

from mixbook_desktop.core.book import Rect, safe_rect
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.core.printed import PlacedPhoto, PlacedText, PrintedBook, PrintedPage, map_box
from mixbook_desktop.export.text import FONT_FILES, FONTS_DIR, LEADING, STYLES, fit_block
from mixbook_desktop.layout.checks import Problem, Severity
from mixbook_desktop.services.book import fit_crop
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
ZOOM_STEP = 1.1  # how much one notch of the wheel zooms a photo in its slot
WHEEL_IDLE_MS = 400  # a zoom is saved once the wheel has rested this long
NOTCH = 120  # angleDelta of one wheel notch
EDITOR_MIN_PIXELS = 14  # a text edited in place is never set smaller than this
PROMPTS = {"title": "The book's title", "chapter": "The chapter's title", "caption": "A caption"}


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


@dataclass
class _CropGesture:
    """A zoom or pan of one slot's photo under way: the crop on screen, not saved yet."""

    page: int
    slot: int
    photo: PlacedPhoto
    start: Box
    crop: Box

    @property
    def key(self) -> tuple[int, int]:
        return self.page, self.slot

    @property
    def aspect(self) -> float:
        return self.photo.rect[2] / self.photo.rect[3]


class InlineText(QPlainTextEdit):
    """A text edited where it prints: Enter or leaving it keeps the text, Esc drops it."""

    committed = Signal()
    cancelled = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.committed.emit()  # a caption is one paragraph: Enter means done
        elif event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        # A context menu, or another application for a moment, is not the user leaving: the
        # focus comes back here.
        if event.reason() not in (Qt.FocusReason.PopupFocusReason, Qt.FocusReason.ActiveWindowFocusReason):
            self.committed.emit()


def _centred(option: QTextOption) -> QTextOption:
    option.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    return option


def _pans(event: QMouseEvent) -> bool:
    """A middle-button drag pans the photo in its slot, as does an Alt-drag where the window
    manager leaves Alt alone; a plain drag takes the photo to another slot."""
    if event.button() == Qt.MouseButton.MiddleButton:
        return True
    return event.button() == Qt.MouseButton.LeftButton and bool(
        event.modifiers() & Qt.KeyboardModifier.AltModifier
    )


class SpreadView(QWidget):
    slotClicked = Signal(int, int)  # page position, slot (from 0)
    textClicked = Signal(str)  # the caption target of a text box clicked (a title, a caption)
    lockRequested = Signal(int, int, bool)  # page, slot from 0 (-1: the whole page), lock or unlock
    templateRequested = Signal(int, str)  # page, template id
    removeRequested = Signal(str)  # photo SHA-256
    photoDropped = Signal(int, int, str)  # page position, slot, photo SHA-256
    spreadChanged = Signal(int)
    cropChanged = Signal(int, int, float, float, float)  # page, slot from 0, x, y, width
    cropResetRequested = Signal(int, int)  # page, slot from 0
    pageAddRequested = Signal(int)  # the page to add one after
    pageRemoveRequested = Signal(int)  # page
    textEdited = Signal(str, str)  # caption target, the new text

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
        # Zoom and pan: the gesture under way, crops shown but not in the book yet, and how
        # many saves of each slot's crop are still running.
        self._gesture: _CropGesture | None = None
        self._pan_from: QPointF | None = None
        self._previews: dict[tuple[int, int], Box] = {}
        self._saving: dict[tuple[int, int], int] = {}
        self._wheel_idle = QTimer(self)
        self._wheel_idle.setSingleShot(True)
        self._wheel_idle.setInterval(WHEEL_IDLE_MS)
        self._wheel_idle.timeout.connect(self._wheel_rested)
        self.editor: InlineText | None = None
        self._editing: tuple[int, int, str, str] | None = None  # page, slot, target, text before
        self._reveal: int | None = None
        self.setAcceptDrops(True)
        self.setMinimumSize(480, 300)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        thumbnails.ready.connect(self._thumbnail_ready)

    def _thumbnail_ready(self, sha256: str) -> None:
        # Thumbnails arrive for the whole library: only one on this spread is worth a repaint.
        if any(photo.sha256 == sha256 for page in self._pages_here() for photo in page.photos):
            self.update()

    def set_book(self, book: PrintedBook | None, problems: list[Problem]) -> None:
        self._book = book
        self._spreads = spreads_of(book) if book else []
        self._problems = problems
        self.index = min(self.index, max(0, len(self._spreads) - 1))
        self._keep_current_previews()
        if self._reveal is not None:
            # Shown and selected: the Book menu's page commands act on it next.
            self.show_page(self._reveal)
            self.selected = (self._reveal, 0)
            self._reveal = None
        self._place_editor()
        self.update()

    def reveal(self, position: int) -> None:
        """Show this page once the book is next shown (a page just added)."""
        self._reveal = position

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
        # Work on a page is kept before the page leaves the screen.
        self.finish_text(commit=True)
        self.commit_crop()
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

    def current_page(self) -> int | None:
        """The page the Book menu's page commands act on: the selected slot's page when it is
        on screen, else the spread's right-hand page (the cover alone on its spread)."""
        here = self._pages_here()
        if self.selected is not None and any(p.position == self.selected[0] for p in here):
            return self.selected[0]
        return here[-1].position if here else None

    def _slot_on_screen(self, page: PrintedPage, rect: Rect) -> QRectF:
        scale, spine_x, top = self._frame()
        return self._to_widget(rect, self._page_origin(page, spine_x, scale), top, scale)

    def _placed(self, position: int, slot: int) -> tuple[PrintedPage, PlacedPhoto] | None:
        for page in self._book.pages if self._book else ():
            for photo in page.photos if page.position == position else ():
                if photo.slot == slot:
                    return page, photo
        return None

    def _text(self, position: int, slot: int) -> tuple[PrintedPage, PlacedText] | None:
        for page in self._book.pages if self._book else ():
            for text in page.texts if page.position == position else ():
                if text.slot == slot:
                    return page, text
        return None

    def text_at(self, point: QPointF) -> tuple[PrintedPage, PlacedText] | None:
        if self._book is None:
            return None
        for page in self._pages_here():
            for text in page.texts:
                if self._slot_on_screen(page, text.rect).contains(point):
                    return page, text
        return None

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
            crop = self._previews.get((page.position, photo.slot), photo.crop)
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
        """What can be done where the user right-clicked: the slot's photo or text, then its page."""
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
                menu.addAction("Crop this photo automatically").triggered.connect(
                    lambda: self.cropResetRequested.emit(page.position, slot[1])
                )
                menu.addAction("Take this photo out of the book").triggered.connect(
                    lambda: self.removeRequested.emit(sha)
                )
            menu.addSeparator()
        text = self.text_at(point)
        if text is not None and text[1].target is not None:
            text_slot = text[1].slot
            menu.addAction("Edit this text").triggered.connect(
                lambda: self.edit_text(page.position, text_slot)
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
        menu.addSeparator()
        menu.addAction("Add a page after this one").triggered.connect(
            lambda: self.pageAddRequested.emit(page.position)
        )
        if page.position != 0:
            menu.addAction("Remove this page").triggered.connect(
                lambda: self.pageRemoveRequested.emit(page.position)
            )
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.menu_for(QPointF(event.pos()))
        if menu is not None:
            menu.exec(event.globalPos())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        found = self.slot_at(event.position())
        self.selected = found
        self._press = None
        if found is not None and _pans(event):
            if self._begin_crop(*found) is not None:
                self._pan_from = event.position()
        elif found is not None:
            self._press = event.position()
        self.update()
        if found is not None:
            self.slotClicked.emit(*found)
        elif event.button() == Qt.MouseButton.LeftButton:
            text = self.text_at(event.position())
            if text is not None and text[1].target is not None:
                self.textClicked.emit(text[1].target)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan(event.position())
            return
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

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._press = None
        if self._pan_from is not None:
            self._pan(event.position())
            self._pan_from = None
            self.commit_crop()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        found = self.slot_at(event.position())
        if found is not None:
            if self.photo_in(*found):
                self.cancel_crop()
                self._previews.pop(found, None)
                self.cropResetRequested.emit(*found)
            return
        text = self.text_at(event.position())
        if text is not None:
            self.edit_text(text[0].position, text[1].slot)

    def wheelEvent(self, event: QWheelEvent) -> None:
        found = self.slot_at(event.position())
        notches = event.angleDelta().y() / NOTCH
        gesture = self._begin_crop(*found) if found is not None and notches else None
        if gesture is None:
            event.ignore()
            return
        event.accept()
        self._zoom(gesture, event.position(), ZOOM_STEP**notches)
        self._wheel_idle.start()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_editor()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Right, Qt.Key.Key_PageDown):
            self.show_spread(self.index + 1)
        elif event.key() in (Qt.Key.Key_Left, Qt.Key.Key_PageUp):
            self.show_spread(self.index - 1)
        elif event.key() == Qt.Key.Key_Escape and self._gesture is not None:
            self.cancel_crop()
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

    # Zoom and pan of a photo in its slot: shown as the gesture goes, saved in one edit when
    # it ends (the button released, or the wheel at rest), kept on screen until the book
    # shown next has it.

    def _begin_crop(self, position: int, slot: int) -> _CropGesture | None:
        """The gesture on this slot, begun if need be (one on another slot is saved first);
        None when the slot shows no photo to move."""
        if self._gesture is not None and self._gesture.key == (position, slot):
            return self._gesture
        self.commit_crop()
        placed = self._placed(position, slot)
        photo = placed[1] if placed else None
        if photo is None or photo.crop is None or photo.sha256 is None or min(photo.size) <= 0:
            return None
        crop = self._previews.get((position, slot), photo.crop)
        self._gesture = _CropGesture(position, slot, photo, crop, crop)
        return self._gesture

    def _on_screen(self, gesture: _CropGesture) -> QRectF | None:
        placed = self._placed(*gesture.key)
        return self._slot_on_screen(placed[0], gesture.photo.rect) if placed else None

    def _show_crop(self, gesture: _CropGesture, x: float, y: float, w: float) -> None:
        gesture.crop = fit_crop(x, y, w, gesture.photo.size, gesture.aspect)
        self._previews[gesture.key] = gesture.crop
        self.update()

    def _zoom(self, gesture: _CropGesture, at: QPointF, factor: float) -> None:
        """Zoom in (factor > 1) or out, keeping the point of the photo under `at` there."""
        box = self._on_screen(gesture)
        if box is None:
            return
        fx, fy = (at.x() - box.left()) / box.width(), (at.y() - box.top()) / box.height()
        crop = gesture.crop
        held_x, held_y = crop.x + fx * crop.w, crop.y + fy * crop.h
        sized = fit_crop(0.0, 0.0, crop.w / factor, gesture.photo.size, gesture.aspect)
        self._show_crop(gesture, held_x - fx * sized.w, held_y - fy * sized.h, sized.w)

    def _pan(self, to: QPointF) -> None:
        """The photo follows the pointer (as far as its edges allow)."""
        gesture, start = self._gesture, self._pan_from
        box = self._on_screen(gesture) if gesture is not None else None
        if gesture is None or start is None or box is None:
            return
        self._pan_from = to
        crop = gesture.crop
        dx, dy = (to.x() - start.x()) / box.width(), (to.y() - start.y()) / box.height()
        self._show_crop(gesture, crop.x - dx * crop.w, crop.y - dy * crop.h, crop.w)

    def _wheel_rested(self) -> None:
        if self._pan_from is None:  # a pan under way saves when its button is released
            self.commit_crop()

    def commit_crop(self) -> None:
        """End the gesture under way; its crop, when it changed, goes out to be saved."""
        self._wheel_idle.stop()
        gesture, self._gesture, self._pan_from = self._gesture, None, None
        if gesture is None or gesture.crop == gesture.start:
            return
        self._saving[gesture.key] = self._saving.get(gesture.key, 0) + 1
        crop = gesture.crop
        self.cropChanged.emit(gesture.page, gesture.slot, crop.x, crop.y, crop.w)

    def cancel_crop(self) -> None:
        """Drop the gesture under way: the slot shows the crop it had before it."""
        self._wheel_idle.stop()
        gesture, self._gesture, self._pan_from = self._gesture, None, None
        if gesture is not None:
            if self._saving.get(gesture.key):
                self._previews[gesture.key] = gesture.start
            else:
                self._previews.pop(gesture.key, None)
        self.update()

    def crop_settled(self, position: int, slot: int) -> None:
        """A save of this slot's crop is over, done or failed: the book shown next is the
        truth about it."""
        left = self._saving.pop((position, slot), 0) - 1
        if left > 0:
            self._saving[(position, slot)] = left

    def _keep_current_previews(self) -> None:
        """A new book on screen: the previews whose saves are over go (the book has them, or
        their save failed); the gesture under way stays while its slot holds its photo."""
        gesture = self._gesture
        if gesture is not None:
            now = self._placed(*gesture.key)
            if now is None or (now[1].photo_id, now[1].rect) != (gesture.photo.photo_id, gesture.photo.rect):
                self.cancel_crop()
            else:
                gesture.photo = now[1]
        keep = set(self._saving) | ({self._gesture.key} if self._gesture else set())
        self._previews = {key: crop for key, crop in self._previews.items() if key in keep}

    # A text edited where it prints.

    def edit_text(self, position: int, slot: int) -> None:
        """Open the editor over a text box of a page (one with a caption target)."""
        self.finish_text(commit=True)
        found = self._text(position, slot)
        text = found[1] if found else None
        if text is None or text.target is None:
            return
        self._editing = (position, slot, text.target, text.text or "")
        editor = InlineText(self)
        editor.setObjectName("inline-text")
        editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        editor.setWordWrapMode(QTextOption.WrapMode.WordWrap)
        editor.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        editor.document().setDefaultTextOption(_centred(editor.document().defaultTextOption()))
        # The book's font, at its printed size on screen unless that is too small to type in.
        pixels = max(self._text_size(text) * self._frame()[0], EDITOR_MIN_PIXELS)
        editor.setFont(book_font(STYLES[text.role].font, pixels))
        editor.setPlaceholderText(PROMPTS.get(text.role, PROMPTS["caption"]))
        editor.setPlainText(text.text or "")
        editor.selectAll()
        editor.setStyleSheet(f"QPlainTextEdit {{ border: 2px solid {COLOURS['selected'].name()}; }}")
        editor.committed.connect(lambda: self.finish_text(commit=True))
        editor.cancelled.connect(lambda: self.finish_text(commit=False))
        self.editor = editor
        self._place_editor()
        editor.show()
        editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def _text_size(self, text: PlacedText) -> float:
        """The size, in points, the box sets its text at (its largest when it is empty)."""
        fitted = fit_block(text.parts(), text.rect[2], text.rect[3]) if text.text else None
        return fitted[0].size if fitted else STYLES[text.role].largest

    def _place_editor(self) -> None:
        """The editor over its text box, tall enough for two lines however small the box."""
        if self.editor is None or self._editing is None:
            return
        found = self._text(*self._editing[:2])
        if found is None or found[1].target != self._editing[2]:
            # Its page went or moved: what was typed is kept, the editor closes.
            self.finish_text(commit=True)
            return
        box = self._slot_on_screen(found[0], found[1].rect)
        height = max(box.height(), 2 * self.editor.fontMetrics().lineSpacing() + 16)
        wanted = QRectF(box.left(), box.center().y() - height / 2, max(box.width(), 120), height)
        self.editor.setGeometry(wanted.toRect().intersected(self.rect()))

    def finish_text(self, commit: bool) -> None:
        """Close the editor; with `commit`, a changed, non-empty text is sent to be saved
        (emptied, it is no edit: the caption panel is where a text goes back to its
        suggestion)."""
        editor, editing = self.editor, self._editing
        self.editor, self._editing = None, None
        if editor is None or editing is None:
            return
        typed = " ".join(editor.toPlainText().split())
        editor.hide()
        editor.deleteLater()
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        _, _, target, before = editing
        if commit and typed and typed != " ".join(before.split()):
            self.textEdited.emit(target, typed)
