"""Face detection with MediaPipe BlazeFace (full range), tiled so that small faces are found.

BlazeFace sees the photo at 192x192, where a face under ~5 % of the width vanishes. So besides
one pass over the whole photo, the photo is cut into overlapping square tiles, each run at the
detector's size, and all detections are merged. Pre- and post-processing are pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mixbook_desktop.analysis.runtime import OnnxModel
from mixbook_desktop.core.geometry import Box

# Tiling: photos are tiled at most at this long side, in tiles of this size with a quarter
# overlap; faces down to ~5 % of a tile (1.7 % of the photo's width) are then found.
TILE_LONG_SIDE = 1536
TILE = 512
TILE_OVERLAP = 0.25
# Below this long side the whole-photo pass already sees every face worth placing in a book.
TILE_FROM = 800
# Verification: BlazeFace at MediaPipe's threshold (0.6) both misses faces (small, cut by the
# frame) and finds faces in kitchen cupboards and dogs. So candidates are taken from a lower
# score, and each is looked at again in two zoomed crops (2x and 3x its size): a real face
# scores in both, a false one vanishes (measured on the corpus: false candidates scored 0 in
# the zoomed views, real ones 0.45-0.97). See models/README.md.
CANDIDATE_FROM = 0.4
ZOOMS = (2.0, 3.0)
ZOOM_AGREE_FROM = 0.4  # every zoomed view must see the face at least this clearly
KEEP_FROM = 0.5  # and the best of all views this clearly
# MediaPipe clips raw scores before the sigmoid so that exp() cannot overflow.
_SCORE_CLIP = 100.0


@dataclass(frozen=True)
class Detection:
    """A face in pixel coordinates of the image it was found in."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    keypoints: NDArray[np.float32]  # (k, 2) pixel coordinates

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)


@dataclass(frozen=True)
class DecodeSettings:
    grid: int
    stride: int
    anchor_offset: float
    coord_scale: float
    score_clip: float
    score_threshold: float
    nms_iou: float
    keypoints: tuple[str, ...]


def letterbox(image: Image.Image, size: int) -> tuple[Image.Image, float, float, float]:
    """Fit `image` in a size x size square (black padding); returns it, scale, pad x, pad y."""
    scale = size / max(image.width, image.height)
    w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    square = Image.new("RGB", (size, size))
    pad_x, pad_y = (size - w) // 2, (size - h) // 2
    square.paste(image.resize((w, h), Image.Resampling.BILINEAR), (pad_x, pad_y))
    return square, scale, float(pad_x), float(pad_y)


def to_input(squares: list[Image.Image], scale: float, offset: float, layout: str) -> NDArray[np.float32]:
    batch = np.stack([np.asarray(s, dtype=np.float32) for s in squares])
    batch = batch * np.float32(scale) + np.float32(offset)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2) if layout == "NCHW" else batch)


def anchors(settings: DecodeSettings) -> NDArray[np.float32]:
    """Anchor centres (fractions of the input square), one per grid cell, row-major."""
    steps = (np.arange(settings.grid, dtype=np.float32) + settings.anchor_offset) / settings.grid
    ys, xs = np.meshgrid(steps, steps, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def decode(
    raw_boxes: NDArray[np.float32],
    raw_scores: NDArray[np.float32],
    settings: DecodeSettings,
    grid: NDArray[np.float32],
) -> list[tuple[NDArray[np.float32], float, NDArray[np.float32]]]:
    """(box x0,y0,x1,y1, score, keypoints) in input-square fractions, over the threshold."""
    logits = np.clip(raw_scores.reshape(-1), -settings.score_clip, settings.score_clip)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.flatnonzero(scores >= settings.score_threshold)
    out = []
    for i in keep:
        r = raw_boxes[i] / settings.coord_scale
        cx, cy = r[0] + grid[i, 0], r[1] + grid[i, 1]
        w, h = r[2], r[3]
        box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=np.float32)
        kps = r[4 : 4 + 2 * len(settings.keypoints)].reshape(-1, 2) + grid[i]
        out.append((box, float(scores[i]), kps.astype(np.float32)))
    return out


