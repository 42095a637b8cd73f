"""A copy of a book to give to someone else, without what identifies faces.

Face embeddings are biometric data: the numbers that recognise a person in any other photo.
They stay on the owner's machine unless asked for (`keep_faces`). The copy keeps everything a
reader of the book sees: photos' facts, faces' boxes, people and their names, captions, pages.
It also leaves out what ties the book to the owner's services: the cloud settings (bucket,
endpoints, database), the face collection's ids and matches, and the caption mirror's state,
and it becomes a book of its own (a new id), so it never syncs into the owner's mirror.

Freed pages are overwritten (secure_delete) and the file is rebuilt (VACUUM), so the removed
bytes are not left in free pages; the copy is written beside its final name and renamed into
place when complete, so a crash never leaves half a copy under that name.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from mixbook_desktop.cloud.config import BOOK_ID_KEY, SETTINGS_KEY
from mixbook_desktop.store.project import Project, ProjectError

# Tables that tie a book to its owner's cloud services.
_OWNER_TABLES = ("cloud_objects", "cloud_multipart", "cloud_faces", "cloud_face_matches", "cloud_indexed")
_SYNC_TABLES = ("caption_sync", "caption_sync_base")


@dataclass(frozen=True)
class ShareReport:
    path: Path
    faces: int
    embeddings_removed: int
    size: int


def share_copy(book: Path, out: Path, keep_faces: bool = False) -> ShareReport:
    """Write a copy of `book` at `out` to give away; see the module's doc for what it holds."""
    out = out.expanduser().absolute()
    if out.exists() and out.resolve() == book.expanduser().resolve():
        raise ProjectError("the copy must not replace the book itself")
    part = out.with_name(f".{out.name}.part")
    for stale in (part, part.with_name(part.name + "-journal")):
        stale.unlink(missing_ok=True)
    with Project.open(book) as source:  # also brings an older book up to date first
        target = sqlite3.connect(part)
        try:
            source.conn.backup(target)
        finally:
            target.close()
    try:
        with sqlite3.connect(part) as copy:
            copy.execute("PRAGMA journal_mode = DELETE")  # one file to give, no -wal beside it
            copy.execute("PRAGMA secure_delete = ON")
            faces = int(copy.execute("SELECT COUNT(*) FROM faces").fetchone()[0])
            removed = 0
            if not keep_faces:
                removed = copy.execute(
                    "UPDATE faces SET embedding = NULL WHERE embedding IS NOT NULL"
                ).rowcount
            for table in (*_OWNER_TABLES, *_SYNC_TABLES):
                copy.execute(f"DELETE FROM {table}")
            copy.execute("DELETE FROM settings WHERE key = ?", [SETTINGS_KEY])
            copy.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                [BOOK_ID_KEY, f'"{uuid.uuid4().hex}"'],
            )
            copy.commit()
            copy.execute("VACUUM")
        copy.close()
        with part.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(part, out)
        directory = os.open(out.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return ShareReport(out, faces, max(removed, 0), out.stat().st_size)
