"""Automatic layout as a pure function: page counts, chapters, heroes, slots, variety, locks."""

from __future__ import annotations

import itertools
import random

from mixbook_desktop.core.book import BLANK_TEMPLATE, PRODUCTS, Fill, Page, Side, side_of, slot_rect
from mixbook_desktop.layout.auto import ChapterPicks, Pick, crop_loss, plan_book
from mixbook_desktop.layout.templates import load_templates

TEMPLATES = load_templates()
SQUARE = PRODUCTS["8x8"]


def _chapters(sizes: list[int], aspects: tuple[float, ...] = (1.5, 0.75, 1.33)) -> list[ChapterPicks]:
    ids = itertools.count(1)
    out = []
    for n, size in enumerate(sizes):
        picks = []
        for _ in range(size):
            pid = next(ids)
            # Scores vary so that each chapter has one clear best photo.
            picks.append(
                Pick(
                    pid, aspects[pid % len(aspects)], 0.3 + (pid * 37 % 11) / 20, pixels=4000, captioned=True
                )
            )
        out.append(ChapterPicks(f"c{n}", tuple(picks), titled=len(sizes) > 1))
    return out


def _placed(pages: list[Page]) -> list[int]:
    return [pid for page in pages for pid in page.photo_ids()]


def test_every_photo_once_chapters_in_order_and_a_legal_page_count() -> None:
    chapters = _chapters([9, 1, 14, 5])
    plan = plan_book(chapters, TEMPLATES, SQUARE)
    assert (
        len(plan.pages) >= SQUARE.min_pages and (len(plan.pages) - SQUARE.min_pages) % SQUARE.page_step == 0
    )
    every = [p.photo_id for c in chapters for p in c.picks]
    assert sorted(_placed(plan.pages)) == sorted(every) and not plan.left_out
    order = [page.chapter for page in plan.pages if page.template != BLANK_TEMPLATE]
    assert order == sorted(order, key=lambda key: int(str(key)[1:]))
    # Each chapter opens on its best photo, alone, with the chapter's title beside it.
    for chapter in chapters:
        opener = next(page for page in plan.pages if page.chapter == chapter.key)
        best = max(chapter.picks, key=lambda p: p.score)
        assert opener.photo_ids() == [best.photo_id]
        assert f"chapter:{chapter.key}" in [f.text for f in opener.fills]


def test_a_page_count_asked_for_is_rounded_to_the_product_and_crowds_the_pages() -> None:
    chapters = _chapters([40, 30])
    plan = plan_book(chapters, TEMPLATES, SQUARE, pages=21)
    assert len(plan.pages) == 22
    assert not plan.left_out and max(len(p.photo_ids()) for p in plan.pages) <= 6
    # 200 photos cannot fit 20 pages: the lowest scored go, never one the user chose.
    many = _chapters([200])
    chosen = many[0].picks[0]
    many = [ChapterPicks("c0", (Pick(chosen.photo_id, 1.5, score=0.0, must=True), *many[0].picks[1:]))]
    crowded = plan_book(many, TEMPLATES, SQUARE, pages=20)
    assert len(crowded.pages) == 20 and crowded.left_out
    assert chosen.photo_id in _placed(crowded.pages) and chosen.photo_id not in crowded.left_out
    kept = {p.score for p in many[0].picks if p.photo_id in _placed(crowded.pages) and not p.must}
    dropped = {p.score for p in many[0].picks if p.photo_id in crowded.left_out}
    assert max(dropped) <= min(kept)


def test_photos_take_the_slots_that_crop_them_least_and_pages_vary() -> None:
    plan = plan_book(_chapters([30]), TEMPLATES, SQUARE)
    aspects = {p.photo_id: p.aspect for c in _chapters([30]) for p in c.picks}
    for position, page in enumerate(plan.pages, start=1):
        if page.template == BLANK_TEMPLATE:
            continue
        slots = TEMPLATES[page.template].photo_slots
        ids = page.photo_ids()
        shapes = [(lambda r: r[2] / r[3])(slot_rect(SQUARE, s.box, side_of(position))) for s in slots]
        chosen = sum(crop_loss(aspects[i], a) for i, a in zip(ids, shapes, strict=True))
        # No other assignment of the same photos to the same slots crops less (the opener's
        # hero-in-the-largest-slot rule aside, which one-photo pages do not meet).
        if len(ids) > 1:
            best = min(
                sum(crop_loss(aspects[i], a) for i, a in zip(perm, shapes, strict=True))
                for perm in itertools.permutations(ids)
            )
            assert chosen <= best + 0.3 / len(ids) * 1.01
    templates = [p.template for p in plan.pages if p.template != BLANK_TEMPLATE]
    assert all(a != b for a, b in itertools.pairwise(templates)), templates


