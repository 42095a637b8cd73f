"""Everything known about each photo, joined for `photos --json`, the GUI and later stages."""

from __future__ import annotations

from typing import Any

from mixbook_desktop.analysis.moderation import level
from mixbook_desktop.core.analysis import Emotion, ModerationLevel, Stage
from mixbook_desktop.core.captions import Source
from mixbook_desktop.core.chapters import Chapter, Moment, group_chapters
from mixbook_desktop.core.describe import describe
from mixbook_desktop.store.analysis import AnalysisStore, StoredFace
from mixbook_desktop.store.captions import CaptionStore, photo_target
from mixbook_desktop.store.people import PeopleStore
from mixbook_desktop.store.photos import PhotoStore
from mixbook_desktop.store.project import Project

# The overall mood needs some conviction: below this, a photo has no mood rather than a guess.
_MOOD_FROM = 0.4


def mood(faces: list[StoredFace]) -> Emotion | None:
    """The area-weighted emotion of the faces: the people who fill the photo count most."""
    totals = dict.fromkeys(Emotion, 0.0)
    weight = 0.0
    for face in faces:
        if not face.emotions:
            continue
        area = face.box.w * face.box.h
        weight += area
        for name, score in face.emotions.items():
            totals[Emotion(name)] += area * score
    if weight <= 0:
        return None
    best = max(totals, key=lambda e: totals[e])
    return best if totals[best] / weight >= _MOOD_FROM else None


def _moderation(stage: dict[str, Any] | None, override: str | None) -> dict[str, Any]:
    if stage is None or stage["result"] is None:
        # Unknown is not safe: such a photo is not cleared for automatic use.
        status = "pending" if stage is None else "unavailable"
        return {
            "status": status,
            "score": None,
            "level": None,
            "flagged": None if override is None else override == "block",
            "override": override,
            "cleared": override == "allow",
            "error": stage["error"] if stage else None,
        }
    score = float(stage["result"]["score"])
    lvl = level(score)
    flagged = (lvl is ModerationLevel.FLAGGED and override != "allow") or override == "block"
    return {
        "status": "ok",
        "score": score,
        "level": lvl.value,
        "flagged": flagged,
        "override": override,
        "cleared": not flagged,
        "error": None,
    }


def photo_listing(project: Project) -> list[dict[str, Any]]:
    """`PhotoStore.listing` rows with analysis added: faces, labels, description, moderation,
    quality, duplicate group and analysis errors (None where not analysed yet)."""
    rows = PhotoStore(project).listing()
    store = AnalysisStore(project)
    ids = store.photo_ids()
    results = store.results()
    faces_of: dict[int, list[StoredFace]] = {}
    for face in store.faces():
        faces_of.setdefault(face.photo_id, []).append(face)
    people = {p.id: p for p in PeopleStore(project).people()}
    groups = store.duplicates()
    overrides = {
        r["id"]: r["moderation_override"]
        for r in project.db.query("SELECT id, moderation_override FROM photos")
    }
    captions = caption_view(project)
    for row in rows:
        photo_id = ids.get(row["sha256"]) if row["sha256"] else None
        if photo_id is None or row["status"] == "error":
            continue
        stages = results.get(photo_id, {})
        faces = faces_of.get(photo_id, [])
        faces_stage = stages.get(Stage.FACES.value)
        face_rows = []
        for face in faces:
            person = people.get(face.person_id) if face.person_id is not None else None
            dominant = max(face.emotions, key=lambda k: face.emotions[k]) if face.emotions else None  # type: ignore[index]
            face_rows.append(
                {
                    "id": face.id,
                    "box": face.box.as_list(),
                    "score": face.score,
                    "emotion": dominant,
                    "emotions": face.emotions,
                    "person": face.person_id,
                    "person_name": person.name if person and not person.hidden else None,
                    "person_hidden": person.hidden if person else None,
                    "landmarks": face.landmarks,
                }
            )
        labels_stage = stages.get(Stage.LABELS.value)
        labels = labels_stage["result"]["labels"] if labels_stage and labels_stage["result"] else None
        if faces:
            tag = {"name": "people", "score": round(max(f.score for f in faces), 4), "classes": []}
            labels = [tag, *(labels or [])]
        quality_stage = stages.get(Stage.QUALITY.value)
        photo_mood = mood(faces)
        names = [
            people[f.person_id].name or ""
            for f in faces
            if f.person_id in people and people[f.person_id].name and not people[f.person_id].hidden
        ]
        analysed = faces_stage is not None or labels_stage is not None
        description = None
        if analysed:
            description = describe(
                face_count=len(faces),
                names=list(dict.fromkeys(names)),
                mood=photo_mood,
                tags=[
                    (lb["name"], lb["score"], lb["classes"])
                    for lb in (labels or [])
                    if lb["name"] != "people"
                ],
                place=row["place"],
                taken_at=row["taken_at"],
            )
        errors = {stage: info["error"] for stage, info in stages.items() if info["error"]}
        group = groups.get(photo_id)
        row.update(
            {
                "faces": face_rows if faces_stage and faces_stage["result"] is not None else None,
                "mood": photo_mood.value if photo_mood else None,
                "labels": labels,
                "classes": labels_stage["result"]["classes"]
                if labels_stage and labels_stage["result"]
                else None,
                "description": description,
                "moderation": _moderation(stages.get(Stage.MODERATION.value), overrides.get(photo_id)),
                "quality": quality_stage["result"] if quality_stage else None,
                "duplicate_group": group[0] if group else None,
                "best_in_group": group[1] if group else None,
                "analysis_error": "; ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or None,
                "analysed": analysed,
                "caption": captions.get(photo_target(photo_id)),
            }
        )
    return rows


