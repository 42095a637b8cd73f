"""All on-device models behind one call: an upright photo in, the requested stages' results out."""

from __future__ import annotations

import numpy as np
from PIL import Image

from mixbook_desktop.analysis import faces as face_detection
from mixbook_desktop.analysis.emotion import EmotionModel
from mixbook_desktop.analysis.face_backend import BlazeFaceDlib, FaceBackend
from mixbook_desktop.analysis.labels import LabelModel
from mixbook_desktop.analysis.manifest import ModelError, spec
from mixbook_desktop.analysis.moderation import ModerationModel
from mixbook_desktop.analysis.quality import VERSION as QUALITY_VERSION
from mixbook_desktop.analysis.quality import assess
from mixbook_desktop.core.analysis import FaceFound, PhotoAnalysis, Stage
from mixbook_desktop.core.geometry import Box

# Bumped when our own processing around a model changes its results (tiling, tag mapping).
_FACES_CODE = "f1"
_LABELS_CODE = "l1"


def stage_versions(face_backend: str | None = None) -> dict[Stage, str]:
    """What each stage's stored results must have been made with to count as current.

    `face_backend` names a backend other than the default (e.g. an InsightFace pack)."""
    return {
        Stage.FACES: face_backend
        or "+".join(
            [
                _FACES_CODE,
                spec("blazeface_full_range").tag,
                spec("dlib_shape_predictor_5").tag,
                spec("dlib_face_resnet").tag,
            ]
        ),
        Stage.EMOTIONS: spec("fer_emotion").tag,
        Stage.LABELS: f"{_LABELS_CODE}+{spec('efficientnet_lite0').tag}",
        Stage.MODERATION: spec("opennsfw").tag,
        Stage.QUALITY: QUALITY_VERSION,
    }


def _pixel_box(box: Box, width: int, height: int) -> tuple[float, float, float, float]:
    return (box.x * width, box.y * height, (box.x + box.w) * width, (box.y + box.h) * height)


class Analyzer:
    """Holds one instance of each model; each loads on first use, or all at once with load()."""

    def __init__(self, faces: FaceBackend | None = None) -> None:
        self.faces: FaceBackend = faces or BlazeFaceDlib()
        self.emotions = EmotionModel()
        self.labels = LabelModel()
        self.moderation = ModerationModel()

    def load(self) -> list[str]:
        """Load every model now; returns one line per model that could not be loaded."""
        problems = []
        for model in (self.faces, self.emotions, self.labels, self.moderation):
            try:
                model.load()
            except ModelError as exc:
                problems.append(str(exc))
        return problems

    def analyze(
        self,
        image: Image.Image,
        original_size: tuple[int, int],
        stages: set[Stage],
        known_faces: list[Box] | None = None,
    ) -> PhotoAnalysis:
        """Run `stages` on `image` (RGB, upright; possibly downscaled from `original_size`).

        Each stage that fails is recorded in `errors` and the others still run. Emotions need
        face boxes: those found now, or `known_faces` when the faces stage is not re-run.
        """
        result = PhotoAnalysis()
        w, h = image.size
        if Stage.FACES in stages:
            try:
                detections = self.faces.detect(image)
                vectors = self.faces.embed(image, detections)
                names = self.faces.keypoint_names
                result.faces = [
                    FaceFound(
                        box=face_detection.to_box(d, w, h),
                        score=round(d.score, 4),
                        landmarks={
                            name: (round(float(x) / w, 4), round(float(y) / h, 4))
                            for name, (x, y) in zip(names, d.keypoints, strict=True)
                        },
                        embedding=vectors[i].astype(np.float32).tobytes(),
                        embedder=self.faces.embedder,
                    )
                    for i, d in enumerate(detections)
                ]
            except (ModelError, RuntimeError, ValueError) as exc:
                result.errors[Stage.FACES] = _reason(exc)
        if Stage.EMOTIONS in stages:
            boxes_now = [f.box for f in result.faces] if result.faces is not None else known_faces
            if boxes_now is None:
                result.errors[Stage.EMOTIONS] = "no face detection to read emotions from"
            else:
                try:
                    result.emotions = self.emotions.classify(image, [_pixel_box(b, w, h) for b in boxes_now])
                except (ModelError, RuntimeError, ValueError) as exc:
                    result.errors[Stage.EMOTIONS] = _reason(exc)
        if Stage.LABELS in stages:
            try:
                result.labels, result.top_classes = self.labels.classify(image)
            except (ModelError, RuntimeError, ValueError) as exc:
                result.errors[Stage.LABELS] = _reason(exc)
        if Stage.MODERATION in stages:
            try:
                result.moderation = self.moderation.score(image)
            except (ModelError, RuntimeError, ValueError) as exc:
                result.errors[Stage.MODERATION] = _reason(exc)
        if Stage.QUALITY in stages:
            result.quality = assess(image, original_size)
        return result


def _reason(exc: Exception) -> str:
    if isinstance(exc, ModelError):
        return f"model unavailable: {exc}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
