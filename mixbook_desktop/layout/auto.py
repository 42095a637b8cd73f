"""Automatic layout: how many pages each chapter gets, which photos share a page, and which
template and slot each photo takes. Pure: photos come in as plain values, pages go out.

The plan follows what people do by hand in a photobook editor: each chapter opens on a page
of its own with its best photo (the hero) and, where the template has room, the chapter's
title; the other photos follow in time order, a few to a page; a page's template is the one
whose slots crop its photos least, with some variety from page to page.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from mixbook_desktop.core.book import (
    BLANK_TEMPLATE,
    POINTS_PER_INCH,
    Fill,
    Page,
    PageTemplate,
    Product,
    Side,
    SlotKind,
    safe_rect,
    side_of,
    slot_rect,
)
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.core.printed import inside

# Without a page count from the user, about this many photos share a page after each opener.
AUTO_PER_PAGE = 3
# When photos outnumber the room, pages after a chapter's opener fill up to this many before
# any photo is left out; a chapter with a single page may fill a template of MAX_PER_PAGE.
CROWDED_PER_PAGE = 4
MAX_PER_PAGE = 6
# Costs are in "share of the photo cropped away"; these weigh the other wishes against it.
SAME_AS_LAST = 0.25  # the template of the page before: a book of identical pages looks cheap
SAME_AS_SECOND_LAST = 0.1
HERO_NOT_LARGEST = 0.3  # on a chapter's only page, its best photo belongs in the largest slot
TITLE_ROOM = 0.15  # a chapter opener with room for its title
CAPTION_ROOM = 0.05  # a page with room for a caption it has
EMPTY_TEXT = 1.0  # a text box with nothing to say would print empty
# A photo short of the product's warning ppi costs this much per share it falls short
# (200 ppi against 250: 0.4; 100 ppi: 1.2): a smaller slot is worth much cropping, and the
# worse the print the more.
SHORT_OF_PPI = 2.0


@dataclass(frozen=True)
class Pick:
    """A photo the layout may place."""

    photo_id: int
    aspect: float  # upright width / height
    score: float  # higher is better: sharp, well exposed, smiling
    pixels: int = 0  # upright width in pixels; 0 when unknown (resolution is then not weighed)
    must: bool = False  # the user chose it: never left out for room
    captioned: bool = False  # it has a caption to show


@dataclass(frozen=True)
class ChapterPicks:
    key: str
    picks: tuple[Pick, ...]  # time order
    titled: bool = False  # the opener shows the chapter's title (books of one chapter do not)


# The extra cost, beyond cropping, of a photo in a slot: faces cut or in the gutter.
FitCost = Callable[[Pick, Box, Side], float]


@dataclass
class Plan:
    pages: list[Page]  # pages 1..N; the cover is planned apart
    left_out: list[int] = field(default_factory=list)  # photos that did not fit, lowest score first
    blank: int = 0  # empty pages added at the end to reach the product's minimum


def crop_loss(photo_aspect: float, slot_aspect: float) -> float:
    """The share of the photo a slot of this shape crops away."""
    return 1.0 - min(photo_aspect / slot_aspect, slot_aspect / photo_aspect)


def _no_extra(pick: Pick, box: Box, side: Side) -> float:
    return 0.0


def _merge_small_chapters(chapters: list[ChapterPicks], room: int) -> tuple[list[ChapterPicks], list[int]]:
    """Chapters and their page counts. With fewer pages than chapters, or more photos than
    the pages hold, neighbouring chapters share pages, the smallest pair first: an opener
    holds one photo, so fewer openers leave room for more photos."""
    chapters = list(chapters)
    while True:
        counts = _pages_per_chapter(chapters, room)
        fits = all(len(c.picks) <= _room_for(n) for c, n in zip(chapters, counts, strict=True))
        if len(chapters) <= 1 or (len(chapters) <= room and fits):
            return chapters, counts
        i = min(range(len(chapters) - 1), key=lambda k: len(chapters[k].picks) + len(chapters[k + 1].picks))
        first, second = chapters[i], chapters[i + 1]
        chapters[i : i + 2] = [replace(first, picks=first.picks + second.picks)]


def _room_for(pages: int) -> int:
    """Photos a chapter of this many pages holds before any is left out: an opener with its
    hero and crowded pages after it; a chapter squeezed onto one page fills a whole template."""
    return MAX_PER_PAGE if pages == 1 else 1 + (pages - 1) * CROWDED_PER_PAGE


def _leave_out(chapters: list[ChapterPicks], counts: list[int]) -> tuple[list[ChapterPicks], list[int]]:
    """Drop the lowest-scored photos of each chapter that has more than its pages hold. The
    chapter's best photo and the photos the user chose go first in line to stay."""
    kept: list[ChapterPicks] = []
    dropped: list[Pick] = []
    for chapter, count in zip(chapters, counts, strict=True):
        room = _room_for(count)
        if len(chapter.picks) <= room:
            kept.append(chapter)
            continue
        best = max(chapter.picks, key=lambda p: p.score)
        ranked = sorted(chapter.picks, key=lambda p: (p is not best, not p.must, -p.score, p.photo_id))
        stay = {p.photo_id for p in ranked[:room]}
        kept.append(replace(chapter, picks=tuple(p for p in chapter.picks if p.photo_id in stay)))
        dropped += [p for p in chapter.picks if p.photo_id not in stay]
    return kept, [p.photo_id for p in sorted(dropped, key=lambda p: (p.score, p.photo_id))]


