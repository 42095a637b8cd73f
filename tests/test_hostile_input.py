"""Hostile input: damaged photos, odd file names, files that are not projects, photos replaced,
symlink loops and folders nobody may read. Each gets a clear one-line message, and nothing
the project already holds is lost.

The property tests are fuzzers built with Hypothesis from the real fixture files. They are
derandomized (the same examples on every run, in CI too) and kept small enough that the
module runs in well under a minute on two cores.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import faulthandler
import io
import json
import math
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from mixbook_desktop.core.photo import ExifFacts, FileStatus
from mixbook_desktop.export.pdf import ExportError, write_pdf
from mixbook_desktop.library.decode import BadImage, open_for_analysis, probe_file
from mixbook_desktop.library.exif import RawExif, interpret, read_exif, text_fields
from mixbook_desktop.library.places import PlaceNamer
from mixbook_desktop.library.scan import SKIPPED_EXTENSIONS
from mixbook_desktop.services import book as book_service
from mixbook_desktop.services.analysis import analyze_book
from mixbook_desktop.services.importer import Change, ImportReport, import_paths
from mixbook_desktop.services.relink import relink_missing
from mixbook_desktop.store.book import BookStore
from mixbook_desktop.store.migrations import APPLICATION_ID, SCHEMA_VERSION
from mixbook_desktop.store.photos import PhotoStore
from mixbook_desktop.store.project import Project, ProjectError
from tests.analysis_support import copy_book
from tests.conftest import DEMO_PHOTOS, FIXTURE_PHOTOS, ROOT, run_cli

# Same examples on every run, no example database between runs, no per-example deadline (a
# decode in a fresh worker process is slow on a busy CI machine; hangs are fenced separately).
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TODAY = dt.date(2026, 11, 24)
# Far beyond any honest read of one small file, far below "hung".
READ_LIMIT_S = 10.0
ALTITUDE_RANGE = (-11_000.0, 100_000.0)


# --- Bounded time ------------------------------------------------------------------------------


class Hung(BaseException):
    """Raised by the alarm; a BaseException so that no reader's `except Exception` can hide it."""


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Fail a call that runs longer than `seconds` instead of letting the test run hang. The
    alarm interrupts Python code; a decoder stuck in native code cannot be interrupted, so
    past three times the limit the run ends with every thread's traceback instead."""

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(3 * seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- Invariants --------------------------------------------------------------------------------


def assert_one_line(message: str | None, limit: int = 300) -> None:
    assert message, "a reason must be given"
    assert "\n" not in message and "\r" not in message, repr(message)
    assert len(message) < limit, message


def assert_facts_hold(facts: ExifFacts) -> None:
    """What the rest of the app relies on, whatever the file held."""
    assert facts.orientation is None or (type(facts.orientation) is int and 1 <= facts.orientation <= 8)
    if facts.gps is not None:
        lat, lon, alt = facts.gps.lat, facts.gps.lon, facts.gps.alt
        assert math.isfinite(lat) and -90 <= lat <= 90, lat
        assert math.isfinite(lon) and -180 <= lon <= 180, lon
        assert (lat, lon) != (0.0, 0.0)
        assert alt is None or ALTITUDE_RANGE[0] <= alt <= ALTITUDE_RANGE[1], alt
    if facts.taken_at is not None:
        # Chapters, duplicates and captions parse it back with fromisoformat.
        assert facts.taken_at.isascii(), facts.taken_at
        stamp = dt.datetime.fromisoformat(facts.taken_at)
        assert stamp.year >= 1826
    if facts.camera is not None:
        for text in (facts.camera.make, facts.camera.model):
            assert text is None or (text and text == text.strip() and "\x00" not in text)
    assert isinstance(facts.warnings, tuple)
    for warning in facts.warnings:
        assert_one_line(warning, limit=1000)  # it may quote a corrupt value of 300 digits


# --- Real files to damage ----------------------------------------------------------------------

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_SUB_IFDS = (0x8769, 0x8825)  # the Exif and GPS IFD pointers
# Doubles a fuzzer's dictionary holds: beyond any float product, infinite, not a number, tiny.
_EXTREMES = (sys.float_info.max, -1e303, math.inf, -math.inf, math.nan, 5e-324, -0.0)
# Make, Model, Orientation; the Exif IFD's times; the GPS IFD's position (tags 1-6). Tag
# numbers overlap between IFDs; aiming at a few unread tags as well does no harm.
_READ_TAGS = frozenset(
    {0x010F, 0x0110, 0x0112, 0x9003, 0x9004, 0x9011, 0x9012, 0x9291, 0x9292, 1, 2, 3, 4, 5, 6}
)


@dataclass(frozen=True)
class Sample:
    """A real photo file and where its EXIF lies, so mutations can aim at it."""

    name: str
    suffix: str
    data: bytes
    tiff_at: int  # offset of the TIFF header that starts the EXIF block
    exif_end: int  # end of the last IFD entry or value found
    entries: tuple[int, ...]  # offsets of the 12-byte IFD entries of IFD0, Exif and GPS
    read: tuple[int, ...]  # those of them holding a tag the app interprets
    order: str  # struct byte order of the EXIF block


class Damaged:
    """A damaged copy of a sample. Its repr stays short in Hypothesis's failure reports; the
    bytes come back with the @reproduce_failure blob printed beside it."""

    __slots__ = ("data", "sample", "suffix")

    def __init__(self, sample: str, suffix: str, data: bytes) -> None:
        self.sample, self.suffix, self.data = sample, suffix, data

    def __repr__(self) -> str:
        return f"<{self.sample}{self.suffix}, damaged, {len(self.data)} bytes>"


def _tiff_header(data: bytes) -> int:
    for marker in (b"Exif\x00\x00MM\x00*", b"Exif\x00\x00II*\x00"):
        if (at := data.find(marker)) >= 0:
            return at + 6
    at = data.find(b"eXIf")  # PNG: the chunk holds the TIFF block itself
    assert at >= 0, "fixture without EXIF"
    return at + 4


def _walk_ifds(data: bytes, tiff_at: int) -> tuple[tuple[int, ...], tuple[int, ...], int, str]:
    order = "<" if data[tiff_at : tiff_at + 2] == b"II" else ">"

    def number(at: int, size: int) -> int:
        value: int = struct.unpack_from(order + ("H" if size == 2 else "I"), data, tiff_at + at)[0]
        return value

    entries: list[int] = []
    read: list[int] = []
    end = tiff_at + 8
    todo, seen = [number(4, 4)], set()
    while todo:
        ifd = todo.pop()
        if ifd in seen or tiff_at + ifd + 2 > len(data):
            continue
        seen.add(ifd)
        for i in range(number(ifd, 2)):
            entry = ifd + 2 + 12 * i
            if tiff_at + entry + 12 > len(data):
                break
            entries.append(tiff_at + entry)
            tag, kind, count = number(entry, 2), number(entry + 2, 2), number(entry + 4, 4)
            if tag in _READ_TAGS:
                read.append(tiff_at + entry)
            size = _TYPE_SIZES.get(kind, 1) * count
            end = max(end, tiff_at + entry + 12)
            if size > 4:
                end = max(end, tiff_at + number(entry + 8, 4) + size)
            if tag in _SUB_IFDS:
                todo.append(number(entry + 8, 4))
    return tuple(entries), tuple(read), min(end, len(data)), order


def _sample(name: str, data: bytes, suffix: str) -> Sample:
    tiff_at = _tiff_header(data)
    entries, read, end, order = _walk_ifds(data, tiff_at)
    assert read, name
    return Sample(name, suffix, data, tiff_at, end, entries, read, order)


@cache
def small_samples() -> tuple[Sample, ...]:
    """Small real files: quick to decode in full, so they can be imported many times."""
    with Image.open(DEMO_PHOTOS / "exifpy__iphone_hdr_YES.jpg") as iphone:
        gps_exif = iphone.info["exif"]  # a real iPhone EXIF block: GPS, offsets, sub-seconds
    with Image.open(FIXTURE_PHOTOS / "pillow__hopper_orientation_3.jpg") as im:
        hopper = im.convert("RGB")
    # The iPhone's EXIF on a small picture, as JPEG and as PNG (whose eXIf chunk no fixture has).
    as_png, as_jpeg = io.BytesIO(), io.BytesIO()
    hopper.save(as_png, "PNG", exif=gps_exif)
    hopper.save(as_jpeg, "JPEG", exif=gps_exif, quality=80)
    return (
        _sample(
            "hopper_orientation_6", (FIXTURE_PHOTOS / "pillow__hopper_orientation_6.jpg").read_bytes(), ".jpg"
        ),
        _sample("r_canon", (FIXTURE_PHOTOS / "piexif__r_canon.jpg").read_bytes(), ".jpg"),
        _sample("exif_gps", (FIXTURE_PHOTOS / "pillow__exif_gps.jpg").read_bytes(), ".jpg"),
        _sample("iphone_exif_in_jpeg", as_jpeg.getvalue(), ".jpg"),
        _sample("iphone_exif_in_png", as_png.getvalue(), ".png"),
    )


@cache
def all_samples() -> tuple[Sample, ...]:
    """The small ones and a real iPhone HEIC (2 MB, decoded in full only by the import test)."""
    heic = DEMO_PHOTOS / "exifpy__iphone_13_pro_max.heic"
    return (*small_samples(), _sample("iphone_13_pro_max", heic.read_bytes(), ".heic"))


def _put(data: bytearray, at: int, size: int, value: int, order: str) -> None:
    if at + size <= len(data):
        struct.pack_into(order + ("H" if size == 2 else "I"), data, at, value)


@st.composite
def damaged(draw: st.DrawFn, samples: tuple[Sample, ...]) -> Damaged:
    """A real file with its IFD entries retyped, recounted or repointed, and bytes flipped,
    inserted, deleted or cut, inside the EXIF block or anywhere."""
    sample = draw(st.sampled_from(samples))
    data = bytearray(sample.data)
    # Entry edits first, while the entries are still where the walk found them.
    edits = draw(st.integers(0, 3))
    for _ in range(edits):
        # Half of the edits aim at the tags the app reads, the others at any tag.
        entry = draw(st.sampled_from(sample.read if draw(st.booleans()) else sample.entries))
        field = draw(st.sampled_from(["type", "count", "value", "float"]))
        if field == "type":  # e.g. a rational read as a double, a short, text
            _put(data, entry + 2, 2, draw(st.integers(0, 13)), sample.order)
        elif field == "float":
            # A FLOAT or DOUBLE where a rational or a short belongs, written over the block;
            # extreme values are drawn as often as ordinary ones, as a fuzzer's dictionary would.
            at = draw(st.integers(sample.tiff_at + 8, max(sample.tiff_at + 8, sample.exif_end - 8)))
            double = draw(st.booleans())
            if double:
                value = struct.pack(
                    sample.order + "d", draw(st.one_of(st.floats(), st.sampled_from(_EXTREMES)))
                )
            else:
                value = struct.pack(sample.order + "f", draw(st.floats(width=32)))
            data[at : at + len(value)] = value
            _put(data, entry + 2, 2, 12 if double else 11, sample.order)
            _put(data, entry + 4, 4, 1, sample.order)
            _put(data, entry + 8, 4, at - sample.tiff_at, sample.order)
        elif field == "count":
            count = draw(
                st.one_of(st.sampled_from([0, 1, 2, 3, 4, 0xFFFF, 0xFFFFFFFF]), st.integers(0, 2**32 - 1))
            )
            _put(data, entry + 4, 4, count, sample.order)
        else:  # an inline value, or an offset that now points anywhere (itself included)
            _put(data, entry + 8, 4, draw(st.integers(0, 2**32 - 1)), sample.order)
    for _ in range(draw(st.integers(0 if edits else 1, 3))):
        if not data:
            break
        op = draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        in_exif = draw(st.sampled_from([True, True, False]))
        lo, hi = (sample.tiff_at, min(sample.exif_end, len(data))) if in_exif else (0, len(data))
        if hi <= lo:
            lo, hi = 0, len(data)
        at = draw(st.integers(lo, hi - 1))
        if op == "set":
            patch = draw(st.binary(min_size=1, max_size=8))
            data[at : at + len(patch)] = patch
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            del data[at:]
    return Damaged(sample.name, sample.suffix, bytes(data))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the fuzzers' files (module-scoped: Hypothesis reruns one test many times)."""
    return tmp_path_factory.mktemp("hostile")


# --- EXIF --------------------------------------------------------------------------------------

_TAGS = [
    "Make", "Model", "Orientation", "DateTimeOriginal", "SubSecTimeOriginal", "OffsetTimeOriginal",
    "DateTimeDigitized", "SubSecTimeDigitized", "OffsetTimeDigitized", "GPSLatitudeRef", "GPSLatitude",
    "GPSLongitudeRef", "GPSLongitude", "GPSAltitudeRef", "GPSAltitude",
]  # fmt: skip
# Numbers as both readers give them: 32-bit for honest files, and anything a float or a
# damaged type could turn into.
_NUMBERS = st.one_of(st.integers(-(2**32), 2**32), st.integers(-(2**1100), 2**1100))
_RATIONALS = st.lists(st.tuples(_NUMBERS, _NUMBERS), min_size=1, max_size=4).map(tuple)
# Text close to what the interpreter looks for: \d in these patterns also yields other scripts'
# digits, as a damaged or hostile file can hold.
_TEXTS = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A\d{4}[:/-]\d{2}[:/-]\d{2}[ T]\d{2}:\d{2}:\d{2}\Z"),
    st.from_regex(r"\A[+-]\d{2}:\d{2}\Z"),
    st.text(alphabet="0123456789²³¹٣ \x00", max_size=12),
    st.sampled_from(["N", "S", "E", "W", "0000:00:00 00:00:00", "2022:02:16 12:55:41"]),
)
_RAW = st.dictionaries(st.sampled_from(_TAGS), st.one_of(_TEXTS, _RATIONALS), max_size=10)


