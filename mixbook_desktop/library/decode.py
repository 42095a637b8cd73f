"""Read one file completely: hash, sniff, EXIF, a full decode and an upright thumbnail.

`probe_file` is what import runs in its worker processes. It never raises for a bad file: every
failure becomes a FileProbe with a one-line reason a person can act on.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings

import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from mixbook_desktop.core.photo import THUMBNAIL_SIZE, DecodedPhoto, FileProbe
from mixbook_desktop.library import sniff
from mixbook_desktop.library.exif import read_exif

pillow_heif.register_heif_opener()

_CHUNK = 1 << 20
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_SWAPS_AXES = {5, 6, 7, 8}


class BadImage(Exception):
    """The file is not a usable photo; the message is the one-line reason."""


def hash_and_head(path: str) -> tuple[str, bytes]:
    """SHA-256 of the whole file, and its first bytes for sniffing, in one read."""
    digest = hashlib.sha256()
    head = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            if not head:
                head = chunk[: sniff.HEAD_BYTES]
            digest.update(chunk)
    return digest.hexdigest(), head


def _reason_unidentified(kind: str, head: bytes) -> str:
    if kind == "JPEG" and (bits := sniff.jpeg_precision(head)) not in (None, 8):
        return f"unsupported codec: {bits}-bit JPEG (only 8-bit JPEG can be decoded)"
    if kind in sniff.IMAGE_KINDS:
        return f"corrupt or unsupported {kind} file (no decoder could read it)"
    return f"not an image ({kind})"


def _reason_decode_failure(exc: Exception, kind: str) -> str:
    message = " ".join(str(exc).split())
    if isinstance(exc, Image.DecompressionBombError):
        return f"decompression bomb refused: {message.split(', could be')[0].lower()}"
    if isinstance(exc, MemoryError):
        return "image too large to decode in memory"
    if "truncated" in message:
        return f"truncated {kind} file: the image data ends early"
    if "MAX_TEXT_CHUNK" in message or "Too much memory" in message:
        return f"decompression bomb refused: oversized metadata chunk in {kind} file"
    if isinstance(exc, OSError):
        return f"corrupt {kind} image data ({message or type(exc).__name__})"
    return f"corrupt {kind} file ({type(exc).__name__}: {message})" if message else f"corrupt {kind} file"


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Deep greyscale: scale to 8 bits instead of clipping everything to white.
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif im.mode == "F":
        im = im.convert("L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im if im.mode == "RGB" else im.convert("RGB")


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    if not icc:
        return _to_rgb(im)
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode not in ("RGB", "CMYK", "L"):
            im = _to_rgb(im)
        converted = ImageCms.profileToProfile(im, source, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A broken embedded profile still leaves the pixels usable.
        return _to_rgb(im)
    return converted if converted is not None else _to_rgb(im)


def decode(path: str, head: bytes) -> DecodedPhoto:
    """Fully decode the photo at `path` (at reduced scale where the codec allows)."""
    kind = sniff.describe(head)
    if os.path.splitext(path)[1].lower() in sniff.RAW_EXTENSIONS and kind == "TIFF":
        raise BadImage("unsupported format: camera RAW (export a JPEG or TIFF to import it)")
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Image.open(path) as im:
                fmt = im.format or kind
                pillow_exif = im.getexif()
                raw_w, raw_h = im.size
                # Pillow's view of orientation is what exif_transpose acts on; pillow-heif has
                # already rotated HEIF pixels and reports 1 while the EXIF tag still says 6.
                pil_orientation = pillow_exif.get(0x0112)
                upright = (raw_h, raw_w) if pil_orientation in _SWAPS_AXES else (raw_w, raw_h)
                icc = im.info.get("icc_profile")
                # Decoding at 1/2..1/8 scale (JPEG only) still reads every byte, so truncation
                # is caught, at a fraction of the cost of a full-size decode.
                im.draft("RGB", (THUMBNAIL_SIZE, THUMBNAIL_SIZE))
                im.load()
                small = ImageOps.exif_transpose(im)
                small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
                small = _to_srgb(small, icc if isinstance(icc, bytes) else None)
        except UnidentifiedImageError:
            raise BadImage(_reason_unidentified(kind, head)) from None
        except PermissionError:
            raise  # reported as unreadable by probe_file, not as bad content
        except Exception as exc:  # decoders raise a zoo of types for hostile data
            raise BadImage(_reason_decode_failure(exc, kind)) from None
    for warning in caught:
        text = " ".join(str(warning.message).split())
        if issubclass(warning.category, Image.DecompressionBombWarning):
            notes.append("very large image (over Pillow's warning threshold)")
        elif text:
            notes.append(text)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=85)
    return DecodedPhoto(
        format=fmt,
        width=upright[0],
        height=upright[1],
        exif=read_exif(path, pillow_exif),
        thumbnail=buffer.getvalue(),
        thumbnail_width=small.width,
        thumbnail_height=small.height,
        warnings=tuple(dict.fromkeys(notes)),
    )


def probe_file(path: str) -> FileProbe:
    """Everything import needs to know about one file; never raises for bad content."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return FileProbe.failed(path, "file vanished before it could be read")
    except OSError as exc:
        return FileProbe.failed(path, f"unreadable: {exc.strerror or exc}")
    size, mtime_ns = stat.st_size, stat.st_mtime_ns
    try:
        sha256, head = hash_and_head(path)
    except PermissionError:
        return FileProbe.failed(path, "unreadable: permission denied", size, mtime_ns)
    except IsADirectoryError:
        return FileProbe.failed(path, "not a file", size, mtime_ns)
    except OSError as exc:
        return FileProbe.failed(path, f"unreadable: {exc.strerror or exc}", size, mtime_ns)
    try:
        photo = decode(path, head)
    except BadImage as bad:
        return FileProbe(path, size, mtime_ns, sha256, None, str(bad))
    except PermissionError:
        return FileProbe(path, size, mtime_ns, sha256, None, "unreadable: permission denied")
    return FileProbe(path, size, mtime_ns, sha256, photo, None)


