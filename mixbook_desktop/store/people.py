"""People: who each face belongs to, and the user's decisions (names, merges, splits, hiding)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mixbook_desktop.store.project import Project


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Person:
    id: int
    name: str | None
    hidden: bool


@dataclass
class FaceVectors:
    """The faces of one embedder, as arrays aligned by row."""

    ids: list[int]
    person_ids: list[int | None]
    pinned: list[bool]
    vectors: NDArray[np.float32]


class PeopleStore:
    def __init__(self, project: Project) -> None:
        self.db = project.db

    def people(self) -> list[Person]:
        return [
            Person(r["id"], r["name"], bool(r["hidden"]))
            for r in self.db.query("SELECT * FROM people ORDER BY id")
        ]

    def person(self, person_id: int) -> Person | None:
        rows = list(self.db.query("SELECT * FROM people WHERE id = ?", [person_id]))
        return Person(rows[0]["id"], rows[0]["name"], bool(rows[0]["hidden"])) if rows else None

    def find_by_name(self, name: str) -> list[Person]:
        rows = self.db.query("SELECT * FROM people WHERE name = ? COLLATE NOCASE ORDER BY id", [name])
        return [Person(r["id"], r["name"], bool(r["hidden"])) for r in rows]

    def embedders(self) -> list[str]:
        return [
            r["embedder"]
            for r in self.db.query("SELECT DISTINCT embedder FROM faces WHERE embedder IS NOT NULL")
        ]

    def vectors(self, embedder: str) -> FaceVectors:
        rows = list(
            self.db.query(
                "SELECT id, person_id, pinned, embedding FROM faces "
                "WHERE embedder = ? AND embedding IS NOT NULL ORDER BY photo_id, idx",
                [embedder],
            )
        )
        vectors = (
            np.stack([np.frombuffer(r["embedding"], dtype=np.float32) for r in rows])
            if rows
            else np.zeros((0, 0), dtype=np.float32)
        )
        return FaceVectors(
            [r["id"] for r in rows],
            [r["person_id"] for r in rows],
            [bool(r["pinned"]) for r in rows],
            vectors,
        )

    def collection_faces(
        self, collection: str
    ) -> tuple[FaceVectors, list[str], dict[tuple[str, str], float]]:
        """The faces of a Rekognition collection (with empty vectors), their collection ids in
        the same order, and the similarity (0-100) of every pair the collection matched."""
        rows = list(
            self.db.query(
                "SELECT f.id, f.person_id, f.pinned, c.cloud_face_id FROM faces f "
                "JOIN cloud_faces c ON c.face_id = f.id WHERE f.embedder = ? ORDER BY f.photo_id, f.idx",
                [collection],
            )
        )
        faces = FaceVectors(
            [r["id"] for r in rows],
            [r["person_id"] for r in rows],
            [bool(r["pinned"]) for r in rows],
            np.zeros((len(rows), 0), dtype=np.float32),
        )
        matches = {
            (r["a"], r["b"]): float(r["similarity"])
            for r in self.db.query(
                "SELECT a, b, similarity FROM cloud_face_matches WHERE collection = ?", [collection]
            )
        }
        return faces, [r["cloud_face_id"] for r in rows], matches

    def rejections(self) -> set[tuple[int, int]]:
        return {(r["face_id"], r["person_id"]) for r in self.db.query("SELECT * FROM face_rejections")}

    def new_person(self, name: str | None = None) -> int:
        table = self.db.table("people")
        table.insert({"name": name, "hidden": 0, "created_at": _now()})
        pk = table.last_pk
        if not isinstance(pk, int):
            raise RuntimeError("the people table gave no row id")
        return pk

    def assign(self, face_id: int, person_id: int | None, pinned: bool) -> None:
        self.db.execute(
            "UPDATE faces SET person_id = ?, pinned = ? WHERE id = ?", [person_id, int(pinned), face_id]
        )

    def pin_faces_of(self, person_id: int) -> None:
        self.db.execute("UPDATE faces SET pinned = 1 WHERE person_id = ?", [person_id])

    def move_faces(self, from_person: int, to_person: int) -> None:
        self.db.execute(
            "UPDATE faces SET person_id = ?, pinned = 1 WHERE person_id = ?", [to_person, from_person]
        )

    def reject(self, face_id: int, person_id: int) -> None:
        self.db.execute("INSERT OR IGNORE INTO face_rejections VALUES (?, ?)", [face_id, person_id])

    def set_name(self, person_id: int, name: str | None) -> None:
        self.db.execute("UPDATE people SET name = ? WHERE id = ?", [name, person_id])

    def set_hidden(self, person_id: int, hidden: bool) -> None:
        self.db.execute("UPDATE people SET hidden = ? WHERE id = ?", [int(hidden), person_id])

    def delete_person(self, person_id: int) -> None:
        self.db.execute("DELETE FROM people WHERE id = ?", [person_id])

    def unpin_automatic(self) -> None:
        """Forget every assignment the user did not make (before clustering again)."""
        self.db.execute("UPDATE faces SET person_id = NULL WHERE pinned = 0")

    def drop_empty_people(self) -> None:
        """Delete people with no face left, unless the user named or hid them."""
        self.db.execute(
            "DELETE FROM people WHERE name IS NULL AND hidden = 0 "
            "AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = people.id)"
        )

    def face_person(self, face_id: int) -> tuple[int | None, bool] | None:
        rows = list(self.db.query("SELECT person_id, pinned FROM faces WHERE id = ?", [face_id]))
        return (rows[0]["person_id"], bool(rows[0]["pinned"])) if rows else None

    def faces_by_person(self) -> dict[int, list[dict[str, object]]]:
        out: dict[int, list[dict[str, object]]] = {}
        rows = self.db.query(
            "SELECT f.id, f.person_id, f.x, f.y, f.w, f.h, f.pinned, p.sha256 FROM faces f "
            "JOIN photos p ON p.id = f.photo_id WHERE f.person_id IS NOT NULL ORDER BY f.photo_id, f.idx"
        )
        for r in rows:
            out.setdefault(r["person_id"], []).append(
                {
                    "id": r["id"],
                    "photo": r["sha256"],
                    "box": [round(r["x"], 4), round(r["y"], 4), round(r["w"], 4), round(r["h"], 4)],
                    "pinned": bool(r["pinned"]),
                }
            )
        return out
