"""Layout and PDF export of a 40-page book against the floor: ReportLab alone drawing the same
images at the same places.

    .venv/bin/python bench/export_bench.py [--pages 40] [--rounds 3] [--quick] [--json PATH]

The set is ../shared/photos when it is beside the checkout (the whole corpus; its hostile files
are reported by the import and left out), else the demo photos (16, so most pages are blank).
They are imported and analysed in a temporary folder, and every photo gets a caption of the
user's own so that every text box is set (none of that is timed).

Ours is the whole of `layout` then `export`: choosing photos, pages, templates and slots,
face-aware crops, the page records in the project file, resolving the book for print, and
writing the PDF (original JPEG bytes where they print as they are, else one resampling),
through a temporary file renamed into place.

The floor is ReportLab's canvas alone putting the same photos in the same places with the
same page sizes: each photo drawn whole at the position and scale ours drew it and clipped to
its slot, a JPEG from its file (its bytes go in as they are), any other format opened by
Pillow and handed to ReportLab as it stands. No layout, no checks, no orientation or colour
handling, no resampling, no text. Ratio = floor seconds / ours seconds, best of R rounds
each, alternating. The PDF's size is compared with the sum of its images' bytes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import results
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from mixbook_desktop.cli import main as cli
from mixbook_desktop.export.pdf import Embedded, ExportReport, write_pdf
from mixbook_desktop.services import captions
from mixbook_desktop.services.book import layout_book, printed_book
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.captions import photo_target
from mixbook_desktop.store.project import Project

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 10.0  # for 40 pages
TARGET_RATIO = 0.6
TARGET_SIZE = 1.2  # the PDF against the sum of its images' bytes
SHARED = ROOT.parent / "shared" / "photos"
DEMO = ROOT / "resources" / "demo"


def prepare(folder: Path) -> Path:
    source = SHARED if (SHARED / "MANIFEST.tsv").is_file() else DEMO
    print(f"photos: {source}" + ("" if source == SHARED else " (../shared/photos is not here)"))
    book = folder / "bench.mbook"
    for args in (["import", str(book), str(source)], ["analyze", str(book)]):
        if cli(args) != 0:
            sys.exit(f"set-up failed: {' '.join(args)}")
    with Project.open(book) as project:
        for n, pid in enumerate(AnalysisStore(project).photo_ids().values()):
            captions.set_caption(project, photo_target(pid), f"A caption of eight words for photo {n}")
        captions.set_caption(project, "book", "A benchmark of forty pages")
    return book


def ours(book: Path, pdf: Path, pages: int) -> tuple[float, ExportReport]:
    start = time.perf_counter()
    with Project.open(book) as project:
        layout_book(project, product="8x8", pages=pages)
        printed = printed_book(project)
    report = write_pdf(printed, pdf, record=True)
    return time.perf_counter() - start, report


def floor(embedded: list[Embedded], pdf: Path) -> float:
    start = time.perf_counter()
    canvas = Canvas(str(pdf), pageCompression=1, invariant=True)
    page = -1
    for photo in embedded:
        while page < photo.page:
            if page >= 0:
                canvas.showPage()
            page += 1
            canvas.setPageSize(photo.page_size)
        canvas.saveState()
        clip = canvas.beginPath()
        clip.rect(*photo.clip)
        canvas.clipPath(clip, stroke=0, fill=0)
        if photo.format == "JPEG":
            canvas.drawImage(photo.path, *photo.rect)
        else:
            with Image.open(photo.path) as image:
                canvas.drawImage(ImageReader(image), *photo.rect)
        canvas.restoreState()
    canvas.showPage()
    canvas.save()
    return time.perf_counter() - start


def writing_alone(embedded: list[Embedded], folder: Path, pdf: Path) -> float:
    """ReportLab drawing the very JPEGs ours embedded (resampled ones included) where ours
    drew them: the cost of writing the PDF and nothing else."""
    files = []
    for n, photo in enumerate(embedded):
        files.append(folder / f"{n}.jpg")
        files[-1].write_bytes(photo.embedded)
    start = time.perf_counter()
    canvas = Canvas(str(pdf), pageCompression=1, invariant=True)
    page = -1
    for photo, file in zip(embedded, files, strict=True):
        while page < photo.page:
            if page >= 0:
                canvas.showPage()
            page += 1
            canvas.setPageSize(photo.page_size)
        resampled = photo.embedded != Path(photo.path).read_bytes()
        canvas.saveState()
        clip = canvas.beginPath()
        clip.rect(*photo.clip)
        canvas.clipPath(clip, stroke=0, fill=0)
        canvas.drawImage(str(file), *(photo.clip if resampled else photo.rect))
        canvas.restoreState()
    canvas.showPage()
    canvas.save()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    results.add_options(parser, "one round: a check, not a figure")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        book = prepare(folder)
        best_ours = best_floor = best_alone = float("inf")
        report = ExportReport()
        for _ in range(args.rounds):
            seconds, report = ours(book, folder / "ours.pdf", args.pages)
            best_ours = min(best_ours, seconds)
            best_floor = min(best_floor, floor(report.embedded or [], folder / "floor.pdf"))
            jpegs = folder / "jpegs"
            jpegs.mkdir(exist_ok=True)
            best_alone = min(best_alone, writing_alone(report.embedded or [], jpegs, folder / "alone.pdf"))
        size = (folder / "ours.pdf").stat().st_size
        images = report.image_bytes
        print(f"book: {report.pages - 1} pages and the cover, {len(report.embedded or [])} photos")
        print(f"  {report.original} as their original JPEG, {report.resampled} resampled")
        print(f"ours (layout + export): {best_ours:.2f} s   (target < {TARGET_S:g} s for 40 pages)")
        print(f"floor (ReportLab, same photos):  {best_floor:.2f} s")
        print(f"ratio floor/ours: {best_floor / best_ours:.2f}   (target >= {TARGET_RATIO})")
        print(
            f"for reference, ReportLab drawing the JPEGs ours embedded: {best_alone:.2f} s "
            f"(ratio {best_alone / best_ours:.2f}); the rest of ours is the layout, the checks "
            "of each file, and resampling what cannot go in as it is"
        )
        print(
            f"PDF {size / 1e6:.1f} MB, images {images / 1e6:.1f} MB: {size / images:.2f}x   "
            f"(target <= {TARGET_SIZE:g}x)"
        )
    ratio = best_floor / best_ours
    photos = len(report.embedded or [])
    figures = [
        results.Figure(
            f"layout + PDF export, {report.pages - 1} pages and the cover, {photos} photos",
            best_ours,
            "s",
            best_floor,
            ratio,
            f"< {TARGET_S:g} s, ratio >= {TARGET_RATIO}",
            best_ours < TARGET_S and ratio >= TARGET_RATIO,
        ),
        # The floor here is the least a PDF of these images can weigh: the images alone.
        results.Figure(
            "PDF size against the images in it",
            size / 1e6,
            "MB",
            images / 1e6,
            images / size,
            f"PDF <= {TARGET_SIZE:g} x images",
            size <= TARGET_SIZE * images,
        ),
    ]
    results.write(args.json, "export", figures, args.quick)


if __name__ == "__main__":
    main()
