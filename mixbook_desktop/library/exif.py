"""Capture time, place, orientation and camera from EXIF, tolerant of broken values.

exifread is the primary reader; Pillow's reader fills whatever exifread could not give (it is
the one that sees EXIF inside some HEIF files). Both are first flattened into one small map of
tag name to text or rationals, and a single interpreter turns that map into ExifFacts, so a
broken value is judged the same way whichever reader produced it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import exifread
from PIL import Image

from mixbook_desktop.core.photo import GPS, Camera, ExifFacts

Rational = tuple[int, int]
RawValue = str | tuple[Rational, ...]
RawExif = dict[str, RawValue]

# exifread's "<IFD> <Tag>" keys for the tags we interpret.
_EXIFREAD_KEYS = {
    "Image Make": "Make",
    "Image Model": "Model",
    "Image Orientation": "Orientation",
    "EXIF DateTimeOriginal": "DateTimeOriginal",
    "EXIF SubSecTimeOriginal": "SubSecTimeOriginal",
    "EXIF OffsetTimeOriginal": "OffsetTimeOriginal",
    "EXIF DateTimeDigitized": "DateTimeDigitized",
    "EXIF SubSecTimeDigitized": "SubSecTimeDigitized",
    "EXIF OffsetTimeDigitized": "OffsetTimeDigitized",
    "GPS GPSLatitudeRef": "GPSLatitudeRef",
    "GPS GPSLatitude": "GPSLatitude",
    "GPS GPSLongitudeRef": "GPSLongitudeRef",
    "GPS GPSLongitude": "GPSLongitude",
    "GPS GPSAltitudeRef": "GPSAltitudeRef",
    "GPS GPSAltitude": "GPSAltitude",
}

# The same tags by number, as Pillow's reader exposes them: (IFD pointer or None, tag).
_IFD0: int | None = None
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_PILLOW_TAGS: dict[str, tuple[int | None, int]] = {
    "Make": (_IFD0, 0x010F),
    "Model": (_IFD0, 0x0110),
    "Orientation": (_IFD0, 0x0112),
    "DateTimeOriginal": (_EXIF_IFD, 0x9003),
    "DateTimeDigitized": (_EXIF_IFD, 0x9004),
    "OffsetTimeOriginal": (_EXIF_IFD, 0x9011),
    "OffsetTimeDigitized": (_EXIF_IFD, 0x9012),
    "SubSecTimeOriginal": (_EXIF_IFD, 0x9291),
    "SubSecTimeDigitized": (_EXIF_IFD, 0x9292),
    "GPSLatitudeRef": (_GPS_IFD, 1),
    "GPSLatitude": (_GPS_IFD, 2),
    "GPSLongitudeRef": (_GPS_IFD, 3),
    "GPSLongitude": (_GPS_IFD, 4),
    "GPSAltitudeRef": (_GPS_IFD, 5),
    "GPSAltitude": (_GPS_IFD, 6),
}

# Nothing was photographed before Niepce's first photograph.
_EARLIEST_YEAR = 1826
# Altitudes outside this range (the Mariana trench to the edge of space) are corrupt values.
_ALTITUDE_RANGE = (-11_000.0, 100_000.0)
_DATE_RE = re.compile(r"^(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
# ASCII digits only: \d also matches other scripts' digits, and the offset is copied as it is.
_OFFSET_RE = re.compile(r"^([+-])(\d{2}):(\d{2})$", re.ASCII)
_EXIFREAD_NOISE = ("does not have exif data", "File format not recognized", "No EXIF")


class _Unusable(ValueError):
    """A tag value that cannot be trusted; its message becomes the warning."""


def _to_rationals(value: Any) -> tuple[Rational, ...] | None:
    """Numbers from either reader as (numerator, denominator) pairs, keeping zero denominators."""
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[Rational] = []
    for item in items:
        if isinstance(item, bool):
            return None
        if isinstance(item, int):
            out.append((item, 1))
        elif isinstance(item, (bytes, bytearray)):
            out.extend((b, 1) for b in item)
        elif hasattr(item, "numerator") and hasattr(item, "denominator"):
            # exifread's Ratio and Pillow's IFDRational both keep a zero denominator readable.
            num, den = item.numerator, item.denominator
            if not isinstance(num, int) or not isinstance(den, int):
                return None
            out.append((num, den))
        elif isinstance(item, float) and math.isfinite(scaled := item * 1_000_000):
            # A float tag (a FLOAT or DOUBLE where a rational belongs) near the largest double
            # overflows when scaled; such a value is corrupt anyway.
            out.append((round(scaled), 1_000_000))
        else:
            return None
    return tuple(out)


def _normalise(value: Any) -> RawValue | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)) and len(value) > 1:
        return bytes(value).decode("utf-8", "replace")
    return _to_rationals(value)


class _CollectWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        if message and not any(noise in message for noise in _EXIFREAD_NOISE):
            self.messages.append(message)


@contextmanager
def _exifread_warnings() -> Iterator[list[str]]:
    """exifread reports damaged IFDs through logging; keep them as warnings of this file."""
    logger = logging.getLogger("exifread")
    handler = _CollectWarnings()
    saved = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved


def raw_from_exifread(path: str) -> tuple[RawExif, list[str]]:
    warnings: list[str] = []
    raw: RawExif = {}
    with _exifread_warnings() as logged:
        try:
            with open(path, "rb") as fh:
                tags = exifread.process_file(fh, details=False, extract_thumbnail=False)
        except Exception as exc:  # exifread raises many types on hostile files; Pillow gets a turn
            warnings.append(f"exifread could not parse the metadata ({type(exc).__name__})")
            tags = {}
    warnings.extend(f"EXIF: {message}" for message in logged)
    for key, name in _EXIFREAD_KEYS.items():
        tag = tags.get(key)
        if tag is not None:
            value = _normalise(tag.values)
            if value is not None:
                raw[name] = value
    return raw, warnings


def raw_from_pillow(exif: Image.Exif) -> RawExif:
    raw: RawExif = {}
    ifds: dict[int | None, Mapping[int, Any]] = {_IFD0: exif}
    for sub_ifd in (_EXIF_IFD, _GPS_IFD):
        try:
            ifds[sub_ifd] = exif.get_ifd(sub_ifd)
        except Exception:  # a damaged sub-IFD only costs its own tags
            ifds[sub_ifd] = {}
    for name, (pointer, tag) in _PILLOW_TAGS.items():
        value = ifds[pointer].get(tag)
        if value is not None:
            normalised = _normalise(value)
            if normalised is not None:
                raw[name] = normalised
    return raw


def _text(raw: RawExif, key: str) -> str | None:
    value = raw.get(key)
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned or None


def _rationals(raw: RawExif, key: str) -> tuple[Rational, ...] | None:
    value = raw.get(key)
    return value if isinstance(value, tuple) and value else None


def _ratio_value(pair: Rational, what: str) -> float:
    num, den = pair
    if den == 0:
        raise _Unusable(f"{what} has a zero denominator")
    try:
        return num / den
    except OverflowError:  # a ratio of huge integers beyond any float
        raise _Unusable(f"{what} is out of range") from None


def _coordinate(raw: RawExif, axis: str, limit: float) -> float | None:
    parts = _rationals(raw, f"GPS{axis}")
    if parts is None:
        return None
    if len(parts) > 3:
        raise _Unusable(f"GPS {axis.lower()} has {len(parts)} components")
    value = 0.0
    for power, part in enumerate(parts):  # degrees, minutes, seconds
        value += _ratio_value(part, f"GPS {axis.lower()}") / 60.0**power
    ref = (_text(raw, f"GPS{axis}Ref") or "").upper()[:1]
    positive, negative = ("N", "S") if axis == "Latitude" else ("E", "W")
    if ref not in (positive, negative):
        raise _Unusable(f"GPS {axis.lower()} has no {positive}/{negative} reference")
    if not 0 <= value <= limit:
        raise _Unusable(f"GPS {axis.lower()} {value:g} is out of range")
    return -value if ref == negative else value


def _gps(raw: RawExif, warnings: list[str]) -> GPS | None:
    if not any(k.startswith("GPS") for k in raw):
        return None
    try:
        lat = _coordinate(raw, "Latitude", 90.0)
        lon = _coordinate(raw, "Longitude", 180.0)
    except _Unusable as bad:
        warnings.append(f"{bad}; GPS position ignored")
        return None
    if lat is None or lon is None:
        if lat is not None or lon is not None:
            warnings.append("GPS has only one of latitude and longitude; GPS position ignored")
        return None
    if lat == 0.0 and lon == 0.0:
        # 0,0 is what receivers write without a fix, not a photo taken in the Gulf of Guinea.
        warnings.append("GPS position is 0,0 (no fix); ignored")
        return None
    return GPS(lat=lat, lon=lon, alt=_altitude(raw, warnings))


def _altitude(raw: RawExif, warnings: list[str]) -> float | None:
    parts = _rationals(raw, "GPSAltitude")
    if parts is None:
        return None
    try:
        alt = _ratio_value(parts[0], "GPS altitude")
    except _Unusable as bad:
        warnings.append(f"{bad}; altitude ignored")
        return None
    ref = _rationals(raw, "GPSAltitudeRef")
    if ref and ref[0][0] == 1:
        alt = -alt
    low, high = _ALTITUDE_RANGE
    if not low <= alt <= high:
        warnings.append(f"GPS altitude {alt:g} m is out of range; ignored")
        return None
    return round(alt, 3)


def _orientation(raw: RawExif, warnings: list[str]) -> int | None:
    parts = _rationals(raw, "Orientation")
    if parts is None:
        return None
    num, den = parts[0]
    if den == 1 and 1 <= num <= 8:
        return num
    warnings.append(f"EXIF orientation {num} is not a valid value (1-8); treated as upright")
    return None


def _taken_at(raw: RawExif, warnings: list[str], today: dt.date) -> str | None:
    for kind in ("Original", "Digitized"):
        text = _text(raw, f"DateTime{kind}")
        if text is None:
            continue
        match = _DATE_RE.match(text)
        if match is None:
            warnings.append(f"DateTime{kind} {text!r} is not a date; ignored")
            continue
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        if year == 0 and month == 0 and day == 0:
            warnings.append(f"DateTime{kind} is unset (camera clock not set)")
            continue
        try:
            stamp = dt.datetime(year, month, day, hour, minute, second)
        except ValueError:
            warnings.append(f"DateTime{kind} {text!r} is an impossible date; ignored")
            continue
        if year < _EARLIEST_YEAR or stamp.date() > today + dt.timedelta(days=1):
            warnings.append(f"DateTime{kind} {text!r} is an impossible date; ignored")
            continue
        iso = stamp.isoformat()
        subsec = (_text(raw, f"SubSecTime{kind}") or "").strip()
        # isdigit() alone also accepts digits such as '²' that int() refuses.
        if subsec.isascii() and subsec.isdigit() and len(subsec) <= 9 and int(subsec) != 0:
            iso += f".{subsec}"
        offset = _text(raw, f"OffsetTime{kind}")
        if offset is not None:
            parsed = _OFFSET_RE.match(offset)
            if parsed and int(parsed.group(2)) <= 14 and int(parsed.group(3)) < 60:
                iso += offset
            else:
                warnings.append(f"OffsetTime{kind} {offset!r} is not a UTC offset; ignored")
        return iso
    return None


def _camera(raw: RawExif) -> Camera | None:
    make, model = _text(raw, "Make"), _text(raw, "Model")
    if make is None and model is None:
        return None
    return Camera(make=make, model=model)


def interpret(raw: RawExif, today: dt.date | None = None) -> ExifFacts:
    """Turn raw tags into facts; every unusable value becomes None plus a warning."""
    warnings: list[str] = []
    taken_at = _taken_at(raw, warnings, today or dt.date.today())
    gps = _gps(raw, warnings)
    orientation = _orientation(raw, warnings)
    return ExifFacts(
        taken_at=taken_at,
        gps=gps,
        orientation=orientation,
        camera=_camera(raw),
        warnings=tuple(warnings),
    )


def read_exif(path: str, pillow_exif: Image.Exif | None) -> ExifFacts:
    """Facts from exifread, with Pillow's reading filling any tag exifread did not return."""
    raw, warnings = raw_from_exifread(path)
    if pillow_exif is not None:
        for name, value in raw_from_pillow(pillow_exif).items():
            raw.setdefault(name, value)
    facts = interpret(raw)
    if warnings:
        return ExifFacts(
            taken_at=facts.taken_at,
            gps=facts.gps,
            orientation=facts.orientation,
            camera=facts.camera,
            warnings=tuple(warnings) + facts.warnings,
        )
    return facts


