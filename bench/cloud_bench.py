"""Cloud analysis speed against the floor: bare boto3 making the same requests to the same servers.

    .venv/bin/python bench/cloud_bench.py [--rounds R] [--copies K] [--quick] [--json PATH]

Servers, all on 127.0.0.1: SeaweedFS for S3 and the Rekognition stand-in of the tests, which
answers from the local models. The stand-in runs in a process of its own: in this one its
Python would take the GIL from our upload and Rekognition threads (and theirs from it), and
what was measured would be the contention of two programs rather than either. SeaweedFS, the
stand-in and the client still share the machine's cores, on both sides alike.

Ours is `analyze_book` on a freshly imported book set to cloud analysis (import not timed):
both clients made, the bucket checked, every original and an analysis copy uploaded (with
HeadObject first, hashes checked, each object recorded in the book), the face collection
checked, then per photo DetectFaces (ALL), IndexFaces, SearchFaces per face, DetectLabels and
DetectModerationLabels, quality measured locally, the results stored, people and duplicates
regrouped.

The floor is the same requests with the same parameters from plain boto3 clients, on as many
threads as ours uses (uploads.DEFAULT_WORKERS, then cloud_analysis.CLOUD_THREADS): CreateBucket,
PutObject of each original and of its analysis copy, CreateCollection, and the five Rekognition
calls. Making the analysis copy is work any client must do, so the floor does it too, with the
Pillow calls ours makes (decode at reduced scale, upright, sRGB, 1920 px, JPEG at quality 90);
the floor's copies are byte for byte ours, so the stand-in has the same pixels to analyse.
What the floor leaves out is ours: HeadObject before each upload, checking the file against its
imported hash, the book's records, local quality, storing, people and duplicates.

Every round gets a new bucket and a new face collection on both sides (nothing is skipped as
already there, and SearchFaces searches collections of the same size), and the Rekognition
requests of the two sides are counted by the stand-in and must be the same. Rounds alternate
floor and ours, best of R (of at least 5 for the quick and noisy memory set), after one untimed
round of ours that loads the stand-in's models. Besides photos per second, the table gives the
CPU time of this process per photo, every thread counted: the client's own work, which the
servers compete with on a small machine, and which varies much less between rounds than the
wall-clock figures do. "Uploaded only" is the part of the same runs spent uploading: ours in
`ensure_bucket` and `upload_book`, the floor from making its session to its last PutObject.

Two sets. "models": the 16 demo photos, each request analysed by the stand-in's local models,
which then dominate (and run one photo at a time under the stand-in's lock, as in the tests).
"memory": the demo photos and K copies of each JPEG and PNG that differ only in a comment
(so each is a distinct photo to S3, Rekognition and the book, with the same pixels), while the
stand-in answers every analysis from a memory of the first set's answers: what is left is the
HTTP, S3 and bookkeeping cost on both sides, where our code's overhead shows. The stand-in
reports how often its memory missed (a miss runs the models).
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import io
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import results

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
TARGET_RATIO = 0.8
# The analysis copy as cloud.analysis_copy makes it (asserted equal to ours at set-up).
COPY_SIDE = 1920
COPY_QUALITY = 90

# The loopback servers and the test credentials live in tests/support, which is not installed.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# ---- the stand-in's process -------------------------------------------------------------------
def serve(s3_endpoint: str) -> None:
    """The Rekognition stand-in, its URL on stdout; reads commands from stdin ("memory",
    "models", "stats") and answers each with a line of JSON; stops at end of input."""
    from PIL import Image

    from mixbook_desktop.analysis.pipeline import Analyzer
    from mixbook_desktop.core.analysis import PhotoAnalysis, Stage
    from mixbook_desktop.core.geometry import Box
    from tests.cloud_support import ACCESS_KEY, REGION, SECRET_KEY
    from tests.support.rekognition_server import serving

    class Remembering(Analyzer):
        """The local models, remembering each answer by the pixels it was given; with
        `recall` set, a remembered answer is given without running them."""

        def __init__(self) -> None:
            super().__init__()
            self.answers: dict[tuple[str, tuple[int, int], frozenset[Stage]], PhotoAnalysis] = {}
            self.recall = False
            self.misses = 0

        def analyze(
            self,
            image: Image.Image,
            original_size: tuple[int, int],
            stages: set[Stage],
            known_faces: list[Box] | None = None,
        ) -> PhotoAnalysis:
            pixels = hashlib.blake2b(image.tobytes(), digest_size=16).hexdigest()
            key = (f"{pixels}{image.size}", original_size, frozenset(stages))
            found = self.answers.get(key) if self.recall else None
            if found is None:
                self.misses += self.recall
                found = super().analyze(image, original_size, stages, known_faces)
                self.answers[key] = found
            # The stand-in may change what it is given; the memory must stay as it was.
            return copy.deepcopy(found)

    analyzer = Remembering()
    problems = analyzer.load()
    if problems:
        raise SystemExit("the stand-in's models did not load: " + "; ".join(problems))
    with serving(s3_endpoint, ACCESS_KEY, SECRET_KEY, REGION, analyzer=analyzer) as (url, state):
        print(url, flush=True)
        seen = 0
        for line in sys.stdin:
            command = line.strip()
            if command in ("memory", "models"):
                analyzer.recall = command == "memory"
                analyzer.misses = 0
            # The operations asked for since the last command, for comparing the two sides.
            asked = dict(Counter(state.operations()[seen:]))
            seen = len(state.requests)
            answer = {"misses": analyzer.misses, "invalid": state.invalid[:3], "asked": asked}
            print(json.dumps(answer), flush=True)


class StandIn:
    """The driver's handle on the stand-in's process."""

    def __init__(self, s3_endpoint: str, log: Path) -> None:
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", s3_endpoint],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT,
            text=True,
        )
        self.url = self._line()

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the Rekognition stand-in stopped:\n{self.tail()}")
        return line.strip()

    def tail(self) -> str:
        self._log.flush()
        return "\n".join(Path(self._log.name).read_text(errors="replace").splitlines()[-20:])

    def command(self, command: str) -> dict[str, Any]:
        stdin: IO[str] | None = self.process.stdin
        assert stdin is not None
        stdin.write(command + "\n")
        stdin.flush()
        answer: dict[str, Any] = json.loads(self._line())
        if answer["invalid"]:
            raise SystemExit(f"the stand-in refused requests as invalid: {answer['invalid']}")
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        if self.process.returncode != 0:
            print(f"the stand-in ended with {self.process.returncode}:\n{self.tail()}", file=sys.stderr)


# ---- inputs -----------------------------------------------------------------------------------
def _with_comment(data: bytes, text: bytes) -> bytes:
    """The same image with a comment added: other bytes (another photo to everyone), same pixels."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        body = b"Comment\x00" + text
        chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
        return data[:-12] + chunk + data[-12:]  # before IEND, the last 12 bytes
    # A JPEG: a COM segment just before the scan (after EXIF and ICC, where readers want them).
    at = 2
    while data[at + 1] != 0xDA:
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return data[:at] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + data[at:]


