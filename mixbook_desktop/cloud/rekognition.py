"""One photo analysed by Amazon Rekognition, into the same result types the local models give.

The photo's analysis copy is read by Rekognition from S3 (uploads put it there). Faces and
their emotions come from DetectFaces, tags from DetectLabels, moderation from
DetectModerationLabels; people from the book's face collection: each face is indexed
(IndexFaces) and looked up (SearchFaces), and the matches are stored for people grouping, which
applies the book's own threshold to them. Errors are sorted by what can be done about them.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from enum import StrEnum
from typing import Any

from mixbook_desktop.cloud import aws, mapping
from mixbook_desktop.cloud.config import CloudSettings
from mixbook_desktop.core.analysis import EmotionScores, FaceFound, PhotoAnalysis, Stage
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.services.people import REKOGNITION_PREFIX

# Bumped when our mapping of Rekognition's answers changes what is stored.
MAPPING_VERSION = "r1"
# Matches kept from SearchFaces. People grouping applies the book's threshold (80 by default),
# so a looser floor here lets the user loosen it later without asking Rekognition again.
SEARCH_FLOOR = 50.0
# Rekognition indexes at most 100 faces of an image; group photos stay well under.
MAX_FACES = 100
_SAME_FACE_IOU = 0.5


class Failure(StrEnum):
    RETRY = "retry"  # throttled, or the service or network failed for now: try again later
    PHOTO = "photo"  # this photo cannot be analysed (bad image, too large): the rest goes on
    STOP = "stop"  # nothing can work (credentials, permissions): stop the run
    MISSING = "missing"  # the analysis copy is not in S3: upload it again, then retry


class RekognitionError(Exception):
    def __init__(self, message: str, failure: Failure) -> None:
        super().__init__(message)
        self.failure = failure


_RETRY_CODES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "InternalServerError",
    "ServiceUnavailableException",
    "RequestTimeout",
}
_STOP_CODES = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "MissingAuthenticationTokenException",
}
_PHOTO_CODES = {"InvalidImageFormatException", "ImageTooLargeException", "InvalidParameterException"}


def _credential_errors() -> tuple[type[Exception], ...]:
    from botocore import exceptions as errors

    names = (
        "NoCredentialsError",
        "PartialCredentialsError",
        "CredentialRetrievalError",
        "UnauthorizedSSOTokenError",
        "TokenRetrievalError",
        "SSOTokenLoadError",
        "ProfileNotFound",
    )
    return tuple(getattr(errors, n) for n in names if hasattr(errors, n))


def collection_embedder(collection: str) -> str:
    return f"{REKOGNITION_PREFIX}{collection}"


def stage_versions(collection: str, quality_version: str) -> dict[Stage, str]:
    """What current cloud results are made with. Faces name their collection: a book moved to
    another collection has its faces indexed there again. Quality is measured on this machine
    (Rekognition has no perceptual hash), with the local version."""
    return {
        Stage.FACES: collection_embedder(collection),
        Stage.EMOTIONS: f"rekognition-{MAPPING_VERSION}",
        Stage.LABELS: f"rekognition-{MAPPING_VERSION}",
        Stage.MODERATION: f"rekognition-{MAPPING_VERSION}",
        Stage.QUALITY: quality_version,
    }


def classify(exc: BaseException) -> RekognitionError:
    """The one-line, redacted error for a failed call, and what to do about it."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    message = aws.describe(exc)
    code = aws.error_code(exc)
    if isinstance(exc, ClientError):
        if code in _RETRY_CODES:
            return RekognitionError(f"Rekognition is busy ({message})", Failure.RETRY)
        if code in _STOP_CODES:
            return RekognitionError(f"Rekognition refused the credentials ({message})", Failure.STOP)
        if code == "InvalidS3ObjectException":
            return RekognitionError(f"Rekognition cannot read the photo in S3 ({message})", Failure.MISSING)
        if code in _PHOTO_CODES:
            return RekognitionError(f"Rekognition cannot analyse this photo ({message})", Failure.PHOTO)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500:
            return RekognitionError(f"Rekognition failed ({message})", Failure.RETRY)
        return RekognitionError(f"Rekognition refused the request ({message})", Failure.PHOTO)
    if isinstance(exc, ParamValidationError):
        return RekognitionError(f"Rekognition cannot be asked about this photo ({message})", Failure.PHOTO)
    if isinstance(exc, _credential_errors()):
        # Expired SSO tokens, roles that cannot be assumed: every later call would fail too.
        return RekognitionError(f"no usable AWS credentials ({message})", Failure.STOP)
    if isinstance(exc, BotoCoreError | OSError):
        return RekognitionError(f"Rekognition could not be reached ({message})", Failure.RETRY)
    raise exc


