"""The copy of a photo that Rekognition analyses: upright, sRGB, a JPEG without metadata,
within every limit Rekognition sets whether the bytes are sent inline or read from S3."""

from __future__ import annotations

import io
import math

from PIL import Image

from mixbook_desktop.cloud.config import CloudError
from mixbook_desktop.library.decode import BadImage, open_for_analysis

MiB = 1 << 20
# Rekognition finds faces down to 40x40 px in a 1920x1080 image and asks for proportionally
# larger faces in larger images, so pixels beyond a 1920 px long side add upload time and
# nothing to what it finds.
ANALYSIS_MAX_SIDE = 1920
# Rekognition's own limits: sides of 80..10000 px, and 5 MiB for image bytes sent inline (the
# 15 MB limit for S3 objects is then met as well, so one copy serves both ways of calling it).
REKOGNITION_MIN_SIDE = 80
REKOGNITION_MAX_SIDE = 10_000
ANALYSIS_MAX_BYTES = 5 * MiB
_QUALITIES = (90, 82, 74, 66, 58, 50)


class NotAnalysable(CloudError):
    """The photo cannot be given to Rekognition; the message says why in one line."""


def analysis_copy(path: str, sha256: str) -> bytes:
    """The photo upright, in sRGB, as a JPEG without metadata that Rekognition accepts both
    inline and from S3. Raises NotAnalysable (one line) for a photo too small, too elongated,
    changed since import or not decodable."""
    try:
        image, (width, height) = open_for_analysis(path, sha256, ANALYSIS_MAX_SIDE)
    except BadImage as exc:
        raise NotAnalysable(str(exc)) from None
    if min(width, height) < REKOGNITION_MIN_SIDE:
        raise NotAnalysable(
            f"{width}x{height} px is too small for Rekognition "
            f"(it needs at least {REKOGNITION_MIN_SIDE} px on each side)"
        )
    if min(image.size) < REKOGNITION_MIN_SIDE:
        image = _panorama(path, sha256, (width, height))
    return _jpeg_within_limit(image)


def _panorama(path: str, sha256: str, full: tuple[int, int]) -> Image.Image:
    """A long strip whose short side would fall under Rekognition's minimum at the usual size:
    the long side gives way instead, within Rekognition's maximum."""
    scale = REKOGNITION_MIN_SIDE / min(full)
    target = (
        max(REKOGNITION_MIN_SIDE, math.ceil(full[0] * scale)),
        max(REKOGNITION_MIN_SIDE, math.ceil(full[1] * scale)),
    )
    if max(target) > REKOGNITION_MAX_SIDE:
        raise NotAnalysable(
            f"{full[0]}x{full[1]} px is too elongated for Rekognition (its sides must be "
            f"{REKOGNITION_MIN_SIDE}-{REKOGNITION_MAX_SIDE} px)"
        )
    try:
        image, _ = open_for_analysis(path, sha256, max(target))
    except BadImage as exc:
        raise NotAnalysable(str(exc)) from None
    return image.resize(target, Image.Resampling.LANCZOS)


def _jpeg_within_limit(image: Image.Image) -> bytes:
    if image.mode != "RGB":
        image = image.convert("RGB")
    for _ in range(4):
        for quality in _QUALITIES:
            buffer = io.BytesIO()
            # No exif=/icc_profile= arguments: Pillow writes neither unless given them, and the
            # pixels are already upright sRGB.
            image.save(buffer, "JPEG", quality=quality)
            if buffer.tell() <= ANALYSIS_MAX_BYTES:
                return buffer.getvalue()
        # Only noise-like content stays this large at quality 50: fewer pixels, then.
        smaller = (
            max(REKOGNITION_MIN_SIDE, int(image.width * 0.75)),
            max(REKOGNITION_MIN_SIDE, int(image.height * 0.75)),
        )
        image = image.resize(smaller, Image.Resampling.LANCZOS)
    raise NotAnalysable(f"no JPEG of this photo fits Rekognition's {ANALYSIS_MAX_BYTES // MiB} MB limit")
