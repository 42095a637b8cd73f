"""The book on the analysed demo photos through the real command line: layout, the user's
edits surviving re-layout, print checks, and the PDF read back with poppler."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2
import pytest
from PIL import Image, ImageOps

from mixbook_desktop.core.book import PRODUCTS, Side, safe_rect
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.core.printed import inside
from mixbook_desktop.export.pdf import ExportError, write_pdf
from mixbook_desktop.services.book import printed_book
from mixbook_desktop.store.project import Project
from tests.analysis_support import copy_book, demo_rows
from tests.conftest import DEMO_PHOTOS, FIXTURE_PHOTOS, demo_subset, run_cli


@pytest.fixture(scope="module")
def laid_out(demo_book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = copy_book(demo_book, tmp_path_factory.mktemp("book"))
    # Texts of the user's own (the model's are tested with the captions): a title with
    # letters beyond ASCII, and a caption.
    run_cli("caption", str(book), "--set", "book", "Summers in Åland & Sintra")
    run_cli(
        "caption", str(book), "--set", demo_rows(book)["maxinception__dog.jpg"]["sha256"], "Biscuit waits"
    )
    run_cli("layout", str(book))
    return book


def _pages(book: Path) -> list[dict[str, Any]]:
    rows = json.loads(run_cli("pages", str(book), "--json").stdout)
    assert isinstance(rows, list)
    return rows


def _check(book: Path) -> list[dict[str, Any]]:
    done = run_cli("check", str(book), "--json", check=False)
    assert done.returncode in (0, 1), done.stderr
    problems = json.loads(done.stdout)
    assert isinstance(problems, list)
    return problems


def _poppler(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout


def test_the_layout_places_every_usable_photo_with_faces_whole_and_nothing_overlapping(
    laid_out: Path,
) -> None:
    pages = _pages(laid_out)
    square = PRODUCTS["8x8"]
    inner = [p for p in pages if p["page"] > 0]
    assert pages[0]["page"] == 0 and pages[0]["texts"][0]["target"] == "book"
    assert len(inner) == 20, "16 photos, one a page, make 16 pages; the 8x8 book needs 20"
    rows = {r["sha256"]: r for r in demo_rows(laid_out).values() if r["status"] == "ok"}
    placed = [p["sha256"] for page in inner for p in page["photos"] if p["sha256"]]
    assert sorted(placed) == sorted(rows), "every demo photo is usable and placed once"
    for page in pages:
        rects = [p["rect"] for p in page["photos"]] + [t["rect"] for t in page["texts"]]
        for a, b in itertools.combinations(rects, 2):
            assert not Box(a[0] + 0.5, a[1] + 0.5, a[2] - 1, a[3] - 1).overlaps(Box(*b)), page
        for photo in page["photos"]:
            crop = Box(*photo["crop"])
            for face in rows[photo["sha256"]]["faces"]:
                box = Box(*face["box"])
                # The face, with no slack, lies inside the crop window.
                assert inside((box.x, box.y, box.w, box.h), (crop.x, crop.y, crop.w, crop.h), 0.005)
        # Text stays in the safe area: the safe margin from the trim, the gutter from the binding.
        safe = safe_rect(square, Side(page["side"]))
        for text in page["texts"]:
            assert inside(tuple(text["rect"]), safe, 0.0), (page["page"], text)
    problems = _check(laid_out)
    codes = {p["code"] for p in problems}
    assert not codes & {"face-cut", "face-unsafe", "text-unsafe", "text-overflow", "empty-slot", "page-count"}


def test_the_pdf_has_print_boxes_embedded_fonts_and_the_original_jpeg_bytes(
    laid_out: Path, tmp_path: Path
) -> None:
    pdf = tmp_path / "book.pdf"
    done = run_cli("export", str(laid_out), str(pdf), "--png", str(tmp_path / "pages"))
    assert "21 pages" in done.stdout
    square = PRODUCTS["8x8"]
    boxes = _poppler("pdfinfo", "-box", "-f", "1", "-l", "21", str(pdf))
    found = {
        (int(m[1]), m[2]): tuple(float(v) for v in m[3].split())
        for m in re.finditer(r"Page\s+(\d+) (MediaBox|TrimBox|BleedBox):\s+([\d.\s]+?)\n", boxes)
    }
    for page in range(1, 22):
        media, trim, bleed = (found[(page, k)] for k in ("MediaBox", "TrimBox", "BleedBox"))
        assert trim[2] - trim[0] == square.width and trim[3] - trim[1] == square.height
        assert bleed == media and media[3] == square.height + 2 * square.bleed
        # The cover bleeds all round; inside, no page bleeds into the binding.
        sides = 2 if page == 1 else 1
        assert media[2] == square.width + sides * square.bleed
        if page > 1:
            left_page = page % 2 == 1  # PDF page 2 is book page 1, a right page
            assert trim[0] == (square.bleed if left_page else 0)
    fonts = _poppler("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all(" yes " in line and "SourceSerifPro" in line for line in fonts), fonts
    images = [line.split() for line in _poppler("pdfimages", "-list", str(pdf)).splitlines()[2:]]
    assert len(images) == 17  # the cover and 16 pages of one photo each
    assert all(int(row[12]) <= 450 for row in images), "none far above 300 ppi"
    # JPEGs that print as they are were embedded byte for byte.
    _poppler("pdfimages", "-j", str(pdf), str(tmp_path / "img"))
    extracted = {hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.glob("img-*.jpg")}
    originals = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in DEMO_PHOTOS.glob("*.jp*g")}
    inside_pdf = sorted(originals[h] for h in extracted & set(originals))
    assert len(inside_pdf) >= 5, inside_pdf
    # An Adobe RGB JPEG is converted to sRGB, so its own bytes are not in the PDF.
    assert "maxemotion__group.jpeg" not in inside_pdf
    previews = sorted(p.name for p in (tmp_path / "pages").iterdir())
    assert previews[0] == "cover.png" and len(previews) == 21


def test_locks_placements_removals_and_crops_survive_a_new_layout(laid_out: Path, tmp_path: Path) -> None:
    book = copy_book(laid_out, tmp_path)
    before = {p["page"]: p for p in _pages(book)}
    rows = demo_rows(book)
    dog = rows["maxinception__dog.jpg"]["sha256"]
    pizza = rows["maxinception__pizza.jpg"]["sha256"]
    run_cli("pages", str(book), "--lock", "3", "--place", "5.1", dog, "--remove", pizza)
    run_cli("pages", str(book), "--crop", "7.1", "0,0,0.5")
    cropped = {p["page"]: p for p in _pages(book)}[7]["photos"][0]
    run_cli("layout", str(book), "--pages", "24", "--product", "8x8")
    after = {p["page"]: p for p in _pages(book)}
    assert len(after) == 25
    assert after[3]["photos"] == before[3]["photos"] and after[3]["locked"]
    assert after[5]["photos"][0]["sha256"] == dog and after[5]["photos"][0]["locked"]
    everywhere = [p["sha256"] for page in after.values() for p in page["photos"]]
    assert pizza not in everywhere and everywhere.count(dog) == 1
    moved = [
        p
        for page in after.values()
        if page["page"]
        for p in page["photos"]
        if p["sha256"] == cropped["sha256"]
    ]
    assert moved and moved[0]["crop"] == cropped["crop"], "the user's crop goes with the photo"
    # Taking the photo back lets the layout use it again.
    run_cli("pages", str(book), "--restore", pizza)
    run_cli("layout", str(book))
    assert pizza in [p["sha256"] for page in _pages(book) for p in page["photos"]]


def test_a_small_photo_placed_big_is_a_print_problem_named_by_page_and_slot(
    laid_out: Path, tmp_path: Path
) -> None:
    book = copy_book(laid_out, tmp_path)
    chelsea = demo_rows(book)["skimage__chelsea.png"]["sha256"]  # 451 x 300 pixels
    run_cli("pages", str(book), "--template", "4", "1-full-bleed", "--place", "4.1", chelsea)
    problems = [p for p in _check(book) if p["page"] == 4 and p["slot"] == 1]
    assert [p["code"] for p in problems] == ["low-resolution"]
    assert problems[0]["severity"] == "error" and "skimage__chelsea.png" in problems[0]["message"]
    assert run_cli("check", str(book), check=False).returncode == 1


def test_a_failed_export_leaves_the_old_pdf_whole_and_no_part_file(laid_out: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(b"%PDF-1.4 the earlier export\n")
    with Project.open(laid_out) as project:
        book = printed_book(project)

    def fail(done: int, total: int) -> None:
        if done == 3:
            raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match="not enough disk space"):
        write_pdf(book, pdf, on_page=fail)
    assert pdf.read_bytes() == b"%PDF-1.4 the earlier export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["book.pdf"]
    with pytest.raises(ExportError, match="does not exist"):
        write_pdf(book, tmp_path / "no" / "book.pdf")


def test_turned_jpegs_print_upright_from_their_original_bytes(tmp_path: Path) -> None:
    """Orientations 3, 6 and 8 are turned by the PDF itself (the bytes stay the camera's);
    a mirrored one (7) is resampled upright. Each slot of the rendered page must show the
    upright photo's crop."""
    names = [
        "orient__Landscape_3.jpg",
        "orient__Landscape_6.jpg",
        "orient__Landscape_8.jpg",
        "orient__Portrait_7.jpg",
    ]
    book = tmp_path / "turned.mbook"
    run_cli("import", str(book), *(str(FIXTURE_PHOTOS / n) for n in names))
    run_cli("analyze", str(book))
    run_cli("layout", str(book))
    rows = demo_rows(book)
    places = [
        arg for n, name in enumerate(names, start=1) for arg in ("--place", f"1.{n}", rows[name]["sha256"])
    ]
    run_cli("pages", str(book), "--template", "1", "4-grid", *places)
    pdf = tmp_path / "turned.pdf"
    done = run_cli("export", str(book), str(pdf))
    counts = re.search(r"(\d+) photos as their original JPEG, (\d+) resampled", done.stdout)
    assert counts and int(counts[1]) >= 3 and int(counts[2]) >= 1, done.stdout
    page_one = next(p for p in _pages(book) if p["page"] == 1)
    document = pypdfium2.PdfDocument(str(pdf))
    rendered = document[1].render(scale=1).to_pil().convert("L")  # book page 1: PDF page 2
    document.close()
    bleed = PRODUCTS["8x8"].bleed  # a right page: bleed on the top, bottom and right only
    for photo in page_one["photos"]:
        x, y, w, h = photo["rect"]
        shown = rendered.crop((round(x), round(y + bleed), round(x + w), round(y + bleed + h)))
        with Image.open(photo["file"]) as original:
            upright = ImageOps.exif_transpose(original).convert("L")
        cx, cy, cw, ch = photo["crop"]
        box = (cx * upright.width, cy * upright.height, (cx + cw) * upright.width, (cy + ch) * upright.height)
        expected = upright.crop(tuple(round(v) for v in box)).resize(shown.size)
        wrong = expected.rotate(90).resize(shown.size)
        error = float(np.mean(np.abs(np.asarray(shown, float) - np.asarray(expected, float))))
        wrong_error = float(np.mean(np.abs(np.asarray(shown, float) - np.asarray(wrong, float))))
        assert error < 12 and error < wrong_error / 2, (Path(photo["file"]).name, error, wrong_error)
    originals = {hashlib.sha256((FIXTURE_PHOTOS / n).read_bytes()).hexdigest() for n in names[:3]}
    _poppler("pdfimages", "-j", "-f", "2", "-l", "2", str(pdf), str(tmp_path / "img"))
    extracted = {hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.glob("img-*.jpg")}
    assert originals <= extracted, "the three turnable JPEGs went in as their own bytes"


def test_a_changed_template_a_locked_crop_and_a_new_product_survive_re_layout(
    laid_out: Path, tmp_path: Path
) -> None:
    book = copy_book(laid_out, tmp_path)
    run_cli("pages", str(book), "--template", "2", "2-side-by-side-caption")
    run_cli("pages", str(book), "--crop", "4.1", "0.1,0,0.5", "--lock", "4")
    before = {p["page"]: p for p in _pages(book)}
    run_cli("layout", str(book), "--product", "11x8.5")
    after = {p["page"]: p for p in _pages(book)}
    assert after[2]["template"] == "2-side-by-side-caption"
    assert after[2]["photos"][0]["sha256"] == before[2]["photos"][0]["sha256"]
    assert after[2]["photos"][1]["sha256"], "the slot the new template added is filled"
    photo = after[4]["photos"][0]
    assert photo["sha256"] == before[4]["photos"][0]["sha256"]
    rows = {r["sha256"]: r for r in demo_rows(book).values() if r["sha256"]}
    width, height = rows[photo["sha256"]]["width"], rows[photo["sha256"]]["height"]
    crop_shape = photo["crop"][2] * width / (photo["crop"][3] * height)
    slot_shape = photo["rect"][2] / photo["rect"][3]
    assert abs(crop_shape / slot_shape - 1) < 0.01, "the crop was reshaped for the landscape page"
    assert photo["crop"] != before[4]["photos"][0]["crop"]
    codes = {p["code"] for p in _check(book)}
    assert not codes & {"crop-shape", "empty-slot", "repeated-photo", "page-count"}, codes


def test_edits_are_all_or_nothing_and_a_photo_prints_once(laid_out: Path, tmp_path: Path) -> None:
    book = copy_book(laid_out, tmp_path)
    dog = demo_rows(book)["maxinception__dog.jpg"]["sha256"]
    where = next(
        p["page"] for p in _pages(book) if p["page"] and any(x["sha256"] == dog for x in p["photos"])
    )
    failed = run_cli("pages", str(book), "--lock", "2.1", "--place", "2.1", "000000000", check=False)
    assert failed.returncode == 1 and "no photo has the SHA-256 000000000" in failed.stderr
    assert not {p["page"]: p for p in _pages(book)}[2]["photos"][0]["locked"], (
        "the lock went with the failure"
    )
    run_cli("pages", str(book), "--lock", str(where))
    refused = run_cli("pages", str(book), "--place", "2.1", dog, check=False)
    assert refused.returncode == 1 and f"already on page {where}, which you locked" in refused.stderr
    run_cli("pages", str(book), "--unlock", str(where), "--place", "2.1", dog)
    placed = [p["page"] for p in _pages(book) if p["page"] for x in p["photos"] if x["sha256"] == dog]
    assert placed == [2]


def test_a_title_the_font_cannot_draw_is_a_print_error(laid_out: Path, tmp_path: Path) -> None:
    book = copy_book(laid_out, tmp_path)
    run_cli("caption", str(book), "--set", "book", "Tokyo 東京")
    problems = [p for p in _check(book) if p["code"] == "text-glyphs"]
    assert [(p["page"], p["slot"]) for p in problems] == [(0, 2)] and "東京" in problems[0]["message"]


def test_an_export_with_a_photo_missing_keeps_the_previous_pdf(tmp_path: Path) -> None:
    photos = demo_subset(
        tmp_path / "photos", "maxinception__dog.jpg", "maxscene__paris.jpg", "maxemotion__happy-baby.jpeg"
    )
    book = tmp_path / "moved.mbook"
    for command in ("import", "analyze", "layout"):
        run_cli(command, str(book), *([str(photos)] if command == "import" else []))
    pdf = tmp_path / "book.pdf"
    run_cli("export", str(book), str(pdf))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o666 & ~umask, "an ordinary file, not a private one"
    good = pdf.read_bytes()
    (photos / "maxinception__dog.jpg").unlink()
    assert run_cli("check", str(book), check=False).returncode == 1
    done = run_cli("export", str(book), str(pdf), check=False)
    assert (
        done.returncode == 1 and "maxinception__dog.jpg" in done.stderr and "was not written" in done.stderr
    )
    assert pdf.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_odd_requests_get_one_line_and_change_nothing(laid_out: Path, tmp_path: Path) -> None:
    book = copy_book(laid_out, tmp_path)
    before = book.read_bytes()
    for args in (
        ["export", str(book), str(book)],  # the project itself
        ["export", str(book), str(tmp_path / "notes.txt")],
        ["pages", str(book), "--crop", "4.1", "nan,0,0.5"],
        ["pages", str(book), "--template", "x", "1-framed"],
        ["pages", str(book), "--crop", "4", "0,0,0.5"],
        ["layout", str(book), "--pages", "500"],
        ["layout", str(book), "--product", "9x9ft"],
    ):
        done = run_cli(*args, check=False)
        assert done.returncode in (1, 2) and "Traceback" not in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) <= 2, done.stderr
    assert book.read_bytes() == before, "a refused request wrote nothing"
    not_pdf = tmp_path / "notes.pdf"
    not_pdf.write_text("my notes")
    assert run_cli("export", str(book), str(not_pdf), check=False).returncode == 1
    assert not_pdf.read_text() == "my notes"
    exists = tmp_path / "previews"
    exists.write_text("a file, not a folder")
    done = run_cli("export", str(book), str(tmp_path / "b.pdf"), "--png", str(exists), check=False)
    assert done.returncode == 1 and "page previews" in done.stderr and "Traceback" not in done.stderr
    # The page count asked for is kept until `auto` gives it back to the photos.
    run_cli("layout", str(book), "--pages", "26")
    assert len(_pages(book)) == 27
    run_cli("layout", str(book))
    assert len(_pages(book)) == 27
    run_cli("layout", str(book), "--pages", "auto")
    assert len(_pages(book)) == 21