def test_locked_pages_and_slots_keep_their_place_and_photos() -> None:
    chapters = _chapters([12, 12])
    first = plan_book(chapters, TEMPLATES, SQUARE)
    locked = Page(first.pages[2].template, first.pages[2].fills, first.pages[2].chapter, locked=True)
    partly = first.pages[5]
    slot = next(n for n, s in enumerate(TEMPLATES[partly.template].slots) if s.kind.value == "photo")
    fills = list(partly.fills)
    fills[slot] = Fill(photo_id=fills[slot].photo_id, locked=True)
    fixed = {3: locked, 6: Page(partly.template, tuple(fills), partly.chapter)}
    again = plan_book(chapters, TEMPLATES, SQUARE, pages=24, fixed=fixed)
    assert len(again.pages) == 24
    assert again.pages[2] == locked
    assert again.pages[5].template == partly.template
    assert again.pages[5].fills[slot] == fills[slot]
    placed = _placed(again.pages)
    assert len(placed) == len(set(placed)) == 24, "every photo once, the locked ones included"


def test_a_face_in_the_gutter_steers_the_layout_away() -> None:
    # One photo, two templates to choose from; the fit cost says the full-bleed one would put
    # a face into the binding of a right page.
    templates = {k: TEMPLATES[k] for k in ("1-full-bleed", "1-framed")}
    # Shaped like the full-bleed slot of a right page (bleed on three sides), not the framed one.
    chapters = [ChapterPicks("c0", (Pick(1, 585 / 594, 0.9),))]

    def fit(pick: Pick, box: object, side: Side) -> float:
        return 0.5 if getattr(box, "x", 1) == 0 else 0.0

    plan = plan_book(chapters, templates, SQUARE, fit=fit)
    assert plan.pages[0].template == "1-framed"
    assert plan_book(chapters, templates, SQUARE).pages[0].template == "1-full-bleed"


def test_random_books_of_uneven_chapters_always_fit_their_pages() -> None:
    rng = random.Random(7)
    for _ in range(150):
        sizes = [rng.choice([1, 1, 2, 3, 5, 8, 13, 40]) for _ in range(rng.randint(1, 25))]
        chapters = _chapters(sizes)
        pages = rng.choice([None, 20, 24, 30, 40])
        plan = plan_book(chapters, TEMPLATES, SQUARE, pages=pages)
        placed = _placed(plan.pages)
        assert len(placed) == len(set(placed))
        assert sorted(placed + plan.left_out) == sorted(p.photo_id for c in chapters for p in c.picks)
        assert all(len(page.photo_ids()) <= 6 for page in plan.pages)
        assert len(plan.pages) == SQUARE.page_count(pages or len(plan.pages))
        if plan.left_out:  # photos go only when every page is in use
            assert plan.blank == 0


def test_a_kept_opener_is_the_chapters_only_opener_and_its_captions_follow_its_photos() -> None:
    chapters = _chapters([10, 10])
    first = plan_book(chapters, TEMPLATES, SQUARE)
    opener_at = next(n for n, page in enumerate(first.pages, start=1) if page.chapter == "c1")
    opener = first.pages[opener_at - 1]
    # The user swaps the opener to a two-photo template with captions and locks its first photo.
    template = TEMPLATES["2-stacked-captions"]
    slots = [
        Fill(photo_id=opener.photo_ids()[0], locked=True),
        Fill(text="chapter:c1"),
        Fill(),
        Fill(text="photo:999"),
    ]
    assert [s.kind.value for s in template.slots] == ["photo", "text", "photo", "text"]
    again = plan_book(chapters, TEMPLATES, SQUARE, fixed={opener_at: Page(template.id, tuple(slots), "c1")})
    kept = again.pages[opener_at - 1]
    assert kept.fills[0] == slots[0] and kept.fills[1].text == "chapter:c1"
    assert kept.fills[2].photo_id is not None
    # The stale caption target is gone: the box now shows the caption of the photo above it.
    assert kept.fills[3].text == f"photo:{kept.fills[2].photo_id}"
    titles = [f.text for page in again.pages for f in page.fills if f.text == "chapter:c1"]
    assert titles == ["chapter:c1"]