@settings(FUZZ, max_examples=400)
@given(raw=_RAW)
def test_any_tag_values_become_facts_or_warnings(raw: RawExif) -> None:
    """The interpreter sees every value both readers can produce, broken ones included."""
    assert_facts_hold(interpret(raw, today=TODAY))


@settings(FUZZ, max_examples=400)
@given(case=damaged(all_samples()))
def test_damaged_exif_is_read_without_failing_or_hanging(case: Damaged, scratch: Path) -> None:
    """read_exif and text_fields document no error at all: whatever the bytes, facts (maybe
    empty, with warnings) or no text come back, in bounded time."""
    path = scratch / f"damaged{case.suffix}"
    path.write_bytes(case.data)
    started = time.monotonic()
    with bounded(READ_LIMIT_S), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about every damaged tag it skips
        try:
            with Image.open(path) as im:
                pillow_exif: Image.Exif | None = im.getexif()
        except Exception:  # Pillow refusing the file is decode's to report (BadImage), not EXIF's
            pillow_exif = None
        facts = read_exif(str(path), pillow_exif)
        texts = text_fields(str(path))
    assert time.monotonic() - started < READ_LIMIT_S
    assert_facts_hold(facts)
    assert all(isinstance(label, str) and isinstance(text, str) and text for label, text in texts)


