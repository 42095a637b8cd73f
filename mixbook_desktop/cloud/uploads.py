"""A book's photos in S3: every original, and an upright JPEG sized for Rekognition, under keys
made from the photo's SHA-256, so a photo is sent once whatever book or machine it comes from.

What is in the bucket is remembered in the book (`cloud_objects`) and checked with HeadObject
before anything is sent. Large originals go up in parts whose upload id is committed to the book
(`cloud_multipart`) before the first part, so a run killed half-way (the app, or the server)
is resumed by the next one: only the parts S3 does not hold are sent again.

Network work runs on a few threads; every write to the book happens on the calling thread,
which also calls the callbacks (SQLite connections stay on the thread that made them).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import math
import os
import queue
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from mixbook_desktop.cloud import aws
from mixbook_desktop.cloud.analysis_copy import ANALYSIS_MAX_BYTES, MiB, NotAnalysable, analysis_copy
from mixbook_desktop.cloud.config import CloudError, CloudSettings
from mixbook_desktop.store.project import Project

# S3's floor for every part but the last, and its ceiling on the number of parts.
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000
DEFAULT_PART_SIZE = 8 * MiB
DEFAULT_ATTEMPTS = 4
DEFAULT_WORKERS = 3
_BACKOFF_CAP_S = 30.0

Kind = Literal["original", "analysis"]

_CHANGED = "the file changed since it was imported; import it again"
_MISSING = "original file not found (moved or deleted? use `relink`)"

# Errors no retry can mend: going on would only repeat them for every photo.
_FATAL_HINTS = {
    "InvalidAccessKeyId": "S3 does not know this access key",
    "SignatureDoesNotMatch": "S3 refused the secret key",
    "AccessDenied": "these credentials may not write to bucket {bucket!r}",
    "AllAccessDisabled": "all access to bucket {bucket!r} is disabled",
    "AccountProblem": "the AWS account cannot be used",
    "InvalidToken": "the session token is not valid",
    "ExpiredToken": "the session token has expired",
    "TokenRefreshRequired": "the session token has expired",
    "RequestTimeTooSkewed": "this computer's clock is off; set it right",
    "NoSuchBucket": "bucket {bucket!r} does not exist (create it, or check its name)",
    "InvalidBucketName": "bucket {bucket!r} is not a valid name",
    "PermanentRedirect": "bucket {bucket!r} is in another region than the one set",
    "AuthorizationHeaderMalformed": "bucket {bucket!r} is in another region than the one set",
}

_FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "MPO": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "HEIF": ("heic", "image/heic"),
    "AVIF": ("avif", "image/avif"),
    "WEBP": ("webp", "image/webp"),
    "TIFF": ("tif", "image/tiff"),
    "GIF": ("gif", "image/gif"),
    "BMP": ("bmp", "image/bmp"),
}


class UploadStopped(CloudError):
    """An error no retry can mend stopped the run; `report` holds what was done before."""

    def __init__(self, message: str, report: UploadReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class UploadedObject:
    path: str
    sha256: str  # of the photo (for an analysis copy: of the photo it was made from)
    key: str
    kind: Kind
    size: int


@dataclass(frozen=True)
class PhotoUpload:
    """One photo's outcome, given to `on_photo`."""

    path: str
    sha256: str
    sent: tuple[str, ...]  # keys uploaded by this run
    skipped: int  # objects already in the bucket
    error: str | None


@dataclass
class UploadReport:
    uploaded: list[UploadedObject] = field(default_factory=list)  # objects this run sent
    skipped: int = 0  # objects found in the bucket already
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    bytes_sent: int = 0
    cancelled: bool = False


ProgressCallback = Callable[[int, int], None]
PhotoCallback = Callable[[PhotoUpload], None]


# --- keys -------------------------------------------------------------------------------------


