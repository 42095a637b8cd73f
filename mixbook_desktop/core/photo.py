"""What the app knows about a photo file, as plain immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FileStatus(StrEnum):
    OK = "ok"
    DUPLICATE = "duplicate"
    ERROR = "error"


@dataclass(frozen=True)
class GPS:
    lat: float
    lon: float
    alt: float | None


@dataclass(frozen=True)
class Camera:
    make: str | None
    model: str | None


@dataclass(frozen=True)
class ExifFacts:
    """Capture facts read from EXIF; each is None when absent or unusable."""

    taken_at: str | None  # ISO 8601, with the UTC offset when the camera recorded one
    gps: GPS | None
    orientation: int | None  # the EXIF Orientation tag, 1-8
    camera: Camera | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecodedPhoto:
    """What a fully decoded, readable image file yields."""

    format: str
    width: int  # upright pixels, after EXIF orientation
    height: int
    exif: ExifFacts
    thumbnail: bytes  # upright JPEG, long side THUMBNAIL_SIZE
    thumbnail_width: int
    thumbnail_height: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileProbe:
    """The outcome of reading one file: a photo, or a one-line reason it is not one."""

    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    photo: DecodedPhoto | None
    error: str | None

    @classmethod
    def failed(cls, path: str, reason: str, size: int = 0, mtime_ns: int = 0) -> FileProbe:
        return cls(path=path, size=size, mtime_ns=mtime_ns, sha256=None, photo=None, error=reason)


THUMBNAIL_SIZE = 256
