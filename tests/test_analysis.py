"""`analyze` then `photos --json` on the demo photos: faces, emotions, people, tags, descriptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.analysis_support import demo_rows

FACES = {
    "skimage__astronaut.png": 1,
    "maxpose__Pilots.jpg": 3,  # the three pilots
    "maxemotion__group.jpeg": 5,  # four whole faces and one cut by the top edge
    "maxemotion__happy-baby.jpeg": 1,
    "rekog__image-2-women-on-phones.jpg": 2,
    "maxobjdet__dog-human.jpg": 1,  # the woman; the dog's face is not a face
    "skimage__chelsea.png": 0,
    "skimage__coffee.png": 0,
    "maxinception__pizza.jpg": 0,
    "maxscene__paris.jpg": 0,
    "exifpy__HMD_Nokia_8.3_5G.jpg": 0,
    "exifpy__iphone_13_pro_max.heic": 0,  # a kitchen: cupboard knobs are not faces
}


@pytest.fixture(scope="module")
def rows(demo_book: Path) -> dict[str, dict[str, Any]]:
    return demo_rows(demo_book)


@pytest.mark.parametrize(("name", "count"), sorted(FACES.items()))
def test_face_counts(rows: dict[str, dict[str, Any]], name: str, count: int) -> None:
    faces = rows[name]["faces"]
    assert faces is not None, rows[name]["analysis_error"]
    assert len(faces) == count, [f["box"] for f in faces]


def test_face_fields(rows: dict[str, dict[str, Any]]) -> None:
    (face,) = rows["skimage__astronaut.png"]["faces"]
    x, y, w, h = face["box"]
    # Eileen Collins' face sits left of centre in the top half of the 512x512 picture.
    assert 0.25 < x < 0.45 and 0.05 < y < 0.25 and 0.12 < w < 0.3 and 0.12 < h < 0.3
    assert face["score"] > 0.8
    assert set(face["emotions"]) == {
        "HAPPY",
        "SAD",
        "ANGRY",
        "CONFUSED",
        "DISGUSTED",
        "SURPRISED",
        "CALM",
        "FEAR",
    }
    assert abs(sum(face["emotions"].values()) - 1) < 0.01
    assert face["person"] is not None
    for px, py in face["landmarks"].values():
        assert x - 0.05 <= px <= x + w + 0.05 and y - 0.05 <= py <= y + h + 0.05


@pytest.mark.parametrize("name", ["skimage__astronaut.png", "maxemotion__happy-baby.jpeg"])
def test_smiling_faces_read_as_happy(rows: dict[str, dict[str, Any]], name: str) -> None:
    assert [f["emotion"] for f in rows[name]["faces"]] == ["HAPPY"]
    assert rows[name]["mood"] == "HAPPY"


def test_smiling_pilots_are_mostly_happy(rows: dict[str, dict[str, Any]]) -> None:
    emotions = [f["emotion"] for f in rows["maxpose__Pilots.jpg"]["faces"]]
    assert emotions.count("HAPPY") >= 2


def _tags(row: dict[str, Any]) -> set[str]:
    return {label["name"] for label in row["labels"]}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("skimage__coffee.png", {"drink"}),
        ("maxinception__pizza.jpg", {"food"}),
        ("maxscene__bakery.jpg", {"food"}),
        ("skimage__chelsea.png", {"cat", "animal"}),
        ("maxinception__dog.jpg", {"dog", "animal"}),
        ("maxobjdet__dog-human.jpg", {"dog", "people"}),
        ("maxscene__paris.jpg", {"building"}),
        ("maxpose__Pilots.jpg", {"people"}),
    ],
)
def test_tags(rows: dict[str, dict[str, Any]], name: str, expected: set[str]) -> None:
    assert expected <= _tags(rows[name]), rows[name]["labels"]


def test_fine_classes_are_kept(rows: dict[str, dict[str, Any]]) -> None:
    (drink,) = [lb for lb in rows["skimage__coffee.png"]["labels"] if lb["name"] == "drink"]
    assert drink["classes"][0] == "espresso"
    assert rows["skimage__chelsea.png"]["classes"][0]["name"] in {"tabby", "tiger cat", "Egyptian cat"}


@pytest.mark.parametrize(
    ("name", "sentence"),
    [
        ("maxpose__Pilots.jpg", "Three smiling people, August 2008."),
        ("skimage__coffee.png", "An espresso."),
        ("maxinception__dog.jpg", "A dog."),
        ("exifpy__HMD_Nokia_8.3_5G.jpg", "A boat by the water near Helsinki, August 2022."),
        # Wisteria that the label model calls an animal at 0.23: a guess is not put into words.
        ("exifpy__iphone_hdr_YES.jpg", "A photo near Moncloa-Aravaca, April 2015."),
    ],
)
def test_descriptions(rows: dict[str, dict[str, Any]], name: str, sentence: str) -> None:
    assert rows[name]["description"] == sentence


def test_nothing_in_the_demo_is_flagged(rows: dict[str, dict[str, Any]]) -> None:
    for name, row in rows.items():
        mod = row["moderation"]
        assert mod["status"] == "ok", name
        assert mod["score"] < 0.2 and mod["flagged"] is False and mod["cleared"] is True, name


def test_quality_and_no_errors(rows: dict[str, dict[str, Any]]) -> None:
    for name, row in rows.items():
        assert row["analysis_error"] is None, name
        q = row["quality"]
        assert 0 <= q["sharpness"] <= 1 and 0 <= q["exposure"] <= 1 and 0 <= q["score"] <= 1, name
        assert len(q["phash"]) == 16
    assert rows["exifpy__HMD_Nokia_8.3_5G.jpg"]["quality"]["megapixels"] == pytest.approx(9.1, abs=0.1)


def test_every_face_has_a_person_and_different_people_stay_apart(rows: dict[str, dict[str, Any]]) -> None:
    persons = [f["person"] for row in rows.values() for f in row["faces"] or []]
    assert None not in persons
    # No one appears twice among the demo photos: each face is its own person.
    assert len(set(persons)) == len(persons)
