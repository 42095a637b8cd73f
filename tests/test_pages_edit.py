"""Pages the user adds and removes, and crops reset, on the real analysed demo book."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mixbook_desktop.core.book import BLANK_TEMPLATE, Page
from mixbook_desktop.layout.checks import check_book
from mixbook_desktop.services import book as book_service
from mixbook_desktop.services.book import BookError
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.book import EXCLUDE, PAGES_KEY, BookStore
from mixbook_desktop.store.project import Project
from mixbook_desktop.store.snapshots import BOOK, put_back, take
from tests.analysis_support import copy_book
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def laid_out(demo_book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = copy_book(demo_book, tmp_path_factory.mktemp("pages-edit"))
    run_cli("layout", str(book))
    return book


@pytest.fixture
def project(laid_out: Path, tmp_path: Path) -> Iterator[Project]:
    with Project.open(copy_book(laid_out, tmp_path)) as opened:
        yield opened


def _pages(project: Project) -> dict[int, Page]:
    return BookStore(project).pages()


def _codes(project: Project) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for problem in check_book(book_service.printed_book(project)):
        found.setdefault(problem.code, []).append(problem.page)
    return found


def test_an_added_page_is_empty_in_its_chapter_and_moves_the_later_pages_on(project: Project) -> None:
    before = _pages(project)
    assert max(before) == 20 and AnalysisStore(project).get_setting(PAGES_KEY) is None
    assert book_service.add_page(project, 3) == 4
    after = _pages(project)
    assert sorted(after) == list(range(22))
    new = after[4]
    assert new.template == book_service.NEW_PAGE_TEMPLATE and new.photo_ids() == []
    assert new.chapter == before[3].chapter and not new.fixed
    assert all(after[p] == before[p] for p in range(4))
    for old in range(4, 21):
        moved = after[old + 1]
        assert (moved.template, moved.photo_ids(), moved.chapter) == (
            before[old].template,
            before[old].photo_ids(),
            before[old].chapter,
        )
    # The count the user made is the book's now; the lab's rules are the check's to tell.
    assert AnalysisStore(project).get_setting(PAGES_KEY) == 21
    codes = _codes(project)
    assert codes["page-count"] == [0] and 4 in codes["empty-slot"]
    # Auto-fill keeps that count, rounded up to one the product allows (steps of 2 from 20).
    report = book_service.layout_book(project)
    assert report.pages == 22 and "page-count" not in _codes(project)


def test_a_page_added_before_page_one_or_at_the_end(project: Project) -> None:
    first_photos = _pages(project)[1].photo_ids()
    assert book_service.add_page(project, 0, BLANK_TEMPLATE) == 1
    pages = _pages(project)
    assert pages[1].template == BLANK_TEMPLATE and pages[1].fills == ()
    assert pages[1].chapter == pages[2].chapter and pages[2].photo_ids() == first_photos
    assert book_service.add_page(project, 21, "2-side-by-side") == 22
    last = _pages(project)[22]
    assert last.template == "2-side-by-side" and len(last.fills) == 2 and last.photo_ids() == []
    assert AnalysisStore(project).get_setting(PAGES_KEY) == 22


def test_a_removed_page_frees_its_photos_without_taking_them_out_of_the_book(project: Project) -> None:
    before = _pages(project)
    photo = before[9].photo_ids()[0]
    assert book_service.remove_page(project, 9) == [photo]
    after = _pages(project)
    assert sorted(after) == list(range(20))
    assert all(after[p] == before[p] for p in range(9))
    assert all(after[p - 1].photo_ids() == before[p].photo_ids() for p in range(10, 21))
    assert photo not in {pid for page in after.values() for pid in page.photo_ids()}
    assert BookStore(project).choices().get(photo) != EXCLUDE
    assert AnalysisStore(project).get_setting(PAGES_KEY) == 19
    assert _codes(project)["page-count"] == [0], "19 pages: the check says so, the edit was not refused"
    # Auto-fill makes the count valid again, and the freed photo goes back in.
    report = book_service.layout_book(project)
    assert report.pages == 20
    assert photo in {pid for page in _pages(project).values() for pid in page.photo_ids()}


def test_a_photo_also_on_the_cover_stays_placed(project: Project) -> None:
    cover_photo = _pages(project)[0].photo_ids()[0]
    position = next(p for p, page in _pages(project).items() if p and cover_photo in page.photo_ids())
    assert book_service.remove_page(project, position) == []


def test_refused_page_edits_leave_the_book_as_it_was(project: Project) -> None:
    before = take(project, BOOK)
    with pytest.raises(BookError, match="cover cannot be removed"):
        book_service.remove_page(project, 0)
    with pytest.raises(BookError, match="no page 21"):
        book_service.remove_page(project, 21)
    with pytest.raises(BookError, match="no page 25"):
        book_service.add_page(project, 25)
    with pytest.raises(BookError, match="not a template for a page"):
        book_service.add_page(project, 2, "cover-photo-title")
    with pytest.raises(BookError, match="not a template for a page"):
        book_service.add_page(project, 2, "no-such-template")
    assert take(project, BOOK).same_as(before)


def test_pages_that_change_sides_get_crops_of_their_new_shape(project: Project) -> None:
    # Page 4 is a left page: the left half of a full-bleed pair runs into the bleed on the
    # left. On a right page that edge is the binding, without bleed: the slot is narrower.
    book_service.set_template(project, 4, "2-full-bleed-halves")
    spare = _pages(project)[20 - 4].photo_ids()[0]
    sha = {pid: sha for sha, pid in AnalysisStore(project).photo_ids().items()}[spare]
    book_service.place(project, 4, 2, sha)
    mine = book_service.set_crop(project, 4, 1, 0.1, 0.0, 0.2)
    book_service.add_page(project, 1)
    moved = _pages(project)[5]
    assert moved.template == "2-full-bleed-halves" and moved.fills[0].crop_by_user
    printed = next(p for p in book_service.printed_book(project).pages if p.position == 5)
    assert printed.side.value == "right"
    for photo in printed.photos:
        assert photo.crop is not None
        shape = (photo.crop.w * photo.size[0]) / (photo.crop.h * photo.size[1])
        assert shape == pytest.approx(photo.rect[2] / photo.rect[3], rel=book_service.SAME_SHAPE)
        assert photo.crop.x >= 0 and photo.crop.x + photo.crop.w <= 1 + 1e-9
        assert photo.crop.y >= 0 and photo.crop.y + photo.crop.h <= 1 + 1e-9
    reshaped = printed.photos[0].crop
    assert reshaped is not None and reshaped != mine
    # The user's crop keeps its centre across; taller now, it stays within the photo's top.
    assert reshaped.x + reshaped.w / 2 == pytest.approx(mine.x + mine.w / 2, abs=1e-6)
    assert reshaped.h > mine.h and reshaped.y == mine.y == 0


def test_a_reset_crop_is_the_automatic_one_again(project: Project) -> None:
    automatic = _pages(project)[2].fills[0].crop
    assert automatic is not None and not _pages(project)[2].fills[0].crop_by_user
    mine = book_service.set_crop(project, 2, 1, 0.0, 0.0, 0.5)
    assert mine != automatic and _pages(project)[2].fills[0].crop_by_user
    assert book_service.reset_crop(project, 2, 1) == automatic
    fill = _pages(project)[2].fills[0]
    assert fill.crop == automatic and not fill.crop_by_user
    empty = book_service.add_page(project, 2)
    with pytest.raises(BookError, match="holds no photo"):
        book_service.reset_crop(project, empty, 1)


def test_a_locked_page_moves_with_an_insert_and_auto_fill_keeps_it(project: Project) -> None:
    book_service.lock(project, 6)
    locked = _pages(project)[6]
    book_service.add_page(project, 2)
    assert _pages(project)[7] == locked
    book_service.remove_page(project, 3)  # the page just added: the count is back to 20
    book_service.layout_book(project)
    assert _pages(project)[6] == locked


def test_a_page_edit_is_undone_with_the_page_count(project: Project) -> None:
    before = take(project, BOOK)
    book_service.add_page(project, 5)
    after = take(project, BOOK)
    assert not after.same_as(before)
    put_back(project, before, after, "undo")
    assert take(project, BOOK).same_as(before) and AnalysisStore(project).get_setting(PAGES_KEY) is None
    put_back(project, after, before, "redo")
    assert len(_pages(project)) == 22 and AnalysisStore(project).get_setting(PAGES_KEY) == 21


def test_the_command_line_adds_and_removes_pages(laid_out: Path, tmp_path: Path) -> None:
    book = copy_book(laid_out, tmp_path)
    done = run_cli("pages", str(book), "--add-page", "0", "--remove-page", "21", "--json")
    pages = json.loads(done.stdout)
    assert [p["page"] for p in pages] == list(range(21))
    assert pages[1]["template"] == book_service.NEW_PAGE_TEMPLATE and "page 1: added" in done.stderr
    refused = run_cli("pages", str(book), "--add-page", "3", "--remove-page", "0", check=False)
    assert refused.returncode == 1 and "cover cannot be removed" in refused.stderr
    with Project.open(book) as project:
        assert len(_pages(project)) == 21, "all of the command's edits or none"


@pytest.mark.parametrize(
    ("x", "y", "w"),
    [(-0.3, -0.2, 0.5), (0.9, 0.9, 0.5), (0.2, 0.1, 0.0001), (0.0, 0.0, 5.0), (0.5, 0.5, 1.0)],
)
def test_every_crop_fitted_for_an_editor_is_one_set_crop_takes(
    project: Project, x: float, y: float, w: float
) -> None:
    printed = next(p for p in book_service.printed_book(project).pages if p.position == 3)
    photo = printed.photos[0]
    fitted = book_service.fit_crop(x, y, w, photo.size, photo.rect[2] / photo.rect[3])
    assert book_service.set_crop(project, 3, 1, fitted.x, fitted.y, fitted.w) == fitted
