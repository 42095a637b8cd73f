"""Captions and titles in the project file: suggestions with provenance, the user's text apart.

A target names what the text is for: "photo:<id>", "book", or "chapter:<key>".
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from mixbook_desktop.core.captions import Facts, Source, Suggestion, TextKind, Tone
from mixbook_desktop.store.project import Project


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def photo_target(photo_id: int) -> str:
    return f"photo:{photo_id}"


def chapter_target(key: str) -> str:
    return f"chapter:{key}"


BOOK_TARGET = "book"


@dataclass(frozen=True)
class StoredSuggestion:
    id: int
    target: str
    kind: TextKind
    tone: Tone
    text: str
    source: Source
    alternatives: list[str]
    candidates: list[dict[str, Any]]
    facts: dict[str, Any]
    settings: dict[str, Any]
    model: str | None
    model_sha256: str | None
    note: str | None
    round: int
    created_at: str


@dataclass(frozen=True)
class UserCaption:
    target: str
    text: str | None  # None: locked without text of the user's own
    source: Source | None
    locked: bool
    updated_at: str


class CaptionStore:
    def __init__(self, project: Project) -> None:
        self.db = project.db

    def add_suggestion(
        self,
        target: str,
        kind: TextKind,
        tone: Tone,
        suggestion: Suggestion,
        facts: Facts,
        settings: dict[str, Any],
        model: str | None,
        model_sha256: str | None,
        round_: int,
    ) -> int:
        with self.db.atomic():
            table = self.db.table("caption_suggestions")
            table.insert(
                {
                    "target": target,
                    "kind": kind.value,
                    "tone": tone.value,
                    "text": suggestion.text,
                    "source": suggestion.source.value,
                    "alternatives": json.dumps(list(suggestion.alternatives), ensure_ascii=False),
                    "candidates": json.dumps(
                        [c.as_json() for c in suggestion.candidates], ensure_ascii=False
                    ),
                    "facts": json.dumps(facts.as_json(), ensure_ascii=False),
                    "settings": json.dumps(settings, ensure_ascii=False, sort_keys=True),
                    "model": model,
                    "model_sha256": model_sha256,
                    "note": suggestion.note,
                    "round": round_,
                    "created_at": _now(),
                }
            )
            return int(str(table.last_pk))

    def latest(self) -> dict[str, StoredSuggestion]:
        """The newest suggestion of every target. By time first: a suggestion mirrored from
        another copy of the book arrives with a higher id than older ones made here."""
        rows = self.db.query(
            """
            SELECT * FROM caption_suggestions s
            WHERE id = (
                SELECT id FROM caption_suggestions t WHERE t.target = s.target
                ORDER BY created_at DESC, id DESC LIMIT 1
            )
            """
        )
        return {r["target"]: _suggestion(r) for r in rows}

    def user_captions(self) -> dict[str, UserCaption]:
        return {
            r["target"]: UserCaption(
                r["target"],
                r["text"],
                Source(r["source"]) if r["source"] else None,
                bool(r["locked"]),
                r["updated_at"],
            )
            for r in self.db.query("SELECT * FROM captions")
        }

    def set_text(self, target: str, text: str | None, source: Source | None, action: str) -> None:
        """The user's text for `target` (None forgets it), recorded in the history."""
        with self.db.atomic():
            current = self.user_captions().get(target)
            locked = current.locked if current else False
            if text is None and not locked:
                self.db.execute("DELETE FROM captions WHERE target = ?", [target])
            else:
                self.db.table("captions").upsert(
                    {
                        "target": target,
                        "text": text,
                        "source": source.value if source else None,
                        "locked": int(locked),
                        "updated_at": _now(),
                    },
                    pk="target",
                )
            self.record(target, action, text)

    def set_locked(self, target: str, locked: bool) -> None:
        with self.db.atomic():
            current = self.user_captions().get(target)
            if current is None and not locked:
                return
            if current is not None and current.text is None and not locked:
                self.db.execute("DELETE FROM captions WHERE target = ?", [target])
            else:
                self.db.table("captions").upsert(
                    {
                        "target": target,
                        "text": current.text if current else None,
                        "source": current.source.value if current and current.source else None,
                        "locked": int(locked),
                        "updated_at": _now(),
                    },
                    pk="target",
                )
            self.record(target, "lock" if locked else "unlock", current.text if current else None)

    def record(self, target: str, action: str, text: str | None) -> None:
        """One event in the caption's history."""
        self.db.table("caption_history").insert(
            {"target": target, "action": action, "text": text, "at": _now()}
        )

    def history(self, target: str) -> list[dict[str, Any]]:
        """What happened to `target`, oldest first: suggestions and the user's actions."""
        events = [
            {"at": r["created_at"], "action": f"suggested ({r['source']}, {r['tone']})", "text": r["text"]}
            for r in self.db.query(
                "SELECT created_at, source, tone, text FROM caption_suggestions WHERE target = ? ORDER BY id",
                [target],
            )
        ]
        events += [
            {"at": r["at"], "action": r["action"], "text": r["text"]}
            for r in self.db.query(
                "SELECT at, action, text FROM caption_history WHERE target = ? ORDER BY id", [target]
            )
        ]
        return sorted(events, key=lambda e: e["at"])

    def rounds(self) -> dict[str, int]:
        return {
            r["target"]: int(r["n"])
            for r in self.db.query("SELECT target, MAX(round) AS n FROM caption_suggestions GROUP BY target")
        }


def _suggestion(r: dict[str, Any]) -> StoredSuggestion:
    return StoredSuggestion(
        id=r["id"],
        target=r["target"],
        kind=TextKind(r["kind"]),
        tone=Tone(r["tone"]),
        text=r["text"],
        source=Source(r["source"]),
        alternatives=json.loads(r["alternatives"]),
        candidates=json.loads(r["candidates"]),
        facts=json.loads(r["facts"]),
        settings=json.loads(r["settings"]),
        model=r["model"],
        model_sha256=r["model_sha256"],
        note=r["note"],
        round=r["round"],
        created_at=r["created_at"],
    )