def _pages_per_chapter(chapters: list[ChapterPicks], room: int) -> list[int]:
    """Each chapter gets an opener; every further page goes where photos are most crowded."""
    counts = [1] * len(chapters)
    for _ in range(room - len(chapters) if chapters else 0):

        def load(i: int) -> float:
            rest = len(chapters[i].picks) - 1
            if counts[i] >= len(chapters[i].picks):
                return -1.0  # one photo a page already
            return math.inf if counts[i] == 1 else rest / (counts[i] - 1)

        i = max(range(len(chapters)), key=load)
        if load(i) < 0:
            break
        counts[i] += 1
    return counts


def _groups(chapter: ChapterPicks, pages: int, opener: bool = True) -> list[tuple[list[Pick], Pick]]:
    """The photos of each of the chapter's pages, with the page's hero: the opener holds the
    best photo alone, the rest follow in time order in runs as even as possible. A chapter
    whose opener is a page the user kept has no opener here."""
    hero = max(chapter.picks, key=lambda p: (p.score, -p.photo_id))
    if pages == 1:
        return [(list(chapter.picks), hero)]
    rest = [p for p in chapter.picks if p is not hero] if opener else list(chapter.picks)
    runs = pages - 1 if opener else pages
    size, extra = divmod(len(rest), runs)
    out: list[tuple[list[Pick], Pick]] = [([hero], hero)] if opener else []
    start = 0
    for n in range(runs):
        group = rest[start : start + size + (1 if n < extra else 0)]
        start += len(group)
        out.append((group, max(group, key=lambda p: p.score)))
    return out


@dataclass(frozen=True)
class _Choice:
    cost: float
    template: PageTemplate
    order: tuple[int, ...]  # order[j]: index in the group of the photo in photo slot j


