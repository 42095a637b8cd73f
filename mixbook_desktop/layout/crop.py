"""Face-aware crops: the window of a slot's shape that keeps every face with a margin, then the
most detailed part of the photo, and cuts a face only when no window can hold them all.

Boxes are (x, y, w, h) fractions of the upright photo. The window is the largest one of the
slot's aspect ratio (no zoom: the user zooms), so only its position along one axis is chosen.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FaceBox = tuple[float, float, float, float]
# Room kept around a face, as a share of its size on each side: a chin or a forehead at the
# very edge of a print reads as a mistake.
FACE_MARGIN = 0.35


@dataclass(frozen=True)
class Crop:
    box: FaceBox  # the window, fractions of the photo
    cut_faces: tuple[int, ...] = ()  # indices of faces the window does not hold whole


def _window(width: int, height: int, aspect: float) -> tuple[float, float, int]:
    """The window's size in fractions, and the axis it slides along (0: x, 1: y)."""
    if width / height > aspect:
        return aspect * height / width, 1.0, 0
    return 1.0, width / (aspect * height), 1


def _detail_profile(detail: NDArray[np.floating] | None, axis: int, steps: int) -> NDArray[np.float64]:
    """How much detail lies at each of `steps` positions along `axis`: edge energy of the
    grayscale image, summed across the other axis."""
    if detail is None or detail.size == 0:
        return np.ones(steps)
    image = detail.astype(np.float64)
    energy = np.abs(np.diff(image, axis=0))[:, :-1] + np.abs(np.diff(image, axis=1))[:-1, :]
    line = energy.sum(axis=0 if axis == 0 else 1)
    positions = np.linspace(0, len(line), steps + 1).astype(int)
    return np.array([line[a:b].sum() for a, b in itertools.pairwise(positions)]) + 1e-9


def _best_offset(low: float, high: float, size: float, profile: NDArray[np.float64]) -> float:
    """The offset in [low, high] whose window of `size` holds the most detail."""
    if high - low <= 1e-9:
        return low
    steps = len(profile)
    cumulative = np.concatenate([[0.0], np.cumsum(profile)])
    candidates = np.linspace(low, high, 33)
    start = np.clip((candidates * steps).astype(int), 0, steps)
    end = np.clip(((candidates + size) * steps).astype(int), 0, steps)
    sums = cumulative[end] - cumulative[start]
    sums = np.round(sums / sums.max(), 4)  # differences under 0.01 % are ties, not detail
    # Ties (a flat photo) go to the centre of the allowed range.
    centre = -np.abs(candidates - (low + high) / 2)
    return float(candidates[np.lexsort((centre, sums))[-1]])


def _span(face: FaceBox, axis: int, margin: float) -> tuple[float, float]:
    start, length = (face[0], face[2]) if axis == 0 else (face[1], face[3])
    return max(0.0, start - margin * length), min(1.0, start + length + margin * length)


def face_aware_crop(
    width: int,
    height: int,
    aspect: float,
    faces: Sequence[FaceBox] = (),
    detail: NDArray[np.floating] | None = None,
) -> Crop:
    """The crop of a `width` x `height` photo for a slot of `aspect` (width / height).
    `detail` is the photo as a small grayscale array, for photos whose faces leave a choice."""
    w, h, axis = _window(width, height, aspect)
    size = w if axis == 0 else h
    profile = _detail_profile(detail, axis, 256)
    if size >= 1.0 - 1e-9:
        return Crop((0.0, 0.0, w, h))
    chosen: list[int] = list(range(len(faces)))
    while True:
        for margin in (FACE_MARGIN, 0.0):
            spans = [_span(faces[i], axis, margin) for i in chosen]
            first = min((s for s, _ in spans), default=0.0)
            last = max((e for _, e in spans), default=1.0)
            low, high = max(0.0, last - size), min(1.0 - size, first)
            if not chosen:
                low, high = 0.0, 1.0 - size
            if low <= high + 1e-9:
                offset = _best_offset(low, high, size, profile)
                box = (offset, 0.0, w, h) if axis == 0 else (0.0, offset, w, h)
                cut = tuple(i for i in range(len(faces)) if not _holds(box, faces[i]))
                return Crop(box, cut)
        if len(chosen) == 1:
            # One face larger than the window: keep its middle, cut evenly.
            start, end = _span(faces[chosen[0]], axis, 0.0)
            offset = min(max((start + end - size) / 2, 0.0), 1.0 - size)
            box = (offset, 0.0, w, h) if axis == 0 else (0.0, offset, w, h)
            return Crop(box, tuple(i for i in range(len(faces)) if not _holds(box, faces[i])))
        # No window holds them all: drop the face farthest from the others' middle (the
        # bystander at the edge) and try again, so the most faces stay whole.
        middle = float(np.mean([sum(_span(faces[i], axis, 0.0)) / 2 for i in chosen]))
        chosen.remove(max(chosen, key=lambda i: abs(sum(_span(faces[i], axis, 0.0)) / 2 - middle)))


def _holds(box: FaceBox, face: FaceBox) -> bool:
    x, y, w, h = box
    fx, fy, fw, fh = face
    eps = 1e-6
    return fx >= x - eps and fy >= y - eps and fx + fw <= x + w + eps and fy + fh <= y + h + eps
