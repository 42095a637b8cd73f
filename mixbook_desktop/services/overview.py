"""One read of everything an editor shows at once: the photos, the people, the pages as they
will print and their problems. Built off the GUI thread; plain values only."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from mixbook_desktop.core.captions import Tone
from mixbook_desktop.core.printed import PrintedBook
from mixbook_desktop.layout.checks import Problem, check_book
from mixbook_desktop.services import catalog, people
from mixbook_desktop.services.book import printed_book
from mixbook_desktop.services.captions import load_options
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.book import BookStore
from mixbook_desktop.store.captions import BOOK_TARGET, chapter_target
from mixbook_desktop.store.project import Project


@dataclass(frozen=True)
class FaceView:
    id: int
    sha256: str  # the photo's
    photo: str  # the photo's file name
    box: tuple[float, float, float, float]  # x, y, w, h as fractions of the upright photo


@dataclass(frozen=True)
class PersonView:
    """A person with every face of theirs, hidden or not."""

    id: int
    name: str | None
    hidden: bool
    faces: tuple[FaceView, ...]  # in photo order

    @property
    def label(self) -> str:
        return self.name or f"Person {self.id}"

    @property
    def photo_count(self) -> int:
        return len({f.sha256 for f in self.faces})

    @cached_property  # asked at every thumbnail that arrives: worked out once
    def portrait(self) -> FaceView | None:
        """The face to show the person by: the largest, as the one most likely to be sharp."""
        return max(self.faces, key=lambda f: f.box[2] * f.box[3], default=None)


@dataclass(frozen=True)
class Overview:
    rows: list[dict[str, Any]]  # catalog.photo_listing
    ids: dict[str, int]  # SHA-256 -> photo id
    placed: set[int]  # photo ids on a page of the book
    people: list[tuple[int, str]]  # (person id, name to show), the most photographed first
    persons: list[PersonView]  # everyone, hidden too, the most photographed first
    book: PrintedBook | None  # None before the first layout
    problems: list[Problem]
    chapters: list[tuple[str, str]]  # (chapter key, its title and dates), in book order
    chapter_of: dict[int, str]  # photo id -> chapter key
    # (target, what it is, catalog.caption_view of it or None) for the book title, then each
    # chapter title, in book order.
    titles: list[tuple[str, str, dict[str, Any] | None]]
    caption_tone: Tone  # the book's tone, in which new suggestions are written


def overview(project: Project) -> Overview:
    pages = BookStore(project).pages()
    placed = {pid for page in pages.values() for pid in page.photo_ids()}  # the cover counts
    book = printed_book(project) if pages else None
    rows = catalog.photo_listing(project)
    persons = _persons(project, rows)
    everyone = [(p.id, p.name or f"Person {p.id} ({len(p.faces)} faces)") for p in persons if not p.hidden]
    ids = AnalysisStore(project).photo_ids()
    chapters = catalog.book_chapters({ids[r["sha256"]]: r for r in rows if r["status"] == "ok"})
    titles = catalog.caption_view(project)
    named = []
    title_targets = [(BOOK_TARGET, "Book title", titles.get(BOOK_TARGET))]
    for n, chapter in enumerate(chapters, start=1):
        title = (titles.get(chapter_target(chapter.key)) or {}).get("text") or f"Chapter {n}"
        when = chapter.start[:10] if chapter.dated and chapter.start else "undated"
        named.append((chapter.key, f"{title} ({when})"))
        # As captions.collect_targets has it: a book of one chapter has no chapter titles.
        if len(chapters) > 1:
            target = chapter_target(chapter.key)
            title_targets.append((target, f"Chapter {n}, {when}", titles.get(target)))
    return Overview(
        rows=rows,
        ids=ids,
        placed=placed,
        people=everyone,
        persons=persons,
        book=book,
        problems=check_book(book) if book else [],
        chapters=named,
        chapter_of={pid: chapter.key for chapter in chapters for pid in chapter.photo_ids},
        titles=title_targets,
        caption_tone=load_options(project).tone,
    )


def _persons(project: Project, rows: list[dict[str, Any]]) -> list[PersonView]:
    file_of: dict[str, str] = {}
    for row in rows:
        if row.get("sha256"):
            file_of.setdefault(row["sha256"], Path(str(row["file"])).name)
    return [
        PersonView(
            id=p.id,
            name=p.name,
            hidden=p.hidden,
            faces=tuple(
                FaceView(
                    id=int(f["id"]),
                    sha256=str(f["photo"]),
                    photo=file_of.get(str(f["photo"]), ""),
                    box=(float(f["box"][0]), float(f["box"][1]), float(f["box"][2]), float(f["box"][3])),
                )
                for f in p.faces
            ),
        )
        for p in people.listing(project)
    ]
