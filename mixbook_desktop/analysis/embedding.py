"""Face landmarks and 128-d identity embeddings with dlib's ResNet descriptor."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from mixbook_desktop.analysis.manifest import ModelError, ModelSpec, resolve
from mixbook_desktop.core import cpu


class FaceEmbedder:
    """Five-point landmarks (to align the face) then dlib's descriptor, loaded on first use."""

    landmarks_model = "dlib_shape_predictor_5"
    embedding_model = "dlib_face_resnet"

    def __init__(self) -> None:
        self._predictor: Any = None
        self._recognizer: Any = None
        self._spec: ModelSpec | None = None

    @property
    def name(self) -> str:
        if self._spec is None:
            self._spec, _ = resolve(self.embedding_model)
        return self._spec.tag

    def load(self) -> None:
        if self._recognizer is not None:
            return
        problem = cpu.refusal("dlib's face descriptor", cpu.DLIB)
        if problem is not None:
            raise ModelError(problem)
        import dlib

        _, predictor_path = resolve(self.landmarks_model)
        self._spec, recognizer_path = resolve(self.embedding_model)
        self._predictor = dlib.shape_predictor(str(predictor_path))
        self._recognizer = dlib.face_recognition_model_v1(str(recognizer_path))

    def embed(
        self, rgb: NDArray[np.uint8], boxes: list[tuple[float, float, float, float]]
    ) -> NDArray[np.float32]:
        """One row per face box (pixel x0, y0, x1, y1) of the RGB array."""
        if not boxes:
            return np.zeros((0, 128), dtype=np.float32)
        self.load()
        import dlib

        image = np.ascontiguousarray(rgb)
        shapes = dlib.full_object_detections()
        for x0, y0, x1, y1 in boxes:
            rect = dlib.rectangle(round(x0), round(y0), round(x1), round(y1))
            shapes.append(self._predictor(image, rect))
        vectors = self._recognizer.compute_face_descriptor(image, shapes)
        return np.array([np.array(v, dtype=np.float32) for v in vectors], dtype=np.float32)