# Text fields a person may have written into a photo: (label for the model, tag, IFD).
_TEXT_TAGS = [
    ("title written in the photo", 0x9C9B, None),  # XPTitle, UTF-16LE
    ("description written in the photo", 0x010E, None),  # ImageDescription
    ("comment written in the photo", 0x9C9C, None),  # XPComment, UTF-16LE
    ("comment written in the photo", 0x9286, 0x8769),  # UserComment, in the Exif IFD
]


def _decode_text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip("\x00 ").strip() or None
    if isinstance(value, bytes):
        # UserComment starts with an 8-byte charset name; XP* tags are UTF-16LE.
        head = value[:8]
        if head.startswith((b"ASCII", b"UNICODE", b"JIS", b"\x00\x00\x00")):
            body = value[8:]
            text = body.decode("utf-16" if head.startswith(b"UNICODE") else "latin-1", "replace")
        else:
            text = value.decode("utf-16-le", "replace")
        return text.strip("\x00 ").strip() or None
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return _decode_text(bytes(value))
    return None


def text_fields(path: str) -> list[tuple[str, str]]:
    """The person-written text fields of a photo's EXIF, raw (callers clean them); [] when
    the file cannot be read."""
    try:
        with Image.open(path) as im:
            exif = im.getexif()
            found: list[tuple[str, str]] = []
            for label, tag, ifd in _TEXT_TAGS:
                value = exif.get_ifd(ifd).get(tag) if ifd else exif.get(tag)
                text = _decode_text(value)
                if text and all(text != t for _, t in found):
                    found.append((label, text))
            return found
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return []
