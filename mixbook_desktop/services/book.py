"""The book of a project: automatic layout that keeps the user's decisions, the user's own
edits to pages, and the book resolved for the print checks and the PDF."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mixbook_desktop.core.book import (
    BLANK_TEMPLATE,
    COVER_POSITION,
    Fill,
    Page,
    PageTemplate,
    Product,
    Side,
    SlotKind,
    product_named,
    safe_rect,
    side_of,
    slot_rect,
)
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.core.printed import PlacedPhoto, PlacedText, PrintedBook, PrintedPage, inside, map_box
from mixbook_desktop.layout.auto import ChapterPicks, Pick, crop_loss, plan_book, point_captions
from mixbook_desktop.layout.crop import face_aware_crop
from mixbook_desktop.layout.templates import load_templates
from mixbook_desktop.services import catalog
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.book import EXCLUDE, INCLUDE, PAGES_KEY, PRODUCT_KEY, BookStore
from mixbook_desktop.store.captions import BOOK_TARGET, photo_target
from mixbook_desktop.store.photos import PhotoStore
from mixbook_desktop.store.project import Project

DEFAULT_PRODUCT = "8x8"
COVER_TEMPLATE = "cover-photo-title"
# A photo's score for the layout: its technical quality (0-1), then these for what people
# look for in a book: smiling faces above all, then faces at all.
SMILE_BONUS = 0.3
FACES_BONUS = 0.1
# The cost, in "share of the photo cropped away", of a face the crop cuts or one that would
# print in the gutter or the trim's margin: worth more than a bad crop.
FACE_CUT_COST = 0.5
FACE_UNSAFE_COST = 0.3
# A crop the user made is kept while the photo's slot keeps this shape (width / height).
SAME_SHAPE = 0.01
DETAIL_SIDE = 128  # the grayscale thumbnail the crop reads detail from


class BookError(Exception):
    """A request about the book that cannot be done; the message says why in one line."""


@cache
def templates() -> dict[str, PageTemplate]:
    return load_templates()


@dataclass(frozen=True)
class PhotoInfo:
    """What layout, checks and export need to know about one photo."""

    photo_id: int
    sha256: str
    path: str
    format: str
    size: tuple[int, int]  # upright
    faces: tuple[Box, ...]
    score: float
    flagged: bool
    captioned: bool
    left_out_because: str | None  # why the automatic layout does not use it, if it does not

    @property
    def name(self) -> str:
        return Path(self.path).name


def _score(row: dict[str, Any]) -> float:
    quality = row.get("quality") or {}
    faces = row.get("faces") or []
    smiling = sum(1 for f in faces if f.get("emotion") == "HAPPY")
    score = float(quality.get("score", 0.5))
    if faces:
        score += FACES_BONUS + SMILE_BONUS * smiling / len(faces)
    return score


def _why_out(row: dict[str, Any], choice: str | None) -> str | None:
    moderation = row.get("moderation") or {}
    if choice == EXCLUDE:
        return "taken out by you"
    if choice == INCLUDE:
        return None
    if not row.get("analysed"):
        return "not analysed yet"
    if moderation.get("flagged"):
        return "flagged by the content check"
    if not moderation.get("cleared"):
        return "not cleared by the content check"
    if row.get("duplicate_group") is not None and not row.get("best_in_group"):
        return "a near-duplicate of a better shot"
    return None


def _photos(project: Project) -> tuple[dict[int, PhotoInfo], list[ChapterPicks]]:
    rows = [r for r in catalog.photo_listing(project) if r["status"] == "ok"]
    ids = AnalysisStore(project).photo_ids()
    by_id = {ids[r["sha256"]]: r for r in rows}
    choices = BookStore(project).choices()
    infos: dict[int, PhotoInfo] = {}
    for pid, row in by_id.items():
        caption = row.get("caption") or {}
        infos[pid] = PhotoInfo(
            photo_id=pid,
            sha256=row["sha256"],
            path=row["file"],
            format=row["format"],
            size=(int(row["width"]), int(row["height"])),
            faces=tuple(Box(*f["box"]) for f in row.get("faces") or []),
            score=_score(row),
            flagged=bool((row.get("moderation") or {}).get("flagged")),
            # A photo without a suggestion yet gets one when captions run (a template when
            # the model has nothing); only a caption the user emptied is none.
            captioned=bool(caption.get("text")) or not caption,
            left_out_because=_why_out(row, choices.get(pid)),
        )
    chapters = catalog.book_chapters(by_id)
    titled = len(chapters) > 1
    picks = [
        ChapterPicks(
            chapter.key,
            tuple(
                Pick(
                    pid,
                    infos[pid].size[0] / infos[pid].size[1],
                    infos[pid].score,
                    pixels=infos[pid].size[0],
                    must=choices.get(pid) == INCLUDE,
                    captioned=infos[pid].captioned,
                )
                for pid in chapter.photo_ids
                if infos[pid].left_out_because is None
            ),
            titled,
        )
        for chapter in chapters
    ]
    return infos, [c for c in picks if c.picks]


def chapter_labels(project: Project) -> dict[str, str]:
    """chapter key -> its dates as people read them; undated photos say they follow file order."""
    rows = [r for r in catalog.photo_listing(project) if r["status"] == "ok"]
    ids = AnalysisStore(project).photo_ids()
    labels: dict[str, str] = {}
    for chapter in catalog.book_chapters({ids[r["sha256"]]: r for r in rows}):
        if not chapter.dated or not chapter.start:
            labels[chapter.key] = "undated (file order)"
            continue
        start, end = chapter.start[:10], (chapter.end or chapter.start)[:10]
        labels[chapter.key] = start if start == end else f"{start} to {end}"
    return labels


def product_of(project: Project) -> Product:
    key = AnalysisStore(project).get_setting(PRODUCT_KEY) or DEFAULT_PRODUCT
    try:
        return product_named(key)
    except ValueError as exc:
        raise BookError(f"the book's product: {exc}") from None


def _face_cost(info: PhotoInfo, product: Product, box: Box, side: Side) -> float:
    if not info.faces:
        return 0.0
    rect = slot_rect(product, box, side)
    crop = face_aware_crop(*info.size, rect[2] / rect[3], [f.as_list() for f in info.faces])  # type: ignore[misc]
    safe = safe_rect(product, side)
    cost = FACE_CUT_COST * len(crop.cut_faces)
    window = Box(*crop.box)
    for n, face in enumerate(info.faces):
        if n not in crop.cut_faces and not inside(map_box(window, rect, face), safe):
            cost += FACE_UNSAFE_COST
    return cost


def _detail(project: Project, sha256: str) -> NDArray[np.float32] | None:
    data = PhotoStore(project).thumbnail(sha256)
    if data is None:
        return None
    with Image.open(io.BytesIO(data)) as im:
        gray = im.convert("L")
    gray.thumbnail((DETAIL_SIDE, DETAIL_SIDE))
    return np.asarray(gray, dtype=np.float32)


def _crop(project: Project, info: PhotoInfo, rect: tuple[float, float, float, float]) -> Box:
    found = face_aware_crop(
        *info.size,
        rect[2] / rect[3],
        [(f.x, f.y, f.w, f.h) for f in info.faces],
        _detail(project, info.sha256),
    )
    return Box(*found.box)


def _shape(crop: Box, size: tuple[int, int]) -> float:
    return (crop.w * size[0]) / (crop.h * size[1])


@dataclass
class LayoutReport:
    product: Product
    pages: int  # inner pages, the cover not counted
    placed: int  # photos on the inner pages
    kept_pages: int  # pages kept because they, or one of their slots, are locked
    blank: int  # empty pages added at the end to reach the product's minimum
    left_out: list[str] = field(default_factory=list)  # files the pages had no room for
    not_used: dict[str, list[str]] = field(default_factory=dict)  # reason -> files


def _cover(
    infos: dict[int, PhotoInfo], chapters: list[ChapterPicks], product: Product, old: Page | None
) -> Page | None:
    if old is not None and old.fixed:
        return old
    template = templates().get(COVER_TEMPLATE)
    candidates = [p for c in chapters for p in c.picks]
    if template is None or not candidates:
        return None
    slot = template.photo_slots[0]
    _, _, w, h = slot_rect(product, slot.box, Side.COVER)
    # The cover wants the book's best photo that its window crops least, faces whole and clear
    # of the trim.
    best = max(
        candidates,
        key=lambda p: (
            p.score
            - crop_loss(p.aspect, w / h)
            - _face_cost(infos[p.photo_id], product, slot.box, Side.COVER),
            -p.photo_id,
        ),
    )
    fills = tuple(
        Fill(photo_id=best.photo_id) if s.kind is SlotKind.PHOTO else Fill(text=BOOK_TARGET)
        for s in template.slots
    )
    return Page(template.id, fills)


def refit(crop: Box, size: tuple[int, int], aspect: float) -> Box:
    """A crop reshaped for a slot of another shape (width / height): the same centre and as
    much of the photo, within the photo. Unchanged when the shape already matches."""
    width, height = size
    if abs(_shape(crop, size) / aspect - 1) <= SAME_SHAPE:
        return crop
    area = crop.w * width * crop.h * height
    w_px = math.sqrt(area * aspect)
    h_px = w_px / aspect
    shrink = min(1.0, width / w_px, height / h_px)
    w, h = w_px * shrink / width, h_px * shrink / height
    x = min(max(crop.x + crop.w / 2 - w / 2, 0.0), 1.0 - w)
    y = min(max(crop.y + crop.h / 2 - h / 2, 0.0), 1.0 - h)
    return Box(x, y, w, h)


def layout_book(project: Project, product: str | None = None, pages: int | None = None) -> LayoutReport:
    """Lay the book out again from the analysed photos. Locked pages stay where they are as
    they are; a page with a locked slot keeps its template and that slot's photo; a crop the
    user made goes with its photo (reshaped, around the same centre, if its slot's shape
    changed); photos the user took out stay out and those the user put in are never left out
    for room. `product` and `pages`, when given, become the book's settings, saved with the
    new pages."""
    settings = AnalysisStore(project)
    try:
        chosen = product_named(product) if product is not None else product_of(project)
    except ValueError as exc:
        raise BookError(str(exc)) from None
    # pages=0 asks for the automatic count again.
    wanted = (pages or None) if pages is not None else settings.get_setting(PAGES_KEY)
    if wanted is not None and not 1 <= wanted <= chosen.max_pages:
        raise BookError(f"{chosen.name} books have 1 to {chosen.max_pages} pages, not {wanted}")
    store = BookStore(project)
    infos, chapters = _photos(project)
    old = store.pages()
    fixed = {pos: page for pos, page in old.items() if pos != COVER_POSITION and page.fixed}
    if not chapters and not fixed:
        reasons: dict[str, int] = {}
        for info in infos.values():
            if info.left_out_because:
                reasons[info.left_out_because] = reasons.get(info.left_out_because, 0) + 1
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())) or "the book has no photos"
        raise BookError(f"no photo can go into the book yet ({why}); import and `analyze` first")

    def fit(pick: Pick, box: Box, side: Side) -> float:
        return _face_cost(infos[pick.photo_id], chosen, box, side)

    try:
        plan = plan_book(chapters, templates(), chosen, pages=wanted, fixed=fixed, fit=fit)
    except ValueError as exc:
        raise BookError(f"the layout failed: {exc}") from None
    new: dict[int, Page] = {}
    cover = _cover(infos, chapters, chosen, old.get(COVER_POSITION))
    if cover is not None:
        new[COVER_POSITION] = cover
    for position, page in enumerate(plan.pages, start=1):
        new[position] = page

    # A crop made for the cover stays with the cover, one made inside stays inside.
    user_crops = {
        (f.photo_id, pos == COVER_POSITION): f.crop
        for pos, page in old.items()
        for f in page.fills
        if f.crop_by_user and f.crop is not None and f.photo_id is not None
    }
    for position, page in new.items():
        if page.template == BLANK_TEMPLATE:
            continue
        side = Side.COVER if position == COVER_POSITION else side_of(position)
        template = templates()[page.template]
        fills = list(page.fills)
        for n, (slot, fill) in enumerate(zip(template.slots, fills, strict=True)):
            if fill.photo_id is None or fill.photo_id not in infos:
                continue
            info = infos[fill.photo_id]
            rect = slot_rect(chosen, slot.box, side)
            mine = (
                fill.crop
                if fill.crop_by_user and fill.crop
                else user_crops.get((fill.photo_id, position == COVER_POSITION))
            )
            if mine is not None:
                fills[n] = replace(fill, crop=refit(mine, info.size, rect[2] / rect[3]), crop_by_user=True)
            else:
                fills[n] = replace(fill, crop=_crop(project, info, rect), crop_by_user=False)
        new[position] = replace(page, fills=tuple(fills))
    with project.db.atomic():
        if product is not None:
            settings.set_setting(PRODUCT_KEY, product)
        if pages is not None:
            settings.set_setting(PAGES_KEY, pages or None)
        store.save_pages(new)

    not_used: dict[str, list[str]] = {}
    for info in infos.values():
        if info.left_out_because:
            not_used.setdefault(info.left_out_because, []).append(info.name)
    return LayoutReport(
        product=chosen,
        pages=len(plan.pages),
        placed=sum(len(p.photo_ids()) for p in plan.pages),
        kept_pages=len(fixed),
        blank=plan.blank,
        left_out=[infos[pid].name for pid in plan.left_out],
        not_used=not_used,
    )


def printed_book(project: Project) -> PrintedBook:
    """The book as it will print: every slot at its place in points, with its photo or text."""
    product = product_of(project)
    infos, _ = _photos(project)
    view = catalog.caption_view(project)
    labels = chapter_labels(project)
    pages: list[PrintedPage] = []
    for position, page in sorted(BookStore(project).pages().items()):
        side = Side.COVER if position == COVER_POSITION else side_of(position)
        template = templates().get(page.template)
        if template is None and page.template != BLANK_TEMPLATE:
            raise BookError(f"page {position} uses the template {page.template!r}, which no longer exists")
        slots = template.slots if template else ()
        photos: list[PlacedPhoto] = []
        texts: list[PlacedText] = []
        for n, slot in enumerate(slots):
            fill = page.fills[n] if n < len(page.fills) else Fill()
            rect = slot_rect(product, slot.box, side)
            if slot.kind is SlotKind.TEXT:
                target = fill.text
                text = (view.get(target) or {}).get("text") if target else None
                role = (
                    "title"
                    if target == BOOK_TARGET
                    else "chapter"
                    if target and target.startswith("chapter:")
                    else "caption"
                )
                texts.append(PlacedText(n, rect, target, text, role))
                continue
            info = infos.get(fill.photo_id) if fill.photo_id is not None else None
            if info is None:
                # A photo id with no file behind it any more stays visible as such, so that
                # neither the check nor the export mistakes it for an empty slot.
                photos.append(PlacedPhoto(n, rect, fill.photo_id, crop=fill.crop))
                continue
            photos.append(
                PlacedPhoto(
                    slot=n,
                    rect=rect,
                    photo_id=info.photo_id,
                    path=info.path,
                    sha256=info.sha256,
                    format=info.format,
                    size=info.size,
                    crop=fill.crop,
                    faces=info.faces,
                    flagged=info.flagged,
                    placed_by_user=fill.locked,
                )
            )
        shown = {t.target for t in texts}
        for n, text in enumerate(texts):
            # A chapter opens with its title and, under it, the caption of its photo, which
            # would otherwise appear nowhere.
            first = next((p.photo_id for p in photos if p.photo_id is not None), None)
            if text.role == "chapter" and first is not None and photo_target(first) not in shown:
                caption = (view.get(photo_target(first)) or {}).get("text")
                texts[n] = replace(text, subtitle=caption)
                shown.add(photo_target(first))
        pages.append(
            PrintedPage(
                position,
                side,
                page.template,
                tuple(photos),
                tuple(texts),
                page.locked,
                labels.get(page.chapter or "", page.chapter),
            )
        )
    return PrintedBook(product, tuple(pages))


# The user's edits. Pages are numbered as printed (0 is the cover), slots from 1 in the
# template's order, as the checks name them.


def _photo_id(project: Project, ref: str) -> int:
    ids = AnalysisStore(project).photo_ids()
    matches = [pid for sha, pid in ids.items() if len(ref) >= 6 and sha.startswith(ref.lower())]
    if len(matches) != 1:
        raise BookError(f"{'no' if not matches else 'more than one'} photo has the SHA-256 {ref}")
    return matches[0]


def _page(pages: dict[int, Page], position: int) -> Page:
    if position not in pages:
        raise BookError(f"the book has no page {position} (run `layout` first?)")
    return pages[position]


def _slot(page: Page, position: int, slot: int, kind: SlotKind | None = None) -> int:
    template = templates().get(page.template)
    count = len(template.slots) if template else 0
    if not 1 <= slot <= count:
        raise BookError(f"page {position} has {count} slots, not a slot {slot}")
    if kind is not None and template is not None and template.slots[slot - 1].kind is not kind:
        raise BookError(f"slot {slot} of page {position} holds no {kind.value}")
    return slot - 1


def _fills(page: Page) -> list[Fill]:
    template = templates().get(page.template)
    count = len(template.slots) if template else 0
    return [*page.fills, *[Fill()] * (count - len(page.fills))]


def _side(position: int) -> Side:
    return Side.COVER if position == COVER_POSITION else side_of(position)


def _with_crop(
    project: Project,
    pages: dict[int, Page],
    position: int,
    n: int,
    infos: dict[int, PhotoInfo] | None = None,
) -> None:
    """Crop the photo in slot n of a page (in `pages`) for that slot: the user's own crop
    reshaped when the photo has one, else a fresh face-aware one. `infos` saves reading the
    photos again when many slots are cropped in one edit."""
    page = pages[position]
    fill = page.fills[n]
    infos = photo_infos(project) if infos is None else infos
    if fill.photo_id is None or fill.photo_id not in infos:
        return
    info = infos[fill.photo_id]
    rect = slot_rect(product_of(project), templates()[page.template].slots[n].box, _side(position))
    fills = list(page.fills)
    if fill.crop_by_user and fill.crop is not None:
        fills[n] = replace(fill, crop=refit(fill.crop, info.size, rect[2] / rect[3]))
    else:
        fills[n] = replace(fill, crop=_crop(project, info, rect), crop_by_user=False)
    pages[position] = replace(page, fills=tuple(fills))


def _captions_follow(project: Project, pages: dict[int, Page], positions: set[int]) -> None:
    """After photos moved, the caption boxes of these pages show the captions of the photos
    now on them (in `pages`)."""
    captioned = {pid for pid, info in photo_infos(project).items() if info.captioned}
    for position in positions:
        template = templates().get(pages[position].template)
        if template is not None:
            pages[position] = point_captions(pages[position], template, captioned)


def place(project: Project, position: int, slot: int, ref: str) -> str | None:
    """Put a photo in a slot. It stays there through re-layouts, and in the book. Inside the
    book a photo prints once: when it was in another slot, the two photos swap places; the
    cover may repeat a photo of the book. Returns what became of a photo the slot held."""
    store = BookStore(project)
    pages = store.pages()
    page = _page(pages, position)
    n = _slot(page, position, slot, SlotKind.PHOTO)
    photo = _photo_id(project, ref)
    displaced = _fills(page)[n].photo_id
    inside_book = position != COVER_POSITION
    touched = {position}
    freed: tuple[int, int] | None = None
    for pos, other in list(pages.items()):
        if (pos != COVER_POSITION) != inside_book:
            continue
        for m, f in enumerate(other.fills):
            if f.photo_id != photo or (pos, m) == (position, n):
                continue
            if other.locked or f.locked:
                raise BookError(
                    f"that photo is already on page {pos}, which you locked; unlock it there first"
                )
            fills = list(pages[pos].fills)
            fills[m] = Fill()
            pages[pos] = replace(pages[pos], fills=tuple(fills))
            touched.add(pos)
            freed = (pos, m)
    fills = _fills(pages[position])
    fills[n] = Fill(photo_id=photo, locked=True)
    pages[position] = replace(pages[position], fills=tuple(fills))
    _with_crop(project, pages, position, n)
    outcome = None
    if displaced is not None and displaced != photo:
        if freed is not None:
            pos, m = freed
            fills = list(pages[pos].fills)
            fills[m] = Fill(photo_id=displaced)
            pages[pos] = replace(pages[pos], fills=tuple(fills))
            _with_crop(project, pages, pos, m)
            outcome = f"swapped with page {pos}"
        else:
            outcome = "out of the book until the next layout"
    _captions_follow(project, pages, touched)
    with project.db.atomic():
        store.save_pages(pages)
        store.set_choice(photo, INCLUDE)
    return outcome


def remove(project: Project, ref: str) -> int:
    """Take a photo out of the book, now and in every later layout. Returns the slots emptied."""
    photo = _photo_id(project, ref)
    store = BookStore(project)
    pages = store.pages()
    emptied = 0
    touched = set()
    for pos, page in pages.items():
        if photo in page.photo_ids():
            emptied += page.photo_ids().count(photo)
            pages[pos] = replace(page, fills=tuple(Fill() if f.photo_id == photo else f for f in page.fills))
            touched.add(pos)
    _captions_follow(project, pages, touched)
    with project.db.atomic():
        store.save_pages(pages)
        store.set_choice(photo, EXCLUDE)
    return emptied


def restore(project: Project, ref: str) -> None:
    """Forget the user's choice about a photo: the layout decides again."""
    BookStore(project).set_choice(_photo_id(project, ref), None)