class CloudAnalyzer:
    """Rekognition calls for the photos of one book, whose faces go into `collection`."""

    def __init__(self, settings: CloudSettings, collection: str, client: Any = None) -> None:
        self.settings = settings
        self.collection = collection
        self.client = client if client is not None else aws.client(settings, "rekognition")

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self.client, operation)(**params)
        except Exception as exc:
            raise classify(exc) from None
        return result

    def ensure_collection(self) -> None:
        """Create the book's face collection unless it is there."""
        from botocore.exceptions import ClientError

        try:
            self.client.describe_collection(CollectionId=self.collection)
            return
        except ClientError as exc:
            if aws.error_code(exc) != "ResourceNotFoundException":
                raise classify(exc) from None
        except Exception as exc:
            raise classify(exc) from None
        try:
            self.client.create_collection(CollectionId=self.collection)
        except ClientError as exc:
            if aws.error_code(exc) != "ResourceAlreadyExistsException":  # made meanwhile
                raise classify(exc) from None
        except Exception as exc:
            raise classify(exc) from None

    def delete_collection(self) -> None:
        self._call("delete_collection", CollectionId=self.collection)

    def forget_faces(self, cloud_ids: list[str]) -> None:
        """Take a photo's old faces out of the collection before it is indexed again."""
        for start in range(0, len(cloud_ids), 4096):
            self._call("delete_faces", CollectionId=self.collection, FaceIds=cloud_ids[start : start + 4096])

    def analyze(
        self,
        key: str,
        sha256: str,
        stages: frozenset[Stage],
        old_cloud_ids: list[str],
        index: bool = True,
    ) -> PhotoAnalysis:
        """The photo at `key` in the book's bucket, for the cloud's stages among `stages`
        (quality is the caller's). Without `index` its faces are only found, not added to the
        collection (a comparison must not change the book). Raises RekognitionError."""
        image = {"S3Object": {"Bucket": self.settings.bucket, "Name": key}}
        result = PhotoAnalysis()
        if Stage.FACES in stages or Stage.EMOTIONS in stages:
            # Emotions belong to the boxes found with them: both come from one DetectFaces.
            details = self._call("detect_faces", Image=image, Attributes=["ALL"])["FaceDetails"]
            embedder = collection_embedder(self.collection)
            pairs = [mapping.face_from_rekognition(d, embedder) for d in details]
            faces = [face for face, _ in pairs]
            if index and old_cloud_ids:
                self.forget_faces(old_cloud_ids)
            result.faces = self._index(image, sha256, faces) if index else faces
            result.emotions = [e if e is not None else _no_emotion() for _, e in pairs]
        if Stage.LABELS in stages:
            labels = self._call(
                "detect_labels", Image=image, MaxLabels=50, MinConfidence=mapping.MIN_CONFIDENCE
            )
            result.labels, result.top_classes = mapping.labels_from_rekognition(labels["Labels"])
        if Stage.MODERATION in stages:
            found = self._call("detect_moderation_labels", Image=image, MinConfidence=mapping.MIN_CONFIDENCE)
            result.moderation = mapping.moderation_from_rekognition(found["ModerationLabels"])
        return result

    def _index(self, image: dict[str, Any], sha256: str, faces: list[FaceFound]) -> list[FaceFound]:
        """Index the photo's faces into the collection and look each one up there; every
        detected face gets the collection id of the indexed face that is the same box."""
        if not faces:
            return faces
        indexed = self._call(
            "index_faces",
            CollectionId=self.collection,
            Image=image,
            ExternalImageId=sha256,
            MaxFaces=MAX_FACES,
            QualityFilter="NONE",
            DetectionAttributes=["DEFAULT"],
        )["FaceRecords"]
        records = [
            (r["Face"]["FaceId"], mapping.box_from_rekognition(r["Face"]["BoundingBox"])) for r in indexed
        ]
        try:
            return self._search(faces, records)
        except RekognitionError:
            # The photo is tried again later and indexed afresh: these ids must not stay in the
            # collection, where nothing would ever point at them.
            with contextlib.suppress(RekognitionError):
                self.forget_faces([face_id for face_id, _ in records])
            raise

    def _search(self, faces: list[FaceFound], records: list[tuple[str, Box]]) -> list[FaceFound]:
        """Each detected face with the collection id of the indexed face that is the same box,
        and the faces the collection matches it with."""
        out: list[FaceFound] = []
        taken: set[str] = set()
        for face in faces:
            best = max(
                ((face_id, box.iou(face.box)) for face_id, box in records if face_id not in taken),
                key=lambda pair: pair[1],
                default=None,
            )
            if best is None or best[1] < _SAME_FACE_IOU:
                out.append(face)  # found but not indexed: it stays out of people grouping
                continue
            taken.add(best[0])
            matches = self._call(
                "search_faces",
                CollectionId=self.collection,
                FaceId=best[0],
                FaceMatchThreshold=SEARCH_FLOOR,
                MaxFaces=MAX_FACES,
            )["FaceMatches"]
            found = tuple((m["Face"]["FaceId"], float(m["Similarity"])) for m in matches)
            out.append(replace(face, cloud_id=best[0], matches=found))
        return out


def _no_emotion() -> EmotionScores:
    from mixbook_desktop.core.analysis import Emotion

    return EmotionScores(dict.fromkeys(Emotion, 0.0))