@settings(FUZZ, max_examples=200)
@given(case=damaged(small_samples()))
def test_damaged_photo_is_probed_to_a_photo_or_a_one_line_reason(case: Damaged, scratch: Path) -> None:
    """probe_file, what import runs in its workers, never raises for bad content."""
    path = scratch / f"probe{case.suffix}"
    path.write_bytes(case.data)
    with bounded(READ_LIMIT_S), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about every damaged tag it skips
        probe = probe_file(str(path))
    assert (probe.photo is None) == (probe.error is not None)
    if probe.photo is None:
        assert_one_line(probe.error)
        return
    assert probe.photo.width > 0 and probe.photo.height > 0
    assert_facts_hold(probe.photo.exif)
    with Image.open(io.BytesIO(probe.photo.thumbnail)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 256


Entry = tuple[int, int, int, bytes]


def _exif_block(ifd0: list[Entry], exif: list[Entry], gps: list[Entry]) -> bytes:
    """A little-endian TIFF block: IFD0 pointing to an Exif and a GPS IFD. Entries are (tag,
    type, count, packed value); values longer than 4 bytes go after their IFD."""

    def ifd(entries: list[Entry], start: int) -> bytes:
        data_at = start + 2 + 12 * len(entries) + 4
        head, extra = struct.pack("<H", len(entries)), b""
        for tag, kind, count, value in sorted(entries):
            if len(value) <= 4:
                head += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
            else:
                head += struct.pack("<HHII", tag, kind, count, data_at + len(extra))
                extra += value + b"\x00" * (len(value) % 2)
        return head + b"\x00\x00\x00\x00" + extra

    def first(exif_at: int, gps_at: int) -> list[Entry]:
        return [*ifd0, (0x8769, 4, 1, struct.pack("<I", exif_at)), (0x8825, 4, 1, struct.pack("<I", gps_at))]

    exif_at = 8 + len(ifd(first(0, 0), 8))
    exif_ifd = ifd(exif, exif_at)
    gps_at = exif_at + len(exif_ifd)
    return b"II*\x00" + struct.pack("<I", 8) + ifd(first(exif_at, gps_at), 8) + exif_ifd + ifd(gps, gps_at)


def _ascii(text: str) -> tuple[int, int, bytes]:
    raw = text.encode() + b"\x00"
    return 2, len(raw), raw


def test_exif_found_by_fuzzing_is_read_with_warnings(tmp_path: Path) -> None:
    """What the fuzzers found, as one file: a sub-second '²' (isdigit() says yes, int() says
    no), an offset in Arabic-Indic digits (copied into the timestamp as they were), and a GPS
    latitude stored as a huge DOUBLE. The first and the last used to refuse the whole photo
    ("failed: ValueError ..." / OverflowError in the import's worker). Now the photo imports
    with the facts that are sound: the sub-seconds are dropped, the rest are warnings."""
    block = _exif_block(
        [(0x0112, 3, 1, struct.pack("<H", 6)), (0x010F, *_ascii("Canon"))],
        [
            (0x9003, *_ascii("2020:01:01 10:00:00")),
            (0x9291, *_ascii("²")),
            (0x9011, *_ascii("+٠١:٠٠")),
        ],
        [
            (1, *_ascii("N")),
            (2, 12, 1, struct.pack("<d", 1e303)),
            (3, *_ascii("E")),
            (4, 5, 3, struct.pack("<6I", 1, 1, 2, 1, 3, 1)),
        ],
    )
    path = tmp_path / "hostile exif.jpg"
    Image.new("RGB", (16, 8), "red").save(path, "JPEG", exif=b"Exif\x00\x00" + block)
    probe = probe_file(str(path))
    assert probe.error is None and probe.photo is not None
    facts = probe.photo.exif
    assert facts.taken_at == "2020-01-01T10:00:00"  # no sub-seconds, no offset
    assert facts.orientation == 6 and facts.camera is not None and facts.camera.make == "Canon"
    assert facts.gps is None
    assert any("OffsetTimeOriginal" in w for w in facts.warnings), facts.warnings
    assert any("GPS" in w for w in facts.warnings), facts.warnings
    assert_facts_hold(facts)


# --- Import ------------------------------------------------------------------------------------

_ODD_STEMS = st.sampled_from(
    [
        "-rf", "--help", " leading space", "trailing space ", "new\nline", "tab\there", "carriage\rreturn",
        "😀 emoji", "café", "e\u0301 combining", "\u202eright-to-left", "漢字", "'quote\"", "$(echo x)",
        "*?[x]", "[bold]x", "back\\slash", "%s%n", "\x7f\x01\x1b[31m", "CON", "nul",
        "x" * 250, "é" * 125,
    ]
)  # fmt: skip
_ANY_STEMS = st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=40)