def lock(project: Project, position: int, slot: int | None = None, locked: bool = True) -> None:
    store = BookStore(project)
    pages = store.pages()
    page = _page(pages, position)
    if slot is None:
        pages[position] = replace(page, locked=locked)
    else:
        n = _slot(page, position, slot)
        fills = _fills(page)
        fills[n] = replace(fills[n], locked=locked)
        pages[position] = replace(page, fills=tuple(fills))
    store.save_pages(pages)


def set_template(project: Project, position: int, template_id: str) -> None:
    """Give a page another template. Its photos move to the new photo slots in order (those
    beyond the new slot count leave the page), with fresh crops or the user's own reshaped,
    and are locked there: the page keeps its new template through re-layouts until they are
    unlocked."""
    store = BookStore(project)
    pages = store.pages()
    page = _page(pages, position)
    template = templates().get(template_id)
    if template is None or template.cover != (position == COVER_POSITION):
        usable = sorted(t.id for t in templates().values() if t.cover == (position == COVER_POSITION))
        raise BookError(f"{template_id!r} is not a template for this page; one of: {', '.join(usable)}")
    photos = [f for f in page.fills if f.photo_id is not None]
    texts = [f for f in page.fills if f.text is not None]
    fills = [
        (replace(photos.pop(0), locked=True) if photos else Fill())
        if slot.kind is SlotKind.PHOTO
        else (texts.pop(0) if texts else Fill())
        for slot in template.slots
    ]
    pages[position] = replace(page, template=template_id, fills=tuple(fills))
    for n, slot in enumerate(template.slots):
        if slot.kind is SlotKind.PHOTO:
            _with_crop(project, pages, position, n)
    _captions_follow(project, pages, {position})
    store.save_pages(pages)


