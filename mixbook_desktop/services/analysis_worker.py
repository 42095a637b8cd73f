"""What an analysis worker process runs: decode one photo, run the requested stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mixbook_desktop.analysis.face_backend import FaceBackend
from mixbook_desktop.analysis.pipeline import Analyzer
from mixbook_desktop.core.analysis import PhotoAnalysis, PhotoToAnalyze
from mixbook_desktop.library.decode import BadImage, open_for_analysis

# No model needs more: BlazeFace's tiles are cut at this size, the classifiers use 224 px and
# a face needs ~150 px for its embedding. JPEGs decode at 1/2-1/8 scale towards it.
ANALYSIS_SIDE = 1536

_analyzer: Analyzer | None = None


@dataclass(frozen=True)
class Outcome:
    job: PhotoToAnalyze
    analysis: PhotoAnalysis | None
    error: str | None  # the photo could not be read at all


def face_backend(face_pack: str | None) -> FaceBackend | None:
    """The InsightFace backend for a model-pack folder, or None for the default backend."""
    if face_pack is None:
        return None
    from mixbook_desktop.analysis.insightface_backend import InsightFaceBackend

    return InsightFaceBackend(Path(face_pack))


def _models() -> Analyzer:
    global _analyzer
    if _analyzer is None:
        _analyzer = Analyzer()
    return _analyzer


def start(face_pack: str | None = None) -> None:
    """Load the models before the first photo, so that its deadline measures analysis only."""
    global _analyzer
    _analyzer = Analyzer(face_backend(face_pack))
    _analyzer.load()


def analyze_one(job: PhotoToAnalyze) -> Outcome:
    try:
        image, size = open_for_analysis(job.path, job.sha256, ANALYSIS_SIDE)
    except BadImage as bad:
        return Outcome(job, None, str(bad))
    known = list(job.known_faces) if job.known_faces is not None else None
    return Outcome(job, _models().analyze(image, size, set(job.stages), known), None)