def _importable(name: str) -> bool:
    """Names the folder walk must import: hidden files, sidecars and system junk are passed over
    on purpose (and counted as skipped), and Linux allows 255 bytes."""
    return (
        not name.startswith(".")
        and len(os.fsencode(name)) <= 255
        and name.lower() not in {"thumbs.db", "desktop.ini"}
        and os.path.splitext(name)[1].lower() not in SKIPPED_EXTENSIONS
    )


_NAMES = st.builds(
    lambda stem, suffix: stem + suffix,
    st.one_of(_ODD_STEMS, _ANY_STEMS),
    st.sampled_from([".jpg", ".JPG", ".jpeg", ".png", ".heic", ""]),
).filter(_importable)
_FILES = st.lists(
    st.tuples(_NAMES, damaged(all_samples())),
    min_size=1,
    max_size=3,
    unique_by=lambda item: item[0],
)


@cache
def places() -> PlaceNamer:
    """One place namer for every import here: its city table loads once."""
    return PlaceNamer()


def _rows(project: Project) -> list[tuple[str, str | None, str, str | None]]:
    return [(r["file"], r["sha256"], r["status"], r["error"]) for r in PhotoStore(project).listing()]


def _ours(detail: str | None) -> str | None:
    """An error's reason without the decoder's own words in brackets: those may differ from
    one try to the next (libheif named a truncated file's iloc box once, its end the next)."""
    return None if detail is None else detail.split(" (", 1)[0]


def _assert_sound(project: Project) -> None:
    assert project.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert project.conn.execute("PRAGMA foreign_key_check").fetchall() == []