class _Planner:
    def __init__(self, templates: Mapping[str, PageTemplate], product: Product, fit: FitCost) -> None:
        self.product = product
        self.fit = fit
        self.by_count: dict[int, list[PageTemplate]] = {}
        for template in sorted(templates.values(), key=lambda t: t.id):
            if not template.cover:
                self.by_count.setdefault(len(template.photo_slots), []).append(template)
        self._fit_cache: dict[tuple[int, Box, Side], float] = {}
        self._fitting: dict[tuple[int, Side], list[PageTemplate]] = {}

    def fitting(self, count: int, side: Side) -> list[PageTemplate]:
        """Templates for `count` photos whose text boxes lie in this product's safe area on
        this side (templates are drawn for the presets; a custom size may not suit all)."""
        key = (count, side)
        if key not in self._fitting:
            safe = safe_rect(self.product, side)
            usable = [
                t
                for t in self.by_count.get(count, [])
                if all(
                    inside(slot_rect(self.product, s.box, side), safe)
                    for s in t.slots
                    if s.kind is SlotKind.TEXT
                )
            ]
            self._fitting[key] = usable or self.by_count.get(count, [])
        return self._fitting[key]

    def slot_cost(self, pick: Pick, box: Box, side: Side) -> float:
        _, _, w, h = slot_rect(self.product, box, side)
        key = (pick.photo_id, box, side)
        if key not in self._fit_cache:
            self._fit_cache[key] = self.fit(pick, box, side)
        return crop_loss(pick.aspect, w / h) + self._resolution_cost(pick, w, h) + self._fit_cache[key]

    def _resolution_cost(self, pick: Pick, w: float, h: float) -> float:
        if not pick.pixels:
            return 0.0
        # The crop is the largest window of the slot's shape: all of the photo's width when
        # the slot is at least as wide (relatively) as the photo, less otherwise.
        shown = pick.pixels * min(1.0, (w / h) / pick.aspect)
        ppi = shown / (w / POINTS_PER_INCH)
        return SHORT_OF_PPI * max(0.0, 1.0 - ppi / self.product.warn_ppi)

    def choose(
        self,
        group: list[Pick],
        hero: Pick,
        side: Side,
        recent: list[str],
        titled_opener: bool,
    ) -> _Choice:
        texts = sum(p.captioned for p in group) + (1 if titled_opener else 0)
        best: _Choice | None = None
        for template in self.fitting(len(group), side):
            slots = template.photo_slots
            text_slots = len(template.slots) - len(slots)
            costs = [[self.slot_cost(p, s.box, side) for p in group] for s in slots]
            largest = max(range(len(slots)), key=lambda j: slots[j].box.w * slots[j].box.h)
            hero_index = group.index(hero)
            order, cost = min(
                (
                    (
                        perm,
                        sum(costs[j][i] for j, i in enumerate(perm))
                        + (HERO_NOT_LARGEST if len(group) > 1 and perm[largest] != hero_index else 0.0),
                    )
                    for perm in itertools.permutations(range(len(group)))
                ),
                key=lambda pc: pc[1],
            )
            cost /= len(group)
            if recent and recent[-1] == template.id:
                cost += SAME_AS_LAST
            if len(recent) > 1 and recent[-2] == template.id:
                cost += SAME_AS_SECOND_LAST
            if text_slots > texts:
                cost += EMPTY_TEXT * (text_slots - texts)
            elif text_slots:
                cost -= TITLE_ROOM if titled_opener else CAPTION_ROOM
            if best is None or cost < best.cost - 1e-9:
                best = _Choice(cost, template, order)
        if best is None:
            raise ValueError(f"no page template holds {len(group)} photos")
        return best

    def page(
        self,
        group: list[Pick],
        hero: Pick,
        position: int,
        recent: list[str],
        chapter: ChapterPicks,
        opener: bool,
    ) -> Page:
        titled = opener and chapter.titled
        choice = self.choose(group, hero, side_of(position), recent, titled)
        photo_of = dict(zip((id(s) for s in choice.template.photo_slots), choice.order, strict=True))
        fills: list[Fill] = []
        captions = [p for p in group if p.captioned]
        title_left = titled
        for slot in choice.template.slots:
            if slot.kind is SlotKind.PHOTO:
                fills.append(Fill(photo_id=group[photo_of[id(slot)]].photo_id))
                continue
            if title_left:
                fills.append(Fill(text=f"chapter:{chapter.key}"))
                title_left = False
                continue
            # A caption sits by its photo: the nearest photo slot whose photo has one.
            text = None
            if captions:
                placed = {group[photo_of[id(s)]].photo_id: s.box for s in choice.template.photo_slots}
                nearest = min(captions, key=lambda p: _distance(placed[p.photo_id], slot.box))
                captions.remove(nearest)
                text = f"photo:{nearest.photo_id}"
            fills.append(Fill(text=text))
        return Page(choice.template.id, tuple(fills), chapter.key)


def _distance(a: Box, b: Box) -> float:
    return math.hypot(a.x + a.w / 2 - b.x - b.w / 2, a.y + a.h / 2 - b.y - b.h / 2)


def _fill_partly_locked(
    page: Page,
    template: PageTemplate,
    pool: dict[str, list[Pick]],
    captioned: set[int],
    planner: _Planner,
    side: Side,
) -> Page:
    """A page holding a locked slot keeps its template and that slot; its other photo slots
    take the photos of its chapter that fit them best (of the nearest chapters once its own
    are used up), and its unlocked caption boxes the captions of the photos now beside them
    (a chapter's title stays: the page opens it)."""
    fills = list(page.fills) + [Fill()] * (len(template.slots) - len(page.fills))
    keys = list(pool)
    own = keys.index(page.chapter) if page.chapter in keys else 0
    for j, slot in enumerate(template.slots):
        if slot.kind is not SlotKind.PHOTO or fills[j].locked:
            continue
        by_distance = sorted((k for k in keys if pool[k]), key=lambda k: abs(keys.index(k) - own))
        if not by_distance:
            fills[j] = Fill()
            continue
        candidates = pool[by_distance[0]]
        pick = min(candidates, key=lambda p: (planner.slot_cost(p, slot.box, side), -p.score))
        candidates.remove(pick)
        fills[j] = Fill(photo_id=pick.photo_id)
    return point_captions(replace(page, fills=tuple(fills)), template, captioned, keep_valid=False)


