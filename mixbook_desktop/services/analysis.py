"""Analyse every photo of a book that is not analysed with the current models yet.

Photos are analysed in worker processes (one per core, each with its own copy of the models),
and each photo's results are committed in one transaction as soon as they arrive, so a kill
loses at most the photos in flight and the next run resumes with the rest. People and duplicate
groups are brought up to date at the end, from everything stored.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mixbook_desktop.analysis import manifest
from mixbook_desktop.analysis.pipeline import stage_versions
from mixbook_desktop.core.analysis import PhotoAnalysis, PhotoToAnalyze, Stage
from mixbook_desktop.services import activity, analysis_worker, duplicates, people
from mixbook_desktop.services.worker_pool import WorkerPool, default_workers
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.project import Project

if TYPE_CHECKING:
    from mixbook_desktop.cloud.config import CloudSettings

# Per-photo ceiling. The slowest honest photo here (a 13-person group) takes ~3 s on one core.
ANALYSIS_TIMEOUT_S = 120.0
# The manifest's tasks analysis runs; a missing caption model is not an analysis problem.
ANALYSIS_TASKS = {
    "face_detection",
    "face_landmarks",
    "face_embedding",
    "facial_expression",
    "image_labels",
    "moderation",
}


# The InsightFace pack a book's faces are found with; none for the bundled models. A setting
# of the book: every later analysis of it uses the pack until it is changed.
FACE_PACK_KEY = "analysis.face_pack"


def face_pack_of(project: Project) -> Path | None:
    saved = AnalysisStore(project).get_setting(FACE_PACK_KEY)
    return Path(saved) if saved else None


def check_face_pack(pack: str) -> Path:
    """The pack folder as it is saved; ModelError, saying why, if it holds no models. (Its
    models are only loaded by the analysis: that takes seconds.)"""
    folder = Path(pack).expanduser().absolute()
    analysis_worker.face_backend(str(folder))
    return folder


def set_face_pack(project: Project, pack: str | None) -> None:
    """Use this pack for the book's faces from the next analysis on; None or '' for the
    bundled models. Faces found with other models are then analysed again."""
    AnalysisStore(project).set_setting(FACE_PACK_KEY, str(check_face_pack(pack)) if pack else None)


@dataclass(frozen=True)
class PhotoDone:
    path: str
    sha256: str
    stages: frozenset[Stage]
    errors: dict[Stage, str]  # stages that failed; every stage when the photo could not be read
    faces: int | None


@dataclass
class AnalysisReport:
    done: list[PhotoDone] = field(default_factory=list)
    model_problems: list[str] = field(default_factory=list)
    people_placed: int = 0
    duplicate_groups: int = 0
    cancelled: bool = False

    @property
    def failed(self) -> list[PhotoDone]:
        return [d for d in self.done if d.errors]


def analyze_book(
    project: Project,
    on_done: Callable[[PhotoDone], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
    timeout: float = ANALYSIS_TIMEOUT_S,
    face_pack: Path | None = None,
    on_upload: Callable[[int, int], None] | None = None,
) -> AnalysisReport:
    """Run the pending analysis of `project`; `cancel` stops after the photo in hand.

    `face_pack` is an InsightFace model-pack folder to find and identify faces with instead of
    the bundled models; faces found before with other models are analysed again. A book set
    to cloud analysis is analysed by Rekognition instead, after its photos are uploaded
    (`on_upload` hears the bytes done of the total)."""
    settings = cloud_settings(project)
    if settings is not None:
        return _analyze_in_cloud(project, settings, on_done, on_total, cancel, on_upload)
    report = AnalysisReport()
    report.model_problems = [
        f"{name}: {problem}" for name, problem in manifest.status(ANALYSIS_TASKS) if problem != "ok"
    ]
    try:
        backend = analysis_worker.face_backend(str(face_pack) if face_pack else None)
        versions = stage_versions(backend.embedder if backend is not None else None)
    except manifest.ModelError as exc:
        report.model_problems.append(str(exc))
        return report
    store = AnalysisStore(project)
    jobs = store.pending(versions)
    if on_total:
        on_total(len(jobs))
    if jobs:
        with activity.analysis_running():
            _analyze(store, jobs, versions, report, on_done, cancel, workers, timeout, face_pack)
    # Cheap and book-wide: always brought up to date, also after a cancel.
    report.people_placed = people.cluster(project)
    report.duplicate_groups = len({g for g, _ in duplicates.regroup(project).values()})
    return report


def cloud_settings(project: Project) -> CloudSettings | None:
    """The book's cloud settings when it is analysed in the cloud; None in local mode, which
    then imports nothing of the cloud code (and opens no socket)."""
    saved = AnalysisStore(project).get_setting("cloud") or {}
    if saved.get("analysis") != "cloud":
        return None
    from mixbook_desktop.cloud import config

    return config.load(project)


def _analyze_in_cloud(
    project: Project,
    settings: CloudSettings,
    on_done: Callable[[PhotoDone], None] | None,
    on_total: Callable[[int], None] | None,
    cancel: threading.Event | None,
    on_upload: Callable[[int, int], None] | None,
) -> AnalysisReport:
    from mixbook_desktop.services import cloud_analysis

    report = AnalysisReport()
    cancel = cancel or threading.Event()

    def heard(job: PhotoToAnalyze, found: PhotoAnalysis | None, reason: str | None) -> None:
        if found is None:
            errors = dict.fromkeys(job.stages, reason or "analysis failed")
            done = PhotoDone(job.path, job.sha256, job.stages, errors, None)
        else:
            faces = len(found.faces) if found.faces is not None else None
            done = PhotoDone(job.path, job.sha256, job.stages, dict(found.errors), faces)
        report.done.append(done)
        if on_done:
            on_done(done)

    with activity.analysis_running():
        report.model_problems = cloud_analysis.analyze_cloud(
            project, settings, heard, on_total, cancel, on_upload=on_upload
        )
    report.cancelled = cancel.is_set() and not report.model_problems
    report.people_placed = people.cluster(project)
    report.duplicate_groups = len({g for g, _ in duplicates.regroup(project).values()})
    return report


def _analyze(
    store: AnalysisStore,
    jobs: list[PhotoToAnalyze],
    versions: dict[Stage, str],
    report: AnalysisReport,
    on_done: Callable[[PhotoDone], None] | None,
    cancel: threading.Event | None,
    workers: int | None,
    timeout: float,
    face_pack: Path | None,
) -> None:
    count = min(workers or default_workers(), len(jobs))

    def unreadable(job: PhotoToAnalyze, reason: str) -> analysis_worker.Outcome:
        return analysis_worker.Outcome(job, None, reason)

    pool: WorkerPool[PhotoToAnalyze, analysis_worker.Outcome] = WorkerPool(
        analysis_worker.analyze_one,
        unreadable,
        workers=count,
        timeout=timeout,
        start=functools.partial(analysis_worker.start, str(face_pack) if face_pack else None),
        what="analysis worker",
    )
    with pool:
        for outcome in pool.map(jobs):
            job = outcome.job
            if outcome.analysis is None:
                reason = outcome.error or "analysis failed"
                store.save_failure(job, versions, reason)
                done = PhotoDone(job.path, job.sha256, job.stages, dict.fromkeys(job.stages, reason), None)
            else:
                store.save(job, versions, outcome.analysis)
                faces = outcome.analysis.faces
                done = PhotoDone(
                    job.path,
                    job.sha256,
                    job.stages,
                    dict(outcome.analysis.errors),
                    len(faces) if faces is not None else None,
                )
            report.done.append(done)
            if on_done:
                on_done(done)
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
