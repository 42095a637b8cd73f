"""The print-ready PDF: one PDF page per book page, its MediaBox the trimmed page plus the
bleed on its outer edges, TrimBox and BleedBox set; photos as their original JPEG bytes
wherever the file can print as it is, cropped by clipping; texts in the embedded book font.
The file appears whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import hashlib
import io
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageCms
from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas

from mixbook_desktop.core.book import Product, Side
from mixbook_desktop.core.printed import PlacedPhoto, PlacedText, PrintedBook, PrintedPage
from mixbook_desktop.export.text import LEADING, block_height, fit_block, register_fonts
from mixbook_desktop.library.decode import BadImage, upright_image

# Original bytes pass through untouched (ReportLab would otherwise wrap them in ASCII85,
# a quarter larger).
rl_config.useA85 = 0
# Photos with more pixels than this many ppi in their slot are resampled to the target;
# up to it the original is smaller to keep than to recompress.
PASS_THROUGH_PPI_FACTOR = 1.5
# An original of which the crop shows less than this share is resampled: the hidden part
# would weigh on the file for nothing.
PASS_THROUGH_SHARE = 0.5
JPEG_QUALITY = 92
INK = (0.13, 0.13, 0.13)


class ExportError(Exception):
    """The PDF could not be written; the message says why in one line."""


@dataclass(frozen=True)
class Embedded:
    """One placed photo as drawn, for the benchmark's floor: its page (from 0) and page size,
    where the whole photo lands and the clip that shows the crop (PDF points from the
    bottom-left), and its file."""

    page: int
    page_size: tuple[float, float]
    rect: tuple[float, float, float, float]
    clip: tuple[float, float, float, float]
    path: str
    format: str
    embedded: bytes  # the JPEG that went into the PDF: the original, or the resampled crop


@dataclass
class ExportReport:
    pages: int = 0
    original: int = 0  # photos embedded as their original bytes
    resampled: int = 0
    image_bytes: int = 0  # bytes of every embedded image
    problems: list[str] = field(default_factory=list)
    embedded: list[Embedded] | None = None  # every photo as drawn, when asked for


def media_box(product: Product, side: Side) -> tuple[float, float, float, float]:
    """Page width and height with the bleed, and where the trimmed page starts in it (x, y
    from the bottom-left, as PDF counts). Left pages bleed on the left, right pages on the
    right, the cover all round; no page bleeds into the binding."""
    bleed = product.bleed
    width = product.width + (2 * bleed if side is Side.COVER else bleed)
    left = 0.0 if side is Side.RIGHT else bleed
    return width, product.height + 2 * bleed, left, bleed


def _sha256_ok(data: bytes, sha256: str | None) -> bool:
    return sha256 is None or hashlib.sha256(data).hexdigest() == sha256


@dataclass(frozen=True)
class _Ready:
    """A photo made ready to draw: the JPEG file to embed, and whether it is the original."""

    file: str | None
    original: bool = False
    turn: int = 0  # degrees anticlockwise that make the original upright
    data: bytes | None = None  # the embedded bytes, kept only for the benchmark
    size: int = 0
    problem: str | None = None


def _ppi(photo: PlacedPhoto) -> float:
    crop = photo.crop
    assert crop is not None
    _, _, w, h = photo.rect
    return min(crop.w * photo.size[0] / (w / 72), crop.h * photo.size[1] / (h / 72))


# EXIF orientations a PDF can apply by turning the page's coordinates (1: as stored; 3, 6, 8:
# a half, a quarter clockwise, a quarter anticlockwise). Mirrored ones (2, 4, 5, 7) are rare
# and resampled.
TURNS = {1: 0, 3: 180, 6: -90, 8: 90}


def _passes_through(data: bytes, photo: PlacedPhoto, target: float) -> int | None:
    """The turn (in degrees) with which a JPEG prints as it is, or None when it must be
    resampled. As it is means no colour conversion and no resampling: RGB or grey, sRGB, an
    orientation the PDF can turn, not far sharper than the print, not mostly cropped away."""
    crop = photo.crop
    if photo.format != "JPEG" or crop is None:
        return None
    if _ppi(photo) > target * PASS_THROUGH_PPI_FACTOR or crop.w * crop.h < PASS_THROUGH_SHARE:
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            orientation = im.getexif().get(0x0112, 1) or 1
            icc = im.info.get("icc_profile")
            if im.mode in ("RGB", "L") and orientation in TURNS and _is_srgb(icc):
                return TURNS[orientation]
            return None
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _prepare(photo: PlacedPhoto, target: float, folder: Path, n: int, keep: bool) -> _Ready:
    """Read and verify the photo, then keep its original JPEG or resample it once. Runs in
    worker threads: Pillow and hashlib let go of the GIL while they work. Whatever goes
    wrong with one photo is that photo's problem, reported, never a crash."""
    try:
        return _make_ready(photo, target, folder, n, keep)
    except Exception as exc:  # one photo's failure is reported with its name; the rest goes on
        return _Ready(None, problem=f"{photo.path}: {type(exc).__name__}: {exc}")


