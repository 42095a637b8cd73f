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
from mixbook_desktop.store.project import Project


@dataclass(frozen=True)
class Overview:
    rows: list[dict[str, Any]]  # catalog.photo_listing
    ids: dict[str, int]  # SHA-256 -> photo id
    placed: set[int]  # photo ids on a page of the book
    people: list[tuple[int, str]]  # (person id, name to show), the most photographed first
    book: PrintedBook | None  # None before the first layout
    problems: list[Problem]


def overview(project: Project) -> Overview:
    pages = BookStore(project).pages()
    placed = {pid for position, page in pages.items() if position > 0 for pid in page.photo_ids()}
    everyone = [
        (p.id, p.name or f"Person {p.id} ({len(p.faces)} faces)")
        for p in people.listing(project)
        if not p.hidden
    ]
    book = printed_book(project) if pages else None
    return Overview(
        rows=catalog.photo_listing(project),
        ids=AnalysisStore(project).photo_ids(),
        placed=placed,
        people=everyone,
        book=book,
        problems=check_book(book) if book else [],
    )
