"""Import: files and folders in, one committed record per file out, resumable at any point."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from mixbook_desktop.core.photo import FileProbe, FileStatus
from mixbook_desktop.library.decode import probe_file
from mixbook_desktop.library.places import PlaceNamer
from mixbook_desktop.library.scan import ScanStats, find_files
from mixbook_desktop.services.worker_pool import WorkerPool, default_workers
from mixbook_desktop.store.photos import PhotoStore
from mixbook_desktop.store.project import Project

# Per-file ceiling on decoding; the worst honest file here (a 12 MP HEIF) takes 0.3 s.
DECODE_TIMEOUT_S = 10.0
_PRELOAD_PLACES_FROM = 20


class Change(StrEnum):
    NEW = "new"  # first time this content is in the project
    UNCHANGED = "unchanged"  # already imported from this path, nothing to do
    RELINKED = "relinked"  # known content found at a new path; the project now points here
    DUPLICATE = "duplicate"  # same content as a photo already in the project
    ERROR = "error"


@dataclass(frozen=True)
class ImportResult:
    path: str
    status: FileStatus
    change: Change
    detail: str | None = None  # the error, or what the duplicate/relink refers to


@dataclass
class ImportReport:
    results: list[ImportResult] = field(default_factory=list)
    skipped: int = 0
    cancelled: bool = False

    def count(self, change: Change) -> int:
        return Counter(r.change for r in self.results)[change]


ResultCallback = Callable[[ImportResult], None]


def _unchanged(path: str, store: PhotoStore) -> ImportResult | None:
    known = store.file_at(path)
    if known is None or known.status is FileStatus.ERROR:
        return None  # errors are retried: the file may have been repaired, or a load was transient
    try:
        st = os.stat(path)
    except OSError:
        return None
    if (st.st_size, st.st_mtime_ns) != (known.size, known.mtime_ns):
        return None
    return ImportResult(path, known.status, Change.UNCHANGED)


def _commit(probe: FileProbe, store: PhotoStore, places: PlaceNamer) -> ImportResult:
    if probe.error is not None or probe.photo is None or probe.sha256 is None:
        store.add_error(probe)
        return ImportResult(probe.path, FileStatus.ERROR, Change.ERROR, probe.error)
    known = store.photo_with_sha(probe.sha256)
    if known is None:
        gps = probe.photo.exif.gps
        place = places.name(gps.lat, gps.lon) if gps else None
        store.add_photo(probe, place)
        return ImportResult(probe.path, FileStatus.OK, Change.NEW)
    if known.path == probe.path:
        # Same bytes, new mtime (touched or copied back): just refresh the stamp.
        store.relink(probe.path, probe.path, probe.size, probe.mtime_ns)
        return ImportResult(probe.path, FileStatus.OK, Change.UNCHANGED)
    if known.path is None:
        # No file stands for the photo any more (its file was replaced by other content and
        # imported as such): this one becomes its original again.
        store.attach(probe, known.id)
        return ImportResult(probe.path, FileStatus.OK, Change.RELINKED)
    if not os.path.exists(known.path):
        store.relink(known.path, probe.path, probe.size, probe.mtime_ns)
        return ImportResult(probe.path, FileStatus.OK, Change.RELINKED, known.path)
    store.add_duplicate(probe, known.id)
    return ImportResult(probe.path, FileStatus.DUPLICATE, Change.DUPLICATE, known.path)


def import_paths(
    project: Project,
    paths: Iterable[str],
    on_result: ResultCallback | None = None,
    on_total: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
    places: PlaceNamer | None = None,
    timeout: float = DECODE_TIMEOUT_S,
) -> ImportReport:
    """Import files and folders (recursively) into `project`.

    Every file yields exactly one result, committed before the next one, so a kill at any
    moment keeps everything reported so far and a second run picks up where this one stopped.
    """
    store = PhotoStore(project)
    places = places or PlaceNamer()
    stats = ScanStats()
    found = list(find_files(paths, stats))
    # A folder that could not be read before and can now is no longer an error.
    store.forget_errors(stats.folders)
    report = ImportReport(skipped=stats.skipped)
    if on_total:
        on_total(len(found))

    def emit(result: ImportResult) -> None:
        report.results.append(result)
        if on_result:
            on_result(result)

    to_probe: list[str] = []
    for item in found:
        if item.error is not None:
            probe = FileProbe.failed(item.path, item.error)
            emit(_commit(probe, store, places))
        elif (same := _unchanged(item.path, store)) is not None:
            emit(same)
        else:
            to_probe.append(item.path)
    if not to_probe:
        return report
    if len(to_probe) >= _PRELOAD_PLACES_FROM:
        # Loading the city table takes the main process ~0.5 s, which it would otherwise
        # spend waiting for the decoders; small imports pay it only if they meet GPS.
        places.preload()

    def failed(path: str, reason: str) -> FileProbe:
        try:
            st = os.stat(path)
            return FileProbe.failed(path, reason, st.st_size, st.st_mtime_ns)
        except OSError:
            return FileProbe.failed(path, reason)

    pool: WorkerPool[str, FileProbe] = WorkerPool(
        probe_file, failed, workers=min(workers or default_workers(), len(to_probe)), timeout=timeout
    )
    with pool:
        for probe in pool.map(to_probe):
            emit(_commit(probe, store, places))
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
    return report
