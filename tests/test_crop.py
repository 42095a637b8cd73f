"""Face-aware crops on made-up layouts of faces and on the analysed demo photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mixbook_desktop.layout.crop import face_aware_crop
from tests.analysis_support import by_name
from tests.conftest import photos_json


def _inside(box: tuple[float, float, float, float], face: list[float] | tuple[float, ...]) -> bool:
    x, y, w, h = box
    return (
        face[0] >= x - 1e-6
        and face[1] >= y - 1e-6
        and face[0] + face[2] <= x + w + 1e-6
        and face[1] + face[3] <= y + h + 1e-6
    )


def test_a_portrait_slot_moves_to_the_faces_and_keeps_a_margin() -> None:
    faces = [(0.05, 0.3, 0.08, 0.12), (0.18, 0.32, 0.08, 0.12)]  # two people at the left
    crop = face_aware_crop(3000, 2000, 2 / 3, faces)
    x, y, w, h = crop.box
    assert (y, h) == (0.0, 1.0) and w == pytest.approx(4 / 9)
    assert crop.cut_faces == () and x <= 0.05 - 0.35 * 0.08 + 1e-6


def test_without_faces_the_window_goes_to_the_detail() -> None:
    image = np.zeros((60, 120))
    image[:, 90:] = np.random.default_rng(1).random((60, 30)) * 255  # texture at the right
    crop = face_aware_crop(1200, 600, 1.0, (), image)
    assert crop.box[0] == pytest.approx(0.5, abs=0.02)  # as far right as the window goes
    flat = face_aware_crop(1200, 600, 1.0, (), np.zeros((60, 120)))
    assert flat.box[0] == pytest.approx(0.25)  # nothing to prefer: the centre


def test_when_not_every_face_fits_the_most_stay_whole_and_the_cut_ones_are_named() -> None:
    faces = [(0.02, 0.4, 0.06, 0.1), (0.45, 0.4, 0.06, 0.1), (0.55, 0.4, 0.06, 0.1), (0.93, 0.4, 0.06, 0.1)]
    crop = face_aware_crop(4000, 1000, 1.0, faces)
    assert set(crop.cut_faces) == {0, 3} and all(_inside(crop.box, faces[i]) for i in (1, 2))


def test_a_face_larger_than_the_window_is_centred() -> None:
    crop = face_aware_crop(2000, 1000, 0.3, [(0.3, 0.0, 0.4, 1.0)])
    assert crop.box[0] + crop.box[2] / 2 == pytest.approx(0.5) and crop.cut_faces == (0,)


@pytest.mark.parametrize("aspect", [1.0, 2 / 3, 3 / 2, 0.5])
def test_every_face_of_the_demo_photos_stays_inside_its_crop(demo_book: Path, aspect: float) -> None:
    rows = by_name(photos_json(demo_book))
    checked = 0
    for name, row in rows.items():
        faces = [f["box"] for f in row["faces"] or []]
        if not faces:
            continue
        with Image.open(row["file"]) as image:
            small = np.asarray(image.convert("L").resize((96, 96)))
        crop = face_aware_crop(row["width"], row["height"], aspect, [tuple(f) for f in faces], small)
        x, y, w, h = crop.box
        assert x >= 0 and y >= 0 and x + w <= 1 + 1e-6 and y + h <= 1 + 1e-6, name
        assert (w * row["width"]) / (h * row["height"]) == pytest.approx(aspect, rel=1e-3), name
        for index, face in enumerate(faces):
            assert _inside(crop.box, face) or index in crop.cut_faces, (name, face)
        # Cutting is a last resort: with the window as wide as the faces allow, none is cut
        # here except where the faces span more than the window.
        span_x = max(f[0] + f[2] for f in faces) - min(f[0] for f in faces)
        span_y = max(f[1] + f[3] for f in faces) - min(f[1] for f in faces)
        if span_x <= w and span_y <= h:
            assert crop.cut_faces == (), (name, crop)
        checked += 1
    assert checked >= 5