def point_captions(page: Page, template: PageTemplate, captioned: set[int], keep_valid: bool = True) -> Page:
    """Caption boxes that show the captions of the photos on the page: each box not locked
    and not holding the chapter's title gets the nearest photo whose caption is not shown yet.
    With `keep_valid`, a box already showing a photo of the page keeps it."""
    fills = list(page.fills) + [Fill()] * (len(template.slots) - len(page.fills))
    placed = {
        fills[j].photo_id: slot.box
        for j, slot in enumerate(template.slots)
        if slot.kind is SlotKind.PHOTO and fills[j].photo_id in captioned
    }

    def settled(fill: Fill) -> bool:
        valid = keep_valid and fill.text is not None and fill.text.removeprefix("photo:").isdigit()
        return fill.locked or _is_title(fill.text) or (valid and int(str(fill.text)[6:]) in placed)

    shown = {f.text for f in fills if settled(f)}
    for j, slot in enumerate(template.slots):
        if slot.kind is not SlotKind.TEXT or settled(fills[j]):
            continue
        free = [pid for pid in placed if f"photo:{pid}" not in shown]
        text = None
        if free:
            nearest = min(free, key=lambda pid: _distance(placed[pid], slot.box))
            text = f"photo:{nearest}"
            shown.add(text)
        fills[j] = Fill(text=text)
    return replace(page, fills=tuple(fills))


def _is_title(text: str | None) -> bool:
    return bool(text and text.startswith("chapter:"))


def plan_book(
    chapters: Sequence[ChapterPicks],
    templates: Mapping[str, PageTemplate],
    product: Product,
    *,
    pages: int | None = None,
    fixed: Mapping[int, Page] | None = None,
    fit: FitCost = _no_extra,
) -> Plan:
    """Pages 1..N for `chapters`. `pages` asks for a page count (rounded to what the product
    allows); without it the count follows the photos. `fixed` pages (locked, or holding a
    locked slot) keep their position and photos, and flow the other pages around them."""
    fixed = dict(fixed or {})
    planner = _Planner(templates, product, fit)
    used = {pid for page in fixed.values() if page.locked for pid in page.photo_ids()}
    used |= {f.photo_id for page in fixed.values() for f in page.fills if f.locked and f.photo_id is not None}
    pool = {c.key: [p for p in c.picks if p.photo_id not in used] for c in chapters}
    captioned = {p.photo_id for c in chapters for p in c.picks if p.captioned}
    for position, page in sorted(fixed.items()):
        if not page.locked and page.template in templates:
            fixed[position] = _fill_partly_locked(
                page, templates[page.template], pool, captioned, planner, side_of(position)
            )
    # A kept page showing a chapter's title opens that chapter; the flow makes no second one.
    opened = {
        f.text.removeprefix("chapter:")
        for page in fixed.values()
        for f in page.fills
        if f.text and _is_title(f.text)
    }
    flowing_chapters = [replace(c, picks=tuple(pool[c.key])) for c in chapters if pool[c.key]]

    if pages is None:
        wanted = len(fixed) + sum(1 + math.ceil((len(c.picks) - 1) / AUTO_PER_PAGE) for c in flowing_chapters)
    else:
        wanted = pages
    total = product.page_count(max(wanted, max(fixed, default=0)))
    room = total - len(fixed)

    left_out: list[int] = []
    if room <= 0:
        left_out = [p.photo_id for c in flowing_chapters for p in c.picks]
        flowing_chapters = []
    flowing_chapters, counts = _merge_small_chapters(flowing_chapters, room)
    flowing_chapters, dropped = _leave_out(flowing_chapters, counts)
    left_out += dropped
    positions = iter(p for p in range(1, total + 1) if p not in fixed)
    by_position: dict[int, Page] = dict(fixed)
    for chapter, count in zip(flowing_chapters, counts, strict=True):
        opener = chapter.key not in opened
        for n, (group, hero) in enumerate(_groups(chapter, count, opener)):
            position = next(positions)
            recent = [by_position[q].template for q in (position - 2, position - 1) if q in by_position]
            by_position[position] = planner.page(
                group, hero, position, recent, chapter, opener=opener and n == 0
            )
    blank = 0
    for position in positions:
        by_position[position] = Page(BLANK_TEMPLATE, ())
        blank += 1
    return Plan([by_position[p] for p in range(1, total + 1)], left_out, blank)