# Smaller than this share of the photo's width, or this many pixels, a crop shows nothing
# worth printing.
MIN_CROP_SHARE = 0.05
MIN_CROP_PIXELS = 32


def crop_height(w: float, size: tuple[int, int], aspect: float) -> float:
    """The height of a crop `w` wide (fractions of a photo of `size` upright pixels) that
    fills a slot of `aspect` (width / height)."""
    return w * size[0] / aspect / size[1]


def fit_crop(x: float, y: float, w: float, size: tuple[int, int], aspect: float) -> Box:
    """The crop nearest to the one from (x, y), `w` wide, that set_crop accepts: no smaller
    than prints, no larger than the photo, and within it. What an editor's zoom and pan send."""
    per_width = crop_height(1.0, size, aspect)
    # A hair over the least, so that float rounding never makes set_crop refuse it.
    smallest = max(MIN_CROP_SHARE, MIN_CROP_PIXELS / size[0], MIN_CROP_PIXELS / (per_width * size[1]))
    w = min(max(w, smallest * (1 + 1e-9)), 1.0, 1.0 / per_width)
    h = crop_height(w, size, aspect)
    # Within the photo, the far edge first: a side of the whole photo may round to a hair
    # over 1, and the near edge must never go below 0.
    return Box(max(min(x, 1.0 - w), 0.0), max(min(y, 1.0 - h), 0.0), w, h)