def photo_files(folder: Path, copies: int) -> tuple[list[str], list[str]]:
    """The demo photos, and them with `copies` comment-only copies of each JPEG and PNG."""
    demo = sorted(str(p) for p in DEMO.iterdir() if p.suffix != ".md")
    made = []
    for n in range(copies):
        for path in demo:
            data = Path(path).read_bytes()
            if not data.startswith((b"\xff\xd8", b"\x89PNG")):
                continue  # HEIC: its original stays alone
            target = folder / f"copy{n}_{Path(path).name}"
            target.write_bytes(_with_comment(data, f"cloud_bench copy {n}".encode()))
            made.append(str(target))
    return demo, demo + made


@dataclass(frozen=True)
class Photo:
    path: str
    sha256: str
    format: str


def make_template(folder: Path, name: str, files: list[str]) -> tuple[Path, list[Photo]]:
    from mixbook_desktop.services.importer import import_paths
    from mixbook_desktop.store.project import Project

    book = folder / f"{name}.mbook"
    with Project.open(book, create=True) as project:
        import_paths(project, files)
        rows = project.db.query(
            "SELECT p.sha256, p.format, f.path FROM photos p "
            "JOIN files f ON f.photo_id = p.id AND f.status = 'ok' ORDER BY p.id"
        )
        photos = [Photo(str(r["path"]), str(r["sha256"]), str(r["format"])) for r in rows]
    if len(photos) != len(files):
        raise SystemExit(f"imported {len(photos)} of {len(files)} photos")
    return book, photos


@dataclass(frozen=True)
class Servers:
    s3: str
    rekognition: str


