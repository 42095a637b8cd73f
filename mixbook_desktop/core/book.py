"""What a printed book is: its product (trim, bleed, safe margins, page-count rules) and the
page templates its pages are laid out from. Lengths are in points, 72 to the inch."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from mixbook_desktop.core.geometry import Box

POINTS_PER_INCH = 72.0
POINTS_PER_MM = POINTS_PER_INCH / 25.4


@dataclass(frozen=True)
class Product:
    """A book format as a lab sells it. Outer edges get `bleed` beyond the trim and keep
    `safe` inside it; the binding side keeps `gutter` (PRINT.md: 0.125, 0.25, 0.5-0.625 in)."""

    key: str
    name: str
    width: float  # trimmed page, points
    height: float
    bleed: float = 0.125 * POINTS_PER_INCH
    safe: float = 0.25 * POINTS_PER_INCH
    gutter: float = 0.5 * POINTS_PER_INCH
    min_pages: int = 20
    page_step: int = 2
    max_pages: int = 200
    # Effective resolution of a placed photo: the target, under it a warning, under the
    # last an error (PRINT.md: 300 ppi wanted, BookWright warns under 250, some refuse 200).
    target_ppi: float = 300
    warn_ppi: float = 250
    error_ppi: float = 200

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"{self.key}: the page must have a size")
        if min(self.bleed, self.safe, self.gutter) < 0 or 2 * max(self.safe, self.gutter) >= min(
            self.width, self.height
        ):
            raise ValueError(f"{self.key}: bleed, safe margin and gutter must fit on the page")
        if self.min_pages < 1 or self.page_step < 1 or self.max_pages < self.min_pages:
            raise ValueError(f"{self.key}: page counts must be positive, max at least min")

    def page_count(self, wanted: int) -> int:
        """The nearest count the lab accepts at or above `wanted` (at most max_pages)."""
        count = max(wanted, self.min_pages)
        extra = (count - self.min_pages) % self.page_step
        if extra:
            count += self.page_step - extra
        return min(count, self.max_pages - (self.max_pages - self.min_pages) % self.page_step)


def _inches(key: str, name: str, width: float, height: float) -> Product:
    return Product(key, name, width * POINTS_PER_INCH, height * POINTS_PER_INCH)


def _mm(key: str, name: str, width: float, height: float) -> Product:
    return Product(key, name, width * POINTS_PER_MM, height * POINTS_PER_MM, bleed=3 * POINTS_PER_MM)


PRODUCTS: dict[str, Product] = {
    p.key: p
    for p in (
        _inches("8x8", "Square 8 x 8 in", 8, 8),
        _inches("10x10", "Square 10 x 10 in", 10, 10),
        _inches("12x12", "Square 12 x 12 in", 12, 12),
        _inches("11x8.5", "Landscape 11 x 8.5 in", 11, 8.5),
        _inches("8.5x11", "Portrait 8.5 x 11 in", 8.5, 11),
        _mm("20x20cm", "Square 20 x 20 cm", 200, 200),
        _mm("30x30cm", "Square 30 x 30 cm", 300, 300),
        _mm("a4-landscape", "A4 landscape", 297, 210),
        _mm("a4-portrait", "A4 portrait", 210, 297),
    )
}


_CUSTOM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*(\d+(?:\.\d+)?)\s*(in|mm|cm)\s*$", re.IGNORECASE)
# A custom size must be a book, not a stamp or a poster.
CUSTOM_RANGE_IN = (4.0, 20.0)


def product_named(name: str) -> Product:
    """A preset by its key ("8x8", "a4-portrait"), or a custom trim size written as
    "9.5x8in", "210x280mm" or "21x28cm" with the presets' margins and page rules (the bleed
    3 mm for metric sizes). Raises ValueError with what is accepted."""
    if name in PRODUCTS:
        return PRODUCTS[name]
    match = _CUSTOM.match(name)
    if match is None:
        raise ValueError(
            f"unknown product {name!r}: one of {', '.join(PRODUCTS)}, or a size such as 9.5x8in or 210x280mm"
        )
    width, height, unit = float(match[1]), float(match[2]), match[3].lower()
    per_inch = {"in": 1.0, "mm": 25.4, "cm": 2.54}[unit]
    low, high = CUSTOM_RANGE_IN
    if not all(low <= side / per_inch <= high for side in (width, height)):
        raise ValueError(f"{name}: a page side must be {low:g} to {high:g} in")
    key = f"{match[1]}x{match[2]}{unit}"
    label = f"Custom {match[1]} x {match[2]} {unit}"
    if unit == "in":
        return _inches(key, label, width, height)
    return _mm(key, label, width * (10 if unit == "cm" else 1), height * (10 if unit == "cm" else 1))


class Side(StrEnum):
    """Which page of a spread: a left page is bound on its right edge, a right page on its left.
    The front cover stands alone, with bleed and safe margins all round."""

    LEFT = "left"
    RIGHT = "right"
    COVER = "cover"


Rect = tuple[float, float, float, float]  # x, y, width, height in points, from the trim's top-left
_EDGE = 1e-6


def slot_rect(product: Product, box: Box, side: Side) -> Rect:
    """Where a slot prints. A box that touches an outer trim edge runs on into the bleed there;
    none runs into the binding, which has no bleed."""
    x, y = box.x * product.width, box.y * product.height
    right, bottom = (box.x + box.w) * product.width, (box.y + box.h) * product.height
    if box.x <= _EDGE and side is not Side.RIGHT:
        x -= product.bleed
    if box.x + box.w >= 1 - _EDGE and side is not Side.LEFT:
        right += product.bleed
    if box.y <= _EDGE:
        y -= product.bleed
    if box.y + box.h >= 1 - _EDGE:
        bottom += product.bleed
    return x, y, right - x, bottom - y


def safe_rect(product: Product, side: Side) -> Rect:
    """The part of the page where text and faces are safe: the safe margin from the outer
    edges and the gutter from the binding."""
    left = product.gutter if side is Side.RIGHT else product.safe
    right = product.gutter if side is Side.LEFT else product.safe
    return left, product.safe, product.width - left - right, product.height - 2 * product.safe


def effective_ppi(crop_pixels: tuple[float, float], slot_points: tuple[float, float]) -> float:
    """Pixels of the crop per printed inch of the slot, along the scarcer side."""
    (px_w, px_h), (pt_w, pt_h) = crop_pixels, slot_points
    return min(px_w / (pt_w / POINTS_PER_INCH), px_h / (pt_h / POINTS_PER_INCH))


class SlotKind(StrEnum):
    PHOTO = "photo"
    TEXT = "text"


def printed_aspect(box: Box, product: Product) -> float:
    """Width over height of a page box once printed on `product`'s page."""
    return (box.w * product.width) / (box.h * product.height)


