"""The whole development corpus (../shared/photos): analysis against the manifest's ground truth."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.analysis_support import by_name, copy_book
from tests.conftest import photos_json, read_manifest, run_cli

FACE_COUNTS = {
    "skimage__astronaut.png": 1,
    "maxpose__Pilots.jpg": 3,
    "maxemotion__group.jpeg": 5,
    "maxemotion__happy-baby.jpeg": 1,
    "maxemotion__angry.jpg": 1,
    "maxemotion__surprised.jpeg": 1,
    "exifpy__sony-d700.jpg": 2,
    "pillow__hopper_orientation_3.jpg": 1,
    "pillow__hopper_orientation_6.jpg": 1,
    "pillow__hopper_orientation_8.jpg": 1,
    "skimage__chelsea.png": 0,
    "skimage__coffee.png": 0,
    "maxinception__pizza.jpg": 0,
    "maxinception__dog.jpg": 0,
    "orient__Landscape_0.jpg": 0,
    "orient__Landscape_6.jpg": 0,
    "exifpy__11-tests.jpg": 0,
    "maxscene__paris.jpg": 0,
    "maxcaption__surfing.jpg": 0,
}


@pytest.fixture(scope="module")
def corpus_book(shared_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = tmp_path_factory.mktemp("corpus") / "corpus.mbook"
    run_cli("import", str(book), str(shared_corpus), timeout=900)
    done = run_cli("analyze", str(book), timeout=1800)
    assert "0 with errors" in done.stdout, done.stdout
    return book


@pytest.fixture(scope="module")
def corpus_rows(corpus_book: Path) -> dict[str, dict[str, Any]]:
    return by_name(photos_json(corpus_book))


@pytest.mark.parametrize(("name", "count"), sorted(FACE_COUNTS.items()))
def test_face_counts(corpus_rows: dict[str, dict[str, Any]], name: str, count: int) -> None:
    assert len(corpus_rows[name]["faces"]) == count


def test_no_photo_of_the_corpus_is_flagged(
    corpus_rows: dict[str, dict[str, Any]], shared_corpus: Path
) -> None:
    expected_safe = {r["filename"] for r in read_manifest(shared_corpus / "MANIFEST.tsv")}
    for name, row in corpus_rows.items():
        if row["status"] != "ok":
            continue
        assert name in expected_safe
        assert row["moderation"]["flagged"] is False, (name, row["moderation"])


def test_rotated_portraits_are_one_person(corpus_rows: dict[str, dict[str, Any]]) -> None:
    people = {corpus_rows[f"pillow__hopper_orientation_{n}.jpg"]["faces"][0]["person"] for n in (3, 6, 8)}
    assert len(people) == 1


def test_smiles_food_and_animals(corpus_rows: dict[str, dict[str, Any]]) -> None:
    def tags(name: str) -> set[str]:
        return {lb["name"] for lb in corpus_rows[name]["labels"]}

    assert corpus_rows["skimage__astronaut.png"]["faces"][0]["emotion"] == "HAPPY"
    assert corpus_rows["maxemotion__happy-baby.jpeg"]["faces"][0]["emotion"] == "HAPPY"
    assert tags("skimage__coffee.png") & {"food", "drink"}
    assert tags("maxinception__pizza.jpg") & {"food", "drink"}
    assert {"cat", "animal"} <= tags("skimage__chelsea.png")
    assert {"dog", "animal"} <= tags("maxinception__dog.jpg")


def test_hostile_files_are_errors_not_crashes(
    corpus_rows: dict[str, dict[str, Any]], shared_corpus: Path
) -> None:
    for row in read_manifest(shared_corpus / "MANIFEST.tsv"):
        got = corpus_rows.get(row["filename"])
        if got is None or got["status"] == "error":
            continue  # refused at import with a reason (the import tests check those)
        assert got["analysed"], row["filename"]
        assert got["analysis_error"] is None, (row["filename"], got["analysis_error"])


def test_the_whole_corpus_makes_a_twenty_page_book_with_no_face_cut(
    corpus_book: Path, corpus_rows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    book = copy_book(corpus_book, tmp_path)
    run_cli("caption", str(book), "--set", "book", "Every Kind of Photo")
    done = run_cli("layout", str(book), "--pages", "20")
    usable = [r for r in corpus_rows.values() if r["status"] == "ok" and r["best_in_group"] is not False]
    assert f"20 pages, {len(usable)} photos placed" in done.stdout, done.stdout
    assert "no room" not in done.stdout
    problems = json.loads(run_cli("check", str(book), "--json", check=False).stdout)
    found = {p["code"] for p in problems}
    assert not found & {"face-cut", "face-unsafe", "text-unsafe", "text-overflow", "empty-slot", "page-count"}
    assert not found & {"missing-file"}
    pdf = tmp_path / "corpus.pdf"
    run_cli("export", str(book), str(pdf), timeout=600)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+21\n", info), info
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True)
    assert len(images.stdout.splitlines()[2:]) == len(usable) + 1  # and the cover
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert all(" yes " in line for line in fonts.splitlines()[2:])
