"""What analysis finds in a photo, as plain values shared by the local and cloud backends."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mixbook_desktop.core.geometry import Box


class Emotion(StrEnum):
    """Amazon Rekognition's emotion vocabulary, so local and cloud results compare directly."""

    HAPPY = "HAPPY"
    SAD = "SAD"
    ANGRY = "ANGRY"
    CONFUSED = "CONFUSED"
    DISGUSTED = "DISGUSTED"
    SURPRISED = "SURPRISED"
    CALM = "CALM"
    FEAR = "FEAR"


class Stage(StrEnum):
    """Analysis steps whose results are stored (and re-run) separately, each with its version."""

    FACES = "faces"  # detection, landmarks, embedding
    EMOTIONS = "emotions"  # per detected face; re-runs when the faces do
    LABELS = "labels"
    MODERATION = "moderation"
    QUALITY = "quality"  # sharpness, exposure, resolution, perceptual hash


@dataclass(frozen=True)
class FaceFound:
    """One detected face; `embedding` is float32 bytes from the model named in `embedder`.

    A face found by Rekognition has no embedding: it has an id in the book's face collection
    (`cloud_id`, with `embedder` naming the collection) and the faces the collection matched
    it with (`matches`: their ids and similarity, 0-100)."""

    box: Box
    score: float
    landmarks: dict[str, tuple[float, float]]  # named points, fractions of the upright image
    embedding: bytes | None
    embedder: str | None
    cloud_id: str | None = None
    matches: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class EmotionScores:
    """A confidence (0-1) for every Emotion; `dominant` is the highest."""

    scores: dict[Emotion, float]

    @property
    def dominant(self) -> Emotion:
        return max(self.scores, key=lambda e: self.scores[e])


@dataclass(frozen=True)
class Label:
    """A photobook tag (`name`) with its confidence and the fine classes behind it."""

    name: str
    score: float
    classes: tuple[str, ...] = ()


class ModerationLevel(StrEnum):
    SAFE = "safe"
    REVIEW = "review"  # between the thresholds: shown to the user, still used
    FLAGGED = "flagged"  # kept out of automatic layout and captions unless the user allows it


@dataclass(frozen=True)
class Moderation:
    score: float  # probability of objectionable content, 0-1
    level: ModerationLevel


@dataclass(frozen=True)
class Quality:
    sharpness: float  # 0 (blurred) .. 1 (crisp)
    exposure: float  # mean brightness 0..1; ~0.45 is balanced
    dark_clip: float  # share of pixels crushed to black
    bright_clip: float  # share of pixels blown to white
    megapixels: float
    score: float  # 0..1, the blend used to choose best shots
    phash: str  # 64-bit perceptual hash, hex


@dataclass
class PhotoAnalysis:
    """The results of the stages that ran on one photo; stages not run are absent."""

    faces: list[FaceFound] | None = None
    emotions: list[EmotionScores] | None = None  # one per face, in the order of `faces`
    labels: list[Label] | None = None
    top_classes: list[tuple[str, float]] | None = None  # the label model's own top classes
    moderation: Moderation | None = None
    quality: Quality | None = None
    errors: dict[Stage, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PhotoToAnalyze:
    """One photo's pending work, as handed to an analysis worker process."""

    photo_id: int
    sha256: str
    path: str
    stages: frozenset[Stage]
    known_faces: tuple[Box, ...] | None  # for emotions without re-detection