def open_for_analysis(path: str, sha256: str, max_side: int) -> tuple[Image.Image, tuple[int, int]]:
    """The photo upright in sRGB, long side at most `max_side`, and its full upright size.

    The bytes are checked against the hash the photo was imported with, so results are never
    attached to a photo whose file has since been replaced. Raises BadImage with the reason.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise BadImage("original file not found (moved or deleted? use `relink`)") from None
    except OSError as exc:
        raise BadImage(f"unreadable: {exc.strerror or exc}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BadImage("the file changed since it was imported; import it again")
    return upright_image(data, max_side)


def upright_image(
    data: bytes, max_side: int, resample: Image.Resampling = Image.Resampling.BILINEAR
) -> tuple[Image.Image, tuple[int, int]]:
    """A photo's bytes decoded upright in sRGB, long side at most `max_side` (reduced while
    decoding where the codec can, then once with `resample`), and its full upright size."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            swaps = im.getexif().get(0x0112) in _SWAPS_AXES
            full = (im.height, im.width) if swaps else (im.width, im.height)
            icc = im.info.get("icc_profile")
            # draft() wants the target box in the stored orientation to pick a 1/2..1/8 scale.
            fit = min(1.0, max_side / max(im.size))
            im.draft("RGB", (max(1, int(im.width * fit)), max(1, int(im.height * fit))))
            im.load()
            upright = ImageOps.exif_transpose(im)
            upright.thumbnail((max_side, max_side), resample)
            return _to_srgb(upright, icc if isinstance(icc, bytes) else None), full
    except (UnidentifiedImageError, OSError, ValueError, MemoryError, Image.DecompressionBombError) as exc:
        raise BadImage(_reason_decode_failure(exc, sniff.describe(data[: sniff.HEAD_BYTES]))) from None
