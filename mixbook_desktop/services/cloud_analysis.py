"""A book analysed in the cloud: photos uploaded to S3, then Rekognition, into the same tables.

Each photo's results are committed as soon as they arrive, as in local analysis, so a kill or
a stop keeps everything analysed so far. What Rekognition cannot do for now (throttling, an
outage) leaves the photo pending for the next run; what it can never do for a photo (a bad
image) is recorded against the photo without taking away results it had from before; refused
credentials stop the run at once with one message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from mixbook_desktop.analysis.quality import VERSION as QUALITY_VERSION
from mixbook_desktop.analysis.quality import assess
from mixbook_desktop.cloud import config, rekognition, uploads
from mixbook_desktop.cloud.config import CloudError, CloudSettings
from mixbook_desktop.cloud.rekognition import CloudAnalyzer, Failure, RekognitionError
from mixbook_desktop.core.analysis import PhotoAnalysis, PhotoToAnalyze, Stage
from mixbook_desktop.library.decode import BadImage, open_for_analysis
from mixbook_desktop.services.analysis_worker import ANALYSIS_SIDE
from mixbook_desktop.services.compare import (
    COMPARED_STAGES as _COMPARED,
)
from mixbook_desktop.services.compare import (
    CompareError,
    ComparisonReport,
    PhotoComparison,
    compare_book,
)
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.project import Project

# Photos in flight at once: each is a few sequential calls, mostly waiting on the network.
CLOUD_THREADS = 4
# Our own tries of a photo Rekognition is too busy for, after botocore's retries of each call.
_PHOTO_ATTEMPTS = 3
_BACKOFF_S = 2.0


def collection_id(project: Project) -> str:
    return f"mixbook-{config.book_id(project)}"


@dataclass(frozen=True)
class CloudOutcome:
    job: PhotoToAnalyze
    analysis: PhotoAnalysis | None
    error: RekognitionError | None


def _analyze_one(
    analyzer: CloudAnalyzer,
    settings: CloudSettings,
    job: PhotoToAnalyze,
    old_cloud_ids: list[str],
    cancel: threading.Event,
) -> CloudOutcome:
    stages = set(job.stages)
    if Stage.EMOTIONS in stages:
        stages.add(Stage.FACES)
    key = uploads.analysis_key(settings, job.sha256)
    result = PhotoAnalysis()
    cloud_stages = frozenset(stages - {Stage.QUALITY})
    if cloud_stages:
        for attempt in range(_PHOTO_ATTEMPTS):
            try:
                result = analyzer.analyze(key, job.sha256, cloud_stages, old_cloud_ids)
                break
            except RekognitionError as exc:
                if exc.failure is not Failure.RETRY or attempt == _PHOTO_ATTEMPTS - 1:
                    return CloudOutcome(job, None, exc)
                if cancel.wait(_BACKOFF_S * 2**attempt):
                    return CloudOutcome(job, None, exc)
    if Stage.QUALITY in stages:
        # Quality and the perceptual hash for duplicates are measured here: Rekognition has
        # neither, and they need no model.
        try:
            image, size = open_for_analysis(job.path, job.sha256, ANALYSIS_SIDE)
            result.quality = assess(image, size)
        except BadImage as bad:
            result.errors[Stage.QUALITY] = str(bad)
    return CloudOutcome(job, result, None)


def analyze_cloud(
    project: Project,
    settings: CloudSettings,
    on_job: Callable[[PhotoToAnalyze, PhotoAnalysis | None, str | None], None],
    on_total: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    on_upload: Callable[[int, int], None] | None = None,
    analyzer: CloudAnalyzer | None = None,
) -> list[str]:
    """Analyse the book's pending photos in the cloud; `on_job` hears each photo's outcome
    after it is stored (analysis None and a reason when it failed). Returns problems that
    stopped or shortened the run, one line each."""
    cancel = cancel or threading.Event()
    store = AnalysisStore(project)
    collection = collection_id(project)
    versions = rekognition.stage_versions(collection, QUALITY_VERSION)
    jobs = store.pending(versions)
    if on_total:
        on_total(len(jobs))
    if not jobs:
        return []
    problems: list[str] = []
    try:
        uploads.ensure_bucket(settings)
        sent = uploads.upload_book(project, settings, on_progress=on_upload, cancel=cancel)
        analyzer = analyzer or CloudAnalyzer(settings, collection)
        analyzer.ensure_collection()
    except RekognitionError as exc:
        if exc.failure is Failure.RETRY:
            return [f"{exc}; all {len(jobs)} photos were left for the next run"]
        return [str(exc)]
    except CloudError as exc:
        return [str(exc)]
    not_uploaded = dict(sent.failed)
    for path, reason in not_uploaded.items():
        problems.append(f"{path}: not uploaded: {reason}")
    todo = [j for j in jobs if j.path not in not_uploaded]
    for job in jobs:
        if job.path in not_uploaded:
            on_job(job, None, f"not uploaded: {not_uploaded[job.path]}")
    if sent.cancelled or cancel.is_set():
        return problems
    old_ids = {job.photo_id: store.cloud_face_ids(job.photo_id) for job in todo}
    busy: list[str] = []
    with ThreadPoolExecutor(CLOUD_THREADS, thread_name_prefix="rekognition") as pool:
        pending: set[Future[CloudOutcome]] = set()
        queue = list(reversed(todo))

        def fill() -> None:
            while queue and len(pending) < CLOUD_THREADS * 2 and not cancel.is_set():
                job = queue.pop()
                pending.add(pool.submit(_analyze_one, analyzer, settings, job, old_ids[job.photo_id], cancel))

        fill()
        while pending:
            finished, _ = wait(pending, return_when="FIRST_COMPLETED")
            for future in finished:
                pending.discard(future)
                outcome = future.result()
                _store(store, versions, outcome, problems, busy)
                on_job(
                    outcome.job,
                    outcome.analysis,
                    str(outcome.error) if outcome.error is not None else None,
                )
                if outcome.error is not None and outcome.error.failure is Failure.STOP:
                    cancel.set()
            fill()
    if busy:
        problems.append(f"{busy[0]}; {len(busy)} photos were left for the next run")
    return problems


def _store(
    store: AnalysisStore,
    versions: dict[Stage, str],
    outcome: CloudOutcome,
    problems: list[str],
    busy: list[str],
) -> None:
    job, error = outcome.job, outcome.error
    if outcome.analysis is not None:
        stages = set(job.stages) | ({Stage.FACES} if Stage.EMOTIONS in job.stages else set())
        store.save(replace(job, stages=frozenset(stages)), versions, outcome.analysis)
        return
    assert error is not None
    if error.failure is Failure.STOP:
        if str(error) not in problems:
            problems.append(str(error))
    elif error.failure is Failure.RETRY:
        busy.append(str(error))  # nothing stored: the photo stays pending
    elif error.failure is Failure.MISSING:
        # Forget the upload, so that the next run puts the analysis copy there again.
        uploads.forget_analysis_copy(store.db, job.sha256)
        busy.append(str(error))
    else:
        store.save_failure(job, versions, str(error), keep_results=True)


def compare(
    project: Project,
    settings: CloudSettings,
    on_photo: Callable[[PhotoComparison], None] | None = None,
    cancel: threading.Event | None = None,
    analyzer: CloudAnalyzer | None = None,
) -> ComparisonReport:
    """The parity report: photos are uploaded when needed, then compared one by one."""
    collection = collection_id(project)
    uploads.ensure_bucket(settings)
    sent = uploads.upload_book(project, settings, cancel=cancel)
    failed = dict(sent.failed)
    cloud = analyzer or CloudAnalyzer(settings, collection)

    def cloud_side(path: str, sha256: str) -> PhotoAnalysis:
        if path in failed:
            raise CompareError(f"not uploaded: {failed[path]}")
        try:
            return cloud.analyze(uploads.analysis_key(settings, sha256), sha256, _COMPARED, [], index=False)
        except RekognitionError as exc:
            raise CompareError(str(exc)) from None

    versions = rekognition.stage_versions(collection, QUALITY_VERSION)
    return compare_book(project, cloud_side, versions, on_photo, cancel)
