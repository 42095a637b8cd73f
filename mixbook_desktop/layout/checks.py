"""Print checks: every problem a lab or a reader would find, named by page and slot, before
the user orders. Pure over a PrintedBook."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from enum import StrEnum

from mixbook_desktop.core.book import BLANK_TEMPLATE, Rect, Side, effective_ppi, safe_rect
from mixbook_desktop.core.printed import PrintedBook, PrintedPage, clip, inside, map_box
from mixbook_desktop.export.text import STYLES, fit_block, missing_glyphs

# A face this much inside the crop's edge still counts as whole; boxes from detectors are
# not drawn to the pixel.
FACE_SLACK = 0.02
# A crop whose shape differs from its slot's by more than this is trimmed when printed.
SHAPE_SLACK = 0.01


class Severity(StrEnum):
    ERROR = "error"  # the print will be wrong: fix before ordering
    WARNING = "warning"  # probably wrong: look at it
    INFO = "info"  # worth knowing, nothing to fix


@dataclass(frozen=True)
class Problem:
    severity: Severity
    code: str
    page: int  # 0: the cover
    slot: int | None  # from 1, as the user counts
    message: str

    @property
    def where(self) -> str:
        page = "cover" if self.page == 0 else f"page {self.page}"
        return page if self.slot is None else f"{page}, slot {self.slot}"

    def as_json(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "page": self.page,
            "slot": self.slot,
            "message": self.message,
        }


def _page_problems(book: PrintedBook, page: PrintedPage) -> list[Problem]:
    product = book.product
    safe = safe_rect(product, page.side)
    found: list[Problem] = []

    def add(severity: Severity, code: str, slot: int | None, message: str) -> None:
        found.append(Problem(severity, code, page.position, None if slot is None else slot + 1, message))

    page_photos = {photo.photo_id for photo in page.photos}
    for photo in page.photos:
        if photo.photo_id is None:
            add(Severity.ERROR, "empty-slot", photo.slot, "an empty photo slot")
            continue
        if photo.path is None or photo.crop is None:
            add(
                Severity.ERROR,
                "missing-photo",
                photo.slot,
                "this slot's photo is no longer among the book's files (edited and imported "
                "again?); place another photo or run `layout`",
            )
            continue
        name = os.path.basename(photo.path or "")
        if not os.path.isfile(photo.path):
            add(Severity.ERROR, "missing-file", photo.slot, f"{name}: the file is missing (use `relink`)")
        crop_px = (photo.crop.w * photo.size[0], photo.crop.h * photo.size[1])
        # Rounded: a crop stored as 0.74999... of the width is the 200 ppi it was made for.
        ppi = round(effective_ppi(crop_px, (photo.rect[2], photo.rect[3])), 1)
        shape = crop_px[0] / crop_px[1]
        if abs(shape / (photo.rect[2] / photo.rect[3]) - 1) > SHAPE_SLACK:
            add(
                Severity.WARNING,
                "crop-shape",
                photo.slot,
                f"{name}: the crop is not the slot's shape, so its edges are trimmed (crop it again)",
            )
        # How large the shown part prints well: a hint the user can act on.
        good = f"{crop_px[0] / product.warn_ppi:.1f} x {crop_px[1] / product.warn_ppi:.1f} in"
        if ppi < product.error_ppi:
            add(
                Severity.ERROR,
                "low-resolution",
                photo.slot,
                f"{name}: {math.floor(ppi)} ppi, under {product.error_ppi:.0f}: it will print blurred; "
                f"it prints well up to {good} (a smaller slot) or use a larger original",
            )
        elif ppi < product.warn_ppi:
            add(
                Severity.WARNING,
                "low-resolution",
                photo.slot,
                f"{name}: {math.floor(ppi)} ppi, under {product.warn_ppi:.0f}: it may print soft; "
                f"it prints well up to {good}",
            )
        for n, face in enumerate(photo.faces, start=1):
            on_page = map_box(photo.crop, photo.rect, face)
            visible = clip(on_page, photo.rect)
            whole = visible is not None and inside(on_page, photo.rect, FACE_SLACK * min(on_page[2:]))
            if not whole:
                add(Severity.WARNING, "face-cut", photo.slot, f"{name}: face {n} is cut by the crop")
            elif not inside(on_page, safe):
                where = "in the gutter" if _toward_binding(on_page, safe, page) else "near the trim"
                add(Severity.WARNING, "face-unsafe", photo.slot, f"{name}: face {n} is {where}")
        if photo.flagged:
            # The layout never places a flagged photo of its own accord: this one is in the
            # book because the user chose it.
            add(
                Severity.WARNING,
                "flagged-photo",
                photo.slot,
                f"{name}: flagged by the content check; in the book because you chose it",
            )

    for text in page.texts:
        if not inside(text.rect, safe):
            add(Severity.ERROR, "text-unsafe", text.slot, "the text box leaves the safe area")
        for shown, role in text.parts():
            missing = missing_glyphs(shown, STYLES[role].font)
            if missing:
                add(
                    Severity.ERROR,
                    "text-glyphs",
                    text.slot,
                    f"the book font has no {missing!r}: it would print as empty boxes",
                )
        target = text.target or ""
        if text.role == "caption" and target.startswith("photo:") and int(target[6:]) not in page_photos:
            add(
                Severity.WARNING,
                "caption-elsewhere",
                text.slot,
                "this caption belongs to a photo on another page",
            )
        if not text.text:
            what = {"title": "the book's title", "chapter": "the chapter's title"}.get(text.role, "a caption")
            add(Severity.WARNING, "empty-text", text.slot, f"no text for {what} yet (run `caption`)")
        if text.parts() and fit_block(text.parts(), text.rect[2], text.rect[3]) is None:
            shown = " / ".join(t for t, _ in text.parts())
            add(Severity.ERROR, "text-overflow", text.slot, f"the text does not fit its box: {shown!r}")
    if page.template == BLANK_TEMPLATE:
        add(Severity.INFO, "blank-page", None, "left blank to reach the product's page count")
    return found


def _toward_binding(rect: Rect, safe: Rect, page: PrintedPage) -> bool:
    if page.side is Side.RIGHT:
        return rect[0] < safe[0]
    if page.side is Side.LEFT:
        return rect[0] + rect[2] > safe[0] + safe[2]
    return False


def check_book(book: PrintedBook) -> list[Problem]:
    """Every problem of the book, page by page."""
    product = book.product
    found: list[Problem] = []
    count = book.inner_pages
    if not book.pages:
        return [Problem(Severity.ERROR, "no-pages", 0, None, "the book has no pages yet (run `layout`)")]
    if (
        count < product.min_pages
        or count > product.max_pages
        or (count - product.min_pages) % product.page_step
    ):
        found.append(
            Problem(
                Severity.ERROR,
                "page-count",
                0,
                None,
                f"{count} pages: {product.name} needs {product.min_pages} to {product.max_pages} "
                f"pages in steps of {product.page_step}",
            )
        )
    seen: dict[int, int] = {}
    for page in book.pages:
        found += _page_problems(book, page)
        for photo in page.photos:
            if photo.photo_id is None or page.position == 0:
                continue  # the cover may repeat a photo of the book
            if photo.photo_id in seen:
                name = os.path.basename(photo.path or "")
                found.append(
                    Problem(
                        Severity.WARNING,
                        "repeated-photo",
                        page.position,
                        photo.slot + 1,
                        f"{name} is also on page {seen[photo.photo_id]}",
                    )
                )
            else:
                seen[photo.photo_id] = page.position
    return found
