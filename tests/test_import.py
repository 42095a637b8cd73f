"""Import of the committed photos: every file one result, facts right, nothing twice."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from mixbook_desktop.core.photo import FileStatus
from mixbook_desktop.services.importer import Change, import_paths
from mixbook_desktop.services.relink import relink_missing
from mixbook_desktop.store.photos import PhotoStore
from mixbook_desktop.store.project import Project
from tests.conftest import DEMO_PHOTOS, FIXTURE_PHOTOS, local_rows, photos_json, run_cli
from tests.expectations import check_against_manifest, expects_error


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    book = tmp_path_factory.mktemp("book") / "local.mbook"
    run_cli("import", str(book), str(FIXTURE_PHOTOS), str(DEMO_PHOTOS))
    return book, photos_json(book)


def test_every_file_has_exactly_one_result(imported: tuple[Path, list[dict[str, Any]]]) -> None:
    _, rows = imported
    files = [str(p.resolve()) for p in sorted(FIXTURE_PHOTOS.iterdir())]
    files += [str(p.resolve()) for p in sorted(DEMO_PHOTOS.iterdir()) if p.suffix != ".md"]
    assert sorted(r["file"] for r in rows) == sorted(files)
    for row in rows:
        assert row["status"] in ("ok", "duplicate", "error")
        assert (row["status"] == "error") == (row["error"] is not None)
        if row["error"] is not None:
            assert "\n" not in str(row["error"]) and len(str(row["error"])) < 200


def test_exif_matches_the_manifest(imported: tuple[Path, list[dict[str, Any]]]) -> None:
    _, rows = imported
    by_file = {Path(str(r["file"])).name: r for r in rows}
    problems: list[str] = []
    checked = 0
    for path, row in local_rows():
        got = by_file[path.name]
        if expects_error(row):
            continue
        assert got["status"] in ("ok", "duplicate"), got
        problems += check_against_manifest(row, got)
        checked += 1
    assert checked >= 35
    assert problems == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("generated__html_error_page_named.jpg", "not an image (HTML text)"),
        ("piexif__notjpeg.jpg", "not an image (empty file)"),
        ("generated__png_bomb_valid_40000x40000_1bit.png", "decompression bomb"),
        ("pillow__decompression_bomb.gif", "decompression bomb"),
        ("pillow__png_decompression_dos.png", "decompression bomb"),
        ("pillow__truncated_jpeg.jpg", "truncated JPEG"),
        ("pillow__truncated_image.png", "truncated PNG"),
        ("pillow__broken.png", "corrupt or unsupported PNG"),
        ("libjpegturbo__monkey12.jpg", "12-bit JPEG"),
    ],
)
def test_hostile_files_are_errors_with_a_reason(
    imported: tuple[Path, list[dict[str, Any]]], name: str, reason: str
) -> None:
    _, rows = imported
    (row,) = [r for r in rows if Path(str(r["file"])).name == name]
    assert row["status"] == "error"
    assert reason in str(row["error"])


def test_content_is_sniffed_and_identical_content_is_one_photo(
    imported: tuple[Path, list[dict[str, Any]]],
) -> None:
    _, rows = imported
    by_name = {Path(str(r["file"])).name: r for r in rows}
    png_named_jpg = by_name["generated__chelsea_png_bytes_named.jpg"]
    assert png_named_jpg["format"] == "PNG"
    original = by_name["skimage__chelsea.png"]
    assert png_named_jpg["sha256"] == original["sha256"]
    # The fixtures folder is imported first, so its copy is the original.
    assert png_named_jpg["status"] == "ok"
    assert original["status"] == "duplicate"
    assert original["duplicate_of"] == png_named_jpg["file"]
    heic = by_name["exifpy__iphone_13_pro_max.heic"]
    assert (heic["format"], heic["width"], heic["height"]) == ("HEIF", 3024, 4032)
    assert by_name["pillow__frozenpond.mpo"]["format"] == "MPO"


def test_places_are_named_offline(imported: tuple[Path, list[dict[str, Any]]]) -> None:
    _, rows = imported
    by_name = {Path(str(r["file"])).name: r for r in rows}
    assert by_name["exifpy__iphone_hdr_YES.jpg"]["place"] == "Moncloa-Aravaca, Madrid, Spain"
    assert by_name["exifpy__HMD_Nokia_8.3_5G.jpg"]["place"] == "Helsinki, Uusimaa, Finland"
    assert by_name["maxscene__paris.jpg"]["place"] is None  # no GPS, no guess


def test_broken_values_become_null_with_a_warning(imported: tuple[Path, list[dict[str, Any]]]) -> None:
    _, rows = imported
    by_name = {Path(str(r["file"])).name: r for r in rows}
    bogus = by_name["pillow__exif_gps.jpg"]  # GPS without references, a date in 2099
    assert bogus["status"] == "ok"
    assert bogus["gps"] is None and bogus["taken_at"] is None
    assert any("impossible date" in w for w in bogus["warnings"])
    assert any("GPS" in w for w in bogus["warnings"])
    assert by_name["orient__Landscape_0.jpg"]["orientation"] is None


def _thumbnail(book: Path, name: str) -> Image.Image:
    with Project.open(book) as project:
        store = PhotoStore(project)
        (row,) = [r for r in store.listing() if Path(r["file"]).name == name]
        data = store.thumbnail(row["sha256"])
    assert data is not None
    return Image.open(io.BytesIO(data))


def _difference(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("L"), b.convert("L").resize(a.size))
    return float(ImageStat.Stat(diff).mean[0])


def test_thumbnails_are_upright(imported: tuple[Path, list[dict[str, Any]]]) -> None:
    book, _ = imported
    # Each set shows the same picture stored under different EXIF orientations: once upright,
    # all thumbnails must look alike; a wrong rotation or mirror makes them differ strongly.
    for reference, others in [
        (
            "orient__Landscape_0.jpg",
            ["orient__Landscape_3.jpg", "orient__Landscape_6.jpg", "orient__Landscape_8.jpg"],
        ),
        ("orient__Portrait_2.jpg", ["orient__Portrait_5.jpg", "orient__Portrait_7.jpg"]),
        (
            "pillow__hopper_orientation_3.jpg",
            ["pillow__hopper_orientation_6.jpg", "pillow__hopper_orientation_8.jpg"],
        ),
    ]:
        ref = _thumbnail(book, reference)
        assert max(ref.size) == min(256, max(ref.size))
        for other in others:
            thumb = _thumbnail(book, other)
            assert thumb.size == ref.size, other
            assert _difference(ref, thumb) < 12, other
        # And the check can fail: a mirrored thumbnail is far from the reference.
        assert _difference(ref, ref.transpose(Image.Transpose.ROTATE_180)) > 12


def test_reimport_adds_nothing(tmp_path: Path, book: Path) -> None:
    folder = tmp_path / "photos"
    shutil.copytree(FIXTURE_PHOTOS, folder)
    with Project.open(book, create=True) as project:
        first = import_paths(project, [str(folder)])
        before = PhotoStore(project).listing()
        second = import_paths(project, [str(folder)])
        after = PhotoStore(project).listing()
    assert first.count(Change.NEW) >= 20
    assert second.count(Change.NEW) == 0 and second.count(Change.DUPLICATE) == 0
    assert {r.change for r in second.results} <= {Change.UNCHANGED, Change.ERROR}
    assert [(r["file"], r["sha256"], r["status"]) for r in before] == [
        (r["file"], r["sha256"], r["status"]) for r in after
    ]


def test_moved_folder_is_relinked_by_content(tmp_path: Path, book: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    for name in ("orient__Landscape_3.jpg", "piexif__r_canon.jpg"):
        shutil.copy(FIXTURE_PHOTOS / name, old / name)
    with Project.open(book, create=True) as project:
        import_paths(project, [str(old)])
        new = tmp_path / "new" / "nested"
        new.parent.mkdir()
        os.rename(old, new)
        report = relink_missing(project, [str(tmp_path / "new")])
        assert sorted(Path(n).name for _, n in report.relinked) == [
            "orient__Landscape_3.jpg",
            "piexif__r_canon.jpg",
        ]
        assert report.still_missing == []
        rows = PhotoStore(project).listing()
        assert all(Path(r["file"]).parent == new.resolve() for r in rows)
        # Importing the moved folder again finds nothing new.
        again = import_paths(project, [str(new)])
        assert again.count(Change.NEW) == 0


def test_relink_names_a_file_that_holds_other_content_now(tmp_path: Path, book: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(
            FIXTURE_PHOTOS / ("piexif__r_canon.jpg" if name == "a.jpg" else "piexif__r_sony.jpg"),
            photos / name,
        )
    with Project.open(book, create=True) as project:
        import_paths(project, [str(photos)])
    # a.jpg saved over with another photo; b.jpg moved away and another file put in its place.
    shutil.copy(FIXTURE_PHOTOS / "orient__Landscape_3.jpg", photos / "a.jpg")
    (photos / "kept").mkdir()
    os.rename(photos / "b.jpg", photos / "kept" / "b.jpg")
    shutil.copy(FIXTURE_PHOTOS / "orient__Landscape_3.jpg", photos / "b.jpg")
    shown = run_cli("relink", str(book), str(photos))
    a = str((photos / "a.jpg").resolve())
    assert f"changed    {a}: holds other content now" in shown.stdout, shown.stdout
    assert "1 relinked, 0 still missing, 1 changed" in shown.stdout, shown.stdout
    with Project.open(book) as project:
        files = {
            Path(r["file"]).relative_to(photos.resolve()).as_posix() for r in PhotoStore(project).listing()
        }
        assert files == {"a.jpg", "kept/b.jpg"}  # a.jpg's photo is still known by its old path
        assert relink_missing(project, [str(photos)]).changed == [a]


def test_relink_of_swapped_files_gives_each_photo_its_own_content(tmp_path: Path, book: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(FIXTURE_PHOTOS / "piexif__r_canon.jpg", photos / "a.jpg")
    shutil.copy(FIXTURE_PHOTOS / "piexif__r_sony.jpg", photos / "b.jpg")
    shutil.copy(FIXTURE_PHOTOS / "orient__Landscape_3.jpg", photos / "m.jpg")
    with Project.open(book, create=True) as project:
        import_paths(project, [str(photos)])
        before = {Path(r["file"]).name: r["sha256"] for r in PhotoStore(project).listing()}
    os.rename(photos / "a.jpg", photos / "swap")
    os.rename(photos / "b.jpg", photos / "a.jpg")
    os.rename(photos / "swap", photos / "b.jpg")
    os.rename(photos / "m.jpg", photos / "p.jpg")  # m's photo moved: p.jpg is new to the book
    shown = run_cli("relink", str(book), str(photos))
    assert "3 relinked, 0 still missing" in shown.stdout, shown.stdout
    with Project.open(book) as project:
        after = {Path(r["file"]).name: r["sha256"] for r in PhotoStore(project).listing()}
        assert project.integrity_ok()
    assert after == {"a.jpg": before["b.jpg"], "b.jpg": before["a.jpg"], "p.jpg": before["m.jpg"]}

    # One file renamed over another: the other's photo is named as having no file any more.
    os.rename(photos / "a.jpg", photos / "b.jpg")
    shown = run_cli("relink", str(book), str(photos))
    b = (photos / "b.jpg").resolve()
    assert f"replaced   {b}: another photo's file was put here" in shown.stdout, shown.stdout
    assert "1 relinked, 0 still missing, 1 replaced" in shown.stdout, shown.stdout


def test_import_of_moved_file_relinks_instead_of_duplicating(tmp_path: Path, book: Path) -> None:
    first = tmp_path / "a.jpg"
    shutil.copy(FIXTURE_PHOTOS / "piexif__r_sony.jpg", first)
    with Project.open(book, create=True) as project:
        import_paths(project, [str(first)])
        moved = tmp_path / "b.jpg"
        first.rename(moved)
        report = import_paths(project, [str(moved)])
        assert [r.change for r in report.results] == [Change.RELINKED]
        (row,) = PhotoStore(project).listing()
        assert row["file"] == str(moved.resolve()) and row["status"] == FileStatus.OK


def test_folder_walk_survives_symlink_loops_and_unreadable_folders(tmp_path: Path, book: Path) -> None:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    shutil.copy(FIXTURE_PHOTOS / "piexif__r_canon.jpg", root / "sub" / "odd name é #1.jpg")
    (root / "sub" / "loop").symlink_to(root)
    (root / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    (root / "clip.mov").write_bytes(b"\x00" * 16)
    locked = root / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        with Project.open(book, create=True) as project:
            report = import_paths(project, [str(root)])
    finally:
        locked.chmod(0o755)
    changes = {Path(r.path).name: (r.change, r.detail) for r in report.results}
    assert changes["odd name é #1.jpg"][0] is Change.NEW
    assert changes["dangling.jpg"] == (Change.ERROR, "broken symbolic link")
    if os.geteuid() != 0:  # root reads any folder, so only others can see this error
        assert changes["locked"][0] is Change.ERROR
    assert report.skipped == 1  # the video
