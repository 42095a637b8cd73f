"""A book switched to the cloud and back, against real loopback servers: SeaweedFS for S3, the
Rekognition stand-in (botocore's model checks every request and answer), llama.cpp's server.

Switching changes where the work happens, not what the user gets: every photo, person and
caption is there after each switch, and the results agree with the local ones."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mixbook_desktop.analysis.pipeline import stage_versions
from mixbook_desktop.cloud import aws, config, uploads
from mixbook_desktop.cloud.rekognition import CloudAnalyzer
from mixbook_desktop.core.analysis import Stage
from mixbook_desktop.services import captions, cloud_analysis, people
from mixbook_desktop.services.analysis import AnalysisReport, analyze_book
from mixbook_desktop.services.importer import import_paths
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.captions import CaptionStore
from mixbook_desktop.store.people import PeopleStore
from mixbook_desktop.store.project import Project
from tests.analysis_support import copy_book
from tests.cloud_support import ACCESS_KEY, REGION, SECRET_KEY, MemoryKeyring, unique_bucket
from tests.conftest import ROOT
from tests.support.rekognition_server import RekognitionStandIn, serving
from tests.support.seaweed import SeaweedServer


@pytest.fixture(scope="module")
def rekognition(s3_server: SeaweedServer) -> Iterator[tuple[str, RekognitionStandIn]]:
    with serving(s3_server.endpoint, ACCESS_KEY, SECRET_KEY, REGION) as (url, state):
        yield url, state


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer and shorter retries than a user gets, so that giving up is quick to test."""
    monkeypatch.setattr(aws, "RETRIES", {"mode": "standard", "total_max_attempts": 2})
    monkeypatch.setattr(cloud_analysis, "_BACKOFF_S", 0.05)


def _to_cloud(book: Path, s3: SeaweedServer, url: str) -> config.CloudSettings:
    """The book set to cloud analysis on the loopback servers. Copies of one book share its id
    (a copied file is the same book), so each test's copy is made a book of its own: a face
    collection of its own."""
    with Project.open(book) as project:
        AnalysisStore(project).set_setting(config.BOOK_ID_KEY, uuid.uuid4().hex)
        return config.save(
            project,
            analysis="cloud",
            bucket=unique_bucket(),
            region=REGION,
            s3_endpoint=s3.endpoint,
            rekognition_endpoint=url,
        )


def _state(book: Path) -> dict[str, Any]:
    """What the user sees of a book: photos, faces per photo, people with their names and
    faces, captions of their own, and every stage's version."""
    with Project.open(book) as project:
        store = AnalysisStore(project)
        ids = store.photo_ids()
        faces: dict[int, int] = {}
        for face in store.faces():
            faces[face.photo_id] = faces.get(face.photo_id, 0) + 1
        by_person = PeopleStore(project).faces_by_person()
        named = {p.name: len(by_person.get(p.id, [])) for p in PeopleStore(project).people() if p.name}
        own = {k: (v.text, v.locked) for k, v in CaptionStore(project).user_captions().items()}
        results = store.results()
        versions = {r["version"] for stages in results.values() for r in stages.values()}
        errors = [r["error"] for stages in results.values() for r in stages.values() if r["error"]]
        return {
            "photos": sorted(ids),
            "faces": {sha: faces.get(pid, 0) for sha, pid in ids.items()},
            "people": len([p for p in PeopleStore(project).people() if by_person.get(p.id)]),
            "named": named,
            "captions": own,
            "versions": versions,
            "errors": errors,
        }


def _personalise(book: Path) -> None:
    """A user's own work on the book: a named person and a caption typed by hand."""
    with Project.open(book) as project:
        biggest = max(PeopleStore(project).faces_by_person().items(), key=lambda kv: len(kv[1]))[0]
        people.name(project, biggest, "Grace")
        target = next(t.key for t in captions.collect_targets(project) if t.kind.value == "photo")
        CaptionStore(project).set_text(target, "Our first morning on the coast", None, "edit")


