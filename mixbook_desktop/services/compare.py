"""Local and cloud analysis of the same photos, side by side, with how well they agree.

Each side comes from the book when its stored results were made by that side with current
versions, and is worked out now otherwise (the other side's results are not stored: a
comparison never changes the book, and faces found for it are not added to the collection).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mixbook_desktop.analysis.pipeline import Analyzer, stage_versions
from mixbook_desktop.core.analysis import PhotoAnalysis, Stage
from mixbook_desktop.core.describe import SURE_FROM
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.library.decode import BadImage, open_for_analysis
from mixbook_desktop.services import analysis_worker
from mixbook_desktop.services.analysis import face_pack_of
from mixbook_desktop.services.analysis_worker import ANALYSIS_SIDE
from mixbook_desktop.store.analysis import AnalysisStore, StoredFace
from mixbook_desktop.store.project import Project

_SAME_FACE_IOU = 0.5
COMPARED_STAGES = frozenset({Stage.FACES, Stage.EMOTIONS, Stage.LABELS, Stage.MODERATION})


@dataclass(frozen=True)
class Side:
    """What one backend found in a photo, reduced to what the user sees."""

    faces: list[Box]
    emotions: list[str | None]  # the dominant emotion of each face
    tags: dict[str, float]  # tags the book would state (score >= SURE_FROM)
    moderation: str | None  # safe, review, flagged
    moderation_score: float | None
    source: str  # "stored" or "now"

    def as_json(self) -> dict[str, Any]:
        return {
            "faces": [b.as_list() for b in self.faces],
            "emotions": self.emotions,
            "tags": {k: round(v, 3) for k, v in sorted(self.tags.items())},
            "moderation": self.moderation,
            "moderation_score": None if self.moderation_score is None else round(self.moderation_score, 3),
            "source": self.source,
        }


@dataclass(frozen=True)
class Agreement:
    faces: float  # matched faces over all faces found, 0..1 (1 when neither found any)
    emotions: float | None  # same dominant emotion among matched faces; None without matches
    tags: float  # Jaccard index of the tag sets (1 when both are empty)
    moderation: float  # 1 when the levels agree

    @property
    def overall(self) -> float:
        parts = [self.faces, self.tags, self.moderation]
        if self.emotions is not None:
            parts.append(self.emotions)
        return sum(parts) / len(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "faces": round(self.faces, 3),
            "emotions": None if self.emotions is None else round(self.emotions, 3),
            "tags": round(self.tags, 3),
            "moderation": self.moderation,
            "overall": round(self.overall, 3),
        }


@dataclass(frozen=True)
class PhotoComparison:
    sha256: str
    path: str
    local: Side | None
    cloud: Side | None
    agreement: Agreement | None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "file": self.path,
            "local": self.local.as_json() if self.local else None,
            "cloud": self.cloud.as_json() if self.cloud else None,
            "agreement": self.agreement.as_json() if self.agreement else None,
            "error": self.error,
        }


@dataclass
class ComparisonReport:
    photos: list[PhotoComparison] = field(default_factory=list)

    def mean(self, part: str) -> float | None:
        values = [
            getattr(p.agreement, part)
            for p in self.photos
            if p.agreement is not None and getattr(p.agreement, part) is not None
        ]
        return sum(values) / len(values) if values else None

    def as_json(self) -> dict[str, Any]:
        return {
            "photos": [p.as_json() for p in self.photos],
            "mean": {k: self.mean(k) for k in ("faces", "emotions", "tags", "moderation", "overall")},
        }


def side_from_analysis(found: PhotoAnalysis, source: str) -> Side:
    faces = [f.box for f in found.faces or []]
    emotions: list[str | None] = [e.dominant.value for e in found.emotions or []]
    emotions += [None] * (len(faces) - len(emotions))
    tags = {lb.name: lb.score for lb in found.labels or [] if lb.score >= SURE_FROM}
    mod = found.moderation
    return Side(
        faces,
        emotions[: len(faces)],
        tags,
        mod.level.value if mod else None,
        mod.score if mod else None,
        source,
    )


def _stored_side(stages: dict[str, dict[str, Any]], faces: list[StoredFace]) -> Side:
    from mixbook_desktop.analysis.moderation import level

    labels = (stages.get(Stage.LABELS.value) or {}).get("result") or {}
    tags = {lb["name"]: float(lb["score"]) for lb in labels.get("labels", []) if lb["score"] >= SURE_FROM}
    moderation = (stages.get(Stage.MODERATION.value) or {}).get("result") or {}
    score = moderation.get("score")
    return Side(
        [f.box for f in faces],
        [max(f.emotions, key=lambda k: (f.emotions or {})[k]) if f.emotions else None for f in faces],
        tags,
        level(float(score)).value if score is not None else None,
        float(score) if score is not None else None,
        "stored",
    )


def agree(local: Side, cloud: Side) -> Agreement:
    pairs: list[tuple[int, int]] = []
    taken: set[int] = set()
    for i, box in enumerate(local.faces):
        best = max(
            ((j, box.iou(other)) for j, other in enumerate(cloud.faces) if j not in taken),
            key=lambda pair: pair[1],
            default=None,
        )
        if best is not None and best[1] >= _SAME_FACE_IOU:
            taken.add(best[0])
            pairs.append((i, best[0]))
    total = len(local.faces) + len(cloud.faces)
    faces = 2 * len(pairs) / total if total else 1.0
    emotions = (
        sum(1 for i, j in pairs if local.emotions[i] == cloud.emotions[j]) / len(pairs) if pairs else None
    )
    union = set(local.tags) | set(cloud.tags)
    tags = len(set(local.tags) & set(cloud.tags)) / len(union) if union else 1.0
    moderation = 1.0 if local.moderation == cloud.moderation else 0.0
    return Agreement(faces, emotions, tags, moderation)


def _current(stages: dict[str, dict[str, Any]], versions: dict[Stage, str]) -> bool:
    return all(
        (stages.get(s.value) or {}).get("version") == versions[s]
        and not (stages.get(s.value) or {}).get("error")
        for s in COMPARED_STAGES
    )


def compare_book(
    project: Project,
    cloud_side: Callable[[str, str], PhotoAnalysis],
    cloud_versions: dict[Stage, str],
    on_photo: Callable[[PhotoComparison], None] | None = None,
    cancel: threading.Event | None = None,
) -> ComparisonReport:
    """Compare every analysable photo. `cloud_side(path, sha256)` analyses a photo in the cloud now,
    for photos whose stored results are not the cloud's; it raises CompareError."""
    store = AnalysisStore(project)
    results = store.results()
    faces_of: dict[int, list[StoredFace]] = {}
    for face in store.faces():
        faces_of.setdefault(face.photo_id, []).append(face)
    # The book's own face models, as its local analysis uses them.
    pack = face_pack_of(project)
    backend = analysis_worker.face_backend(str(pack) if pack else None)
    local_versions = stage_versions(backend.embedder if backend is not None else None)
    analyzer: Analyzer | None = None
    report = ComparisonReport()
    rows = project.db.query(
        "SELECT p.id, p.sha256, f.path FROM photos p "
        "JOIN files f ON f.photo_id = p.id AND f.status = 'ok' GROUP BY p.id ORDER BY p.id"
    )
    for row in rows:
        if cancel is not None and cancel.is_set():
            break
        stages = results.get(row["id"], {})
        stored = _stored_side(stages, faces_of.get(row["id"], []))
        try:
            if _current(stages, local_versions):
                local = stored
            else:
                analyzer = analyzer or Analyzer(backend)
                image, size = open_for_analysis(row["path"], row["sha256"], ANALYSIS_SIDE)
                local = side_from_analysis(analyzer.analyze(image, size, set(COMPARED_STAGES)), "now")
            if _current(stages, cloud_versions):
                cloud = stored
            else:
                cloud = side_from_analysis(cloud_side(row["path"], row["sha256"]), "now")
        except (BadImage, CompareError) as exc:
            done = PhotoComparison(row["sha256"], row["path"], None, None, None, str(exc))
        else:
            done = PhotoComparison(row["sha256"], row["path"], local, cloud, agree(local, cloud))
        report.photos.append(done)
        if on_photo:
            on_photo(done)
    return report


class CompareError(Exception):
    """One photo's side could not be worked out; says why."""
