"""Undo for any edit: the rows an edit may change, read before and after it, and written back.

An edit names its scope (the book's pages and choices, the people, or one caption); a snapshot
is those rows as plain values, small enough to keep in memory for a long undo history. Putting
a snapshot back writes only the rows of its scope (and, in scopes others write to as well, only
the rows the edit changed) in one transaction, so an undo leaves alone what another part of the
app wrote in the meantime (new analysis results, the model's suggestions) and a kill midway
leaves the edit or its undo, never half of one.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from typing import Any

from mixbook_desktop.store.captions import CaptionStore
from mixbook_desktop.store.project import Project


@dataclass(frozen=True)
class Part:
    """Rows of one table. Without a `key`, every row under `where` is put back as it was (the
    book's pages and slots, which only the user's edits write). With one, only the rows the
    edit itself changed are, found by key, so rows others added or changed meanwhile (faces
    and people from an analysis) stay. `update_only`: the edit never adds or removes such rows,
    it only changes `columns` (a face's person, never its embedding)."""

    table: str
    columns: tuple[str, ...] = ()  # () is every column
    where: str = "1"
    params: tuple[Any, ...] = ()
    key: tuple[str, ...] = ()
    update_only: bool = False


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
        Part("face_rejections", key=("face_id", "person_id")),
        Part("faces", columns=("id", "person_id", "pinned"), key=("id",), update_only=True),
        Part("people", key=("id",)),
    ),
)
SETTINGS = Scope("settings", (Part("settings"),))


def setting(key: str) -> Scope:
    """One setting alone: undoing a change of it leaves every other setting as it is now."""
    return Scope(f"setting {key}", (Part("settings", where="key = ?", params=(key,)),))


def caption(target: str) -> Scope:
    return Scope("caption", (Part("captions", where="target = ?", params=(target,)),), caption_target=target)


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


def put_back(project: Project, target: Snapshot, current: Snapshot, action: str) -> None:
    """Make the scope's rows what they are in `target`, from what the edit left (`current`: the
    other snapshot of the same edit); `action` ('undo' or 'redo') goes into a caption's history."""
    scope = target.scope
    # Per part: its rows by key as the edit left them and as they are to be (keyed parts only).
    parts = [
        (part, names, wanted, _by_key(part, names, now), _by_key(part, names, wanted))
        for part, names, wanted, now in zip(
            scope.parts, target.columns, target.rows, current.rows, strict=True
        )
    ]
    with project.db.atomic():
        for part, _names, _wanted, now_by_key, wanted_by_key in parts:  # children first
            if not part.key:
                project.db.execute(f"DELETE FROM {part.table} WHERE {part.where}", part.params)
            elif not part.update_only:
                gone = sorted(now_by_key.keys() - wanted_by_key.keys(), key=repr)
                where = " AND ".join(f"{k} IS ?" for k in part.key)
                project.conn.executemany(f"DELETE FROM {part.table} WHERE {where}", gone)
        for part, names, wanted, now_by_key, wanted_by_key in reversed(parts):  # parents first
            marks = ", ".join("?" for _ in names)
            insert = f"INSERT OR REPLACE INTO {part.table} ({', '.join(names)}) VALUES ({marks})"
            if not part.key:
                project.conn.executemany(insert, wanted)
                continue
            others = [n for n in names if n not in part.key]
            if others:  # a row that is all key (a rejection) is only ever added or removed
                update = (
                    f"UPDATE {part.table} SET {', '.join(f'{n} = ?' for n in others)} "
                    f"WHERE {' AND '.join(f'{k} IS ?' for k in part.key)}"
                )
                order = [names.index(n) for n in (*others, *part.key)]
                changed = [row for key, row in wanted_by_key.items() if now_by_key.get(key, row) != row]
                project.conn.executemany(update, [tuple(row[i] for i in order) for row in changed])
            if part.update_only:
                continue
            for key, row in wanted_by_key.items():
                if key not in now_by_key:
                    # One that refers to a row gone since (a face found again) has nothing to keep.
                    with contextlib.suppress(sqlite3.IntegrityError):
                        project.conn.execute(insert, row)
        if scope.caption_target is not None:
            now_caption = CaptionStore(project).user_captions().get(scope.caption_target)
            CaptionStore(project).record(
                scope.caption_target, action, now_caption.text if now_caption else None
            )


def _by_key(
    part: Part, names: tuple[str, ...], rows: tuple[tuple[Any, ...], ...]
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """`rows` by their key; nothing for a part without one (it is put back whole)."""
    at = [names.index(k) for k in part.key]
    return {tuple(row[i] for i in at): row for row in rows} if part.key else {}