def test_switching_to_the_cloud_and_back_keeps_every_photo_person_and_caption(
    demo_book: Path,
    tmp_path: Path,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
    aws_env: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url, state = rekognition
    book = copy_book(demo_book, tmp_path)
    _personalise(book)
    local = _state(book)
    _to_cloud(book, s3_server, url)

    with Project.open(book) as project:
        report = analyze_book(project)
    assert report.model_problems == [] and not report.failed, report.model_problems
    assert len(report.done) == len(local["photos"])
    cloud = _state(book)
    assert state.invalid == []
    # Every result is now Rekognition's (quality stays local: Rekognition has no such stage).
    assert any(v.startswith("rekognition:mixbook-") for v in cloud["versions"])
    assert set(stage_versions().values()) & cloud["versions"] == {stage_versions()[Stage.QUALITY]}
    for key in ("photos", "captions"):
        assert cloud[key] == local[key], key
    assert cloud["errors"] == []
    # Rekognition sees the upright 1920 px copy, not the original: on a photo or two a face
    # at the edge of detection may come or go; nothing else may change.
    changed = {sha: (local["faces"][sha], n) for sha, n in cloud["faces"].items() if n != local["faces"][sha]}
    assert len(changed) <= 1 and all(abs(a - b) == 1 for a, b in changed.values()), changed
    assert cloud["named"].keys() == local["named"].keys()
    assert abs(cloud["named"]["Grace"] - local["named"]["Grace"]) <= len(changed)
    assert abs(cloud["people"] - local["people"]) <= len(changed)
    operations = {op for op, _ in state.requests}
    assert {
        "DetectFaces",
        "DetectLabels",
        "DetectModerationLabels",
        "IndexFaces",
        "SearchFaces",
    } <= operations

    # A second run has nothing to do: no photo is sent to Rekognition again.
    before = len(state.requests)
    with Project.open(book) as project:
        assert analyze_book(project).done == []
    assert len(state.requests) == before

    with Project.open(book) as project:
        config.save(project, analysis="local")
        report = analyze_book(project)
    back = _state(book)
    assert not report.failed
    for key in ("photos", "faces", "named", "captions", "people"):
        assert back[key] == local[key], key
    assert back["versions"] == local["versions"]

    # And to the cloud again: the faces indexed the first time are taken out of the collection
    # before the photos' faces go in again, so it holds each face once.
    with Project.open(book) as project:
        config.save(project, analysis="cloud")
        assert not analyze_book(project).failed
        collection = cloud_analysis.collection_id(project)
        in_book = project.db.execute("SELECT COUNT(*) FROM cloud_faces").fetchone()[0]
    assert len(state.collections[collection].faces) == in_book == sum(_state(book)["faces"].values())

    # No credential in the project file (and its journal) or in any log line.
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("demo.mbook*"))
    for secret in (SECRET_KEY, ACCESS_KEY):
        assert secret.encode() not in raw
        assert secret not in caplog.text
    assert "botocore" in caplog.text  # the libraries did log, redacted


def _analyse_while(book: Path, state: RekognitionStandIn, fault: Callable[[], None]) -> AnalysisReport:
    """An analysis while the stand-in answers every request with `fault`'s error."""
    fault()
    try:
        with Project.open(book) as project:
            return analyze_book(project)
    finally:
        state.clear_faults()


def test_throttling_leaves_photos_for_the_next_run_and_loses_nothing(
    demo_book: Path,
    tmp_path: Path,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
    aws_env: None,
    fast_retries: None,
) -> None:
    url, state = rekognition
    book = copy_book(demo_book, tmp_path)
    local = _state(book)
    settings = _to_cloud(book, s3_server, url)
    with Project.open(book) as project:  # throttled from the first photo on, not before
        CloudAnalyzer(settings, cloud_analysis.collection_id(project)).ensure_collection()
    report = _analyse_while(book, state, lambda: state.throttle_next(1_000_000))
    assert len(report.model_problems) == 1 and "left for the next run" in report.model_problems[0]
    assert "ProvisionedThroughputExceeded" in report.model_problems[0]
    assert _state(book) == local  # nothing lost, nothing marked failed: all still pending

    # A short burst is absorbed by the retries.
    state.throttle_next(1)
    with Project.open(book) as project:
        report = analyze_book(project)
        collection = cloud_analysis.collection_id(project)
        in_book = project.db.execute("SELECT COUNT(*) FROM cloud_faces").fetchone()[0]
    assert report.model_problems == [] and not report.failed
    assert len(report.done) == len(local["photos"])
    assert len(state.collections[collection].faces) == in_book  # nothing indexed twice


def test_refused_credentials_stop_at_once_with_one_line(
    demo_book: Path,
    tmp_path: Path,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
    aws_env: None,
    fast_retries: None,
) -> None:
    url, state = rekognition
    book = copy_book(demo_book, tmp_path)
    local = _state(book)
    _to_cloud(book, s3_server, url)
    # S3 accepts the test keys; Rekognition refuses them.
    report = _analyse_while(book, state, lambda: state.deny_next(1_000_000))
    assert len(report.model_problems) == 1
    assert "AccessDenied" in report.model_problems[0]
    assert SECRET_KEY not in report.model_problems[0]
    assert len(report.done) < len(local["photos"])  # stopped, not tried photo after photo
    assert _state(book) == local