def set_crop(project: Project, position: int, slot: int, x: float, y: float, w: float) -> Box:
    """Show the part of the photo from (x, y) that is `w` wide (fractions of the upright
    photo); the height follows from the slot's shape. Kept through re-layouts."""
    store = BookStore(project)
    pages = store.pages()
    page = _page(pages, position)
    n = _slot(page, position, slot, SlotKind.PHOTO)
    fill = _fills(page)[n]
    infos = photo_infos(project)
    if fill.photo_id is None or fill.photo_id not in infos:
        raise BookError(f"slot {slot} of page {position} holds no photo")
    size = infos[fill.photo_id].size
    rect = slot_rect(product_of(project), templates()[page.template].slots[n].box, _side(position))
    h = crop_height(w, size, rect[2] / rect[3])
    crop = Box(x, y, w, h)
    if not all(math.isfinite(v) for v in (x, y, w)):
        raise BookError("a crop is three numbers: x, y and width, as fractions of the photo")
    if w < MIN_CROP_SHARE or min(w * size[0], h * size[1]) < MIN_CROP_PIXELS:
        raise BookError(f"a crop {w:g} wide is too small to print; give at least {MIN_CROP_SHARE:g}")
    if x < 0 or y < 0 or x + w > 1 + 1e-6 or y + h > 1 + 1e-6:
        raise BookError(
            f"a crop of width {w:g} from ({x:g}, {y:g}) is {h:.3f} high and leaves the photo; "
            "all of it must lie within 0-1"
        )
    fills = _fills(page)
    fills[n] = replace(fill, crop=crop, crop_by_user=True)
    pages[position] = replace(page, fills=tuple(fills))
    store.save_pages(pages)
    return crop


