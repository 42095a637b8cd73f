"""An optional face backend on the user's own InsightFace model pack: SCRFD finds, ArcFace says who.

InsightFace's packs (buffalo_l, antelopev2, ...) are licensed for non-commercial research only,
and the `insightface` package ships none: its `FaceAnalysis` downloads them at run time. So the
app cannot embed one; a user who has a pack points the app at its folder, and detection and
identity embeddings then come from insightface's own model classes (`model_zoo.get_model`,
`SCRFD`, `ArcFaceONNX`, `face_align`). `FaceAnalysis` is never used, and nothing is downloaded:
every model is read from that folder.

The package is optional and installed apart from the app, without its declared dependencies:
it declares `opencv-python`, whose bundled Qt clashes with PySide6's, so OpenCV comes from
`opencv-python-headless` instead (see INSTALL). Nothing of it is imported until `load()`.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mixbook_desktop.analysis.faces import Detection
from mixbook_desktop.analysis.manifest import ModelError, file_sha256

INSTALL = (
    "pip install --no-deps insightface==2.1 && "
    "pip install onnx onnxruntime opencv-python-headless requests tqdm scikit-image"
)
# SCRFD's five points in insightface's order. Its code calls them left_eye, right_eye, nose,
# left_mouth, right_mouth, meaning the image's left (point 0 meets ArcFace's template at
# x=38 of 112). They are named here by the person's own sides, as BlazeFace's are in the
# manifest, so that "right_eye" is the same eye whichever backend found the face.
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left")
# The size buffalo_l's detector is run at in insightface's examples; photos are letterboxed
# into it, so faces under ~10 px at that scale are missed.
DET_SIZE = 640
DET_THRESHOLD = 0.5
EMBEDDING_SIZE = 512


def _names(paths: list[Path]) -> str:
    return ", ".join(p.name for p in paths)


class InsightFaceBackend:
    """A FaceBackend on one pack folder: exactly one SCRFD detector with keypoints and one ArcFace.

    Other models a pack holds (landmarks, gender/age) are ignored.
    """

    def __init__(self, pack: Path, det_size: int = DET_SIZE, det_threshold: float = DET_THRESHOLD) -> None:
        self.pack = Path(pack)
        if not self.pack.is_dir():
            raise ModelError(f"InsightFace pack folder not found: {self.pack}")
        self.files = sorted(p for p in self.pack.iterdir() if p.suffix.lower() == ".onnx" and p.is_file())
        if not self.files:
            raise ModelError(f"InsightFace pack folder {self.pack} holds no .onnx model")
        self.det_size = det_size
        self.det_threshold = det_threshold
        self.detector_path: Path | None = None
        self.recognizer_path: Path | None = None
        # insightface's SCRFD and ArcFaceONNX; untyped, as the package ships no type information.
        self.detector_model: Any = None
        self.recognizer_model: Any = None
        self._face_align: Any = None
        self._embedder = ""

    @property
    def embedder(self) -> str:
        """Names the recognizer (and the detector) by content; loads the pack to know which is which."""
        self.load()
        return self._embedder

    @property
    def keypoint_names(self) -> tuple[str, ...]:
        return KEYPOINT_NAMES

    def load(self) -> None:
        if self.detector_model is not None:
            return
        try:
            # By name, so that neither is needed to import (or type-check) the app without them.
            cv2 = importlib.import_module("cv2")
            model_zoo = importlib.import_module("insightface.model_zoo")
            face_align = importlib.import_module("insightface.utils.face_align")
        except ImportError as exc:
            if getattr(sys, "frozen", False):  # the PyInstaller bundle, where pip cannot add it
                raise ModelError(
                    "the InsightFace backend is not in this bundle: run mixbook-desktop from a "
                    "source checkout (scripts/setup.sh installs it) to use a face pack"
                ) from exc
            raise ModelError(
                f"the InsightFace backend needs the optional package insightface ({exc}); install it "
                f"with: {INSTALL}"
            ) from exc
        import onnxruntime as ort

        # The app runs one worker process per core: OpenCV's resizing and warping and each
        # session must stay on that core rather than fight the other workers for theirs.
        cv2.setNumThreads(1)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3

        detectors: list[tuple[Path, Any]] = []
        recognizers: list[tuple[Path, Any]] = []
        for path in self.files:
            try:
                model = model_zoo.get_model(
                    str(path),
                    providers=["CPUExecutionProvider"],
                    sess_options=options,
                    # Fixed-shape copies of the detector serve CoreML; on the CPU they would
                    # only add a second session per input size.
                    static_shape_sessions=False,
                )
            except Exception as exc:  # onnxruntime raises its own types for unreadable files
                raise ModelError(
                    f"InsightFace pack {self.pack}: {path.name} cannot be loaded ({exc})"
                ) from exc
            if isinstance(model, model_zoo.SCRFD):
                detectors.append((path, model))
            elif isinstance(model, model_zoo.ArcFaceONNX):
                recognizers.append((path, model))
        det_path, detector = self._one(detectors, "face detector (SCRFD, e.g. det_10g.onnx)")
        rec_path, recognizer = self._one(recognizers, "face recognizer (ArcFace, e.g. w600k_r50.onnx)")
        if not detector.use_kps:
            raise ModelError(
                f"InsightFace pack {self.pack}: the detector {det_path.name} gives no facial keypoints, "
                "which ArcFace needs to align a face; use a keypoint detector such as det_10g.onnx"
            )
        detector.det_thresh = self.det_threshold
        self._embedder = f"arcface:{file_sha256(rec_path)[:12]}+scrfd:{file_sha256(det_path)[:12]}"
        self.detector_path, self.recognizer_path = det_path, rec_path
        self.recognizer_model, self._face_align = recognizer, face_align
        self.detector_model = detector

    def _one(self, found: list[tuple[Path, Any]], what: str) -> tuple[Path, Any]:
        if len(found) == 1:
            return found[0]
        if not found:
            raise ModelError(f"InsightFace pack {self.pack}: no {what} among {_names(self.files)}")
        raise ModelError(
            f"InsightFace pack {self.pack}: {len(found)} files are a {what}: "
            f"{_names([p for p, _ in found])}; keep exactly one in the folder"
        )

    def detect(self, image: Image.Image) -> list[Detection]:
        """Faces in `image` (upright), in its pixel coordinates."""
        self.load()
        bgr = _bgr(image)
        boxes, kpss = self.detector_model.detect(bgr, input_size=(self.det_size, self.det_size))
        w, h = image.size
        found: list[Detection] = []
        for box, kps in zip(boxes, kpss, strict=True):
            x0, y0 = max(0.0, float(box[0])), max(0.0, float(box[1]))
            x1, y1 = min(float(w), float(box[2])), min(float(h), float(box[3]))
            if x1 > x0 and y1 > y0:
                found.append(Detection(x0, y0, x1, y1, float(box[4]), np.asarray(kps, dtype=np.float32)))
        return found

    def embed(self, image: Image.Image, faces: list[Detection]) -> NDArray[np.float32]:
        """One L2-normalised ArcFace row per face, aligned on the face's five keypoints."""
        self.load()
        rec = self.recognizer_model
        dim = rec.output_shape[-1]
        if not faces:
            return np.zeros((0, dim if isinstance(dim, int) else EMBEDDING_SIZE), dtype=np.float32)
        bgr = _bgr(image)
        crops = []
        for face in faces:
            if face.keypoints.shape != (5, 2):
                raise ValueError(f"ArcFace aligns on SCRFD's 5 keypoints, got {face.keypoints.shape}")
            with warnings.catch_warnings():
                # insightface 2.1 still calls scikit-image's SimilarityTransform.estimate, which
                # 0.26 deprecates: a warning the user can do nothing about.
                warnings.filterwarnings("ignore", message=r"`estimate` is deprecated", category=FutureWarning)
                crops.append(
                    self._face_align.norm_crop(bgr, landmark=face.keypoints, image_size=rec.input_size[0])
                )
        # A recognizer exported with a fixed batch of one takes the faces one at a time.
        fixed_batch = isinstance(rec.input_shape[0], int)
        batches = [[c] for c in crops] if fixed_batch else [crops]
        vectors: NDArray[np.float32] = np.concatenate(
            [np.asarray(rec.get_feat(b), dtype=np.float32) for b in batches]
        )
        norms: NDArray[np.float32] = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, np.float32(1e-12))).astype(np.float32)


def _bgr(image: Image.Image) -> NDArray[np.uint8]:
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])
