"""Undo writes back only what the edit changed: people found by an analysis after an edit of
the people stay when the edit is undone, and a split face is no longer pinned to its person."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from mixbook_desktop.services import people
from mixbook_desktop.store.project import Project
from mixbook_desktop.store.snapshots import PEOPLE, put_back, take
from tests.analysis_support import copy_book


def _faces(project: Project) -> dict[int, tuple[int | None, int]]:
    return {r[0]: (r[1], r[2]) for r in project.db.execute("SELECT id, person_id, pinned FROM faces")}


def test_undoing_people_edits_keeps_what_an_analysis_added_since(demo_book: Path, tmp_path: Path) -> None:
    book = copy_book(demo_book, tmp_path)
    with Project.open(book) as project:
        first, second = (p.id for p in people.listing(project)[:2])
        faces_at_first = _faces(project)
        before = take(project, PEOPLE)
        people.name(project, first, "Ann")
        people.merge(project, second, first)
        after = take(project, PEOPLE)
        # Meanwhile an analysis finds someone new and gives them a face of their own.
        lone = next(f for f, (pid, _pinned) in _faces(project).items() if pid not in (first, second))
        newcomer = project.db.table("people").insert({"created_at": datetime.now(UTC).isoformat()}).last_pk
        project.db.execute("UPDATE faces SET person_id = ? WHERE id = ?", [newcomer, lone])
        project.conn.commit()

        put_back(project, before, after, "undo")
        listed = {p.id: p for p in people.listing(project)}
        assert listed[first].name is None and second in listed, "the rename and the merge are undone"
        assert newcomer in listed and _faces(project)[lone][0] == newcomer, "the analysis' person stays"
        now = _faces(project)
        assert {f: v for f, v in now.items() if f != lone} == {
            f: v for f, v in faces_at_first.items() if f != lone
        }, "every other face is back with its person, unpinned as it was"

        put_back(project, after, before, "redo")
        listed = {p.id: p for p in people.listing(project)}
        assert listed[first].name == "Ann" and second not in listed and newcomer in listed
        assert project.integrity_ok()
