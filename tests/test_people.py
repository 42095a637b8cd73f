"""People: faces grouped across the book, and the user's decisions that clustering respects."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from mixbook_desktop.services import people
from mixbook_desktop.store.project import Project
from tests.analysis_support import by_name
from tests.conftest import DEMO_PHOTOS, FIXTURE_PHOTOS, photos_json, run_cli

HOPPER = [f"pillow__hopper_orientation_{n}.jpg" for n in (3, 6, 8)]


@pytest.fixture(scope="module")
def faces_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rotated Hopper portraits plus the Pilots and the astronaut, analysed."""
    folder = tmp_path_factory.mktemp("people")
    photos = folder / "photos"
    photos.mkdir()
    for name in HOPPER:
        shutil.copy(FIXTURE_PHOTOS / name, photos / name)
    for name in ("maxpose__Pilots.jpg", "skimage__astronaut.png"):
        shutil.copy(DEMO_PHOTOS / name, photos / name)
    book = folder / "people.mbook"
    run_cli("import", str(book), str(photos))
    run_cli("analyze", str(book))
    return book


@pytest.fixture
def book(faces_book: Path, tmp_path: Path) -> Path:
    target = tmp_path / "people.mbook"
    shutil.copy(faces_book, target)
    return target


def _people(book: Path, *args: str) -> list[dict[str, Any]]:
    data = json.loads(run_cli("people", str(book), *args, "--json").stdout)
    assert isinstance(data, list)
    return data


def _person_of(book: Path, name: str) -> list[int]:
    return [f["person"] for f in by_name(photos_json(book))[name]["faces"]]


def test_rotated_portraits_are_one_person(book: Path) -> None:
    everyone = _people(book)
    hopper = {p for name in HOPPER for p in _person_of(book, name)}
    assert len(hopper) == 1
    (entry,) = [p for p in everyone if p["id"] in hopper]
    assert entry["face_count"] == 3 and entry["photo_count"] == 3
    # Three pilots, the astronaut and Hopper: five different people.
    assert len(everyone) == 5
    assert everyone[0]["id"] in hopper  # the most photographed first


def test_name_merge_split_hide_and_recluster_keeps_every_decision(book: Path) -> None:
    (hopper,) = set(_person_of(book, HOPPER[0]))
    pilots = _person_of(book, "maxpose__Pilots.jpg")
    (astronaut,) = _person_of(book, "skimage__astronaut.png")

    _people(book, "--name", str(hopper), "Grace")
    _people(book, "--merge", str(pilots[1]), str(pilots[0]))  # the user says: same person
    _people(book, "--name", str(pilots[0]), "Amelia")
    split_face = by_name(photos_json(book))[HOPPER[2]]["faces"][0]["id"]
    split = _people(book, "--split", str(split_face))
    _people(book, "--hide", str(astronaut))

    def state() -> dict[str, Any]:
        rows = by_name(photos_json(book))
        return {
            "hopper": [rows[n]["faces"][0]["person_name"] for n in HOPPER],
            # The two pilots the user merged; the third, untouched, may be regrouped freely.
            "pilots": [f["person"] for f in rows["maxpose__Pilots.jpg"]["faces"]][:2],
            "astronaut_hidden": rows["skimage__astronaut.png"]["faces"][0]["person_hidden"],
        }

    before = state()
    assert before["hopper"] == ["Grace", "Grace", None]  # the split face left Grace
    assert before["pilots"] == [pilots[0], pilots[0]]
    assert before["astronaut_hidden"] is True
    assert any(p["face_count"] == 1 and p["name"] is None for p in split)

    run_cli("people", str(book), "--recluster")
    # A stricter threshold would split everything apart if clustering could undo decisions.
    run_cli("people", str(book), "--threshold", "0.05", "--recluster")
    assert state() == before
    with Project.open(book) as project:
        assert people.named_people(project) == {hopper: "Grace", pilots[0]: "Amelia"}
        assert people.threshold(project) == 0.05


def test_new_photos_join_existing_people(book: Path, tmp_path: Path) -> None:
    (hopper,) = set(_person_of(book, HOPPER[0]))
    _people(book, "--name", str(hopper), "Grace")
    # The same portrait as a new photo (mirrored, so new content) joins Grace.
    newcomer = tmp_path / "hopper_mirrored.jpg"
    upright = ImageOps.exif_transpose(Image.open(FIXTURE_PHOTOS / "pillow__hopper_orientation_3.jpg"))
    ImageOps.mirror(upright.convert("RGB")).save(newcomer)
    run_cli("import", str(book), str(newcomer))
    run_cli("analyze", str(book))
    (face,) = by_name(photos_json(book))["hopper_mirrored.jpg"]["faces"]
    assert face["person"] == hopper and face["person_name"] == "Grace"


def test_bad_people_commands_say_why(book: Path) -> None:
    done = run_cli("people", str(book), "--name", "999", "Ann", check=False)
    assert done.returncode == 1 and "no person 999" in done.stderr
    done = run_cli("people", str(book), "--split", "12345", check=False)
    assert done.returncode == 1 and "no face 12345" in done.stderr
