"""A book resolved for print: every page with its photos and texts at their final place in
points, what the print checks read and the PDF writer draws. Built by services.book."""

from __future__ import annotations

from dataclasses import dataclass

from mixbook_desktop.core.book import Product, Rect, Side
from mixbook_desktop.core.geometry import Box


@dataclass(frozen=True)
class PlacedPhoto:
    slot: int
    rect: Rect  # where the photo prints, bleed included, from the trim's top-left
    photo_id: int | None  # None: an empty slot
    path: str | None = None
    sha256: str | None = None
    format: str | None = None
    size: tuple[int, int] = (0, 0)  # upright pixels
    crop: Box | None = None  # the window shown, fractions of the upright photo
    faces: tuple[Box, ...] = ()  # fractions of the upright photo
    flagged: bool = False  # objectionable by the content check, and not allowed by the user
    placed_by_user: bool = False


@dataclass(frozen=True)
class PlacedText:
    slot: int
    rect: Rect
    target: str | None  # caption target: "photo:<id>", "chapter:<key>", "book"
    text: str | None
    role: str  # "title" (the cover), "chapter", "caption"
    # Under a chapter's title on its opening page: the caption of the photo beside it.
    subtitle: str | None = None

    def parts(self) -> list[tuple[str, str]]:
        """(text, role) of what the box shows, top to bottom."""
        shown = [(self.text, self.role)] if self.text else []
        return shown + ([(self.subtitle, "caption")] if self.subtitle else [])


@dataclass(frozen=True)
class PrintedPage:
    position: int  # 0: the cover
    side: Side
    template: str
    photos: tuple[PlacedPhoto, ...]
    texts: tuple[PlacedText, ...]
    locked: bool = False
    chapter: str | None = None  # "2015-04-10" or "2022-08-14 to 2022-08-15"; "undated (file order)"

    @property
    def label(self) -> str:
        return "cover" if self.position == 0 else f"page {self.position}"


@dataclass(frozen=True)
class PrintedBook:
    product: Product
    pages: tuple[PrintedPage, ...]  # the cover first, when there is one

    @property
    def inner_pages(self) -> int:
        return sum(1 for p in self.pages if p.position > 0)


def map_box(crop: Box, rect: Rect, box: Box) -> Rect:
    """Where `box` (fractions of the upright photo) lands on the page when the photo's `crop`
    window fills `rect`."""
    x, y, w, h = rect
    scale_x, scale_y = w / crop.w, h / crop.h
    return (x + (box.x - crop.x) * scale_x, y + (box.y - crop.y) * scale_y, box.w * scale_x, box.h * scale_y)


def inside(inner: Rect, outer: Rect, slack: float = 0.01) -> bool:
    ix, iy, iw, ih = inner
    ox, oy, ow, oh = outer
    return ix >= ox - slack and iy >= oy - slack and ix + iw <= ox + ow + slack and iy + ih <= oy + oh + slack


def clip(inner: Rect, outer: Rect) -> Rect | None:
    """The part of `inner` within `outer`, or None."""
    x0, y0 = max(inner[0], outer[0]), max(inner[1], outer[1])
    x1 = min(inner[0] + inner[2], outer[0] + outer[2])
    y1 = min(inner[1] + inner[3], outer[1] + outer[3])
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None
