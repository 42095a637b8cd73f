"""Grouping faces into people across the book, and the user's say over it.

Clustering is incremental: a face with no person joins the nearest existing person when close
enough, otherwise it starts a new one. The user's decisions are facts clustering must respect:
a named, merged or hidden person's faces are pinned to it, a face split off a person is pinned to
its new person and never offered to the old one again. Re-clustering only moves unpinned faces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.people import FaceVectors, PeopleStore, Person
from mixbook_desktop.store.project import Project

THRESHOLD_KEY = "people.threshold"
# L2 distance between dlib descriptors under which two faces are the same person. Measured on
# the development photos (README, "People threshold"): the same person 0.04-0.43, different
# people 0.55 and up. dlib's own advice is 0.6; 0.5 splits the gap in our measurements.
# For faces in a Rekognition collection the distance is 1 - similarity / 100: 0.2 is a
# similarity of 80, Rekognition's own default FaceMatchThreshold.
DEFAULT_THRESHOLDS = {"dlib": 0.5, "arcface": 1.1, "rekognition": 0.2}
# A face is compared with a person through its few nearest faces of that person: robust to one
# odd photo without letting a long chain of look-alikes pull different people together.
_NEAREST = 3


class PeopleError(Exception):
    """A people command cannot be done; the message says why."""


def _family(embedder: str) -> str:
    if embedder.startswith(REKOGNITION_PREFIX):
        return "rekognition"
    return "arcface" if embedder.startswith("arcface") or "insightface" in embedder else "dlib"


# Faces found by Rekognition name their collection as their embedder: "rekognition:<id>".
REKOGNITION_PREFIX = "rekognition:"
Distances = Callable[[int, list[int]], NDArray[np.float64]]


def _faces_and_distances(store: PeopleStore, embedder: str) -> tuple[FaceVectors, Distances]:
    """The faces of one embedder, and the distances from one of them (a row) to others."""
    if _family(embedder) != "rekognition":
        data = store.vectors(embedder)
        return data, lambda row, others: np.linalg.norm(data.vectors[others] - data.vectors[row], axis=1)
    faces, cloud_ids, similarity = store.collection_faces(embedder)

    def from_matches(row: int, others: list[int]) -> NDArray[np.float64]:
        # A pair the collection did not match is as far apart as faces can be.
        return np.array(
            [1.0 - similarity.get((cloud_ids[row], cloud_ids[i]), 0.0) / 100.0 for i in others],
            dtype=np.float64,
        )

    return faces, from_matches


def book_faces(project: Project) -> str:
    """The kind of face descriptor the book's next analysis gives, whose threshold applies:
    a Rekognition collection in cloud mode, ArcFace with an InsightFace pack, else dlib."""
    store = AnalysisStore(project)
    if (store.get_setting("cloud") or {}).get("analysis") == "cloud":
        return REKOGNITION_PREFIX
    return "arcface" if store.get_setting("analysis.face_pack") else "dlib"


def threshold(project: Project, embedder: str = "dlib") -> float:
    saved = AnalysisStore(project).get_setting(f"{THRESHOLD_KEY}.{_family(embedder)}")
    return float(saved) if saved is not None else DEFAULT_THRESHOLDS[_family(embedder)]


def check_threshold(value: float, embedder: str = "dlib") -> None:
    """Raise PeopleError if `value` cannot be a threshold (a distance between descriptors)."""
    if _family(embedder) == "rekognition":
        # 1 - similarity / 100, and only matches from SEARCH_FLOOR (50) are kept: above 0.5 a
        # threshold would group faces the collection never matched.
        if not 0 < value <= 0.5:
            raise PeopleError(
                f"threshold {value:g} is out of range for Rekognition's faces (0-0.5: 0.2 is similarity 80)"
            )
        return
    if not 0 < value < 4:
        raise PeopleError(f"threshold {value:g} is out of range (a distance, e.g. 0.5)")


def set_threshold(project: Project, value: float, embedder: str = "dlib") -> None:
    check_threshold(value, embedder)
    AnalysisStore(project).set_setting(f"{THRESHOLD_KEY}.{_family(embedder)}", value)


def cluster(project: Project) -> int:
    """Give every face without a person one; returns how many faces were placed."""
    store = PeopleStore(project)
    placed = 0
    with project.db.atomic():
        rejected = store.rejections()
        for embedder in store.embedders():
            limit = threshold(project, embedder)
            data, distances = _faces_and_distances(store, embedder)
            owners = list(data.person_ids)
            for row, face_id in enumerate(data.ids):
                if owners[row] is not None:
                    continue
                assigned = [i for i, owner in enumerate(owners) if owner is not None]
                best: tuple[float, int] | None = None
                if assigned:
                    dist = distances(row, assigned)
                    by_person: dict[int, list[float]] = {}
                    for i, d in zip(assigned, dist, strict=True):
                        owner = owners[i]
                        assert owner is not None
                        by_person.setdefault(owner, []).append(float(d))
                    for person, ds in by_person.items():
                        if (face_id, person) in rejected:
                            continue
                        score = float(np.mean(sorted(ds)[:_NEAREST]))
                        if score < limit and (best is None or score < best[0]):
                            best = (score, person)
                person_id = best[1] if best is not None else store.new_person()
                store.assign(face_id, person_id, pinned=False)
                owners[row] = person_id
                placed += 1
    return placed


def recluster(project: Project) -> int:
    """Cluster again from scratch, keeping every decision the user made."""
    store = PeopleStore(project)
    with project.db.atomic():
        store.unpin_automatic()
        store.drop_empty_people()
    return cluster(project)


def _person(store: PeopleStore, ref: str | int) -> Person:
    text = str(ref).strip()
    if text.isdigit():
        found = store.person(int(text))
        if found is None:
            raise PeopleError(f"no person {text}")
        return found
    named = store.find_by_name(text)
    if not named:
        raise PeopleError(f"no person called {text!r}")
    if len(named) > 1:
        raise PeopleError(
            f"{len(named)} people are called {text!r}; use a number: {', '.join(str(p.id) for p in named)}"
        )
    return named[0]


def name(project: Project, ref: str | int, new_name: str) -> Person:
    store = PeopleStore(project)
    clean = " ".join(new_name.split())
    with project.db.atomic():
        person = _person(store, ref)
        store.set_name(person.id, clean or None)
        store.pin_faces_of(person.id)  # the user looked at these faces and named them
    return Person(person.id, clean or None, person.hidden)


def merge(project: Project, ref_a: str | int, ref_b: str | int) -> Person:
    """Move A's faces into B; B keeps its name, or takes A's if it has none."""
    store = PeopleStore(project)
    with project.db.atomic():
        a, b = _person(store, ref_a), _person(store, ref_b)
        if a.id == b.id:
            raise PeopleError("cannot merge a person with themselves")
        store.move_faces(a.id, b.id)
        store.pin_faces_of(b.id)
        if b.name is None and a.name is not None:
            store.set_name(b.id, a.name)
        if a.hidden and not b.hidden:
            store.set_hidden(b.id, False)
        store.delete_person(a.id)
        merged = store.person(b.id)
    assert merged is not None
    return merged


def split(project: Project, face_id: int) -> Person:
    """Take one face out of its person into a new person of its own."""
    store = PeopleStore(project)
    with project.db.atomic():
        current = store.face_person(face_id)
        if current is None:
            raise PeopleError(f"no face {face_id}")
        old_person, _ = current
        new_id = store.new_person()
        store.assign(face_id, new_id, pinned=True)
        if old_person is not None:
            store.reject(face_id, old_person)
            store.drop_empty_people()
        person = store.person(new_id)
    assert person is not None
    return person


def hide(project: Project, ref: str | int, hidden: bool = True) -> Person:
    store = PeopleStore(project)
    with project.db.atomic():
        person = _person(store, ref)
        store.set_hidden(person.id, hidden)
        store.pin_faces_of(person.id)
    return Person(person.id, person.name, hidden)


@dataclass(frozen=True)
class PersonSummary:
    id: int
    name: str | None
    hidden: bool
    faces: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "hidden": self.hidden,
            "face_count": len(self.faces),
            "photo_count": len({f["photo"] for f in self.faces}),
            "faces": self.faces,
        }


def listing(project: Project) -> list[PersonSummary]:
    """Everyone in the book, the most photographed first."""
    store = PeopleStore(project)
    faces = store.faces_by_person()
    people = [PersonSummary(p.id, p.name, p.hidden, faces.get(p.id, [])) for p in store.people()]
    return sorted(people, key=lambda p: (-len(p.faces), p.id))


def named_people(project: Project) -> dict[int, str]:
    """Person id -> name, for people the user named and did not hide (what captions may use)."""
    return {p.id: p.name for p in PeopleStore(project).people() if p.name and not p.hidden}