def reset_crop(project: Project, position: int, slot: int) -> Box | None:
    """Forget the user's crop of a slot: the photo gets the automatic, face-aware crop again,
    and re-layouts choose it anew. Returns the new crop."""
    store = BookStore(project)
    pages = store.pages()
    page = _page(pages, position)
    n = _slot(page, position, slot, SlotKind.PHOTO)
    fills = _fills(page)
    if fills[n].photo_id is None:
        raise BookError(f"slot {slot} of page {position} holds no photo")
    fills[n] = replace(fills[n], crop_by_user=False)
    pages[position] = replace(page, fills=tuple(fills))
    _with_crop(project, pages, position, n)
    store.save_pages(pages)
    return pages[position].fills[n].crop


# A page the user adds holds one framed photo slot: somewhere to drop a photo (the print
# check calls it empty until one is there), where a blank page would take no drop at all.
NEW_PAGE_TEMPLATE = "1-framed"


def _inner_template(template_id: str) -> PageTemplate | None:
    """An inside page's template by id (None: the blank page); refused when it is none."""
    if template_id == BLANK_TEMPLATE:
        return None
    template = templates().get(template_id)
    if template is None or template.cover:
        usable = sorted(t.id for t in templates().values() if not t.cover)
        raise BookError(f"{template_id!r} is not a template for a page; one of: {', '.join(usable)}")
    return template