@settings(FUZZ, max_examples=15)
@given(files=_FILES)
def test_import_of_damaged_files_under_odd_names(files: list[tuple[str, Damaged]], scratch: Path) -> None:
    """Every file gets exactly one result (one line when it is an error), the project stays
    sound, and importing the same folder again changes nothing."""
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for name, case in files:
            (folder / name).write_bytes(case.data)
        expected = sorted(str((folder / name).resolve()) for name, _ in files)
        with Project.open(Path(tmp) / "book.mbook", create=True) as project:
            first = import_paths(project, [str(folder)], workers=1, places=places())
            assert sorted(r.path for r in first.results) == expected
            news = {r.path for r in first.results if r.change is Change.NEW}
            for result in first.results:
                assert result.change in (Change.NEW, Change.DUPLICATE, Change.ERROR), result
                if result.change is Change.ERROR:
                    assert_one_line(result.detail)
                    # A Python exception in the probe means a bug here, not a bad file.
                    assert result.detail is not None and not result.detail.startswith("failed:"), result
                if result.change is Change.DUPLICATE:
                    assert result.detail in news, result
            rows = _rows(project)
            assert sorted(file for file, *_ in rows) == expected
            _assert_sound(project)
            second = import_paths(project, [str(folder)], workers=1, places=places())
            assert {r.change for r in second.results} <= {Change.UNCHANGED, Change.ERROR}
            errors = {r.path: _ours(r.detail) for r in first.results if r.change is Change.ERROR}
            assert {r.path: _ours(r.detail) for r in second.results if r.change is Change.ERROR} == errors
            assert [(*row[:3], _ours(row[3])) for row in _rows(project)] == [
                (*row[:3], _ours(row[3])) for row in rows
            ]
            _assert_sound(project)


def test_file_names_that_are_not_utf8_are_named_not_a_crash(tmp_path: Path) -> None:
    """A Latin-1 name from an old archive is a valid Linux file name but cannot be stored in
    the project: it used to crash the whole import (UnicodeEncodeError at the first such file)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    latin1 = os.fsdecode(b"caf\xe9 \xff.jpg")
    shutil.copy(FIXTURE_PHOTOS / "piexif__r_canon.jpg", folder / latin1)
    shutil.copy(FIXTURE_PHOTOS / "piexif__r_sony.jpg", folder / "fine.jpg")
    with Project.open(tmp_path / "b.mbook", create=True) as project:
        report = import_paths(project, [str(folder)], workers=1)
        again = import_paths(project, [str(folder)], workers=1)
        rows = _rows(project)
        _assert_sound(project)
    changes = {Path(r.path).name: (r.change, r.detail) for r in report.results}
    assert changes == {
        "caf\\xe9 \\xff.jpg": (
            Change.ERROR,
            "the file name is not valid UTF-8; rename the file to import it",
        ),
        "fine.jpg": (Change.NEW, None),
    }
    assert [r.change for r in again.results] == [Change.ERROR, Change.UNCHANGED]
    assert len(rows) == 2


# --- Project files -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real project file with photos and thumbnails in it, closed (its WAL folded in)."""
    folder = tmp_path_factory.mktemp("project")
    book = folder / "real.mbook"
    with Project.open(book, create=True) as project:
        for name in ("piexif__r_canon.jpg", "pillow__hopper_orientation_6.jpg", "pillow__broken.png"):
            shutil.copy(FIXTURE_PHOTOS / name, folder / name)
        import_paths(project, [str(folder)], workers=1)
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".mbook" or "-" in p.suffix) == [
        "real.mbook"
    ]
    return book


@contextmanager
def untouched(path: Path) -> Iterator[None]:
    """The file keeps its bytes and its mtime, and nothing is left beside it (no -wal, -shm or
    backup from an attempt to open it)."""
    before = (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent)))
    yield
    assert (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))) == before


def refused(path: Path) -> str:
    """Open `path` as a project; it must be refused with one clear line naming the file."""
    with bounded(READ_LIMIT_S), untouched(path), pytest.raises(ProjectError) as caught:
        Project.open(path).close()
    message = str(caught.value)
    assert str(path) in message
    assert_one_line(message.replace(str(path), "P"))  # the path itself may hold anything
    return message


_SQLITE_MAGIC = b"SQLite format 3\x00"


@settings(FUZZ, max_examples=200)
@given(
    data=st.one_of(st.binary(min_size=1, max_size=4096), st.binary(max_size=4096).map(_SQLITE_MAGIC.__add__))
)
def test_random_bytes_are_refused_untouched(data: bytes, scratch: Path) -> None:
    """Bytes that are not a project, with or without SQLite's magic in front. A 1-byte file
    used to be taken by SQLite for an empty database and made into a project over what it held.
    An empty file is left out on purpose: it becomes a new project (there is nothing to lose)."""
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        path = Path(tmp) / "random.mbook"
        path.write_bytes(data)
        refused(path)


@st.composite
def _project_damage(draw: st.DrawFn, size: int) -> list[tuple[str, int, bytes]]:
    """Byte patches (mostly in the header and the schema page, where SQLite looks first) and
    truncations of a real project file of `size` bytes."""
    ops: list[tuple[str, int, bytes]] = []
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "set", "truncate"]))
        where = draw(st.one_of(st.integers(0, 99), st.integers(0, 8191), st.integers(0, size - 1)))
        ops.append((op, max(1, where), draw(st.binary(min_size=1, max_size=8)) if op == "set" else b""))
    return ops


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_a_damaged_or_truncated_project_is_refused_or_opened_never_changed(
    data: st.DataObject, real_project: Path, scratch: Path
) -> None:
    """A damaged project is refused with a reason, or (when SQLite cannot see the damage) opens;
    either way its bytes stay as they were."""
    content = bytearray(real_project.read_bytes())
    for op, at, patch in data.draw(_project_damage(len(content))):
        if op == "set":
            content[at : at + len(patch)] = patch
        else:
            del content[at:]
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        path = Path(tmp) / "damaged.mbook"
        path.write_bytes(bytes(content))
        before = path.read_bytes()
        try:
            with bounded(READ_LIMIT_S):
                Project.open(path).close()
        except ProjectError as exc:
            message = str(exc)
            assert str(path) in message
            assert_one_line(message.replace(str(path), "P"))
        backups = [p for p in os.listdir(tmp) if p.endswith(".bak")]
        # Only a migration writes, and it keeps a backup first: a damaged version number may
        # send the file through one.
        assert path.read_bytes() == before or backups
        assert not [p for p in os.listdir(tmp) if p.endswith(("-wal", "-shm"))]