def _make_ready(photo: PlacedPhoto, target: float, folder: Path, n: int, keep: bool) -> _Ready:
    assert photo.path is not None and photo.crop is not None
    try:
        data = Path(photo.path).read_bytes()
    except OSError as exc:
        return _Ready(None, problem=f"{photo.path}: {exc.strerror or exc}")
    if not _sha256_ok(data, photo.sha256):
        return _Ready(None, problem=f"{photo.path}: the file changed since it was imported")
    turn = _passes_through(data, photo, target)
    if turn is not None:
        # ReportLab embeds a JPEG's bytes as they are only from a file named .jpg or .jpeg.
        kept = data if keep else None
        if Path(photo.path).suffix.lower() in (".jpg", ".jpeg"):
            return _Ready(photo.path, original=True, turn=turn, size=len(data), data=kept)
        copy = folder / f"{n}.jpg"
        copy.write_bytes(data)
        return _Ready(str(copy), original=True, turn=turn, size=len(data), data=kept)
    # At most the target resolution; a photo short of it keeps its own pixels. The whole
    # photo is brought to that scale once (JPEG decodes at 1/2..1/8 on the way, which is
    # what makes this fast), then the crop is cut out of it.
    ppi, crop = _ppi(photo), photo.crop
    scale = min(1.0, target / ppi) if ppi > 0 else 1.0
    try:
        image, _ = upright_image(data, math.ceil(max(photo.size) * scale), Image.Resampling.LANCZOS)
    except BadImage as exc:
        return _Ready(None, problem=f"{photo.path}: {exc}")
    part = image.crop(
        (
            round(crop.x * image.width),
            round(crop.y * image.height),
            round((crop.x + crop.w) * image.width),
            round((crop.y + crop.h) * image.height),
        )
    )
    buffer = io.BytesIO()
    part.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)
    out = folder / f"{n}.jpg"
    out.write_bytes(buffer.getvalue())
    return _Ready(str(out), size=buffer.tell(), data=buffer.getvalue() if keep else None)