def _reshape_moved(project: Project, pages: dict[int, Page], positions: set[int]) -> None:
    """Pages that moved by one changed sides: a slot touching the binding edge gains or loses
    the bleed there, so its shape changes. Crops no longer of their slot's shape are made
    again (the user's own reshaped around the same centre); the others stay as they were."""
    infos = photo_infos(project)
    product = product_of(project)
    for position in sorted(positions):
        page = pages[position]
        template = templates().get(page.template)
        if template is None:
            continue
        for n, (slot, fill) in enumerate(zip(template.slots, page.fills, strict=False)):
            info = infos.get(fill.photo_id) if fill.photo_id is not None else None
            if slot.kind is not SlotKind.PHOTO or info is None:
                continue
            _, _, w, h = slot_rect(product, slot.box, _side(position))
            if fill.crop is None or abs(_shape(fill.crop, info.size) / (w / h) - 1) > SAME_SHAPE:
                _with_crop(project, pages, position, n, infos)


def _save_with_count(project: Project, pages: dict[int, Page]) -> None:
    """Save pages the user added or removed, and their count as the book's page count: the
    next Auto-fill keeps the count the user made (rounded up to one the product allows), as
    `layout --pages` would. A count the lab refuses is the print check's to report."""
    inner = sum(1 for position in pages if position != COVER_POSITION)
    with project.db.atomic():
        AnalysisStore(project).set_setting(PAGES_KEY, inner or None)
        BookStore(project).save_pages(pages)


