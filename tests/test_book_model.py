"""Book products and the page templates in resources/layouts/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mixbook_desktop.core.book import (
    POINTS_PER_INCH,
    POINTS_PER_MM,
    PRODUCTS,
    Product,
    Side,
    effective_ppi,
    printed_aspect,
    product_named,
    safe_rect,
    slot_rect,
)
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.layout.templates import TemplateError, load_templates


def test_products_have_the_labs_sizes_and_page_rules() -> None:
    square = PRODUCTS["8x8"]
    assert (square.width, square.height) == (576, 576) and square.bleed == 9 and square.gutter == 36
    assert PRODUCTS["11x8.5"].width > PRODUCTS["11x8.5"].height
    assert round(PRODUCTS["a4-portrait"].width / POINTS_PER_INCH * 25.4) == 210
    assert [square.page_count(n) for n in (1, 20, 21, 22, 23, 500)] == [20, 20, 22, 22, 24, 200]
    steps_of_four = Product("lab", "Lab", 600, 600, min_pages=26, page_step=4, max_pages=98)
    assert [steps_of_four.page_count(n) for n in (27, 30, 31, 200)] == [30, 30, 34, 98]
    with pytest.raises(ValueError, match="must fit"):
        Product("tiny", "Tiny", 50, 50)


def test_a_full_bleed_slot_runs_into_the_bleed_on_the_outer_edges_only() -> None:
    square = PRODUCTS["8x8"]
    whole = Box(0, 0, 1, 1)
    # A right page is bound on its left: no bleed there.
    assert slot_rect(square, whole, Side.RIGHT) == (0, -9, 585, 594)
    assert slot_rect(square, whole, Side.LEFT) == (-9, -9, 585, 594)
    framed = Box(0.25, 0.25, 0.5, 0.5)
    assert slot_rect(square, framed, Side.LEFT) == (144, 144, 288, 288)
    # The gutter (0.5 in) on the binding side, the safe margin (0.25 in) on the others.
    assert safe_rect(square, Side.LEFT) == (18, 18, 576 - 18 - 36, 540)
    assert safe_rect(square, Side.RIGHT) == (36, 18, 576 - 18 - 36, 540)


def test_effective_resolution_follows_the_scarcer_side() -> None:
    assert effective_ppi((2400, 2400), (576, 576)) == 300  # 8 x 8 in at 300 ppi
    assert effective_ppi((2400, 1200), (576, 576)) == 150
    square = PRODUCTS["8x8"]
    assert square.error_ppi < square.warn_ppi < square.target_ppi


def test_the_templates_cover_what_books_need() -> None:
    templates = load_templates()
    assert len(templates) >= 25
    counts = {len(t.photo_slots) for t in templates.values()}
    assert counts == {1, 2, 3, 4, 5, 6}
    for n in counts:
        kinds = {t.has_text for t in templates.values() if len(t.photo_slots) == n and not t.cover}
        assert kinds == {True, False}, n  # with and without a caption box
    square = PRODUCTS["8x8"]
    singles = [t.photo_slots[0].box for t in templates.values() if len(t.photo_slots) == 1 and not t.cover]
    assert any(printed_aspect(b, square) > 1.3 for b in singles)
    assert any(printed_aspect(b, square) < 0.8 for b in singles)
    assert Box(0, 0, 1, 1) in singles  # full bleed
    assert any(t.cover and t.has_text for t in templates.values())


@pytest.mark.parametrize("key", sorted(PRODUCTS))
def test_text_boxes_sit_in_the_safe_area_on_either_page_of_every_product(key: str) -> None:
    product = PRODUCTS[key]
    # The gutter is on the right of a left page and the left of a right page: both sides.
    side = max(product.gutter, product.safe) / product.width
    top = product.safe / product.height
    for template in load_templates().values():
        for slot in template.slots:
            if slot.kind.value == "text":
                b = slot.box
                assert b.x >= side and b.x + b.w <= 1 - side, (template.id, b)
                assert b.y >= top and b.y + b.h <= 1 - top, (template.id, b)


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        ([{"kind": "photo", "box": [0, 0, 0.6, 1]}, {"kind": "photo", "box": [0.5, 0, 0.5, 1]}], "overlap"),
        ([{"kind": "photo", "box": [0.5, 0, 0.6, 1]}], "past the page"),
        ([{"kind": "text", "box": [0.1, 0.1, 0.5, 0.1]}], "no photo slot"),
        ([{"kind": "sticker", "box": [0.1, 0.1, 0.5, 0.1]}], "sticker"),
        ([{"kind": "photo", "box": [0.1, 0.1]}], "template 'bad'"),
    ],
)
def test_a_broken_template_file_is_refused_with_its_name(
    tmp_path: Path, slots: list[object], message: str
) -> None:
    (tmp_path / "mine.json").write_text(json.dumps({"templates": [{"id": "bad", "slots": slots}]}))
    with pytest.raises(TemplateError, match=message) as refused:
        load_templates(tmp_path)
    assert "mine.json" in str(refused.value)


def test_two_templates_with_one_id_are_refused(tmp_path: Path) -> None:
    page = {"id": "same", "slots": [{"kind": "photo", "box": [0, 0, 1, 1]}]}
    (tmp_path / "a.json").write_text(json.dumps({"templates": [page, page]}))
    with pytest.raises(TemplateError, match="used twice"):
        load_templates(tmp_path)


def test_a_product_is_a_preset_or_a_custom_size() -> None:
    assert product_named("8x8") is PRODUCTS["8x8"]
    blurb = product_named("9.5x8in")
    assert (blurb.width, blurb.height, blurb.bleed) == (684, 576, 9) and blurb.min_pages == 20
    metric = product_named("21x28cm")
    same = product_named("210x280mm")
    assert (metric.width, metric.height, metric.bleed) == (same.width, same.height, same.bleed)
    assert round(metric.width / POINTS_PER_MM) == 210 and round(metric.bleed / POINTS_PER_MM) == 3
    for wrong in ("9x9ft", "poster", "1x1in", "800x800mm"):
        with pytest.raises(ValueError, match=r"9\.5x8in|must be 4 to 20 in"):
            product_named(wrong)
