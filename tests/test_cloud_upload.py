"""Uploading a book to S3, against a real S3 server (SeaweedFS) on 127.0.0.1: content-addressed
keys, analysis copies Rekognition accepts, multipart uploads resumed after the server or the
uploading process is SIGKILLed, credentials refused, and presigned URLs."""

from __future__ import annotations

import hashlib
import io
import os
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from mixbook_desktop.cloud import aws
from mixbook_desktop.cloud.analysis_copy import ANALYSIS_MAX_SIDE, analysis_copy
from mixbook_desktop.cloud.config import CloudError, CloudSettings
from mixbook_desktop.cloud.uploads import (
    PhotoUpload,
    UploadReport,
    UploadStopped,
    analysis_key,
    ensure_bucket,
    forget_analysis_copy,
    original_extension,
    original_key,
    presigned_url,
    upload_book,
)
from mixbook_desktop.services.importer import import_paths
from mixbook_desktop.store.project import Project
from tests.cloud_support import ACCESS_KEY, SECRET_KEY, aws_environment, cloud_settings, unique_bucket
from tests.conftest import DEMO_PHOTOS, FIXTURE_PHOTOS, ROOT, demo_subset
from tests.support.seaweed import SeaweedServer, seaweed

PART = 5 << 20  # S3's smallest part: a multipart upload of a modest file
FAST = {"attempts": 2, "backoff": 0.05}  # a dead server is given up on quickly


def s3_client(settings: CloudSettings) -> Any:
    """The app's own client, without botocore's retries (the code's own are under test)."""
    return aws.client(
        settings,
        "s3",
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=2,
        read_timeout=30,
    )