def test_a_photo_too_large_for_rekognition_is_analysed_through_its_copy(
    tmp_path: Path,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
    aws_env: None,
) -> None:
    url, state = rekognition
    folder = tmp_path / "photos"
    folder.mkdir()
    # 12,000 px wide: over Rekognition's 10,000 px side, and its JPEG over 5 MB.
    portrait = Image.open(ROOT / "resources" / "demo" / os.listdir(ROOT / "resources" / "demo")[0])
    wide = Image.new("RGB", (12000, 1400), (90, 120, 160))
    wide.paste(portrait.convert("RGB").resize((1000, 1400)), (5500, 0))
    big = folder / "panorama.jpg"
    wide.save(big, quality=98)
    book = tmp_path / "big.mbook"
    with Project.open(book, create=True) as project:
        import_paths(project, [str(big)])
    _to_cloud(book, s3_server, url)
    with Project.open(book) as project:
        report = analyze_book(project)
    assert report.model_problems == [] and not report.failed, report.done
    sizes = [p.get("Image") for op, p in state.requests if op == "DetectLabels"]
    assert sizes and all("S3Object" in image for image in sizes if image)


def test_compare_shows_local_and_cloud_side_by_side(
    demo_book: Path,
    tmp_path: Path,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
) -> None:
    url = rekognition[0]
    book = copy_book(demo_book, tmp_path)
    _to_cloud(book, s3_server, url)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-m", "mixbook_desktop", "compare", str(book), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["photos"]) == len(_state(book)["photos"])
    for photo in report["photos"]:
        assert photo["error"] is None
        assert photo["local"]["source"] == "stored" and photo["cloud"]["source"] == "now"
    # The stand-in answers with the same models on the upright analysis copy, so what differs
    # is what the trip through S3 and Rekognition's formats changes: nearly nothing.
    assert report["mean"]["faces"] >= 0.95
    assert report["mean"]["tags"] >= 0.85
    assert report["mean"]["moderation"] == 1.0
    assert report["mean"]["overall"] >= 0.9
    # The comparison changed nothing in the book.
    with sqlite3.connect(book) as db:
        assert db.execute("SELECT COUNT(*) FROM cloud_faces").fetchone()[0] == 0
    table = subprocess.run(
        [sys.executable, "-m", "mixbook_desktop", "compare", str(book)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert "agreement:" in table.stdout


def test_captions_come_from_an_openai_compatible_endpoint_when_chosen(
    demo_book: Path, tmp_path: Path, llama_server: str
) -> None:
    book = copy_book(demo_book, tmp_path)
    with Project.open(book) as project:
        config.save(project, captions="openai", openai_url=llama_server, openai_model="smollm2")
        target = next(t.key for t in captions.collect_targets(project) if t.kind.value == "photo")
        report = captions.caption_book(project, only=[target], regenerate=True)
        latest = CaptionStore(project).latest()[target]
    assert [d.target.key for d in report.done] == [target]
    assert latest.model is not None and latest.model.startswith("openai-compatible:smollm2@127.0.0.1")
    assert latest.text


def test_captions_come_from_bedrock_when_chosen(
    demo_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mixbook_desktop.captions.llama_backend import LlamaCppGenerator
    from tests import bedrock_server

    book = copy_book(demo_book, tmp_path)
    local = LlamaCppGenerator(threads=lambda: 1)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", bedrock_server.ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", bedrock_server.SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with bedrock_server.serving(local) as (url, state), Project.open(book) as project:
        config.save(
            project,
            captions="bedrock",
            bedrock_model="meta.llama3-2-3b-instruct-v1:0",
            bedrock_endpoint=url,
            region=bedrock_server.REGION,
        )
        target = next(t.key for t in captions.collect_targets(project) if t.kind.value == "photo")
        captions.caption_book(project, only=[target], regenerate=True)
        latest = CaptionStore(project).latest()[target]
    local.close()
    assert state.requests and latest.model == "bedrock:meta.llama3-2-3b-instruct-v1:0"
    assert latest.text


def test_sync_from_the_command_line_mirrors_captions_to_postgresql(
    demo_book: Path, tmp_path: Path, pg_env: Any
) -> None:
    import psycopg

    book = copy_book(demo_book, tmp_path)
    _personalise(book)
    with Project.open(book) as project:
        config.save(project, postgres_url=pg_env.url)
    done = subprocess.run(
        [sys.executable, "-m", "mixbook_desktop", "sync", str(book)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "captions synced" in done.stdout and pg_env.password not in done.stdout + done.stderr
    with psycopg.connect(pg_env.url) as db:
        texts = [r[0] for r in db.execute("SELECT text FROM mixbook.captions").fetchall()]
    assert "Our first morning on the coast" in texts


def test_an_analysis_copy_gone_from_s3_is_uploaded_again_in_the_same_run(
    demo_book: Path,
    tmp_path: Path,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _ = rekognition
    book = copy_book(demo_book, tmp_path)
    settings = _to_cloud(book, s3_server, url)
    upload = uploads.upload_book
    with Project.open(book) as project:
        victim = sorted(AnalysisStore(project).photo_ids())[0]
    rounds: list[int] = []

    def upload_then_lose_one(*args: Any, **kwargs: Any) -> uploads.UploadReport:
        report = upload(*args, **kwargs)
        rounds.append(len(report.uploaded))
        if len(rounds) == 1:  # someone deletes a copy between the upload and Rekognition
            s3_server.client().delete_object(
                Bucket=settings.bucket, Key=uploads.analysis_key(settings, victim)
            )
        return report

    monkeypatch.setattr(uploads, "upload_book", upload_then_lose_one)
    with Project.open(book) as project:
        report = analyze_book(project)
    assert report.model_problems == [] and not report.failed
    assert len(report.done) == len(_state(book)["photos"])
    assert rounds[1:] == [1]  # the second round sent the lost copy, and only it


def test_aws_keys_can_come_from_the_os_keyring(
    demo_book: Path,
    tmp_path: Path,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
    aws_env: None,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The AWS chain has nothing: the keys come from where `cloud-login` puts them.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    aws.save_to_keyring(ACCESS_KEY, SECRET_KEY)
    assert set(memory_keyring.saved.values()) == {ACCESS_KEY, SECRET_KEY}
    book = copy_book(demo_book, tmp_path)
    _to_cloud(book, s3_server, rekognition[0])
    with Project.open(book) as project:
        report = analyze_book(project)
    assert report.model_problems == [] and not report.failed
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("demo.mbook*"))
    assert SECRET_KEY.encode() not in raw and ACCESS_KEY.encode() not in raw


def test_a_photo_throttled_after_its_faces_went_in_leaves_none_behind(
    demo_book: Path,
    tmp_path: Path,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
    aws_env: None,
    fast_retries: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, state = rekognition
    book = copy_book(demo_book, tmp_path)
    _to_cloud(book, s3_server, url)
    search = CloudAnalyzer._search
    throttled: list[int] = []

    def throttled_once(self: CloudAnalyzer, *args: Any) -> Any:
        if not throttled:  # the first photo with faces: after IndexFaces, before SearchFaces
            throttled.append(1)
            state.throttle_next(2)
        return search(self, *args)

    monkeypatch.setattr(CloudAnalyzer, "_search", throttled_once)
    with Project.open(book) as project:
        report = analyze_book(project)
        collection = cloud_analysis.collection_id(project)
        in_book = project.db.execute("SELECT COUNT(*) FROM cloud_faces").fetchone()[0]
    assert throttled and report.model_problems == [] and not report.failed
    assert len(state.collections[collection].faces) == in_book


def test_a_cancel_is_not_a_problem_and_a_photo_too_small_still_gets_its_quality(
    tmp_path: Path,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
    aws_env: None,
) -> None:
    import threading

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (60, 60), (200, 120, 40)).save(folder / "tiny.png")
    for name in ("maxscene__paris.jpg", "skimage__coffee.png"):
        (folder / name).write_bytes((ROOT / "resources" / "demo" / name).read_bytes())
    book = tmp_path / "small.mbook"
    with Project.open(book, create=True) as project:
        import_paths(project, [str(folder)])
    _to_cloud(book, s3_server, rekognition[0])

    cancel = threading.Event()
    with Project.open(book) as project:
        report = analyze_book(project, cancel=cancel, on_upload=lambda sent, size: cancel.set())
    assert report.cancelled and report.model_problems == []

    with Project.open(book) as project:
        report = analyze_book(project)
        stored = AnalysisStore(project).results()
    tiny = [d for d in report.done if d.path.endswith("tiny.png")]
    assert len(tiny) == 1 and "too small for Rekognition" in str(tiny[0].errors)
    assert len(report.done) == 3 and len(report.failed) == 1
    qualities = [s["quality"] for s in stored.values()]
    assert len(qualities) == 3 and all(q["result"] is not None for q in qualities)