@dataclass(frozen=True)
class Slot:
    kind: SlotKind
    box: Box


@dataclass(frozen=True)
class PageTemplate:
    id: str
    slots: tuple[Slot, ...]
    cover: bool = False

    @property
    def photo_slots(self) -> tuple[Slot, ...]:
        return tuple(s for s in self.slots if s.kind is SlotKind.PHOTO)

    @property
    def has_text(self) -> bool:
        return any(s.kind is SlotKind.TEXT for s in self.slots)


# A page left empty to reach the product's minimum page count (labs add them at the end).
BLANK_TEMPLATE = "blank"
COVER_POSITION = 0


@dataclass(frozen=True)
class Fill:
    """What one slot of a page holds: a photo (and its crop) or, in a text slot, the caption
    target whose text it shows ("photo:<id>", "chapter:<key>", "book")."""

    photo_id: int | None = None
    text: str | None = None
    crop: Box | None = None  # fractions of the upright photo; None until computed
    crop_by_user: bool = False
    locked: bool = False  # also set when the user put the photo there


@dataclass(frozen=True)
class Page:
    """A page of the book: position 0 is the cover, then pages 1, 2, ... (page 1 is a right
    page). `fills` line up with the template's slots."""

    template: str
    fills: tuple[Fill, ...]
    chapter: str | None = None
    locked: bool = False

    @property
    def fixed(self) -> bool:
        """Kept by a re-layout: locked itself, or holding a locked slot."""
        return self.locked or any(f.locked for f in self.fills)

    def photo_ids(self) -> list[int]:
        return [f.photo_id for f in self.fills if f.photo_id is not None]


def side_of(position: int) -> Side:
    """Page 1 faces the inside of the cover, on the right; then left and right alternate."""
    return Side.RIGHT if position % 2 == 1 else Side.LEFT
