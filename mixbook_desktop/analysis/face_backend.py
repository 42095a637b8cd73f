"""The face backends: detection plus identity embeddings, behind one small interface."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mixbook_desktop.analysis.embedding import FaceEmbedder
from mixbook_desktop.analysis.faces import Detection, FaceDetector


class FaceBackend(Protocol):
    """Finds faces and describes who they are; `embedder` names the embedding space."""

    @property
    def embedder(self) -> str: ...

    @property
    def keypoint_names(self) -> tuple[str, ...]: ...

    def load(self) -> None: ...

    def detect(self, image: Image.Image) -> list[Detection]: ...

    def embed(self, image: Image.Image, faces: list[Detection]) -> NDArray[np.float32]: ...


class BlazeFaceDlib:
    """The default: BlazeFace (tiled, verified) finds faces, dlib's ResNet says who they are."""

    def __init__(self) -> None:
        self.detector = FaceDetector()
        self.embedder_model = FaceEmbedder()

    @property
    def embedder(self) -> str:
        return self.embedder_model.name

    @property
    def keypoint_names(self) -> tuple[str, ...]:
        return self.detector.settings.keypoints

    def load(self) -> None:
        self.detector.load()
        self.embedder_model.load()

    def detect(self, image: Image.Image) -> list[Detection]:
        return self.detector.detect(image)

    def embed(self, image: Image.Image, faces: list[Detection]) -> NDArray[np.float32]:
        return self.embedder_model.embed(np.asarray(image), [(d.x0, d.y0, d.x1, d.y1) for d in faces])