def count_calls(client: Any) -> Counter[str]:
    calls: Counter[str] = Counter()

    def seen(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.s3", seen)
    return calls


def import_book(book: Path, *paths: Path) -> Path:
    with Project.open(book, create=True) as project:
        import_paths(project, [str(p) for p in paths], workers=2)
    return book


def sha_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def objects(server: SeaweedServer, bucket: str) -> dict[str, int]:
    listed = server.client().list_objects_v2(Bucket=bucket)
    return {o["Key"]: o["Size"] for o in listed.get("Contents", [])}


def body(server: SeaweedServer, bucket: str, key: str) -> bytes:
    return bytes(server.client().get_object(Bucket=bucket, Key=key)["Body"].read())


def photos_of(book: Path) -> list[dict[str, Any]]:
    with Project.open(book) as project:
        return list(
            project.db.query(
                "SELECT p.sha256, p.format, p.width, p.height, f.path FROM photos p "
                "JOIN files f ON f.photo_id = p.id AND f.status = 'ok'"
            )
        )


def table(book: Path, name: str) -> list[dict[str, Any]]:
    with Project.open(book) as project:
        return list(project.db.query(f"SELECT * FROM {name}"))


def upload(book: Path, settings: CloudSettings, client: Any = None, **options: Any) -> UploadReport:
    with Project.open(book) as project:
        return upload_book(project, settings, client=client or s3_client(settings), **options)


def noisy_jpeg(path: Path, size: tuple[int, int], seed: int = 7) -> Path:
    """Noise at quality 100 does not compress: a real JPEG of about 4 bytes a pixel."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=100, subsampling=0)
    return path


@pytest.fixture(scope="module")
def module_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        aws_environment(patch, tmp_path_factory.mktemp("aws"))
        yield


@pytest.fixture(scope="module")
def demo_import(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo photos imported once; tests that change a book work on a copy."""
    return import_book(tmp_path_factory.mktemp("demo") / "demo.mbook", DEMO_PHOTOS)


@pytest.fixture(scope="module")
def uploaded_demo(
    module_env: None, s3_server: SeaweedServer, demo_import: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, CloudSettings, UploadReport, list[tuple[int, int]], list[PhotoUpload]]:
    book = tmp_path_factory.mktemp("uploaded") / "demo.mbook"
    shutil.copy(demo_import, book)
    settings = cloud_settings(s3_server.endpoint, unique_bucket("demo"))
    assert ensure_bucket(settings, s3_client(settings)) is True
    progress: list[tuple[int, int]] = []
    done: list[PhotoUpload] = []
    report = upload(book, settings, on_progress=lambda d, t: progress.append((d, t)), on_photo=done.append)
    return book, settings, report, progress, done


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 17 MiB: four parts of 5 MiB."""
    path = noisy_jpeg(tmp_path_factory.mktemp("big") / "big.jpg", (2000, 2250))
    assert 3 * PART < path.stat().st_size < 4 * PART
    return path


# --- keys and the analysis copy -----------------------------------------------------------------


def test_keys_are_content_addressed_under_the_prefix() -> None:
    sha = "ab" * 32
    settings = CloudSettings(bucket="b-1", prefix="books/2024/")
    assert original_key(settings, sha, "JPG") == f"books/2024/originals/{sha}.jpg"
    assert analysis_key(settings, sha) == f"books/2024/analysis/{sha}.jpg"
    assert original_key(CloudSettings(prefix=""), sha, ".heic") == f"originals/{sha}.heic"
    extensions = {f: original_extension(f) for f in ("JPEG", "MPO", "HEIF", "PNG", "WEBP")}
    assert extensions == {"JPEG": "jpg", "MPO": "jpg", "HEIF": "heic", "PNG": "png", "WEBP": "webp"}
    with pytest.raises(ValueError):
        analysis_key(settings, "../../etc/passwd")


def test_analysis_copy_too_small_corrupt_elongated_and_squeezed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def saved(name: str, image: Image.Image) -> tuple[str, str]:
        path = tmp_path / name
        image.save(path)
        return str(path), sha_of(path.read_bytes())

    small = saved("small.png", Image.new("RGB", (50, 50), "red"))
    with pytest.raises(CloudError, match=r"50x50 px is too small for Rekognition .*80 px"):
        analysis_copy(*small)

    good = (DEMO_PHOTOS / "maxinception__dog.jpg").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(CloudError, match="truncated JPEG"):
        analysis_copy(str(cut), sha_of(cut.read_bytes()))
    with pytest.raises(CloudError, match="changed since it was imported"):
        analysis_copy(str(cut), sha_of(good))

    # Upright: a JPEG stored on its side with EXIF orientation 6 comes out as it is seen.
    sideways = FIXTURE_PHOTOS / "orient__Landscape_6.jpg"
    upright = Image.open(io.BytesIO(analysis_copy(str(sideways), sha_of(sideways.read_bytes()))))
    assert Image.open(sideways).size == (1200, 1800) and upright.size == (1800, 1200)
    seen = ImageOps.exif_transpose(Image.open(sideways)).convert("RGB")
    difference = np.abs(
        np.asarray(upright.resize((90, 60)), dtype=int) - np.asarray(seen.resize((90, 60)), dtype=int)
    )
    assert difference.mean() < 6

    # A strip: the short side stays readable, the long side gives way (within 10000 px).
    strip = saved("strip.png", Image.new("RGB", (8000, 100), "blue"))
    assert Image.open(io.BytesIO(analysis_copy(*strip))).size == (6400, 80)
    too_long = saved("long.png", Image.new("RGB", (20000, 100), "blue"))
    with pytest.raises(CloudError, match="too elongated"):
        analysis_copy(*too_long)

    # Content that stays large: quality goes down (then size) until the limit is met.
    noise = noisy_jpeg(tmp_path / "noise.jpg", (1800, 1200))
    monkeypatch.setattr("mixbook_desktop.cloud.analysis_copy.ANALYSIS_MAX_BYTES", 250_000)
    squeezed = analysis_copy(str(noise), sha_of(noise.read_bytes()))
    assert len(squeezed) <= 250_000
    assert Image.open(io.BytesIO(squeezed)).format == "JPEG"


# --- a whole book ---------------------------------------------------------------------------------


def test_upload_sends_every_original_and_a_rekognition_ready_copy(
    uploaded_demo: tuple[Path, CloudSettings, UploadReport, list[tuple[int, int]], list[PhotoUpload]],
    s3_server: SeaweedServer,
) -> None:
    book, settings, report, progress, done = uploaded_demo
    photos = photos_of(book)
    assert settings.bucket and len(photos) == 16
    assert report.failed == [] and report.skipped == 0 and not report.cancelled
    assert len(report.uploaded) == 2 * len(photos) and len(done) == len(photos)
    stored = objects(s3_server, settings.bucket)
    assert report.bytes_sent == sum(stored.values())
    assert progress[-1][0] == progress[-1][1] == sum(Path(p["path"]).stat().st_size for p in photos)

    client = s3_server.client()
    for photo in photos:
        sha, path = photo["sha256"], Path(photo["path"])
        key = original_key(settings, sha, original_extension(photo["format"]))
        assert stored[key] == path.stat().st_size
        assert sha_of(body(s3_server, settings.bucket, key)) == sha
        assert client.head_object(Bucket=settings.bucket, Key=key)["Metadata"]["sha256"] == sha

        copy = body(s3_server, settings.bucket, analysis_key(settings, sha))
        assert len(copy) < 5 * 2**20
        image = Image.open(io.BytesIO(copy))
        assert image.format == "JPEG" and image.mode == "RGB"
        assert not image.getexif() and "icc_profile" not in image.info
        assert min(image.size) >= 80 and max(image.size) <= ANALYSIS_MAX_SIDE
        # Upright: the copy has the photo's upright proportions (EXIF orientation applied).
        assert abs(image.width / image.height - photo["width"] / photo["height"]) < 0.02, path.name
    kinds = Counter(r["kind"] for r in table(book, "cloud_objects"))
    assert kinds == {"original": 16, "analysis": 16}
    assert table(book, "cloud_multipart") == []


def test_second_run_and_another_book_send_nothing(
    uploaded_demo: tuple[Path, CloudSettings, UploadReport, list[tuple[int, int]], list[PhotoUpload]],
    tmp_path: Path,
) -> None:
    book, settings, *_ = uploaded_demo
    client = s3_client(settings)
    calls = count_calls(client)
    again = upload(book, settings, client)
    assert again.uploaded == [] and again.failed == [] and again.skipped == 32 and again.bytes_sent == 0
    assert calls["PutObject"] == calls["UploadPart"] == 0

    # The same photos in a book of their own: it learns what the bucket holds and sends nothing.
    other = import_book(tmp_path / "other.mbook", demo_subset(tmp_path / "p", "maxinception__dog.jpg"))
    assert table(other, "cloud_objects") == []
    second = upload(other, settings, client)
    assert second.uploaded == [] and second.skipped == 2
    assert calls["PutObject"] == 0
    assert {r["kind"] for r in table(other, "cloud_objects")} == {"original", "analysis"}


def test_an_object_missing_from_the_bucket_is_sent_again(
    uploaded_demo: tuple[Path, CloudSettings, UploadReport, list[tuple[int, int]], list[PhotoUpload]],
    s3_server: SeaweedServer,
    tmp_path: Path,
) -> None:
    book, settings, *_ = uploaded_demo
    assert settings.bucket
    copy = tmp_path / "copy.mbook"
    shutil.copy(book, copy)
    photo, forgotten = photos_of(copy)[3:5]
    key = analysis_key(settings, photo["sha256"])
    s3_server.client().delete_object(Bucket=settings.bucket, Key=key)
    with Project.open(copy) as project:
        forget_analysis_copy(project.db, forgotten["sha256"])
        assert len(list(project.db.query("SELECT 1 FROM cloud_objects"))) == 31
    report = upload(copy, settings)
    # The forgotten one is still in the bucket: found there and recorded again, not sent.
    assert [o.key for o in report.uploaded] == [key] and report.skipped == 31
    assert len(table(copy, "cloud_objects")) == 32


def test_too_small_and_changed_photos_fail_alone(
    module_env: None, s3_server: SeaweedServer, tmp_path: Path
) -> None:
    folder = demo_subset(
        tmp_path / "p", "maxinception__pizza.jpg", "skimage__coffee.png", "maxscene__paris.jpg"
    )
    Image.new("RGB", (50, 50), "green").save(folder / "tiny.png")
    book = import_book(tmp_path / "b.mbook", folder)
    paris = folder / "maxscene__paris.jpg"
    paris.write_bytes(paris.read_bytes()[:30_000])  # cut short after import
    settings = cloud_settings(s3_server.endpoint, unique_bucket())
    ensure_bucket(settings, s3_client(settings))

    report = upload(book, settings)
    failed = dict(report.failed)
    assert set(failed) == {str(folder / "tiny.png"), str(paris)}
    assert "50x50 px is too small for Rekognition" in failed[str(folder / "tiny.png")]
    assert failed[str(paris)] == "the file changed since it was imported; import it again"
    assert all("\n" not in reason for reason in failed.values())
    sent = Counter((Path(o.path).name, o.kind) for o in report.uploaded)
    # The tiny photo's original is kept with the book; only its analysis copy cannot be made.
    assert sent == {
        ("maxinception__pizza.jpg", "original"): 1,
        ("maxinception__pizza.jpg", "analysis"): 1,
        ("skimage__coffee.png", "original"): 1,
        ("skimage__coffee.png", "analysis"): 1,
        ("tiny.png", "original"): 1,
    }
    assert len(objects(s3_server, settings.bucket or "")) == 5


def test_cancel_stops_between_photos_and_the_next_run_finishes(
    module_env: None, s3_server: SeaweedServer, tmp_path: Path
) -> None:
    folder = demo_subset(
        tmp_path / "p", "maxinception__dog.jpg", "skimage__chelsea.png", "maxscene__bakery.jpg"
    )
    book = import_book(tmp_path / "b.mbook", folder)
    settings = cloud_settings(s3_server.endpoint, unique_bucket())
    ensure_bucket(settings, s3_client(settings))
    cancel = threading.Event()
    first = upload(book, settings, on_photo=lambda _: cancel.set(), cancel=cancel, workers=1)
    assert first.cancelled and len(first.uploaded) == 2 and first.failed == []
    rest = upload(book, settings)
    assert len(rest.uploaded) == 4 and rest.skipped == 2 and not rest.cancelled


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "wrong", "code", "hint"),
    [
        (
            "AWS_SECRET_ACCESS_KEY",
            "wrong-secret-0123456789abcdef",
            "SignatureDoesNotMatch",
            "S3 refused the secret key",
        ),
        (
            "AWS_ACCESS_KEY_ID",
            "AKIAWRONGWRONGWRONG1",
            "InvalidAccessKeyId",
            "S3 does not know this access key",
        ),
    ],
)
def test_refused_credentials_stop_the_run_with_one_clear_line(
    s3_server: SeaweedServer,
    demo_import: Path,
    aws_env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    wrong: str,
    code: str,
    hint: str,
) -> None:
    book = tmp_path / "b.mbook"
    shutil.copy(demo_import, book)
    settings = cloud_settings(s3_server.endpoint, unique_bucket())
    s3_server.client().create_bucket(Bucket=settings.bucket)
    monkeypatch.setenv(variable, wrong)
    client = s3_client(settings)
    calls = count_calls(client)
    with pytest.raises(UploadStopped) as stopped:
        upload(book, settings, client, attempts=3)
    message = str(stopped.value)
    assert code in message and message.startswith(hint)
    assert "\n" not in message and wrong not in message and SECRET_KEY not in message
    assert stopped.value.report.uploaded == []
    # Stopped at once: a handful of requests (the threads in flight), not two per photo.
    assert calls["PutObject"] <= 3
    assert table(book, "cloud_objects") == [] and objects(s3_server, settings.bucket or "") == {}
    with pytest.raises(CloudError) as refused:
        ensure_bucket(cloud_settings(s3_server.endpoint, unique_bucket()), client)
    assert code in str(refused.value) and wrong not in str(refused.value)


def test_unreachable_server_fails_each_photo_in_one_line_without_waiting_long(
    aws_env: None, tmp_path: Path
) -> None:
    names = ("maxinception__dog.jpg", "skimage__chelsea.png", "maxscene__bakery.jpg")
    book = import_book(tmp_path / "b.mbook", demo_subset(tmp_path / "p", *names))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = cloud_settings(f"http://127.0.0.1:{closed_port}", "nowhere")
    started = time.monotonic()
    report = upload(book, settings, attempts=3, backoff=0.05, workers=1)
    assert time.monotonic() - started < 5
    assert report.uploaded == [] and len(report.failed) == 3
    reasons = [reason for _, reason in report.failed]
    where = f"cannot reach http://127.0.0.1:{closed_port} (EndpointConnectionError)"
    # The first photo tries three times; the next ones once, as nothing has answered since.
    assert reasons == [f"{where}; gave up after 3 attempts"] + [f"{where}; gave up after 1 attempt"] * 2
    assert table(book, "cloud_objects") == []


def test_missing_bucket_stops_the_run(s3_server: SeaweedServer, aws_env: None, tmp_path: Path) -> None:
    book = import_book(tmp_path / "b.mbook", demo_subset(tmp_path / "p", "maxinception__dog.jpg"))
    settings = cloud_settings(s3_server.endpoint, unique_bucket("missing"))
    with pytest.raises(UploadStopped, match=r"bucket 'missing-\w+' does not exist .*NoSuchBucket"):
        upload(book, settings)
    assert ensure_bucket(settings) is True and ensure_bucket(settings) is False
    assert len(upload(book, settings).uploaded) == 2


# --- presigned URLs ---------------------------------------------------------------------------------


def test_presigned_url_reads_the_object_and_a_tampered_one_is_refused(
    uploaded_demo: tuple[Path, CloudSettings, UploadReport, list[tuple[int, int]], list[PhotoUpload]],
) -> None:
    book, settings, *_ = uploaded_demo
    photo = photos_of(book)[0]
    key = original_key(settings, photo["sha256"], original_extension(photo["format"]))
    url = presigned_url(settings, key, seconds=60)
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and SECRET_KEY not in url
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == Path(photo["path"]).read_bytes()

    other = analysis_key(settings, photo["sha256"])
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for tampered in (url.replace(key, other), url.replace(signature, flipped)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(tampered, timeout=10)
        assert refused.value.code == 403

    expiring = presigned_url(settings, key, seconds=1)
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(expiring, timeout=10)
    assert expired.value.code == 403


# --- multipart, and resuming after a kill ---------------------------------------------------------


def test_killed_server_mid_multipart_is_resumed_sending_only_missing_parts(
    aws_env: None, big_jpeg: Path, tmp_path: Path
) -> None:
    book = import_book(tmp_path / "b.mbook", big_jpeg)
    sha = sha_of(big_jpeg.read_bytes())
    parts = -(-big_jpeg.stat().st_size // PART)
    with seaweed(tmp_path / "s3", ACCESS_KEY, SECRET_KEY) as server:
        settings = cloud_settings(server.endpoint, "resume-book")
        ensure_bucket(settings, s3_client(settings))
        client = s3_client(settings)
        calls = count_calls(client)

        parts_begun: list[int] = []

        def crash_before_second_part(**_: Any) -> None:
            parts_begun.append(1)
            if len(parts_begun) == 2:
                server.kill()  # the first part is acknowledged; the second meets a dead server

        client.meta.events.register("before-call.s3.UploadPart", crash_before_second_part)
        first = upload(book, settings, client, part_size=PART, **FAST)
        assert first.uploaded == []
        [(path, reason)] = first.failed
        assert path == str(big_jpeg)
        assert "gave up after 2 attempts" in reason and "\n" not in reason
        [pending] = table(book, "cloud_multipart")
        assert pending["part_size"] == PART

        server.start()
        client = s3_client(settings)
        calls = count_calls(client)
        second = upload(book, settings, client, part_size=PART, **FAST)
        assert second.failed == [] and calls["CreateMultipartUpload"] == 0
        assert calls["UploadPart"] == parts - 1
        key = original_key(settings, sha, "jpg")
        assert {(o.key, o.kind) for o in second.uploaded} == {
            (key, "original"),
            (analysis_key(settings, sha), "analysis"),
        }
        assert sha_of(body(server, "resume-book", key)) == sha
        assert table(book, "cloud_multipart") == []
        assert len(body(server, "resume-book", analysis_key(settings, sha))) < 5 * 2**20


def test_a_short_outage_is_ridden_out_by_retries_with_backoff(aws_env: None, tmp_path: Path) -> None:
    big = noisy_jpeg(tmp_path / "big.jpg", (1700, 1700), seed=11)
    book = import_book(tmp_path / "b.mbook", big)
    parts = -(-big.stat().st_size // PART)
    assert parts >= 3
    with seaweed(tmp_path / "s3", ACCESS_KEY, SECRET_KEY) as server:
        settings = cloud_settings(server.endpoint, "outage-book")
        ensure_bucket(settings, s3_client(settings))
        client = s3_client(settings)
        calls = count_calls(client)
        restarted: list[threading.Thread] = []
        parts_begun: list[int] = []

        def outage_before_second_part(**_: Any) -> None:
            parts_begun.append(1)
            if len(parts_begun) == 2:
                server.kill()
                restarted.append(threading.Thread(target=server.start))
                restarted[0].start()

        client.meta.events.register("before-call.s3.UploadPart", outage_before_second_part)
        report = upload(book, settings, client, part_size=PART, attempts=8, backoff=0.2)
        restarted[0].join()
        assert report.failed == [] and len(report.uploaded) == 2
        assert calls["UploadPart"] > parts  # part 2 was tried again, part 1 was not
        assert sha_of(
            body(server, "outage-book", original_key(settings, sha_of(big.read_bytes()), "jpg"))
        ) == (sha_of(big.read_bytes()))


_CHILD = """
import sys, time
from mixbook_desktop.cloud import aws, uploads
from mixbook_desktop.cloud.config import CloudSettings
from mixbook_desktop.store.project import Project

book, bucket, endpoint = sys.argv[1:4]
settings = CloudSettings(bucket=bucket, s3_endpoint=endpoint)
client = aws.client(settings, "s3")
seen = []

def hold_second_part(**_):
    seen.append(1)
    if len(seen) == 2:
        print("first part acknowledged", flush=True)
        time.sleep(120)

client.meta.events.register("before-call.s3.UploadPart", hold_second_part)
with Project.open(book) as project:
    uploads.upload_book(project, settings, client=client, part_size=5 << 20)
"""


def test_killed_uploader_mid_multipart_is_resumed_sending_only_missing_parts(
    s3_server: SeaweedServer, aws_env: None, big_jpeg: Path, tmp_path: Path
) -> None:
    book = import_book(tmp_path / "b.mbook", big_jpeg)
    sha = sha_of(big_jpeg.read_bytes())
    parts = -(-big_jpeg.stat().st_size // PART)
    settings = cloud_settings(s3_server.endpoint, unique_bucket())
    ensure_bucket(settings, s3_client(settings))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(book), settings.bucket or "", s3_server.endpoint],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
    )
    try:
        with selectors.DefaultSelector() as wait:
            assert child.stdout is not None
            wait.register(child.stdout, selectors.EVENT_READ)
            assert wait.select(timeout=60), "the uploader never reached its second part"
            line = child.stdout.readline()
        assert line.strip() == "first part acknowledged", child.communicate()[1]
    finally:
        child.kill()  # SIGKILL: no cleanup of any kind
        child.communicate()

    [pending] = table(book, "cloud_multipart")  # committed before the first part went up
    assert settings.bucket
    listed = s3_server.client().list_parts(
        Bucket=settings.bucket, Key=pending["key"], UploadId=pending["upload_id"]
    )
    assert [p["PartNumber"] for p in listed["Parts"]] == [1]

    client = s3_client(settings)
    calls = count_calls(client)
    report = upload(client=client, book=book, settings=settings, part_size=PART)
    assert report.failed == [] and calls["UploadPart"] == parts - 1 and calls["CreateMultipartUpload"] == 0
    assert report.bytes_sent < big_jpeg.stat().st_size  # part 1 was not sent again
    assert sha_of(body(s3_server, settings.bucket, original_key(settings, sha, "jpg"))) == sha
    assert table(book, "cloud_multipart") == []


def test_a_stale_upload_id_starts_over_cleanly(
    s3_server: SeaweedServer, aws_env: None, big_jpeg: Path, tmp_path: Path
) -> None:
    book = import_book(tmp_path / "b.mbook", big_jpeg)
    sha = sha_of(big_jpeg.read_bytes())
    settings = cloud_settings(s3_server.endpoint, unique_bucket())
    ensure_bucket(settings, s3_client(settings))
    key = original_key(settings, sha, "jpg")
    with Project.open(book) as project, project.db.atomic():
        project.db.execute(
            "INSERT INTO cloud_multipart (bucket, key, upload_id, part_size, started_at) "
            "VALUES (?, ?, 'no-such-upload', ?, '2024-01-01T00:00:00+00:00')",
            [settings.bucket, key, PART],
        )
    client = s3_client(settings)
    calls = count_calls(client)
    report = upload(book, settings, client, part_size=PART)
    assert report.failed == [] and calls["CreateMultipartUpload"] == 1
    assert calls["UploadPart"] == -(-big_jpeg.stat().st_size // PART)
    assert sha_of(body(s3_server, settings.bucket or "", key)) == sha
    assert table(book, "cloud_multipart") == []