def flagged(project: Project) -> list[dict[str, Any]]:
    """Photos that are flagged, need review, or could not be checked."""
    out = []
    for row in photo_listing(project):
        if row["status"] != "ok":
            continue
        mod = row.get("moderation")
        if mod and (mod["flagged"] or mod["level"] == "review" or mod["status"] != "ok" or mod["override"]):
            out.append(row)
    return out


def set_moderation_override(project: Project, sha256: str, decision: str | None) -> None:
    """The user's word on a photo: 'allow' (use it though flagged), 'block', or None (undo)."""
    store = AnalysisStore(project)
    matches = [pid for sha, pid in store.photo_ids().items() if sha.startswith(sha256.lower())]
    if len(matches) != 1:
        raise LookupError(f"{'no' if not matches else 'more than one'} photo matches {sha256!r}")
    store.set_moderation_override(matches[0], decision)


def caption_view(project: Project) -> dict[str, dict[str, Any]]:
    """What `photos --json` shows as `caption`, per target: the user's text when there is
    one, else the newest suggestion, with the suggestion's alternatives."""
    store = CaptionStore(project)
    latest, mine = store.latest(), store.user_captions()
    out: dict[str, dict[str, Any]] = {}
    for target in set(latest) | set(mine):
        s, own = latest.get(target), mine.get(target)
        choices = [s.text, *s.alternatives] if s else []
        if own is not None and own.text:
            text, source = own.text, own.source or Source.USER
        elif s is not None:
            text, source = s.text, s.source
        else:
            text, source = None, None
        out[target] = {
            "text": text,
            "source": source.value if source else None,
            "tone": s.tone.value if s else None,
            "alternatives": [c for c in choices if c != text],
            "locked": bool(own and own.locked),
            "suggested": s.text if s else None,
            "note": s.note if s else None,
        }
    return out


def book_chapters(by_id: dict[int, dict[str, Any]]) -> list[Chapter]:
    """The chapters of the photos in `by_id` (photo id -> `photo_listing` row, in import
    order), as the captions and the layout both see them."""
    moments = [
        Moment(
            photo_id=pid,
            order=n,
            taken_at=r.get("taken_at"),
            lat=(r.get("gps") or {}).get("lat"),
            lon=(r.get("gps") or {}).get("lon"),
        )
        for n, (pid, r) in enumerate(by_id.items())
    ]
    return group_chapters(moments)