_IDENTIFIERS = st.from_regex(r"\A[a-z][a-z0-9_]{0,12}\Z").filter(lambda name: not name.startswith("sqlite"))


@settings(FUZZ, max_examples=150)
@given(
    tables=st.lists(_IDENTIFIERS, max_size=3, unique=True),
    app_id=st.integers(-(2**31), 2**31 - 1).filter(lambda v: v != APPLICATION_ID),
    version=st.one_of(st.just(0), st.integers(-(2**31), 2**31 - 1)),
)
def test_a_foreign_sqlite_database_is_refused_untouched(
    tables: list[str], app_id: int, version: int, scratch: Path
) -> None:
    """Another program's database, with tables and rows, an application id and a version of its
    own. One with no tables but a version of its own used to be "migrated" from that version
    (steps meant for ours, on an empty file) and left switched to WAL with a backup beside it."""
    # Nothing set and nothing in it is an empty database, which becomes a new project.
    assume(tables or app_id != 0 or version != 0)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        path = Path(tmp) / "theirs.db"
        conn = sqlite3.connect(path)
        for table in tables:
            conn.execute(f'CREATE TABLE "{table}" (x)')
            conn.execute(f'INSERT INTO "{table}" VALUES (?)', ["keep me"])
        conn.execute(f"PRAGMA application_id = {app_id}")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.commit()
        conn.close()
        assert "not a mixbook project" in refused(path)


@settings(FUZZ, max_examples=50)
@given(version=st.one_of(st.integers(SCHEMA_VERSION + 1, 2**31 - 1), st.integers(-(2**31), -1)))
def test_a_project_of_another_version_is_refused_untouched(
    version: int, real_project: Path, scratch: Path
) -> None:
    """A newer project is left for the newer app. A negative version (damage) used to run the
    last migrations first, over the existing schema, and leave a half-migrated file."""
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        path = Path(tmp) / "other.mbook"
        shutil.copy(real_project, path)
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.close()
        message = refused(path)
        if version > 0:
            assert f"newer mixbook-desktop (project version {version}" in message
        else:
            assert f"damaged: its project version is {version}" in message


# --- Photos replaced, renamed over, looped and locked away -------------------------------------


def _import(project: Project, *paths: Path) -> dict[str, tuple[Change, str | None]]:
    report: ImportReport = import_paths(project, [str(p) for p in paths], workers=1)
    return {Path(r.path).name: (r.change, r.detail) for r in report.results}


def _held(project: Project, sha: str) -> tuple[int, int, list[int]]:
    """What the project holds of a photo: its analysis rows, its thumbnail, the pages it is on."""
    (photo_id,) = project.conn.execute("SELECT id FROM photos WHERE sha256 = ?", [sha]).fetchone()
    (analysed,) = project.conn.execute(
        "SELECT count(*) FROM analysis WHERE photo_id = ?", [photo_id]
    ).fetchone()
    (thumbnails,) = project.conn.execute("SELECT count(*) FROM thumbnails WHERE sha256 = ?", [sha]).fetchone()
    pages = [at for at, page in sorted(BookStore(project).pages().items()) if photo_id in page.photo_ids()]
    return analysed, thumbnails, pages