class _Writer:
    def __init__(self, book: PrintedBook, canvas: Canvas, report: ExportReport) -> None:
        self.book = book
        self.canvas = canvas
        self.report = report
        self.page_size = (0.0, 0.0)

    def page(self, page: PrintedPage, ready: Iterator[_Ready]) -> None:
        product = self.book.product
        width, height, left, bottom = media_box(product, page.side)
        c = self.canvas
        self.page_size = (width, height)
        c.setPageSize((width, height))
        c.setTrimBox((left, bottom, left + product.width, bottom + product.height))
        c.setBleedBox((0, 0, width, height))
        self.left, self.top = left, bottom + product.height
        for photo in page.photos:
            if _drawn(photo):
                self.photo(page, photo, next(ready))
        for text in page.texts:
            self.text(text)
        c.showPage()
        self.report.pages += 1

    def _pdf_rect(self, rect: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        x, y, w, h = rect
        return self.left + x, self.top - y - h, w, h

    def photo(self, page: PrintedPage, photo: PlacedPhoto, ready: _Ready) -> None:
        if ready.file is None:
            self.report.problems.append(f"{page.label}: {ready.problem}")
            return
        crop = photo.crop
        assert crop is not None and photo.path is not None and photo.format is not None
        x, y, w, h = self._pdf_rect(photo.rect)
        c = self.canvas
        # Where the crop window lands: one scale for both axes, large enough to cover the
        # slot, centred on it. (The layout makes crops of the slot's shape, so this only
        # matters if a shape ever differs: the photo is then trimmed, never stretched.)
        crop_w, crop_h = crop.w * photo.size[0], crop.h * photo.size[1]
        scale = max(w / crop_w, h / crop_h)
        win_w, win_h = crop_w * scale, crop_h * scale
        win_x, win_y = x + (w - win_w) / 2, y + (h - win_h) / 2
        # And the whole upright photo.
        full_w, full_h = win_w / crop.w, win_h / crop.h
        left, bottom = win_x - crop.x * full_w, win_y + win_h - (1 - crop.y) * full_h
        c.saveState()
        path = c.beginPath()
        path.rect(x, y, w, h)
        c.clipPath(path, stroke=0, fill=0)
        if ready.original:
            # The stored image, drawn from the corner of the upright photo where its own
            # bottom-left corner ends up, in coordinates turned as its orientation says.
            if ready.turn == 0:
                c.drawImage(ready.file, left, bottom, full_w, full_h)
            elif ready.turn == 180:
                c.translate(left + full_w, bottom + full_h)
                c.rotate(180)
                c.drawImage(ready.file, 0, 0, full_w, full_h)
            elif ready.turn == -90:
                c.translate(left, bottom + full_h)
                c.rotate(-90)
                c.drawImage(ready.file, 0, 0, full_h, full_w)
            else:
                c.translate(left + full_w, bottom)
                c.rotate(90)
                c.drawImage(ready.file, 0, 0, full_h, full_w)
            self.report.original += 1
        else:
            c.drawImage(ready.file, win_x, win_y, win_w, win_h)
            self.report.resampled += 1
        c.restoreState()
        self.report.image_bytes += ready.size
        if self.report.embedded is not None:
            self.report.embedded.append(
                Embedded(
                    self.report.pages,
                    self.page_size,
                    (left, bottom, full_w, full_h),
                    (x, y, w, h),
                    photo.path,
                    photo.format,
                    ready.data or b"",
                )
            )

    def text(self, text: PlacedText) -> None:
        parts = text.parts()
        if not parts:
            return
        x, y, w, h = self._pdf_rect(text.rect)
        fitted = fit_block(parts, w, h)
        if fitted is None:
            return  # the print check names it; the text box stays empty rather than overflow
        c = self.canvas
        c.setFillColorRGB(*INK)
        # The block centred in the box; a line's baseline a fifth of its height above its
        # bottom, which centres Source Serif's capitals and descenders by eye.
        top = y + (h + block_height(fitted)) / 2
        for n, part in enumerate(fitted):
            line_height = part.size * LEADING
            if n:
                top -= line_height / 3
            c.setFont(part.font, part.size)
            for line in part.lines:
                top -= line_height
                c.drawCentredString(x + w / 2, top + line_height / 5, line)


def _is_srgb(icc: object) -> bool:
    """No profile (sRGB by convention) or one that names itself sRGB."""
    if not icc:
        return True
    if not isinstance(icc, bytes):
        return False
    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return False
    # "c2" is a widely used compact sRGB profile (a few hundred bytes) under its own name;
    # a linear-light "sRGB" is not the sRGB a print lab expects.
    name = description.lower().replace(" ", "").strip()
    return ("srgb" in name and "linear" not in name) or name == "c2"


def _sync_folder(folder: Path) -> None:
    """Make a rename durable: the folder's entry, not only the file, must reach the disk."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    # Some filesystems cannot sync a folder; the rename itself has happened all the same.
    with contextlib.suppress(OSError):
        os.fsync(handle)
    os.close(handle)


def _drawn(photo: PlacedPhoto) -> bool:
    return photo.photo_id is not None and photo.crop is not None and photo.path is not None


def write_pdf(
    book: PrintedBook,
    out: str | os.PathLike[str],
    on_page: Callable[[int, int], None] | None = None,
    title: str | None = None,
    record: bool = False,
) -> ExportReport:
    """Write `book` to `out`, through a temporary file beside it renamed into place.
    `record` keeps every photo as drawn in the report (for the benchmark's floor)."""
    register_fonts()
    target = Path(out).expanduser().absolute()
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give a file name such as book.pdf")
    if not target.parent.is_dir():
        raise ExportError(f"the folder {target.parent} does not exist")
    if target.exists() and not _is_pdf(target):
        raise ExportError(f"{target} exists and is not a PDF; it is not overwritten")
    missing = [p for page in book.pages for p in page.photos if p.photo_id is not None and not _drawn(p)]
    if missing:
        raise ExportError(
            f"{len(missing)} slots hold a photo whose file is gone (see `check`); nothing was written"
        )
    report = ExportReport(embedded=[] if record else None)
    _clear_stale_parts(target)
    temp = ""
    handle = -1
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        # Held while the PDF is written: the lock ends with the process, so a part nobody holds
        # is what a killed export left behind.
        fcntl.flock(handle, fcntl.LOCK_EX)
        canvas = Canvas(
            temp,
            pageCompression=1,
            # Without it ReportLab lists an unembedded Helvetica. (types-reportlab has this
            # argument's type wrong.)
            initialFontName="BookSerif",  # type: ignore[arg-type]
            initialFontSize=10,
            invariant=True,
        )
        canvas.setTitle(title or target.stem)
        canvas.setCreator("mixbook-desktop")
        writer = _Writer(book, canvas, report)
        photos = [photo for page in book.pages for photo in page.photos if _drawn(photo)]
        ppi = book.product.target_ppi
        with tempfile.TemporaryDirectory(prefix="mixbook-export-") as folder:
            pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
            try:
                # Every photo is read, checked and, where needed, resampled ahead of the page
                # that draws it, on every core; the pages take them in order.
                ready = pool.map(
                    lambda job: _prepare(job[1], ppi, Path(folder), job[0], record), enumerate(photos)
                )
                for n, page in enumerate(book.pages, start=1):
                    writer.page(page, ready)
                    if on_page is not None:
                        on_page(n, len(book.pages))
                canvas.save()
            finally:
                pool.shutdown(cancel_futures=True)
        if report.problems:
            # A book with a photo missing is not the book: the previous PDF stays.
            shown = "; ".join(report.problems[:3]) + (" ..." if len(report.problems) > 3 else "")
            raise ExportError(
                f"{len(report.problems)} photos could not go in, so {target.name} was not written: {shown}"
            )
        with open(temp, "rb") as fh:
            os.fsync(fh.fileno())
        # mkstemp makes the file private; a PDF is an ordinary document of the user's.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, target)
        _sync_folder(target.parent)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise ExportError(f"not enough disk space to write {target}; the previous PDF is kept") from None
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if temp:
            Path(temp).unlink(missing_ok=True)
        if handle >= 0:
            os.close(handle)
    return report


def _clear_stale_parts(target: Path) -> None:
    """Remove the partial PDFs that exports killed before their end left beside `target`."""
    for part in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
        try:
            handle = os.open(part, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # another export is writing it now
        else:
            part.unlink(missing_ok=True)
        finally:
            os.close(handle)


def _is_pdf(path: Path) -> bool:
    """Only a PDF is replaced: a slip of the fingers must not turn a project file (or any
    other document) into a book."""
    try:
        with path.open("rb") as fh:
            return fh.read(5) == b"%PDF-"
    except OSError:
        return False


def render_pngs(
    pdf: str | os.PathLike[str], folder: str | os.PathLike[str], names: list[str], dpi: float = 72
) -> list[Path]:
    """Page previews of an exported PDF (the PDF itself is rendered, so they show what
    prints), one PNG per page named from `names`, each written whole or not at all."""
    import pypdfium2

    out = Path(folder).expanduser().absolute()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        for n in range(len(document)):
            page = document[n]
            image = page.render(scale=dpi / 72).to_pil()
            page.close()
            name = out / f"{names[n]}.png"
            temp = name.with_name(f".{name.name}.part")
            image.save(temp, "PNG")
            os.replace(temp, name)
            written.append(name)
    finally:
        document.close()
    return written