def fresh_book(template: Path, folder: Path, servers: Servers) -> tuple[Path, Any]:
    """A copy of the imported book set to cloud analysis in a new bucket, with a new book id
    (so a new face collection: copies of one file share the id made at its creation)."""
    from mixbook_desktop.cloud import config
    from mixbook_desktop.store.analysis import AnalysisStore
    from mixbook_desktop.store.project import Project
    from tests.cloud_support import REGION, unique_bucket

    book = folder / f"{uuid.uuid4().hex[:8]}.mbook"
    shutil.copy(template, book)
    with Project.open(book) as project:
        AnalysisStore(project).set_setting(config.BOOK_ID_KEY, uuid.uuid4().hex)
        settings = config.save(
            project,
            analysis="cloud",
            bucket=unique_bucket("bench"),
            region=REGION,
            s3_endpoint=servers.s3,
            rekognition_endpoint=servers.rekognition,
        )
    return book, settings


# ---- ours -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    total: float
    upload: float  # in the bucket check and the uploads (ours makes its S3 clients in both)
    cpu: float = 0.0  # of this process, every thread: the client's own work


def best(a: Timing, b: Timing) -> Timing:
    return Timing(min(a.total, b.total), min(a.upload, b.upload), min(a.cpu, b.cpu))


def run_ours(book: Path, count: int) -> Timing:
    import pytest

    from mixbook_desktop.cloud import uploads
    from mixbook_desktop.services.analysis import analyze_book
    from mixbook_desktop.store.project import Project

    spent = [0.0]

    def timed(function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start

        return call

    # Only clocks around the two upload calls of the run (cloud_analysis calls them through the
    # module). Between them it makes its Rekognition client and checks the collection: the
    # floor makes those after its uploads, so neither side counts them as uploading.
    with pytest.MonkeyPatch.context() as patch, Project.open(book) as project:
        patch.setattr(uploads, "ensure_bucket", timed(uploads.ensure_bucket))
        patch.setattr(uploads, "upload_book", timed(uploads.upload_book))
        start = time.perf_counter()
        report = analyze_book(project)
        total = time.perf_counter() - start
    if report.model_problems or report.failed or len(report.done) != count:
        raise SystemExit(
            f"ours analysed {len(report.done)} of {count} photos, {len(report.failed)} failed: "
            f"{report.model_problems or [d.errors for d in report.failed][:2]}"
        )
    return Timing(total, spent[0])


# ---- the floor: the same requests from bare boto3 ----------------------------------------------
def floor_copy(data: bytes) -> bytes:
    """An analysis copy with the Pillow calls ours makes: reduced decode, upright, sRGB, JPEG."""
    import pillow_heif
    from PIL import Image, ImageCms, ImageOps

    pillow_heif.register_heif_opener()
    with Image.open(io.BytesIO(data)) as im:
        icc = im.info.get("icc_profile")
        fit = min(1.0, COPY_SIDE / max(im.size))
        im.draft("RGB", (max(1, int(im.width * fit)), max(1, int(im.height * fit))))
        im.load()
        image = ImageOps.exif_transpose(im)
        image.thumbnail((COPY_SIDE, COPY_SIDE), Image.Resampling.BILINEAR)
    if isinstance(icc, bytes) and icc:
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        converted = ImageCms.profileToProfile(
            image, ImageCms.ImageCmsProfile(io.BytesIO(icc)), srgb, outputMode="RGB"
        )
        image = converted if converted is not None else image
    if image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=COPY_QUALITY)
    return out.getvalue()


def run_floor(photos: list[Photo], settings: Any, collection: str) -> Timing:
    import boto3
    from botocore.config import Config

    from mixbook_desktop.cloud import mapping, uploads
    from mixbook_desktop.services import cloud_analysis

    bucket = settings.bucket

    def sha_b64(data: bytes) -> str:
        return base64.b64encode(hashlib.sha256(data).digest()).decode()

    start = time.perf_counter()
    session = boto3.session.Session(region_name=settings.region)
    s3 = session.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    s3.create_bucket(Bucket=bucket)

    def upload(photo: Photo) -> None:
        data = Path(photo.path).read_bytes()
        s3.put_object(
            Bucket=bucket,
            Key=uploads.original_key(settings, photo.sha256, uploads.original_extension(photo.format)),
            Body=data,
            ChecksumSHA256=sha_b64(data),
            ContentType=uploads._content_type(photo.format),
            Metadata={"sha256": photo.sha256},
        )
        small = floor_copy(data)
        s3.put_object(
            Bucket=bucket,
            Key=uploads.analysis_key(settings, photo.sha256),
            Body=small,
            ChecksumSHA256=sha_b64(small),
            ContentType="image/jpeg",
            Metadata={"source-sha256": photo.sha256},
        )

    with ThreadPoolExecutor(uploads.DEFAULT_WORKERS) as pool:
        list(pool.map(upload, photos))
    uploaded = time.perf_counter()
    rekognition = session.client("rekognition", endpoint_url=settings.rekognition_endpoint)
    rekognition.create_collection(CollectionId=collection)

    def analyse(photo: Photo) -> None:
        image = {"S3Object": {"Bucket": bucket, "Name": uploads.analysis_key(settings, photo.sha256)}}
        faces = rekognition.detect_faces(Image=image, Attributes=["ALL"])["FaceDetails"]
        if faces:
            records = rekognition.index_faces(
                CollectionId=collection,
                Image=image,
                ExternalImageId=photo.sha256,
                MaxFaces=100,
                QualityFilter="NONE",
                DetectionAttributes=["DEFAULT"],
            )["FaceRecords"]
            for record in records:
                rekognition.search_faces(
                    CollectionId=collection,
                    FaceId=record["Face"]["FaceId"],
                    FaceMatchThreshold=50.0,
                    MaxFaces=100,
                )
        rekognition.detect_labels(Image=image, MaxLabels=50, MinConfidence=mapping.MIN_CONFIDENCE)
        rekognition.detect_moderation_labels(Image=image, MinConfidence=mapping.MIN_CONFIDENCE)

    with ThreadPoolExecutor(cloud_analysis.CLOUD_THREADS) as pool:
        list(pool.map(analyse, photos))
    return Timing(time.perf_counter() - start, uploaded - start)


