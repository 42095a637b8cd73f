"""One read of everything an editor shows at once: the photos, the people, the pages as they
will print and their problems. Built off the GUI thread; plain values only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixbook_desktop.core.printed import PrintedBook
from mixbook_desktop.layout.checks import Problem, check_book
from mixbook_desktop.services import catalog, people
from mixbook_desktop.services.book import printed_book
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.book import BookStore
from mixbook_desktop.store.captions import chapter_target
from mixbook_desktop.store.project import Project


@dataclass(frozen=True)
class Overview:
    rows: list[dict[str, Any]]  # catalog.photo_listing
    ids: dict[str, int]  # SHA-256 -> photo id
    placed: set[int]  # photo ids on a page of the book
    people: list[tuple[int, str]]  # (person id, name to show), the most photographed first
    book: PrintedBook | None  # None before the first layout
    problems: list[Problem]
    chapters: list[tuple[str, str]]  # (chapter key, its title and dates), in book order
    chapter_of: dict[int, str]  # photo id -> chapter key


def overview(project: Project) -> Overview:
    pages = BookStore(project).pages()
    placed = {pid for page in pages.values() for pid in page.photo_ids()}  # the cover counts
    everyone = [
        (p.id, p.name or f"Person {p.id} ({len(p.faces)} faces)")
        for p in people.listing(project)
        if not p.hidden
    ]
    book = printed_book(project) if pages else None
    rows = catalog.photo_listing(project)
    ids = AnalysisStore(project).photo_ids()
    chapters = catalog.book_chapters({ids[r["sha256"]]: r for r in rows if r["status"] == "ok"})
    titles = catalog.caption_view(project)
    named = []
    for n, chapter in enumerate(chapters, start=1):
        title = (titles.get(chapter_target(chapter.key)) or {}).get("text") or f"Chapter {n}"
        when = chapter.start[:10] if chapter.dated and chapter.start else "undated"
        named.append((chapter.key, f"{title} ({when})"))
    return Overview(
        rows=rows,
        ids=ids,
        placed=placed,
        people=everyone,
        book=book,
        problems=check_book(book) if book else [],
        chapters=named,
        chapter_of={pid: chapter.key for chapter in chapters for pid in chapter.photo_ids},
    )