def add_page(project: Project, after: int, template: str | None = None) -> int:
    """Insert an empty page after page `after` (0: before page 1), in the chapter of the page
    before it; the pages after it move on by one. Returns the new page's position."""
    pages = BookStore(project).pages()
    if not pages:
        raise BookError("the book has no pages yet (run `layout` first)")
    if after != COVER_POSITION:
        _page(pages, after)
    product = product_of(project)
    inner = sum(1 for position in pages if position != COVER_POSITION)
    if inner >= product.max_pages:
        raise BookError(f"{product.name} books have at most {product.max_pages} pages")
    chosen = _inner_template(template or NEW_PAGE_TEMPLATE)
    position = after + 1
    neighbour = pages.get(after) if after != COVER_POSITION else pages.get(position)
    shifted = {pos + 1 if pos >= position else pos: page for pos, page in pages.items()}
    shifted[position] = Page(
        chosen.id if chosen else BLANK_TEMPLATE,
        tuple(Fill() for _ in chosen.slots) if chosen else (),
        neighbour.chapter if neighbour else None,
    )
    _reshape_moved(project, shifted, {pos for pos in shifted if pos > position})
    _save_with_count(project, shifted)
    return position


def remove_page(project: Project, position: int) -> list[int]:
    """Take a page out of the book (not the cover); the pages after it move back by one. Its
    photos are not taken out of the book: they are just no longer placed, and the next
    Auto-fill may use them again (a photo to keep out: `remove`). Returns the photos that are
    now on no page."""
    if position == COVER_POSITION:
        raise BookError("the cover cannot be removed; give it another photo or template instead")
    pages = BookStore(project).pages()
    gone = _page(pages, position)
    shifted = {pos - 1 if pos > position else pos: page for pos, page in pages.items() if pos != position}
    _reshape_moved(project, shifted, {pos for pos in shifted if pos >= position})
    _save_with_count(project, shifted)
    still = {pid for page in shifted.values() for pid in page.photo_ids()}
    return [pid for pid in dict.fromkeys(gone.photo_ids()) if pid not in still]


def photo_infos(project: Project) -> dict[int, PhotoInfo]:
    return _photos(project)[0]


def pages_json(project: Project) -> list[dict[str, Any]]:
    """The pages as `layout --json` and `pages --json` print them."""
    return [
        {
            "page": page.position,
            "side": page.side.value,
            "template": page.template,
            "chapter": page.chapter,
            "locked": page.locked,
            "photos": [
                {
                    "slot": p.slot + 1,
                    "sha256": p.sha256,
                    "file": p.path,
                    "crop": p.crop.as_list() if p.crop else None,
                    "rect": [round(v, 2) for v in p.rect],
                    "locked": p.placed_by_user,
                }
                for p in page.photos
            ],
            "texts": [
                {
                    "slot": t.slot + 1,
                    "target": t.target,
                    "role": t.role,
                    "text": t.text,
                    "subtitle": t.subtitle,
                    "rect": [round(v, 2) for v in t.rect],
                }
                for t in page.texts
            ],
        }
        for page in printed_book(project).pages
    ]