# ---- driver -----------------------------------------------------------------------------------
@dataclass
class Row:
    label: str
    photos: int
    ours: Timing
    floor: Timing
    misses: int


def measure(
    label: str,
    template: Path,
    photos: list[Photo],
    servers: Servers,
    stand_in: StandIn,
    rounds: int,
    folder: Path,
) -> tuple[Timing, Timing]:
    from mixbook_desktop.services.cloud_analysis import collection_id
    from mixbook_desktop.store.project import Project

    best_ours = best_floor = Timing(float("inf"), float("inf"), float("inf"))
    asked: dict[str, dict[str, int]] = {}
    stand_in.command("stats")
    for n in range(rounds):
        # Alternating which side goes first evens out anything that drifts during the run.
        for side in ("floor", "ours") if n % 2 == 0 else ("ours", "floor"):
            book, settings = fresh_book(template, folder, servers)
            with Project.open(book) as project:
                collection = collection_id(project)
            cpu = time.process_time()
            got = run_ours(book, len(photos)) if side == "ours" else run_floor(photos, settings, collection)
            got = Timing(got.total, got.upload, time.process_time() - cpu)
            asked[side] = stand_in.command("stats")["asked"]
            if side == "ours":
                best_ours = best(best_ours, got)
            else:
                best_floor = best(best_floor, got)
            print(
                f"  {label} round {n + 1} {side}: {got.total:.2f} s (upload {got.upload:.2f} s, "
                f"client CPU {got.cpu:.2f} s)",
                file=sys.stderr,
            )
            for suffix in ("", "-wal", "-shm"):
                Path(f"{book}{suffix}").unlink(missing_ok=True)
        # Ours looks for its collection before making it; every other request must be the floor's.
        asked["ours"].pop("DescribeCollection", None)
        if asked["ours"] != asked["floor"]:
            raise SystemExit(f"the two sides asked Rekognition different things: {asked}")
    print(f"  {label}: Rekognition requests per round on each side: {asked['floor']}", file=sys.stderr)
    return best_ours, best_floor


def check_copies(photos: list[Photo]) -> None:
    """The floor's analysis copies must be ours, byte for byte, or the comparison is not one."""
    from mixbook_desktop.cloud.analysis_copy import analysis_copy

    for photo in photos:
        if floor_copy(Path(photo.path).read_bytes()) != analysis_copy(photo.path, photo.sha256):
            raise SystemExit(f"the floor's analysis copy of {photo.path} differs from ours")


def machine() -> str:
    import boto3

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    weed = subprocess.run(
        [str(Path(sys.executable).parent / "weed"), "version"], capture_output=True, text=True, check=False
    ).stdout.split("\n")[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, boto3 {boto3.__version__}, SeaweedFS {weed.strip()}"
    )


