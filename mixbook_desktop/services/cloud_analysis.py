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
from mixbook_desktop.cloud import aws, config, rekognition, uploads
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
    """A photo's result; neither analysis nor error when the run stopped before it was done."""

    job: PhotoToAnalyze
    analysis: PhotoAnalysis | None
    error: RekognitionError | None
    forgotten: tuple[str, ...] = ()  # collection ids taken out before its faces went in again


def _local_quality(job: PhotoToAnalyze, result: PhotoAnalysis) -> None:
    # Quality and the perceptual hash for duplicates are measured here: Rekognition has neither,
    # and they need no model.
    try:
        image, size = open_for_analysis(job.path, job.sha256, ANALYSIS_SIDE)
        result.quality = assess(image, size)
    except BadImage as bad:
        result.errors[Stage.QUALITY] = str(bad)


def _analyze_one(
    analyzer: CloudAnalyzer,
    settings: CloudSettings,
    job: PhotoToAnalyze,
    old_cloud_ids: list[str],
    stop: threading.Event,
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
                if stop.wait(_BACKOFF_S * 2**attempt):
                    return CloudOutcome(job, None, None)
    if Stage.QUALITY in stages:
        _local_quality(job, result)
    forgotten = tuple(old_cloud_ids) if Stage.FACES in cloud_stages else ()
    return CloudOutcome(job, result, None, forgotten)


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
    after it is stored (analysis None and a reason when it failed). Returns what stopped or
    shortened the run, one line each (a photo's own failure is told through `on_job`); a
    cancel is not a problem, and the caller's `cancel` is only ever read."""
    cancel = cancel or threading.Event()
    store = AnalysisStore(project)
    collection = collection_id(project)
    versions = rekognition.stage_versions(collection, QUALITY_VERSION)
    jobs = store.pending(versions)
    if on_total:
        on_total(len(jobs))
    if not jobs:
        return []
    try:
        s3 = aws.client(settings, "s3")  # one client: each one made loads botocore's models again
        uploads.ensure_bucket(settings, s3)
        analyzer = analyzer or CloudAnalyzer(settings, collection)
        analyzer.ensure_collection()
    except RekognitionError as exc:
        if exc.failure is Failure.RETRY:
            return [f"{exc}; all {len(jobs)} photos were left for the next run"]
        return [str(exc)]
    except CloudError as exc:
        return [str(exc)]
    run = _Run(store, versions, analyzer, settings, on_job, cancel)
    todo, missing = jobs, []
    # A copy missing from S3 (deleted since it was uploaded) is uploaded again and its photo
    # tried once more in the same run.
    for _round in range(2):
        try:
            only = {j.sha256 for j in todo}
            sent = uploads.upload_book(project, settings, s3, on_progress=on_upload, cancel=cancel, only=only)
        except CloudError as exc:
            return [*run.problems, str(exc)]
        failed = dict(sent.failed)
        for job in todo:
            if job.path in failed:
                run.not_uploaded(job, failed[job.path])
        if sent.cancelled or run.halted():
            break
        missing = run.analyze([j for j in todo if j.path not in failed])
        if not missing or run.halted():
            break
        todo = missing
    if missing and not cancel.is_set():
        run.busy += [f"{j.path}: the analysis copy is not in S3" for j in missing]
    if run.busy:
        run.problems.append(f"{run.busy[0]}; {len(run.busy)} photos were left for the next run")
    return run.problems


class _Run:
    """One cloud analysis: photos in flight on a few threads, results stored on this one."""

    def __init__(
        self,
        store: AnalysisStore,
        versions: dict[Stage, str],
        analyzer: CloudAnalyzer,
        settings: CloudSettings,
        on_job: Callable[[PhotoToAnalyze, PhotoAnalysis | None, str | None], None],
        cancel: threading.Event,
    ) -> None:
        self.store, self.versions, self.analyzer, self.settings = store, versions, analyzer, settings
        self.on_job, self.cancel = on_job, cancel
        self.embedder = versions[Stage.FACES]
        # Set by the user's cancel or by a failure that ends the run; never the caller's event,
        # so that a stop for refused credentials is not taken for the user's cancel.
        self.stop = threading.Event()
        self.problems: list[str] = []  # what stopped the run
        self.busy: list[str] = []  # photos left pending for the next run

    def halted(self) -> bool:
        if self.cancel.is_set():
            self.stop.set()
        return self.stop.is_set()

    def not_uploaded(self, job: PhotoToAnalyze, reason: str) -> None:
        """A photo that never reached S3 (too small for Rekognition, unreadable, the server
        away): its local quality is still measured and the cloud stages say why, without
        taking away results from before; the next run tries again."""
        why = f"not uploaded: {reason}"
        if Stage.QUALITY in job.stages:
            result = PhotoAnalysis()
            _local_quality(job, result)
            self.store.save(replace(job, stages=frozenset({Stage.QUALITY})), self.versions, result)
        cloud = replace(job, stages=frozenset(job.stages - {Stage.QUALITY}))
        if cloud.stages:
            self.store.save_failure(cloud, self.versions, why, keep_results=True)
        self.on_job(job, None, why)

    def analyze(self, jobs: list[PhotoToAnalyze]) -> list[PhotoToAnalyze]:
        """Analyse `jobs`; returns those whose analysis copy S3 did not have."""
        old_ids = {job.photo_id: self.store.indexed_ids(job.sha256, self.embedder) for job in jobs}
        missing: list[PhotoToAnalyze] = []
        queue = list(reversed(jobs))
        with ThreadPoolExecutor(CLOUD_THREADS, thread_name_prefix="rekognition") as pool:
            pending: set[Future[CloudOutcome]] = set()

            def fill() -> None:
                while queue and len(pending) < CLOUD_THREADS * 2 and not self.halted():
                    job = queue.pop()
                    args = (self.analyzer, self.settings, job, old_ids[job.photo_id], self.stop)
                    pending.add(pool.submit(_analyze_one, *args))

            fill()
            while pending:
                # Woken now and then to notice the user's cancel while photos back off.
                finished, _ = wait(pending, timeout=0.25, return_when="FIRST_COMPLETED")
                for future in finished:
                    pending.discard(future)
                    outcome = future.result()
                    if outcome.error is not None and outcome.error.failure is Failure.MISSING:
                        uploads.forget_analysis_copy(self.store.db, outcome.job.sha256)
                        missing.append(outcome.job)
                        continue
                    self._store(outcome)
                fill()
        return missing

    def _store(self, outcome: CloudOutcome) -> None:
        job, error, found = outcome.job, outcome.error, outcome.analysis
        if found is not None:
            stages = set(job.stages) | ({Stage.FACES} if Stage.EMOTIONS in job.stages else set())
            self.store.save(replace(job, stages=frozenset(stages)), self.versions, found)
            kept = {f.cloud_id for f in found.faces or [] if f.cloud_id}
            self.store.forget_indexed(self.embedder, [i for i in outcome.forgotten if i not in kept])
        elif error is None:
            return  # stopped before it was done: nothing to store, the photo stays pending
        elif error.failure is Failure.STOP:
            # The run's failure, not the photo's: said once, in the problems.
            if str(error) not in self.problems:
                self.problems.append(str(error))
            self.stop.set()
            return
        elif error.failure is Failure.RETRY:
            self.busy.append(str(error))  # nothing stored: the photo stays pending
            return
        else:
            self.store.save_failure(job, self.versions, str(error), keep_results=True)
        self.on_job(job, found, str(error) if error is not None else None)


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