def test_a_photo_replaced_by_another_file_is_named_in_one_line_and_comes_back(tmp_path: Path) -> None:
    """A photo overwritten with a PDF, then with text: analysis and export name it in one line,
    import calls it what it now is; its analysis, thumbnail and page stay; and once the photo
    is back, import links it again. It used to be reported "relinked" and then left with no
    file at all."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("maxinception__dog.jpg", "maxinception__pizza.jpg"):
        shutil.copy(DEMO_PHOTOS / name, folder / name)
    dog = folder / "maxinception__dog.jpg"
    original = dog.read_bytes()
    pdf = tmp_path / "book.pdf"
    with Project.open(tmp_path / "b.mbook", create=True) as project:
        _import(project, folder)
        assert not analyze_book(project, workers=1).failed
        book_service.layout_book(project)
        (sha,) = [r["sha256"] for r in PhotoStore(project).listing() if r["file"] == str(dog)]
        kept = _held(project, sha)
        assert kept[0] > 0 and kept[1] == 1 and kept[2]
        assert write_pdf(book_service.printed_book(project), pdf).problems == []
        for replacement, kind in [
            (b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n", "PDF document"),
            (b"shopping list\n", "text"),
        ]:
            dog.write_bytes(replacement)
            with pytest.raises(BadImage) as bad:
                open_for_analysis(str(dog), sha, 512)
            assert str(bad.value) == "the file changed since it was imported; import it again"
            if kind == "PDF document":  # while the project still points at the file
                exported = pdf.read_bytes()
                with pytest.raises(ExportError) as failed:
                    write_pdf(book_service.printed_book(project), pdf)
                message = str(failed.value)
                assert f"{dog}: the file changed since it was imported" in message
                assert_one_line(message.replace(str(dog), "P"))
                assert pdf.read_bytes() == exported  # the earlier book stays
            assert _import(project, folder)["maxinception__dog.jpg"] == (
                Change.ERROR,
                f"not an image ({kind})",
            )
            # Nothing is lost: the photo, its analysis and thumbnail, its place in the book.
            assert _held(project, sha) == kept
            with pytest.raises(ExportError, match="1 slots hold a photo whose file is gone"):
                write_pdf(book_service.printed_book(project), pdf)
        dog.write_bytes(original)
        assert _import(project, folder)["maxinception__dog.jpg"] == (Change.RELINKED, None)
        rows = {r["file"]: (r["sha256"], r["status"]) for r in PhotoStore(project).listing()}
        assert rows[str(dog)] == (sha, FileStatus.OK)
        assert write_pdf(book_service.printed_book(project), pdf).problems == []
        _assert_sound(project)


def test_a_photo_renamed_over_another_is_relinked_not_a_crash(tmp_path: Path) -> None:
    """`mv IMG_1.jpg IMG_2.jpg` over two imported photos: the import (and `relink`) used to die
    on "UNIQUE constraint failed: files.path", moving the first photo's record onto the path the
    second photo's record still held."""
    for run in ("import", "relink"):
        folder = tmp_path / run
        folder.mkdir()
        shutil.copy(FIXTURE_PHOTOS / "piexif__r_canon.jpg", folder / "IMG_1.jpg")
        shutil.copy(FIXTURE_PHOTOS / "piexif__r_sony.jpg", folder / "IMG_2.jpg")
        with Project.open(tmp_path / f"{run}.mbook", create=True) as project:
            _import(project, folder)
            canon = {r["file"]: r["sha256"] for r in PhotoStore(project).listing()}[str(folder / "IMG_1.jpg")]
            os.replace(folder / "IMG_1.jpg", folder / "IMG_2.jpg")
            if run == "import":
                assert _import(project, folder) == {"IMG_2.jpg": (Change.RELINKED, str(folder / "IMG_1.jpg"))}
            else:
                report = relink_missing(project, [str(folder)])
                assert report.relinked == [(str(folder / "IMG_1.jpg"), str(folder / "IMG_2.jpg"))]
            assert _rows(project) == [(str(folder / "IMG_2.jpg"), canon, "ok", None)]
            # The photo whose file was overwritten keeps its record, and comes back with its file.
            shutil.copy(FIXTURE_PHOTOS / "piexif__r_sony.jpg", folder / "IMG_3.jpg")
            assert _import(project, folder)["IMG_3.jpg"] == (Change.RELINKED, None)
            assert project.conn.execute("SELECT count(*) FROM photos").fetchone()[0] == 2
            _assert_sound(project)


def test_symlink_loops_of_every_shape_end_and_are_named(tmp_path: Path) -> None:
    """Beyond the folder loop of test_import: a link to itself, two links to each other, two
    folders linking to each other, and a loop given as the path to import. The walk ends, each
    loop gets one line, and a photo reached by several paths is imported once."""
    root = tmp_path / "tree"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    shutil.copy(FIXTURE_PHOTOS / "piexif__r_canon.jpg", root / "a" / "photo.jpg")
    (root / "a" / "to_b").symlink_to(root / "b")
    (root / "b" / "to_a").symlink_to(root / "a")
    (root / "self.jpg").symlink_to(root / "self.jpg")
    (root / "ping.jpg").symlink_to(root / "pong.jpg")
    (root / "pong.jpg").symlink_to(root / "ping.jpg")
    (root / "photo link.jpg").symlink_to(root / "a" / "photo.jpg")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with bounded(60), Project.open(tmp_path / "b.mbook", create=True) as project:
        changes = _import(project, root, loop)
        _assert_sound(project)
    looping = "unreadable: Too many levels of symbolic links"
    assert changes == {
        "photo.jpg": (Change.NEW, None),
        "self.jpg": (Change.ERROR, looping),
        "ping.jpg": (Change.ERROR, looping),
        "pong.jpg": (Change.ERROR, looping),
        "loop": (Change.ERROR, looping),
    }


# Linux capabilities that let root read and search any folder whatever its permission bits.
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2
_PR_CAPBSET_DROP = 24


