"""Interpreting EXIF values, including the broken ones real files carry."""

from __future__ import annotations

import datetime as dt

import pytest

from mixbook_desktop.library.exif import RawExif, interpret

TODAY = dt.date(2026, 11, 24)
DMS = ((43, 1), (28, 1), (1407, 500))


def facts(raw: RawExif):  # type: ignore[no-untyped-def]
    return interpret(raw, today=TODAY)


def test_full_capture_time_with_subseconds_and_offset() -> None:
    got = facts(
        {
            "DateTimeOriginal": "2022:02:16 12:55:41",
            "SubSecTimeOriginal": "762",
            "OffsetTimeOriginal": "+01:00",
        }
    )
    assert got.taken_at == "2022-02-16T12:55:41.762+01:00"
    assert got.warnings == ()


def test_digitized_time_is_the_fallback() -> None:
    assert facts({"DateTimeDigitized": "2001:01:01 10:00:00"}).taken_at == "2001-01-01T10:00:00"


@pytest.mark.parametrize(
    "value",
    ["1999:99:99 99:99:99", "2099:09:29 10:10:10", "1700:01:01 00:00:00", "2021:02:30 10:00:00", "garbage"],
)
def test_impossible_dates_become_null_with_a_warning(value: str) -> None:
    got = facts({"DateTimeOriginal": value})
    assert got.taken_at is None
    assert len(got.warnings) == 1


def test_bad_offset_is_dropped_but_time_kept() -> None:
    got = facts({"DateTimeOriginal": "2020:01:01 10:00:00", "OffsetTimeOriginal": "+99:00"})
    assert got.taken_at == "2020-01-01T10:00:00"
    assert "OffsetTimeOriginal" in got.warnings[0]


def test_gps_south_and_west_are_negative() -> None:
    got = facts(
        {
            "GPSLatitudeRef": "S",
            "GPSLatitude": DMS,
            "GPSLongitudeRef": "W",
            "GPSLongitude": ((3, 1), (43, 1), (2911, 100)),
            "GPSAltitudeRef": ((1, 1),),
            "GPSAltitude": ((11513, 18),),
        }
    )
    assert got.gps is not None
    assert got.gps.lat == pytest.approx(-43.467448, abs=1e-6)
    assert got.gps.lon == pytest.approx(-3.724753, abs=1e-6)
    assert got.gps.alt == pytest.approx(-639.611, abs=1e-3)


@pytest.mark.parametrize(
    ("raw", "warning"),
    [
        (
            {
                "GPSLatitudeRef": "N",
                "GPSLatitude": ((43, 0), (1, 1), (1, 1)),
                "GPSLongitudeRef": "E",
                "GPSLongitude": DMS,
            },
            "zero denominator",
        ),
        (
            {"GPSLatitudeRef": "N", "GPSLatitude": ((95, 1),), "GPSLongitudeRef": "E", "GPSLongitude": DMS},
            "out of range",
        ),
        ({"GPSLatitude": ((4294967295, 1),)}, "reference"),
        (
            {
                "GPSLatitudeRef": "N",
                "GPSLatitude": ((0, 1),),
                "GPSLongitudeRef": "E",
                "GPSLongitude": ((0, 1),),
            },
            "no fix",
        ),
    ],
)
def test_broken_gps_becomes_null_with_a_warning(raw: RawExif, warning: str) -> None:
    got = facts(raw)
    assert got.gps is None
    assert any(warning in w for w in got.warnings), got.warnings


def test_broken_altitude_keeps_the_position() -> None:
    got = facts(
        {
            "GPSLatitudeRef": "N",
            "GPSLatitude": DMS,
            "GPSLongitudeRef": "E",
            "GPSLongitude": DMS,
            "GPSAltitude": ((4294967295, 1),),
        }
    )
    assert got.gps is not None and got.gps.alt is None
    assert any("altitude" in w for w in got.warnings)


@pytest.mark.parametrize(("value", "expected"), [(1, 1), (6, 6), (8, 8), (0, None), (9, None)])
def test_orientation(value: int, expected: int | None) -> None:
    assert facts({"Orientation": ((value, 1),)}).orientation == expected


def test_camera_text_is_cleaned() -> None:
    got = facts({"Make": "PENTAX Corporation \x00", "Model": "   "})
    assert got.camera is not None
    assert (got.camera.make, got.camera.model) == ("PENTAX Corporation", None)
    assert facts({}).camera is None