def test_a_placed_photo_swaps_places_and_captions_follow_their_photos(laid_out: Path, tmp_path: Path) -> None:
    book = copy_book(laid_out, tmp_path)
    run_cli("caption", str(book), "--set", demo_rows(book)["maxscene__paris.jpg"]["sha256"], "Paris at noon")
    run_cli("layout", str(book))
    pages = {p["page"]: p for p in _pages(book)}
    dog_page = next(n for n, p in pages.items() if n and p["photos"][0]["file"].endswith("dog.jpg"))
    paris_page = next(n for n, p in pages.items() if n and p["photos"][0]["file"].endswith("paris.jpg"))
    dog = pages[dog_page]["photos"][0]["sha256"]
    done = run_cli("pages", str(book), "--place", f"{paris_page}.1", dog)
    assert f"swapped with page {dog_page}" in done.stdout
    after = {p["page"]: p for p in _pages(book)}
    assert after[paris_page]["photos"][0]["file"].endswith("dog.jpg")
    assert after[dog_page]["photos"][0]["file"].endswith("paris.jpg")
    assert [t["text"] for t in after[paris_page]["texts"]] == ["Biscuit waits"]
    assert [t["text"] for t in after[dog_page]["texts"]] == ["Paris at noon"]
    assert "caption-elsewhere" not in {p["code"] for p in _check(book)}


