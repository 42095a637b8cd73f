"""Print checks on books built by hand: each rule fires where it should, and only there."""

from __future__ import annotations

from pathlib import Path

from mixbook_desktop.core.book import PRODUCTS, Side, slot_rect
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.core.printed import PlacedPhoto, PlacedText, PrintedBook, PrintedPage
from mixbook_desktop.layout.checks import check_book
from tests.conftest import DEMO_PHOTOS

SQUARE = PRODUCTS["8x8"]
DOG = str(DEMO_PHOTOS / "maxinception__dog.jpg")  # 1125 x 750


def _photo(
    slot: int, box: Box, side: Side, photo_id: int = 1, crop: Box | None = None, **kw: object
) -> PlacedPhoto:
    return PlacedPhoto(
        slot,
        slot_rect(SQUARE, box, side),
        photo_id,
        path=DOG,
        format="JPEG",
        size=(1125, 750),
        crop=crop or Box(0, 0, 1, 1),
        **kw,  # type: ignore[arg-type]
    )


def _book(*pages: PrintedPage) -> PrintedBook:
    """These pages, then blank ones up to the 20 the product needs."""
    last = max(p.position for p in pages)
    blanks = tuple(
        PrintedPage(n, Side.RIGHT if n % 2 else Side.LEFT, "blank", (), ()) for n in range(last + 1, 21)
    )
    return PrintedBook(SQUARE, (*pages, *blanks))


def _codes(book: PrintedBook) -> list[tuple[str, str, int, int | None]]:
    return [(p.severity.value, p.code, p.page, p.slot) for p in check_book(book) if p.code != "blank-page"]


def test_resolution_thresholds_are_exact_at_the_edges() -> None:
    # 1125 px across a slot of 5.625 in is 200 ppi; a crop stored a hair short of the whole
    # width is the same 200 ppi, not an error.
    box = Box(0.1, 0.1, 5.625 * 72 / SQUARE.width, 5.625 * 72 / 1.5 / SQUARE.height)
    exact = PrintedPage(1, Side.RIGHT, "t", (_photo(0, box, Side.RIGHT, crop=Box(0, 0, 0.99999999, 1)),), ())
    assert _codes(_book(exact)) == [("warning", "low-resolution", 1, 1)]
    big = Box(0.05, 0.05, 0.9, 0.6)  # 7.2 in wide: 156 ppi
    blurred = PrintedPage(1, Side.RIGHT, "t", (_photo(0, big, Side.RIGHT),), ())
    problems = check_book(_book(blurred))
    assert [(p.code, p.severity.value) for p in problems if p.page == 1] == [("low-resolution", "error")]
    assert "156 ppi, under 200" in problems[0].message and "4.5 x 3.0 in" in problems[0].message


def test_a_photo_twice_inside_is_reported_but_the_cover_may_repeat_it() -> None:
    small = Box(0.3, 0.3, 0.3, 0.2)
    cover = PrintedPage(0, Side.COVER, "cover", (_photo(0, small, Side.COVER),), ())
    first = PrintedPage(1, Side.RIGHT, "t", (_photo(0, small, Side.RIGHT),), ())
    again = PrintedPage(2, Side.LEFT, "t", (_photo(0, small, Side.LEFT),), ())
    assert _codes(_book(cover, first)) == []
    assert _codes(_book(cover, first, again)) == [("warning", "repeated-photo", 2, 1)]


def test_text_and_faces_near_the_binding_and_captions_of_other_pages() -> None:
    # A caption box reaching into the gutter of a right page (bound on its left).
    # (0.4 in from the left edge: in a right page's 0.5 in gutter, clear of a left page's
    # 0.25 in safe margin.)
    gutter_text = PlacedText(
        1, slot_rect(SQUARE, Box(0.05, 0.8, 0.5, 0.08), Side.RIGHT), "photo:1", "A dog", "caption"
    )
    photo = _photo(0, Box(0.3, 0.2, 0.3, 0.2), Side.RIGHT)
    page = PrintedPage(1, Side.RIGHT, "t", (photo,), (gutter_text,))
    assert ("error", "text-unsafe", 1, 2) in _codes(_book(page))
    # The same box on a left page is clear of its binding (on the right) and of the trim.
    left = PrintedPage(2, Side.LEFT, "t", (_photo(0, Box(0.3, 0.2, 0.3, 0.2), Side.LEFT, 2),), (gutter_text,))
    codes = _codes(_book(PrintedPage(1, Side.RIGHT, "t", (), ()), left))
    assert ("warning", "caption-elsewhere", 2, 2) in codes and not [c for c in codes if c[1] == "text-unsafe"]
    # A face at the inner edge of a full-bleed photo on a right page lies in the gutter.
    face = Box(0.0, 0.4, 0.05, 0.1)
    full = _photo(0, Box(0, 0, 1, 1), Side.RIGHT, crop=Box(0, 0, 2 / 3, 1), faces=(face,))
    found = check_book(_book(PrintedPage(1, Side.RIGHT, "t", (full,), ())))
    assert [p.message for p in found if p.code == "face-unsafe"] == [
        "maxinception__dog.jpg: face 1 is in the gutter"
    ]


def test_a_slot_whose_photo_is_gone_is_not_an_empty_slot() -> None:
    gone = PlacedPhoto(0, slot_rect(SQUARE, Box(0.3, 0.3, 0.3, 0.2), Side.RIGHT), 7)
    empty = PlacedPhoto(1, slot_rect(SQUARE, Box(0.3, 0.6, 0.3, 0.2), Side.RIGHT), None)
    codes = _codes(_book(PrintedPage(1, Side.RIGHT, "t", (gone, empty), ())))
    assert codes == [("error", "missing-photo", 1, 1), ("error", "empty-slot", 1, 2)]
    assert Path(DOG).is_file()
