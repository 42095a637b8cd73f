"""Analysis results: one row per photo and stage (with the version that made it), and faces."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from mixbook_desktop.core.analysis import FaceFound, PhotoAnalysis, PhotoToAnalyze, Stage
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.store.project import Project

# A re-detected face that overlaps an old one this much is the same face: it keeps its id,
# its person and the user's decisions about it.
_SAME_FACE_IOU = 0.5


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredFace:
    id: int
    photo_id: int
    box: Box
    score: float
    landmarks: dict[str, list[float]]
    emotions: dict[str, float] | None
    person_id: int | None
    pinned: bool


class AnalysisStore:
    def __init__(self, project: Project) -> None:
        self.db = project.db

    def pending(self, versions: dict[Stage, str]) -> list[PhotoToAnalyze]:
        """Photos with a stage that is missing, out of date, or failed last time (retried)."""
        done: dict[int, dict[str, tuple[str, bool]]] = {}
        for r in self.db.query("SELECT photo_id, stage, version, error IS NULL AS ok FROM analysis"):
            done.setdefault(r["photo_id"], {})[r["stage"]] = (r["version"], bool(r["ok"]))
        boxes: dict[int, list[Box]] = {}
        for r in self.db.query("SELECT photo_id, x, y, w, h FROM faces ORDER BY photo_id, idx"):
            boxes.setdefault(r["photo_id"], []).append(Box(r["x"], r["y"], r["w"], r["h"]))
        out: list[PhotoToAnalyze] = []
        rows = self.db.query(
            "SELECT p.id, p.sha256, f.path FROM photos p "
            "JOIN files f ON f.photo_id = p.id AND f.status = 'ok' ORDER BY p.id"
        )
        for r in rows:
            have = done.get(r["id"], {})
            stages = {s for s in Stage if have.get(s.value) != (versions[s], True)}
            if Stage.FACES in stages:
                stages.add(Stage.EMOTIONS)  # new boxes need new emotions
            if not stages:
                continue
            faces_ok = have.get(Stage.FACES.value) == (versions[Stage.FACES], True)
            known = tuple(boxes.get(r["id"], [])) if faces_ok else None
            out.append(PhotoToAnalyze(r["id"], r["sha256"], r["path"], frozenset(stages), known))
        return out

    def _put(self, photo_id: int, stage: Stage, version: str, result: Any, error: str | None) -> None:
        self.db.table("analysis").upsert(
            {
                "photo_id": photo_id,
                "stage": stage.value,
                "version": version,
                "result": None if error is not None else json.dumps(result),
                "error": error,
                "analysed_at": _now(),
            },
            pk=("photo_id", "stage"),
        )

    def save_failure(
        self, job: PhotoToAnalyze, versions: dict[Stage, str], reason: str, keep_results: bool = False
    ) -> None:
        """Record why `job` failed. With `keep_results`, a stage that has a result from before
        (made elsewhere, e.g. on this machine before the book moved to the cloud) keeps it and
        stays pending, so that a failure never takes away what was analysed."""
        with self.db.atomic():
            kept = (
                {
                    r["stage"]
                    for r in self.db.query(
                        "SELECT stage FROM analysis WHERE photo_id = ? AND error IS NULL", [job.photo_id]
                    )
                }
                if keep_results
                else set()
            )
            for stage in job.stages:
                if stage.value not in kept:
                    self._put(job.photo_id, stage, versions[stage], None, reason)

    def save(self, job: PhotoToAnalyze, versions: dict[Stage, str], found: PhotoAnalysis) -> None:
        """Store every stage of `job` in one transaction: a kill keeps all of it or none."""
        with self.db.atomic():
            for stage in job.stages:
                if stage in found.errors:
                    self._put(job.photo_id, stage, versions[stage], None, found.errors[stage])
            if found.faces is not None:
                self._replace_faces(job.photo_id, found.faces)
                self._save_cloud_faces(job.photo_id, job.sha256, found.faces)
                self._put(job.photo_id, Stage.FACES, versions[Stage.FACES], {"count": len(found.faces)}, None)
            if found.emotions is not None:
                ids = [
                    r["id"]
                    for r in self.db.query(
                        "SELECT id FROM faces WHERE photo_id = ? ORDER BY idx", [job.photo_id]
                    )
                ]
                for face_id, scores in zip(ids, found.emotions, strict=True):
                    self.db.execute(
                        "UPDATE faces SET emotions = ? WHERE id = ?",
                        [json.dumps({e.value: s for e, s in scores.scores.items()}), face_id],
                    )
                self._put(job.photo_id, Stage.EMOTIONS, versions[Stage.EMOTIONS], {"count": len(ids)}, None)
            if found.labels is not None:
                labels: dict[str, Any] = {
                    "labels": [
                        {"name": lb.name, "score": lb.score, "classes": list(lb.classes)}
                        for lb in found.labels
                    ],
                    "classes": [{"name": n, "score": s} for n, s in found.top_classes or []],
                }
                self._put(job.photo_id, Stage.LABELS, versions[Stage.LABELS], labels, None)
            if found.moderation is not None:
                self._put(
                    job.photo_id,
                    Stage.MODERATION,
                    versions[Stage.MODERATION],
                    {"score": found.moderation.score},
                    None,
                )
            if found.quality is not None:
                q = found.quality
                result: dict[str, Any] = {
                    "sharpness": q.sharpness,
                    "exposure": q.exposure,
                    "dark_clip": q.dark_clip,
                    "bright_clip": q.bright_clip,
                    "megapixels": q.megapixels,
                    "score": q.score,
                    "phash": q.phash,
                }
                self._put(job.photo_id, Stage.QUALITY, versions[Stage.QUALITY], result, None)

    def _replace_faces(self, photo_id: int, faces: list[FaceFound]) -> None:
        old = [
            (r["id"], Box(r["x"], r["y"], r["w"], r["h"]))
            for r in self.db.query("SELECT id, x, y, w, h FROM faces WHERE photo_id = ?", [photo_id])
        ]
        # Park old rows at negative positions so that the new order can be written freely.
        self.db.execute("UPDATE faces SET idx = -1 - idx WHERE photo_id = ?", [photo_id])
        kept: set[int] = set()
        for idx, face in enumerate(faces):
            row = {
                "photo_id": photo_id,
                "idx": idx,
                "x": face.box.x,
                "y": face.box.y,
                "w": face.box.w,
                "h": face.box.h,
                "score": face.score,
                "landmarks": json.dumps(face.landmarks),
                "embedding": face.embedding,
                "embedder": face.embedder,
                "emotions": None,
            }
            match = max(
                ((fid, box.iou(face.box)) for fid, box in old if fid not in kept),
                key=lambda pair: pair[1],
                default=None,
            )
            if match is not None and match[1] >= _SAME_FACE_IOU:
                kept.add(match[0])
                self.db.table("faces").update(match[0], row)
            else:
                self.db.table("faces").insert(row)
        for fid, _ in old:
            if fid not in kept:
                self.db.execute("DELETE FROM faces WHERE id = ?", [fid])

    def _save_cloud_faces(self, photo_id: int, sha256: str, faces: list[FaceFound]) -> None:
        """The collection ids of faces found by Rekognition, and the matches found for them."""
        ids = [
            r["id"] for r in self.db.query("SELECT id FROM faces WHERE photo_id = ? ORDER BY idx", [photo_id])
        ]
        for face_id, face in zip(ids, faces, strict=True):
            self.db.execute("DELETE FROM cloud_faces WHERE face_id = ?", [face_id])
            if face.cloud_id is None or face.embedder is None:
                continue
            self.db.execute(
                "INSERT OR REPLACE INTO cloud_faces (face_id, collection, cloud_face_id) VALUES (?, ?, ?)",
                [face_id, face.embedder, face.cloud_id],
            )
            self.db.execute(
                "INSERT OR IGNORE INTO cloud_indexed (collection, cloud_face_id, sha256) VALUES (?, ?, ?)",
                [face.embedder, face.cloud_id, sha256],
            )
            # Kept both ways round: either face may be the one looked up later.
            for other, similarity in face.matches:
                for a, b in ((face.cloud_id, other), (other, face.cloud_id)):
                    self.db.execute(
                        "INSERT OR REPLACE INTO cloud_face_matches (collection, a, b, similarity) "
                        "VALUES (?, ?, ?, ?)",
                        [face.embedder, a, b, similarity],
                    )

    def indexed_ids(self, sha256: str, collection: str) -> list[str]:
        """Every id this book put into `collection` for the photo and has not taken out: what
        goes before the photo's faces are indexed again."""
        return [
            r["cloud_face_id"]
            for r in self.db.query(
                "SELECT cloud_face_id FROM cloud_indexed WHERE sha256 = ? AND collection = ? ORDER BY rowid",
                [sha256, collection],
            )
        ]

    def forget_indexed(self, collection: str, cloud_ids: list[str]) -> None:
        """These ids were taken out of the collection: forget them and their matches."""
        with self.db.atomic():
            for cloud_id in cloud_ids:
                self.db.execute(
                    "DELETE FROM cloud_indexed WHERE collection = ? AND cloud_face_id = ?",
                    [collection, cloud_id],
                )
                self.db.execute(
                    "DELETE FROM cloud_face_matches WHERE collection = ? AND (a = ? OR b = ?)",
                    [collection, cloud_id, cloud_id],
                )

    def results(self) -> dict[int, dict[str, dict[str, Any]]]:
        """photo id -> stage -> {'result': ..., 'error': ..., 'version': ...}."""
        out: dict[int, dict[str, dict[str, Any]]] = {}
        for r in self.db.query("SELECT photo_id, stage, version, result, error FROM analysis"):
            out.setdefault(r["photo_id"], {})[r["stage"]] = {
                "result": json.loads(r["result"]) if r["result"] else None,
                "error": r["error"],
                "version": r["version"],
            }
        return out

    def faces(self) -> list[StoredFace]:
        return [
            StoredFace(
                id=r["id"],
                photo_id=r["photo_id"],
                box=Box(r["x"], r["y"], r["w"], r["h"]),
                score=r["score"],
                landmarks=json.loads(r["landmarks"]),
                emotions=json.loads(r["emotions"]) if r["emotions"] else None,
                person_id=r["person_id"],
                pinned=bool(r["pinned"]),
            )
            for r in self.db.query("SELECT * FROM faces ORDER BY photo_id, idx")
        ]

    def phashes(self) -> list[tuple[int, str, str | None, float]]:
        """(photo id, perceptual hash, taken_at, quality score) of photos with a quality result."""
        rows = self.db.query(
            "SELECT a.photo_id, a.result, p.taken_at FROM analysis a JOIN photos p ON p.id = a.photo_id "
            "WHERE a.stage = 'quality' AND a.result IS NOT NULL ORDER BY a.photo_id"
        )
        out = []
        for r in rows:
            result = json.loads(r["result"])
            out.append((r["photo_id"], result["phash"], r["taken_at"], float(result["score"])))
        return out

    def set_duplicates(self, groups: dict[int, tuple[int, bool]]) -> None:
        """Replace all duplicate groups: photo id -> (group id, best in group)."""
        with self.db.atomic():
            self.db.execute("DELETE FROM duplicates")
            self.db.table("duplicates").insert_all(
                [{"photo_id": pid, "group_id": g, "best": int(best)} for pid, (g, best) in groups.items()]
            )

    def duplicates(self) -> dict[int, tuple[int, bool]]:
        return {
            r["photo_id"]: (r["group_id"], bool(r["best"])) for r in self.db.query("SELECT * FROM duplicates")
        }

    def set_moderation_override(self, photo_id: int, decision: str | None) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE photos SET moderation_override = ? WHERE id = ?", [decision, photo_id])

    def photo_ids(self) -> dict[str, int]:
        return {r["sha256"]: r["id"] for r in self.db.query("SELECT id, sha256 FROM photos")}

    def get_setting(self, key: str) -> Any:
        rows = list(self.db.query("SELECT value FROM settings WHERE key = ?", [key]))
        return json.loads(rows[0]["value"]) if rows else None

    def set_setting(self, key: str, value: Any) -> None:
        with self.db.atomic():
            self.db.table("settings").upsert({"key": key, "value": json.dumps(value)}, pk="key")