def test_a_cover_crop_stays_on_the_cover_and_custom_sizes_keep_text_safe(
    laid_out: Path, tmp_path: Path
) -> None:
    book = copy_book(laid_out, tmp_path)
    run_cli("pages", str(book), "--crop", "0.1", "0.5,0.2,0.3")
    run_cli("layout", str(book))
    pages = _pages(book)
    cover = pages[0]["photos"][0]
    inside_copy = next(p for page in pages[1:] for p in page["photos"] if p["sha256"] == cover["sha256"])
    assert cover["crop"][0] == 0.5 and inside_copy["crop"] != cover["crop"]
    for size in ("4x4in", "9.5x8in", "210x280mm"):
        run_cli("layout", str(book), "--product", size)
        codes = {p["code"] for p in _check(book)}
        # (Faces are not asked about: the cover's crop is the user's, reshaped for each size.)
        assert not codes & {"text-unsafe", "text-overflow", "page-count"}, (size, codes)


def test_a_photo_edited_and_imported_again_leaves_a_missing_photo_not_a_hole(tmp_path: Path) -> None:
    photos = demo_subset(tmp_path / "photos", "maxinception__dog.jpg", "maxscene__paris.jpg")
    book = tmp_path / "edited.mbook"
    for command in ("import", "analyze", "layout"):
        run_cli(command, str(book), *([str(photos)] if command == "import" else []))
    pdf = tmp_path / "book.pdf"
    run_cli("export", str(book), str(pdf))
    good = pdf.read_bytes()
    with Image.open(photos / "maxscene__paris.jpg") as im:
        im.rotate(180).save(photos / "maxscene__paris.jpg", quality=90)  # edited in place
    run_cli("import", str(book), str(photos))
    codes = [(p["code"], p["severity"]) for p in _check(book)]
    assert ("missing-photo", "error") in codes and "empty-slot" not in {c for c, _ in codes}
    done = run_cli("export", str(book), str(pdf), check=False)
    assert done.returncode == 1 and "whose file is gone" in done.stderr
    assert pdf.read_bytes() == good