def _check_sha(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a lower-case hex SHA-256: {sha256!r}")
    return sha256


def _under_prefix(settings: CloudSettings, *parts: str) -> str:
    return "/".join(p for p in (settings.prefix.strip("/"), *parts) if p)


def original_extension(fmt: str) -> str:
    """The file extension an original of this format (as stored in `photos.format`) gets in S3.
    It comes from the content, not the file name, so the same bytes always get the same key."""
    known = _FORMATS.get(fmt.upper())
    if known:
        return known[0]
    return "".join(c for c in fmt.lower() if c.isalnum()) or "bin"


def _content_type(fmt: str) -> str:
    known = _FORMATS.get(fmt.upper())
    return known[1] if known else "application/octet-stream"


def original_key(settings: CloudSettings, sha256: str, ext: str) -> str:
    return _under_prefix(settings, "originals", f"{_check_sha(sha256)}.{ext.lower().lstrip('.')}")


def analysis_key(settings: CloudSettings, sha256: str) -> str:
    return _under_prefix(settings, "analysis", f"{_check_sha(sha256)}.jpg")


# --- messages between the upload threads and the calling thread -------------------------------


@dataclass(frozen=True)
class _Progress:
    done: int  # bytes of the book's originals now accounted for (sent, or found in the bucket)
    sent: int  # bytes that went over the wire


@dataclass(frozen=True)
class _Stored:
    obj: UploadedObject
    sent: bool
    multipart_done: bool = False


@dataclass(frozen=True)
class _Gone:
    key: str  # the book thought this key was in the bucket; it is not


@dataclass(frozen=True)
class _Started:
    key: str
    upload_id: str
    part_size: int
    saved: threading.Event


@dataclass(frozen=True)
class _Abandoned:
    key: str  # a multipart upload S3 no longer has, or that was given up


@dataclass(frozen=True)
class _Finished:
    outcome: PhotoUpload
    uncounted: int  # bytes of its original never reported as done
    halted: bool = False
    fatal: str | None = None


_Message = _Progress | _Stored | _Gone | _Started | _Abandoned | _Finished


class _Halted(Exception):
    """The run is stopping (cancelled, or a fatal error met elsewhere)."""


class _Fatal(Exception):
    pass


class _PhotoFailed(Exception):
    pass


class _NoSuchUpload(Exception):
    pass


@dataclass(frozen=True)
class _MultipartRow:
    upload_id: str
    part_size: int


@dataclass(frozen=True)
class _Job:
    path: str
    sha256: str
    size: int
    content_type: str
    original_key: str
    analysis_key: str
    known: dict[str, int]  # size by key, for what the book records of this photo's two keys
    multipart: _MultipartRow | None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _unreachable(exc: Exception, attempts: int) -> str:
    url = getattr(exc, "kwargs", {}).get("endpoint_url")
    parts = urlsplit(str(url)) if url else None
    where = f"{parts.scheme}://{parts.netloc}" if parts and parts.netloc else "S3"
    tries = f"{attempts} attempts" if attempts > 1 else "1 attempt"
    return f"cannot reach {where} ({type(exc).__name__}); gave up after {tries}"


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


@dataclass
class _Run:
    client: Any
    bucket: str
    attempts: int
    backoff: float
    part_size: int
    halt: threading.Event  # set: stop before the next request
    closing: threading.Event  # set: the calling thread no longer reads `posts`
    posts: queue.Queue[_Message]
    unreachable: threading.Event = field(default_factory=threading.Event)  # the last photo gave up

    def call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        """One S3 request, tried again with exponential backoff and jitter while the connection
        itself fails. botocore's standard mode already retries throttling, 5xx answers and
        dropped connections within one request, over a few seconds; this spans a longer outage,
        such as a server restarting. Once a photo has given up, the next ones try only once
        until a request goes through again: a server that stays down costs seconds, not
        minutes per photo, and one that comes back is used at once."""
        from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        attempts = 1 if self.unreachable.is_set() else self.attempts
        for attempt in range(1, attempts + 1):
            if self.halt.is_set():
                raise _Halted
            try:
                answer = method(**kwargs)
            except (BotoConnectionError, HTTPClientError) as exc:
                if attempt == attempts:
                    self.unreachable.set()
                    raise _PhotoFailed(_unreachable(exc, attempts)) from None
                delay = min(_BACKOFF_CAP_S, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                if self.halt.wait(delay):
                    raise _Halted from None
            except NoCredentialsError:
                raise _Fatal("no AWS credentials") from None
            except ClientError as exc:
                self.unreachable.clear()
                code = aws.error_code(exc) or ""
                if code in _FATAL_HINTS:
                    hint = _FATAL_HINTS[code].format(bucket=self.bucket)
                    raise _Fatal(f"{hint} ({aws.describe(exc)})") from None
                raise
            else:
                self.unreachable.clear()
                return answer
        raise AssertionError("unreachable: attempts >= 1")


# --- one photo, on an upload thread ------------------------------------------------------------


class _PhotoTask:
    def __init__(self, run: _Run, job: _Job) -> None:
        self.run = run
        self.job = job
        self.sent: list[str] = []
        self.skipped = 0
        self.counted = 0  # bytes of the original reported as done

    def post(self, message: _Message) -> None:
        self.run.posts.put(message)

    def advance(self, to: int, sent: int = 0) -> None:
        """Progress of the original up to `to` bytes (never backwards: a restarted multipart
        upload does not count its parts twice)."""
        step = max(0, min(to, self.job.size) - self.counted)
        self.counted += step
        if step or sent:
            self.post(_Progress(step, sent))

    def __call__(self) -> None:
        from botocore.exceptions import ClientError

        error: str | None = None
        halted = False
        fatal: str | None = None
        try:
            if self.run.halt.is_set():
                raise _Halted
            self.original()
            self.analysis()
        except _Halted:
            halted = True
        except _Fatal as exc:
            fatal = str(exc)
            # At once, not when the main thread reads the message: another worker would
            # otherwise start its next photo's request with the same refused credentials.
            self.run.halt.set()
        except (_PhotoFailed, NotAnalysable) as exc:
            error = str(exc)
        except ClientError as exc:
            error = aws.describe(exc)
        except FileNotFoundError:
            error = _MISSING
        except OSError as exc:
            error = f"unreadable: {exc.strerror or exc}"
        except Exception as exc:  # one photo's surprise must not end the others' uploads
            error = aws.redact(f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        outcome = PhotoUpload(self.job.path, self.job.sha256, tuple(self.sent), self.skipped, error)
        self.post(_Finished(outcome, self.job.size - self.counted, halted, fatal))

    # Both kinds of object: skip what the bucket holds already.

    def in_bucket(self, key: str, kind: Kind, expected_size: int | None) -> bool:
        from botocore.exceptions import ClientError

        known = self.job.known.get(key)
        try:
            head = self.run.call(self.run.client.head_object, Bucket=self.run.bucket, Key=key)
        except ClientError as exc:
            status = _status(exc) or 0
            if status == 404:
                if known is not None:
                    self.post(_Gone(key))
                return False
            if 400 <= status < 500:
                # HEAD answers carry no error code: a 403 is bad credentials, or a policy
                # without s3:ListBucket (S3 then says 403 for a missing key). The upload's
                # answer names the reason.
                return False
            raise
        size = int(head.get("ContentLength", -1))
        metadata = head.get("Metadata") or {}
        if kind == "original":
            fits = size == expected_size and metadata.get("sha256", self.job.sha256) == self.job.sha256
        else:
            # Another machine's copy of the same photo (its Pillow may encode other bytes) is
            # as good as ours.
            made_from = metadata.get("source-sha256")
            fits = size == known or (made_from == self.job.sha256 and 0 < size <= ANALYSIS_MAX_BYTES)
        if not fits:
            return False
        self.skipped += 1
        if known != size:
            self.post(_Stored(UploadedObject(self.job.path, self.job.sha256, key, kind, size), sent=False))
        return True

    def stored(self, key: str, kind: Kind, size: int, multipart_done: bool = False) -> None:
        self.sent.append(key)
        obj = UploadedObject(self.job.path, self.job.sha256, key, kind, size)
        self.post(_Stored(obj, sent=True, multipart_done=multipart_done))

    # The original.

    def original(self) -> None:
        job = self.job
        size = os.stat(job.path).st_size
        if size != job.size:
            raise _PhotoFailed(_CHANGED)
        if self.in_bucket(job.original_key, "original", size):
            if job.multipart is not None:
                # Another machine finished it, or a kill came after CompleteMultipartUpload
                # and before the book heard of it.
                self.abort_quietly(job.multipart.upload_id)
                self.post(_Abandoned(job.original_key))
            self.advance(size)
            return
        if job.multipart is not None or size > self.run.part_size:
            self.multipart(size)
        else:
            self.single(size)

    def single(self, size: int) -> None:
        job = self.job
        with open(job.path, "rb") as fh:
            data = fh.read()
        digest = hashlib.sha256(data)
        if digest.hexdigest() != job.sha256:
            raise _PhotoFailed(_CHANGED)
        # The checksum is the photo's own hash: S3 refuses the body unless it is exactly the
        # content this key names.
        self.run.call(
            self.run.client.put_object,
            Bucket=self.run.bucket,
            Key=job.original_key,
            Body=data,
            ChecksumSHA256=_b64(digest.digest()),
            ContentType=job.content_type,
            Metadata={"sha256": job.sha256},
        )
        self.stored(job.original_key, "original", size)
        self.advance(size, sent=size)

    def multipart(self, size: int) -> None:
        row = self.job.multipart
        for fresh in (False, True):
            listed: dict[int, dict[str, Any]] = {}
            if row is None or fresh:
                part_size = _part_size_for(size, self.run.part_size)
                upload_id = self.create(part_size)
            else:
                part_size, upload_id = row.part_size, row.upload_id
                try:
                    listed = self.list_parts(upload_id)
                except _NoSuchUpload:
                    # Completed elsewhere, aborted, or expired by a lifecycle rule: start over.
                    self.post(_Abandoned(self.job.original_key))
                    continue
            try:
                self.send_parts(upload_id, part_size, listed, size)
                return
            except _NoSuchUpload:
                self.post(_Abandoned(self.job.original_key))
                # A CompleteMultipartUpload retried after its answer was lost finds no upload.
                if self.in_bucket(self.job.original_key, "original", size):
                    self.advance(size)
                    return
        raise _PhotoFailed("S3 lost the multipart upload twice; try again later")

    def mpu_call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return self.run.call(method, Bucket=self.run.bucket, Key=self.job.original_key, **kwargs)
        except ClientError as exc:
            if aws.error_code(exc) == "NoSuchUpload":
                raise _NoSuchUpload from None
            raise

    def create(self, part_size: int) -> str:
        answer = self.run.call(
            self.run.client.create_multipart_upload,
            Bucket=self.run.bucket,
            Key=self.job.original_key,
            ContentType=self.job.content_type,
            Metadata={"sha256": self.job.sha256},
            ChecksumAlgorithm="SHA256",
        )
        upload_id = str(answer["UploadId"])
        saved = threading.Event()
        self.post(_Started(self.job.original_key, upload_id, part_size, saved))
        # No part goes up before the id is in the book: otherwise a kill would leave parts no
        # later run can find.
        while not saved.wait(0.1):
            if self.run.closing.is_set():
                self.abort_quietly(upload_id)
                raise _Halted
        return upload_id

    def abort_quietly(self, upload_id: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        # An upload left behind is removed by S3's lifecycle rules, or resumed.
        with contextlib.suppress(BotoCoreError, ClientError):
            self.run.client.abort_multipart_upload(
                Bucket=self.run.bucket, Key=self.job.original_key, UploadId=upload_id
            )

    def list_parts(self, upload_id: str) -> dict[int, dict[str, Any]]:
        parts: dict[int, dict[str, Any]] = {}
        marker = 0
        while True:
            page = self.mpu_call(
                self.run.client.list_parts, UploadId=upload_id, PartNumberMarker=marker, MaxParts=1000
            )
            for part in page.get("Parts", []):
                parts[int(part["PartNumber"])] = part
            if not page.get("IsTruncated"):
                return parts
            marker = int(page["NextPartNumberMarker"])

    def send_parts(
        self, upload_id: str, part_size: int, listed: dict[int, dict[str, Any]], size: int
    ) -> None:
        job = self.job
        count = max(1, math.ceil(size / part_size))
        whole = hashlib.sha256()
        completed: list[dict[str, Any]] = []
        with open(job.path, "rb") as fh:
            for number in range(1, count + 1):
                if self.run.halt.is_set():
                    raise _Halted  # the upload id stays in the book: the next run resumes
                chunk = fh.read(part_size)
                whole.update(chunk)
                checksum = _b64(hashlib.sha256(chunk).digest())
                have = listed.get(number)
                if have is not None and _same_part(have, chunk, checksum):
                    etag = str(have["ETag"])
                    sent = 0
                else:
                    answer = self.mpu_call(
                        self.run.client.upload_part,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                        ChecksumSHA256=checksum,
                    )
                    etag = str(answer["ETag"])
                    sent = len(chunk)
                completed.append({"PartNumber": number, "ETag": etag, "ChecksumSHA256": checksum})
                self.advance(min(size, number * part_size), sent=sent)
        if whole.hexdigest() != job.sha256:
            self.abort_quietly(upload_id)
            self.post(_Abandoned(job.original_key))
            raise _PhotoFailed(_CHANGED)
        self.mpu_call(
            self.run.client.complete_multipart_upload,
            UploadId=upload_id,
            MultipartUpload={"Parts": completed},
        )
        self.stored(job.original_key, "original", size, multipart_done=True)

    # The analysis copy.

    def analysis(self) -> None:
        job = self.job
        if self.in_bucket(job.analysis_key, "analysis", None):
            return
        data = analysis_copy(job.path, job.sha256)
        self.run.call(
            self.run.client.put_object,
            Bucket=self.run.bucket,
            Key=job.analysis_key,
            Body=data,
            ChecksumSHA256=_b64(hashlib.sha256(data).digest()),
            ContentType="image/jpeg",
            Metadata={"source-sha256": job.sha256},
        )
        self.stored(job.analysis_key, "analysis", len(data))
        self.post(_Progress(0, len(data)))


def _same_part(have: dict[str, Any], chunk: bytes, checksum: str) -> bool:
    """Whether a part S3 already holds is this chunk; when in doubt it is sent again."""
    if int(have.get("Size", -1)) != len(chunk):
        return False
    if have.get("ChecksumSHA256"):
        return str(have["ChecksumSHA256"]) == checksum
    # Without a checksum in the listing, a part's ETag is the MD5 of its bytes (except under
    # SSE-KMS, where the mismatch only costs sending the part again).
    return str(have.get("ETag", "")).strip('"') == hashlib.md5(chunk, usedforsecurity=False).hexdigest()


def _part_size_for(size: int, wanted: int) -> int:
    smallest = math.ceil(size / MAX_PARTS)
    return max(wanted, math.ceil(smallest / MiB) * MiB)


# --- the run, on the calling thread ------------------------------------------------------------


def _jobs(project: Project, settings: CloudSettings, bucket: str) -> list[_Job]:
    db = project.db
    known = {
        r["key"]: int(r["size"])
        for r in db.query("SELECT key, size FROM cloud_objects WHERE bucket = ?", [bucket])
    }
    in_flight = {
        r["key"]: _MultipartRow(r["upload_id"], int(r["part_size"]))
        for r in db.query("SELECT key, upload_id, part_size FROM cloud_multipart WHERE bucket = ?", [bucket])
    }
    jobs: dict[str, _Job] = {}
    rows = db.query(
        "SELECT p.sha256, p.format, f.path, f.size FROM photos p "
        "JOIN files f ON f.photo_id = p.id AND f.status = 'ok' ORDER BY p.id"
    )
    for r in rows:
        sha = str(r["sha256"])
        if sha in jobs:
            continue
        original = original_key(settings, sha, original_extension(str(r["format"])))
        analysis = analysis_key(settings, sha)
        jobs[sha] = _Job(
            path=str(r["path"]),
            sha256=sha,
            size=int(r["size"]),
            content_type=_content_type(str(r["format"])),
            original_key=original,
            analysis_key=analysis,
            known={k: known[k] for k in (original, analysis) if k in known},
            multipart=in_flight.get(original),
        )
    return list(jobs.values())


class _Book:
    """The book's side of a run: every write to the project file, on the calling thread."""

    def __init__(self, project: Project, bucket: str) -> None:
        self.db = project.db
        self.bucket = bucket

    def stored(self, message: _Stored) -> None:
        obj = message.obj
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO cloud_objects (bucket, key, sha256, kind, size, uploaded_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (bucket, key) DO UPDATE SET "
                "sha256 = excluded.sha256, kind = excluded.kind, size = excluded.size, "
                "uploaded_at = excluded.uploaded_at",
                [self.bucket, obj.key, obj.sha256, obj.kind, obj.size, _now()],
            )
            if message.multipart_done:
                self.forget_multipart(obj.key)

    def gone(self, key: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM cloud_objects WHERE bucket = ? AND key = ?", [self.bucket, key])

    def started(self, message: _Started) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT OR REPLACE INTO cloud_multipart (bucket, key, upload_id, part_size, started_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [self.bucket, message.key, message.upload_id, message.part_size, _now()],
            )

    def forget_multipart(self, key: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM cloud_multipart WHERE bucket = ? AND key = ?", [self.bucket, key])


def upload_book(
    project: Project,
    settings: CloudSettings,
    client: Any = None,
    on_photo: PhotoCallback | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    attempts: int = DEFAULT_ATTEMPTS,
    workers: int = DEFAULT_WORKERS,
    backoff: float = 1.0,
    only: set[str] | None = None,
) -> UploadReport:
    """Upload every photo of the book (original and analysis copy) to `settings.bucket`, or
    only the photos whose SHA-256 is in `only`.

    A photo that cannot be uploaded (file gone or changed, too small to analyse, server
    unreachable after `attempts` tries) is listed in `failed` and the others go on. An error
    that would repeat for every photo (credentials refused, no such bucket) raises
    UploadStopped at once. `on_progress(done, total)` counts the originals' bytes, sent or found
    in the bucket; callbacks are called on this thread. Originals larger than `part_size` go up
    in parts of that size; `backoff` is the first wait in seconds before trying a dropped
    connection again (doubling, with jitter).
    """
    if not settings.bucket:
        raise CloudError("no S3 bucket set (cloud --bucket NAME)")
    if part_size < MIN_PART_SIZE:
        raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
    if attempts < 1 or workers < 1:
        raise ValueError("attempts and workers must be at least 1")
    bucket = settings.bucket
    jobs = [j for j in _jobs(project, settings, bucket) if only is None or j.sha256 in only]
    report = UploadReport()
    if not jobs:
        return report
    client = client if client is not None else aws.client(settings, "s3")
    run = _Run(
        client=client,
        bucket=bucket,
        attempts=attempts,
        backoff=backoff,
        part_size=part_size,
        halt=threading.Event(),
        closing=threading.Event(),
        posts=queue.Queue(),
    )
    book = _Book(project, bucket)
    total = sum(job.size for job in jobs)
    done = 0
    fatal: str | None = None

    def progress(step: int) -> None:
        nonlocal done
        done += step
        if on_progress is not None:
            on_progress(done, total)

    def handle(message: _Message) -> None:
        nonlocal fatal
        if isinstance(message, _Progress):
            report.bytes_sent += message.sent
            if message.done:
                progress(message.done)
        elif isinstance(message, _Stored):
            book.stored(message)
            if message.sent:
                report.uploaded.append(message.obj)
        elif isinstance(message, _Gone):
            book.gone(message.key)
        elif isinstance(message, _Started):
            book.started(message)
            message.saved.set()
        elif isinstance(message, _Abandoned):
            book.forget_multipart(message.key)
        elif message.fatal is not None:
            if fatal is None:
                fatal = message.fatal
            run.halt.set()
        else:
            report.skipped += message.outcome.skipped
            if message.halted:
                return
            if message.outcome.error is not None:
                report.failed.append((message.outcome.path, message.outcome.error))
                progress(message.uncounted)
            if on_photo is not None:
                on_photo(message.outcome)

    with ThreadPoolExecutor(max_workers=min(workers, len(jobs)), thread_name_prefix="s3-upload") as pool:
        futures = [pool.submit(_PhotoTask(run, job)) for job in jobs]
        try:
            while True:
                if cancel is not None and cancel.is_set() and not run.halt.is_set():
                    run.halt.set()
                    report.cancelled = True
                try:
                    message = run.posts.get(timeout=0.05)
                except queue.Empty:
                    if all(f.done() for f in futures) and run.posts.empty():
                        break
                    continue
                handle(message)
        except BaseException:
            run.halt.set()
            raise
        finally:
            run.closing.set()
    for future in futures:
        future.result()  # a bug in a task surfaces here rather than vanishing
    if fatal is not None:
        raise UploadStopped(fatal, report)
    return report


def forget_analysis_copy(db: Any, sha256: str) -> None:
    """Forget that this photo's analysis copy is in S3 (Rekognition found no object there), so
    that the next upload checks the bucket and puts it there again. `db` is the project's."""
    with db.atomic():
        db.execute("DELETE FROM cloud_objects WHERE sha256 = ? AND kind = 'analysis'", [sha256])


# --- the bucket itself ---------------------------------------------------------------------------


def presigned_url(settings: CloudSettings, key: str, seconds: int = 3600, client: Any = None) -> str:
    """A SigV4 URL anyone holding it can GET the object with, for `seconds` (at most 7 days)."""
    if not settings.bucket:
        raise CloudError("no S3 bucket set (cloud --bucket NAME)")
    if not 1 <= seconds <= 7 * 24 * 3600:
        raise CloudError("a presigned URL lasts from 1 second to 7 days")
    client = client if client is not None else aws.client(settings, "s3")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": settings.bucket, "Key": key}, ExpiresIn=seconds
    )
    return str(url)


def ensure_bucket(settings: CloudSettings, client: Any = None) -> bool:
    """Create the book's bucket unless it exists; True if it was created. Raises CloudError
    with the reason when it cannot be seen or made with these credentials."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = settings.bucket
    if not bucket:
        raise CloudError("no S3 bucket set (cloud --bucket NAME)")
    client = client if client is not None else aws.client(settings, "s3")
    try:
        client.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if _status(exc) not in (403, 404):
            raise CloudError(f"bucket {bucket!r}: {aws.describe(exc)}") from None
        # 403 says nothing more (HEAD answers have no body); CreateBucket's answer names the
        # reason: credentials refused, not allowed, or a bucket of someone else's.
    except BotoCoreError as exc:
        raise CloudError(f"bucket {bucket!r}: {aws.describe(exc)}") from None
    options: dict[str, Any] = {"Bucket": bucket}
    if settings.region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
    try:
        client.create_bucket(**options)
        return True
    except ClientError as exc:
        code = aws.error_code(exc)
        if code == "BucketAlreadyOwnedByYou":
            return False
        if code == "BucketAlreadyExists":
            raise CloudError(f"bucket {bucket!r} belongs to another account; choose another name") from None
        if code == "AccessDenied":
            raise CloudError(
                f"bucket {bucket!r}: these credentials may neither see nor create it ({aws.describe(exc)})"
            ) from None
        hint = _FATAL_HINTS.get(code or "", "cannot create it").format(bucket=bucket)
        raise CloudError(f"bucket {bucket!r}: {hint} ({aws.describe(exc)})") from None
    except BotoCoreError as exc:
        raise CloudError(f"bucket {bucket!r}: {aws.describe(exc)}") from None