@contextmanager
def aws_credentials(folder: Path) -> Iterator[None]:
    import pytest

    from tests.cloud_support import aws_environment

    with pytest.MonkeyPatch.context() as patch:
        aws_environment(patch, folder)
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the models set (best of)")
    parser.add_argument("--copies", type=int, default=3, help="copies of each photo in the memory set")
    parser.add_argument("--quick", action="store_true", help="one round, one copy: a check, not a figure")
    parser.add_argument("--serve", metavar="S3_ENDPOINT", help=argparse.SUPPRESS)
    results.add_options(parser, None)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    rounds, copies = (1, 1) if args.quick else (args.rounds, args.copies)
    # The memory set is quick and noisy (a loaded 2-core machine): more rounds are cheap there.
    memory_rounds = rounds if args.quick else max(rounds, 5)
    # A short path: weed's Unix sockets live in it, and their paths are cut at 108 bytes.
    folder = Path(tempfile.mkdtemp(prefix="cloudbench-"))
    try:
        rows = bench(folder, rounds, memory_rounds, copies)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    from mixbook_desktop.cloud import uploads
    from mixbook_desktop.services import cloud_analysis

    print(f"machine: {machine()}")
    print(
        f"cloud benchmark: {uploads.DEFAULT_WORKERS} upload threads, {cloud_analysis.CLOUD_THREADS} "
        f"Rekognition threads on both sides, best of {rounds} (memory set: {memory_rounds})"
    )
    print(
        f"{'set':7} {'photos':>6}  {'photos per second':22} {'ours':>6} {'floor':>6} {'ratio':>6}"
        f"   {'client CPU ms/photo, ours':>25} {'floor':>6}"
    )
    for r in rows:
        print(
            f"{r.label:7} {r.photos:>6}  {'uploaded + analysed':22} {r.photos / r.ours.total:>6.2f} "
            f"{r.photos / r.floor.total:>6.2f} {r.floor.total / r.ours.total:>6.2f}"
            f"   {1000 * r.ours.cpu / r.photos:>25.0f} {1000 * r.floor.cpu / r.photos:>6.0f}"
        )
        print(
            f"{r.label:7} {r.photos:>6}  {'uploaded only':22} {r.photos / r.ours.upload:>6.2f} "
            f"{r.photos / r.floor.upload:>6.2f} {r.floor.upload / r.ours.upload:>6.2f}"
        )
    print(
        f"target: ratio >= {TARGET_RATIO} uploaded + analysed (got "
        + ", ".join(f"{r.label} {r.floor.total / r.ours.total:.2f}" for r in rows)
        + f"); stand-in memory misses in the memory set: {rows[-1].misses}"
    )
    write_figures(args.json, rows, args.quick)


def write_figures(path: Path | None, rows: list[Row], quick: bool) -> None:
    labels = {
        "models": "demo photos uploaded + analysed, by the local models",
        "memory": "photos uploaded + analysed, answers from memory",
    }
    figures = []
    for r in rows:
        ratio = r.floor.total / r.ours.total
        figures.append(
            results.Figure(
                f"{r.photos} {labels[r.label]}",
                r.photos / r.ours.total,
                "photos/s",
                r.photos / r.floor.total,
                ratio,
                f"ratio >= {TARGET_RATIO}",
                ratio >= TARGET_RATIO,
            )
        )
    memory = rows[-1]
    # For information: the upload part of the memory set's runs, where the HTTP cost shows most.
    figures.append(
        results.Figure(
            f"the same {memory.photos}, upload only",
            memory.photos / memory.ours.upload,
            "photos/s",
            memory.photos / memory.floor.upload,
            memory.floor.upload / memory.ours.upload,
        )
    )
    results.write(path, "cloud", figures, quick)


def bench(folder: Path, rounds: int, memory_rounds: int, copies: int) -> list[Row]:
    from tests.cloud_support import ACCESS_KEY, SECRET_KEY
    from tests.support.seaweed import seaweed

    (folder / "photos").mkdir()
    demo, everything = photo_files(folder / "photos", copies)
    with aws_credentials(folder), seaweed(folder / "s3", ACCESS_KEY, SECRET_KEY) as s3:
        stand_in = StandIn(s3.endpoint, folder / "stand-in.log")
        try:
            servers = Servers(s3.endpoint, stand_in.url)
            small, small_photos = make_template(folder, "demo", demo)
            large, large_photos = make_template(folder, "copies", everything)
            check_copies(small_photos)
            stand_in.command("models")
            # Untimed: loads the stand-in's models, fills its memory, warms both clients.
            run_ours(fresh_book(small, folder, servers)[0], len(small_photos))
            ours, floor = measure("models", small, small_photos, servers, stand_in, rounds, folder)
            rows = [Row("models", len(small_photos), ours, floor, stand_in.command("stats")["misses"])]
            stand_in.command("memory")
            ours, floor = measure("memory", large, large_photos, servers, stand_in, memory_rounds, folder)
            rows.append(Row("memory", len(large_photos), ours, floor, stand_in.command("stats")["misses"]))
        finally:
            stand_in.close()
    return rows


if __name__ == "__main__":
    main()