def _without_root_override() -> None:
    """Run in the child before it starts Python: dropped from the bounding set, the two
    capabilities are gone after exec, so even root obeys the permission bits."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _as_a_user(*args: str) -> subprocess.CompletedProcess[str]:
    """Run Python with permission bits applying to it, as they do to a user."""
    preexec: Callable[[], None] | None = _without_root_override if os.geteuid() == 0 else None
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=ROOT, preexec_fn=preexec
    )


def test_unreadable_folders_and_files_are_errors_then_imported_once_readable(tmp_path: Path) -> None:
    """A folder nobody may open, one that can be listed but not entered, and a file nobody may
    read: one line each, the rest imported, and all of it imported once the permissions allow.
    As root (CI containers, this machine) the import runs without the capabilities that let
    root ignore permission bits, instead of skipping the check."""
    root = tmp_path / "photos"
    locked, listed, file_dir = root / "locked", root / "listed only", root / "files"
    for folder in (locked, listed, file_dir):
        folder.mkdir(parents=True)
    shutil.copy(FIXTURE_PHOTOS / "piexif__r_canon.jpg", locked / "in locked.jpg")
    shutil.copy(FIXTURE_PHOTOS / "piexif__r_sony.jpg", listed / "in listed.jpg")
    shutil.copy(FIXTURE_PHOTOS / "pillow__hopper_orientation_6.jpg", file_dir / "unreadable.jpg")
    shutil.copy(FIXTURE_PHOTOS / "pillow__hopper_orientation_3.jpg", file_dir / "fine.jpg")
    book = tmp_path / "b.mbook"
    locked.chmod(0)
    listed.chmod(0o444)
    (file_dir / "unreadable.jpg").chmod(0)
    try:
        try:
            probe = _as_a_user("-c", "import os, sys; os.listdir(sys.argv[1])", str(locked))
        except subprocess.SubprocessError as exc:  # no CAP_SETPCAP to drop them with
            pytest.skip(f"running as root and cannot drop root's file capabilities: {exc}")
        if probe.returncode == 0:
            pytest.skip("running with file capabilities that cannot be dropped: permission bits do not apply")
        done = _as_a_user("-m", "mixbook_desktop", "import", str(book), str(root), "--json", "--jobs", "1")
        assert done.returncode == 0, done.stderr
        first = {Path(r["file"]).name: (r["change"], r["detail"]) for r in json.loads(done.stdout)}
    finally:
        locked.chmod(0o755)
        listed.chmod(0o755)
        (file_dir / "unreadable.jpg").chmod(0o644)
    assert first == {
        "fine.jpg": ("new", None),
        "unreadable.jpg": ("error", "unreadable: permission denied"),
        "in listed.jpg": ("error", "unreadable: Permission denied"),
        "locked": ("error", "cannot read folder: Permission denied"),
    }
    with Project.open(book) as project:
        again = _import(project, root)
        rows = _rows(project)
        _assert_sound(project)
    assert again == {
        "fine.jpg": (Change.UNCHANGED, None),
        "unreadable.jpg": (Change.NEW, None),
        "in listed.jpg": (Change.NEW, None),
        "in locked.jpg": (Change.NEW, None),
    }
    # Every row is a photo now: the folder's error from the first run is gone with its cause.
    assert sorted((Path(f).name, status) for f, _, status, _ in rows) == [
        ("fine.jpg", "ok"),
        ("in listed.jpg", "ok"),
        ("in locked.jpg", "ok"),
        ("unreadable.jpg", "ok"),
    ]


def test_a_path_with_odd_characters_end_to_end(tmp_path: Path) -> None:
    """Import, analyse, lay out and export through the command line, everything under a folder
    whose path holds Rich markup ("[/x]" used to crash the first line printed with it),
    non-Latin text, an emoji and a leading dash, with the book beside its photos."""
    folder = tmp_path / "odd [" / "x] Фото ü\u0301 📷 -dash 'q' $HOME"
    folder.mkdir(parents=True)
    photo = folder / "-IMG [1] ☃ \u202e.jpg"
    shutil.copy(DEMO_PHOTOS / "maxinception__dog.jpg", photo)
    broken = folder / "[red]broken.jpg"
    shutil.copy(FIXTURE_PHOTOS / "pillow__broken.png", broken)
    book, pdf = folder / "-my book [2].mbook", folder / "-my book [2].pdf"
    imported = run_cli("import", str(book), str(folder))
    assert f"error      {broken}: corrupt or unsupported PNG file" in imported.stdout  # not read as markup
    assert f"{book}: 1 new, 0 already imported, 0 duplicate, 1 error" in imported.stdout
    assert f"{book}: 1 photo analysed, 0 with errors" in run_cli("analyze", str(book)).stdout
    run_cli("layout", str(book))
    exported = run_cli("export", str(book), str(pdf))
    assert exported.stdout.startswith(f"{pdf}: 21 pages"), exported.stdout
    assert pdf.read_bytes().startswith(b"%PDF-")
    # Again: the photo is known; the book, SQLite's two files beside it while it is open and the
    # PDF are not photos (the book and its files used to be listed as errors).
    again = run_cli("import", str(book), str(folder))
    assert (
        f"{book}: 0 new, 1 already imported, 0 duplicate, 1 error, 4 non-photo files skipped" in again.stdout
    )
    rows: list[dict[str, Any]] = json.loads(run_cli("photos", str(book), "--json").stdout)
    assert sorted(r["file"] for r in rows) == sorted([str(photo), str(broken)])
    assert "[red]broken.jpg" in run_cli("photos", str(book)).stdout  # the table shows names as they are


def test_names_and_texts_with_markup_are_shown_as_they_are(demo_book: Path, tmp_path: Path) -> None:
    """The people, caption, layout, share and gui commands print the user's names and texts
    and the book's path as they are: "[/x]" once crashed a command, "[bold]" vanished."""
    folder = tmp_path / "odd [" / "x] [bold]"  # a path holding "[/x]"
    folder.mkdir(parents=True)
    book = copy_book(demo_book, folder)
    named = run_cli("people", str(book), "--name", "1", "[/p] Ann [i]")
    assert "person 1 is now called '[/p] Ann [i]'" in named.stdout, named.stdout
    assert "[/p] Ann [i]" in run_cli("people", str(book)).stdout
    kept = run_cli("caption", str(book), "--set", "book", "Our [bold]trip[/bold] [/x]")
    assert kept.stdout.startswith("book: your caption is kept"), kept.stdout
    assert "Our [bold]trip[/bold] [/x]" in run_cli("caption", str(book), "--history", "book").stdout
    sha = json.loads(run_cli("photos", str(book), "--json").stdout)[0]["sha256"]
    assert f"{book}: 1 texts suggested" in run_cli("caption", str(book), "--photo", sha).stdout
    laid = run_cli("layout", str(book))
    assert f"{book}: " in laid.stdout and "Our [bold]trip[/bold] [/x]" in laid.stdout, laid.stdout
    (folder / "share [").mkdir()
    assert f"{book}: " in run_cli("check", str(book), check=False).stdout
    copy = folder / "share [" / "y].mbook"
    assert run_cli("share", str(book), str(copy)).stdout.startswith(f"{copy}: a copy to share")
    missing = run_cli("gui", str(folder / "none [" / "z].mbook"), check=False)
    assert missing.returncode == 1 and f"no book at {folder / 'none [' / 'z].mbook'}" in missing.stderr