def _iou(a: Detection, b: Detection) -> float:
    ix = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(found: list[Detection], iou: float) -> list[Detection]:
    """MediaPipe-style NMS: each kept face is the score-weighted mean of the ones it absorbs."""
    remaining = sorted(found, key=lambda d: d.score, reverse=True)
    kept: list[Detection] = []
    while remaining:
        top = remaining[0]
        group = [d for d in remaining if _iou(top, d) > iou]
        remaining = [d for d in remaining if _iou(top, d) <= iou]
        weights = np.array([d.score for d in group], dtype=np.float32)
        weights /= weights.sum()
        coords = np.array([[d.x0, d.y0, d.x1, d.y1] for d in group], dtype=np.float32)
        x0, y0, x1, y1 = (weights[:, None] * coords).sum(axis=0)
        kps = sum(w * d.keypoints for w, d in zip(weights, group, strict=True))
        kept.append(Detection(float(x0), float(y0), float(x1), float(y1), top.score, np.asarray(kps)))
    return kept


def tiles(width: int, height: int, tile: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Square windows (x0, y0, x1, y1) covering the image, the last ones flush with its edges."""

    def starts(length: int) -> list[int]:
        if length <= tile:
            return [0]
        step = int(tile * (1 - overlap))
        out = list(range(0, length - tile, step))
        out.append(length - tile)
        return out

    return [
        (x, y, min(x + tile, width), min(y + tile, height)) for y in starts(height) for x in starts(width)
    ]


class FaceDetector(OnnxModel):
    model_name = "blazeface_full_range"

    @cached_property
    def settings(self) -> DecodeSettings:
        d = self.spec.info["decode"]
        return DecodeSettings(
            grid=int(d["anchors"]["grid"][0]),
            stride=int(d["anchors"]["stride"]),
            anchor_offset=float(d["anchors"]["offset"]),
            coord_scale=float(d["box_scale"]),
            score_clip=_SCORE_CLIP,
            score_threshold=float(d["score_threshold"]),
            nms_iou=float(d["nms"]["min_suppression_threshold"]),
            keypoints=tuple(d["keypoints"]),
        )

    @cached_property
    def _anchors(self) -> NDArray[np.float32]:
        return anchors(self.settings)

    def _run(self, squares: list[Image.Image]) -> list[tuple[NDArray[np.float32], NDArray[np.float32]]]:
        info = self.spec.info
        spec_in = info["input"]
        batch = to_input(squares, float(spec_in["scale"]), float(spec_in["offset"]), spec_in["layout"])
        names = [info["outputs"]["boxes"]["name"], info["outputs"]["scores"]["name"]]
        # A model exported with a fixed batch of one takes the views one at a time.
        dynamic = not isinstance(info["input"]["shape"][0], int) or info["input"]["shape"][0] < 1
        chunks = [batch] if dynamic else [batch[i : i + 1] for i in range(len(batch))]
        results: list[tuple[NDArray[np.float32], NDArray[np.float32]]] = []
        for chunk in chunks:
            boxes, scores = self.session.run(names, {info["input"]["name"]: chunk})
            results.extend(zip(boxes, scores, strict=True))
        return results

    def detect(self, image: Image.Image) -> list[Detection]:
        """Faces in `image` (RGB, upright), in its pixel coordinates."""
        size = int(self.spec.info["input"]["size"][0])
        views: list[tuple[Image.Image, float, float, float, float, tuple[bool, bool, bool, bool]]] = []
        whole, scale, px, py = letterbox(image, size)
        views.append((whole, scale, px, py, 0.0, (True, True, True, True)))
        if max(image.size) > TILE_FROM:
            factor = min(1.0, TILE_LONG_SIDE / max(image.size))
            work = image
            if factor < 1.0:
                work = image.resize(
                    (max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                    Image.Resampling.BILINEAR,
                )
            for x0, y0, x1, y1 in tiles(work.width, work.height, TILE, TILE_OVERLAP):
                square, s, tx, ty = letterbox(work.crop((x0, y0, x1, y1)), size)
                # Tile origin and scale folded into one mapping back to the full image.
                edges = (x0 == 0, y0 == 0, x1 == work.width, y1 == work.height)
                views.append((square, s * factor, tx - x0 * s, ty - y0 * s, factor, edges))
        found: list[Detection] = []
        for (_, s, ox, oy, factor, edges), (raw_boxes, raw_scores) in zip(
            views, self._run([v[0] for v in views]), strict=True
        ):
            candidate = replace(self.settings, score_threshold=CANDIDATE_FROM)
            for box, score, kps in decode(raw_boxes, raw_scores, candidate, self._anchors):
                pix = box * size
                det = Detection(
                    float((pix[0] - ox) / s),
                    float((pix[1] - oy) / s),
                    float((pix[2] - ox) / s),
                    float((pix[3] - oy) / s),
                    score,
                    ((kps * size - np.array([ox, oy], dtype=np.float32)) / s).astype(np.float32),
                )
                if factor and _cut_by_tile(box, edges):
                    continue  # the neighbouring tile or the whole pass sees this face entire
                found.append(det)
        merged = [_clip(d, image.width, image.height) for d in weighted_nms(found, self.settings.nms_iou)]
        return self._verify(image, [d for d in merged if d.area > 0], size)

    def _verify(self, image: Image.Image, candidates: list[Detection], size: int) -> list[Detection]:
        if not candidates:
            return []
        crops: list[Image.Image] = []
        for d in candidates:
            side = max(d.x1 - d.x0, d.y1 - d.y0)
            cx, cy = (d.x0 + d.x1) / 2, (d.y0 + d.y1) / 2
            for k in ZOOMS:
                half = side * k / 2
                window = (round(cx - half), round(cy - half), round(cx + half), round(cy + half))
                crops.append(image.crop(window).resize((size, size), Image.Resampling.BILINEAR))
        outputs = self._run(crops)
        relaxed = replace(self.settings, score_threshold=ZOOM_AGREE_FROM)
        kept: list[Detection] = []
        for n, d in enumerate(candidates):
            views = []
            for z, k in enumerate(ZOOMS):
                raw_boxes, raw_scores = outputs[n * len(ZOOMS) + z]
                # The candidate fills the middle 1/k of its crop; a face found elsewhere there
                # is a neighbour, not a confirmation.
                lo, hi = 0.5 - 0.5 / k, 0.5 + 0.5 / k
                views.append(
                    max(
                        (
                            score
                            for box, score, _ in decode(raw_boxes, raw_scores, relaxed, self._anchors)
                            if lo <= (box[0] + box[2]) / 2 <= hi and lo <= (box[1] + box[3]) / 2 <= hi
                        ),
                        default=0.0,
                    )
                )
            best = max(d.score, *views)
            if min(views) >= ZOOM_AGREE_FROM and best >= KEEP_FROM:
                kept.append(replace(d, score=best))
        return kept


def _cut_by_tile(box: NDArray[np.float32], edges: tuple[bool, bool, bool, bool]) -> bool:
    # A detection touching a tile border that is not also the photo's border is a partial face.
    margin = 0.01
    left, top, right, bottom = edges
    return bool(
        (box[0] <= margin and not left)
        or (box[1] <= margin and not top)
        or (box[2] >= 1 - margin and not right)
        or (box[3] >= 1 - margin and not bottom)
    )


def _clip(d: Detection, width: int, height: int) -> Detection:
    return Detection(
        max(0.0, d.x0),
        max(0.0, d.y0),
        min(float(width), d.x1),
        min(float(height), d.y1),
        d.score,
        d.keypoints,
    )


def to_box(d: Detection, width: int, height: int) -> Box:
    return Box(d.x0 / width, d.y0 / height, (d.x1 - d.x0) / width, (d.y1 - d.y0) / height)
