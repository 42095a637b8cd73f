"""Undo for any edit: the rows an edit may change, read before and after it, and written back.

An edit names its scope (the book's pages and choices, the people, or one caption); a snapshot
is those rows as plain values, small enough to keep in memory for a long undo history. Putting
a snapshot back replaces exactly the rows of its scope in one transaction, so an undo never
touches what another part of the app changed in the meantime (new analysis results, the model's
suggestions) and a kill midway leaves the edit or its undo, never half of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixbook_desktop.store.captions import CaptionStore
from mixbook_desktop.store.project import Project


@dataclass(frozen=True)
class Part:
    """Rows of one table. With `key`, only `columns` of existing rows are written back (the
    faces keep their embeddings and only change person); without, the rows are replaced."""

    table: str
    columns: tuple[str, ...] = ()  # () is every column
    where: str = "1"
    params: tuple[Any, ...] = ()
    key: str | None = None


@dataclass(frozen=True)
class Scope:
    name: str
    parts: tuple[Part, ...]
    caption_target: str | None = None  # an undone caption edit is recorded in its history


# Children before parents: rows are deleted in this order and inserted in the reverse.
BOOK = Scope(
    "book",
    (
        Part("book_slots"),
        Part("book_pages"),
        Part("book_choices"),
        Part("settings", where="key LIKE 'book.%'"),
    ),
)
PEOPLE = Scope(
    "people",
    (
        Part("face_rejections"),
        Part("faces", columns=("id", "person_id"), key="id"),
        Part("people"),
    ),
)
SETTINGS = Scope("settings", (Part("settings"),))


def setting(key: str) -> Scope:
    """One setting alone: undoing a change of it leaves every other setting as it is now."""
    return Scope(f"setting {key}", (Part("settings", where="key = ?", params=(key,)),))


def caption(target: str) -> Scope:
    return Scope("caption", (Part("captions", where="target = ?", params=(target,)),), caption_target=target)


Rows = tuple[tuple[str, tuple[tuple[Any, ...], ...]], ...]


@dataclass(frozen=True)
class Snapshot:
    scope: Scope
    columns: tuple[tuple[str, ...], ...]  # per part
    rows: tuple[tuple[tuple[Any, ...], ...], ...]  # per part, sorted

    def same_as(self, other: Snapshot) -> bool:
        return self.scope == other.scope and self.rows == other.rows


def _columns(project: Project, part: Part) -> tuple[str, ...]:
    if part.columns:
        return part.columns
    return tuple(r[1] for r in project.db.execute(f"PRAGMA table_info({part.table})").fetchall())


def take(project: Project, scope: Scope) -> Snapshot:
    columns = tuple(_columns(project, part) for part in scope.parts)
    rows = []
    with project.db.atomic():  # one read transaction: every part as of the same moment
        for part, names in zip(scope.parts, columns, strict=True):
            cursor = project.db.execute(
                f"SELECT {', '.join(names)} FROM {part.table} WHERE {part.where}", part.params
            )
            rows.append(tuple(sorted((tuple(r) for r in cursor.fetchall()), key=repr)))
    return Snapshot(scope, columns, tuple(rows))


def put_back(project: Project, snapshot: Snapshot, action: str) -> None:
    """Make the scope's rows what they were in `snapshot`; `action` ('undo' or 'redo') goes
    into a caption's history."""
    scope = snapshot.scope
    parts = list(zip(scope.parts, snapshot.columns, snapshot.rows, strict=True))
    with project.db.atomic():
        for part, _names, _rows in parts:
            if part.key is None:
                project.db.execute(f"DELETE FROM {part.table} WHERE {part.where}", part.params)
        for part, names, rows in reversed(parts):
            if part.key is None:
                marks = ", ".join("?" for _ in names)
                project.conn.executemany(
                    f"INSERT INTO {part.table} ({', '.join(names)}) VALUES ({marks})", rows
                )
            else:
                others = [n for n in names if n != part.key]
                at = names.index(part.key)
                project.conn.executemany(
                    f"UPDATE {part.table} SET {', '.join(f'{n} = ?' for n in others)} WHERE {part.key} = ?",
                    [(*(v for i, v in enumerate(r) if i != at), r[at]) for r in rows],
                )
        if scope.caption_target is not None:
            now = CaptionStore(project).user_captions().get(scope.caption_target)
            CaptionStore(project).record(scope.caption_target, action, now.text if now else None)
