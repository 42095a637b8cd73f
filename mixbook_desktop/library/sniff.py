"""Tell what a file holds from its first bytes, so reasons never trust the extension."""

from __future__ import annotations

HEAD_BYTES = 64 * 1024

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_VIDEO_BRANDS = {b"qt  ", b"isom", b"iso2", b"mp41", b"mp42", b"M4V ", b"3gp4", b"3gp5", b"avc1"}

# Camera RAW files are TIFF containers whose first image is a small preview: Pillow would
# "succeed" on a 160x120 thumbnail, which is worse than refusing.
RAW_EXTENSIONS = frozenset(
    {".arw", ".cr2", ".cr3", ".crw", ".dng", ".erf", ".kdc", ".mos", ".mrw", ".nef"}
    | {".nrw", ".orf", ".pef", ".raf", ".rw2", ".rwl", ".sr2", ".srf", ".srw", ".x3f"}
)


def describe(head: bytes) -> str:
    """A short human name for the kind of content, e.g. 'JPEG', 'HTML text', 'empty file'."""
    if not head:
        return "empty file"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:2] == b"BM":
        return "BMP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIF"
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in _VIDEO_BRANDS:
            return "video (MP4/QuickTime)"
        return "ISO media file"
    if head.startswith(b"%PDF"):
        return "PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "ZIP archive"
    if head.startswith(b"SQLite format 3\x00"):
        return "SQLite database"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "HTML text"
    if text.startswith(b"<?xml") or text.startswith(b"<svg"):
        return "XML/SVG text"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of unknown type"
    return "text"


IMAGE_KINDS = frozenset({"JPEG", "PNG", "GIF", "WebP", "TIFF", "BMP", "HEIF", "AVIF"})


def jpeg_precision(head: bytes) -> int | None:
    """Bits per sample from the JPEG frame header, or None if it is not in `head`."""
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return head[i + 4]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(head[i + 2 : i + 4], "big")
        i += 2 + length
    return None
