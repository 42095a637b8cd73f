"""An Amazon Rekognition stand-in on 127.0.0.1, answering from the project's local analysis.

No real Rekognition can run here, and moto's answers the same label for every photo. This
speaks Rekognition's own protocol instead: JSON 1.1 over HTTP (POST /, X-Amz-Target
"RekognitionService.<Operation>"), each request SigV4-checked with botocore's signer and checked
against botocore's service model, each answer checked against the model before it is sent.
boto3 talks to it as to AWS. What it finds in a photo is what the local Analyzer finds, turned
into Rekognition's terms by mixbook_desktop.cloud.mapping, so a book analysed through it can be
compared with the same book analysed locally.

Rekognition's limits are enforced with its errors: image bytes over 5 MB or an S3 object over
15 MB (ImageTooLargeException), anything but JPEG or PNG (InvalidImageFormatException), a side
under 80 or over 10000 pixels (InvalidParameterException, which is what AWS answers for a small
image; the documents state the 10000 limit for DetectLabels and DetectModerationLabels, it is
enforced everywhere here so a client that passes here passes there), an S3 object that cannot
be read (InvalidS3ObjectException).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from mixbook_desktop.analysis.pipeline import Analyzer
from mixbook_desktop.analysis.quality import assess
from mixbook_desktop.cloud import mapping
from mixbook_desktop.core.analysis import EmotionScores, FaceFound, PhotoAnalysis, Stage
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.library.decode import BadImage, upright_image
from mixbook_desktop.services.analysis_worker import ANALYSIS_SIDE
from mixbook_desktop.services.people import DEFAULT_THRESHOLDS
from tests.support.aws_shapes import problems, signature_problem

MODEL = botocore.session.get_session().get_service_model("rekognition")
SERVICE = "rekognition"
TARGET_PREFIX = f"{MODEL.metadata['targetPrefix']}."
CONTENT_TYPE = "application/x-amz-json-1.1"

MAX_BYTES = 5 * 1024 * 1024  # Image.Bytes, decoded
MAX_S3_BYTES = 15 * 1024 * 1024
MIN_SIDE, MAX_SIDE = 80, 10_000
FACE_MODEL_VERSION = "7.0"
LABEL_MODEL_VERSION = "3.0"
MODERATION_MODEL_VERSION = "7.0"
ACCOUNT = "123456789012"
# Rekognition's own defaults where a request leaves them out.
LABELS_MIN_CONFIDENCE = 55.0
MODERATION_MIN_CONFIDENCE = 50.0
FACE_MATCH_THRESHOLD = 80.0
PAGE_SIZE = 1000
# IndexFaces' quality bars: the least detector confidence a face needs. Local faces are all
# 0.5 or more (analysis/faces.py KEEP_FROM), so LOW and AUTO keep every face big enough.
QUALITY_SCORE = {"LOW": 0.5, "AUTO": 0.5, "MEDIUM": 0.6, "HIGH": 0.7}
# "A face must be no smaller than 40x40 pixels in an image with 1920x1080 pixels", larger in
# proportion in larger images (Rekognition's guidelines and quotas).
SMALL_FACE_PX, SMALL_FACE_IMAGE = 40, 1920

# Similarity (0-100) from the L2 distance between two dlib descriptors: a logistic that falls
# from 100 at distance 0 through 80 at our "same person" distance (0.5, services/people.py), which
# is Rekognition's default FaceMatchThreshold, so both modes draw the line at the same faces.
# The scale (0.05) spreads scores as Rekognition's spread: the same person in the high 90s
# (96.7 at 0.4), a different person low (35 at 0.6, under 7 from 0.7).
#   similarity(d) = 100 / (1 + 0.25 * exp((d - 0.5) / 0.05))
SAME_PERSON_DISTANCE = DEFAULT_THRESHOLDS["dlib"]
SIMILARITY_SCALE = 0.05
_ODDS_AT_THRESHOLD = 100.0 / FACE_MATCH_THRESHOLD - 1.0


def similarity(distance: float) -> float:
    exponent = min(700.0, (distance - SAME_PERSON_DISTANCE) / SIMILARITY_SCALE)
    return 100.0 / (1.0 + _ODDS_AT_THRESHOLD * math.exp(exponent))


def distance_for(similarity_percent: float) -> float:
    """The inverse of `similarity`, for 0 < similarity < 100."""
    return SAME_PERSON_DISTANCE + SIMILARITY_SCALE * math.log(
        (100.0 / similarity_percent - 1.0) / _ODDS_AT_THRESHOLD
    )


class ServiceError(Exception):
    """An error answer: Rekognition's exception name, its message, the HTTP status."""

    def __init__(self, kind: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status


@dataclass
class IndexedFace:
    face_id: str
    image_id: str
    external_image_id: str | None
    box: Box
    confidence: float
    embedding: NDArray[np.float32]

    def as_face(self) -> dict[str, Any]:
        face: dict[str, Any] = {
            "FaceId": self.face_id,
            "BoundingBox": _bounding_box(self.box),
            "ImageId": self.image_id,
            "Confidence": self.confidence,
            "IndexFacesModelVersion": FACE_MODEL_VERSION,
        }
        if self.external_image_id is not None:
            face["ExternalImageId"] = self.external_image_id
        return face


@dataclass
class Collection:
    arn: str
    created: float
    faces: dict[str, IndexedFace] = field(default_factory=dict)


def _bounding_box(box: Box) -> dict[str, float]:
    return {"Width": box.w, "Height": box.h, "Left": box.x, "Top": box.y}


@dataclass
class _Photo:
    image: Image.Image  # upright RGB, long side at most ANALYSIS_SIDE
    size: tuple[int, int]  # the upright size of the image sent


class RekognitionStandIn:
    """The stand-in's state. Tests read `requests` (operation, parameters as sent, with image
    bytes replaced by their size), `invalid` (requests the model refused: a client bug) and
    `bad_responses` / `crashes` (the stand-in's own bugs; `serving` fails on them), and inject
    faults for the next requests with throttle_next, deny_next and fail_next."""

    def __init__(
        self,
        s3_endpoint: str | None,
        access_key: str,
        secret_key: str,
        region: str,
        analyzer: Analyzer | None = None,
    ) -> None:
        self.s3_endpoint = s3_endpoint
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.invalid: list[str] = []
        self.bad_responses: list[str] = []
        self.crashes: list[str] = []
        self.collections: dict[str, Collection] = {}
        self._faults: list[ServiceError] = []
        self._state = threading.Lock()
        self._analysis = threading.Lock()  # one set of models, one photo at a time
        self._analyzer = analyzer
        self._s3: Any = None

    def throttle_next(self, n: int = 1, kind: str = "ProvisionedThroughputExceededException") -> None:
        """The next `n` requests are throttled (HTTP 400, as Rekognition does)."""
        if kind not in ("ProvisionedThroughputExceededException", "ThrottlingException"):
            raise ValueError(f"not a throttling error of Rekognition's: {kind}")
        message = {
            "ProvisionedThroughputExceededException": "Provisioned rate exceeded.",
            "ThrottlingException": "Rate exceeded",
        }[kind]
        self._add_faults(n, ServiceError(kind, message))

    def deny_next(self, n: int = 1) -> None:
        message = "User is not authorized to perform this action on the resource."
        self._add_faults(n, ServiceError("AccessDeniedException", message))

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        self._add_faults(n, ServiceError("InternalServerError", "Internal server error", status))

    def clear_faults(self) -> None:
        """Forget the faults still waiting: the service is well again."""
        with self._state:
            self._faults.clear()

    def _add_faults(self, n: int, error: ServiceError) -> None:
        with self._state:
            self._faults.extend([error] * n)

    def _next_fault(self) -> ServiceError | None:
        with self._state:
            return self._faults.pop(0) if self._faults else None

    def operations(self) -> list[str]:
        return [op for op, _ in self.requests]

    # --- images ---------------------------------------------------------------------------

    @property
    def analyzer(self) -> Analyzer:
        with self._analysis:
            if self._analyzer is None:
                analyzer = Analyzer()
                failed = analyzer.load()
                if failed:
                    raise RuntimeError("the stand-in's local models did not load: " + "; ".join(failed))
                self._analyzer = analyzer
            return self._analyzer

    def analyze(self, photo: _Photo, stages: set[Stage]) -> PhotoAnalysis:
        analyzer = self.analyzer
        with self._analysis:
            result = analyzer.analyze(photo.image, photo.size, stages)
        if result.errors:
            raise RuntimeError(f"local analysis failed: {result.errors}")
        return result

    def _s3_client(self) -> Any:
        if self.s3_endpoint is None:
            raise ServiceError(
                "InvalidS3ObjectException", "Unable to get object metadata from S3. No S3 here."
            )
        with self._state:
            if self._s3 is None:
                import boto3
                from botocore.config import Config

                self._s3 = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self.s3_endpoint,
                    region_name=self.region,
                    aws_access_key_id=self.access_key,
                    aws_secret_access_key=self.secret_key,
                    config=Config(
                        signature_version="s3v4",
                        s3={"addressing_style": "path"},
                        retries={"mode": "standard", "total_max_attempts": 2},
                    ),
                )
            return self._s3

    def _s3_bytes(self, s3_object: dict[str, Any]) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._s3_client()
        where = {"Bucket": s3_object["Bucket"], "Key": s3_object["Name"]}
        if "Version" in s3_object:
            where["VersionId"] = s3_object["Version"]
        try:
            head = client.head_object(**where)
            if int(head["ContentLength"]) > MAX_S3_BYTES:
                raise ServiceError("ImageTooLargeException", "Image size is too large.")
            return bytes(client.get_object(**where)["Body"].read())
        except (ClientError, BotoCoreError):
            raise ServiceError(
                "InvalidS3ObjectException",
                "Unable to get object metadata from S3. Check object key, region and/or access permissions.",
            ) from None

    def photo(self, image: dict[str, Any]) -> _Photo:
        if ("Bytes" in image) == ("S3Object" in image):
            raise ServiceError("InvalidParameterException", "Request has invalid parameters")
        data = base64.b64decode(image["Bytes"]) if "Bytes" in image else self._s3_bytes(image["S3Object"])
        if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
            raise ServiceError("InvalidImageFormatException", "Request has invalid image format")
        try:
            with Image.open(io.BytesIO(data)) as header:
                width, height = header.size
        except Image.DecompressionBombError:
            message = f"Input image dimensions exceed maximum dimension size of {MAX_SIDE} pixels"
            raise ServiceError("InvalidParameterException", message) from None
        except (UnidentifiedImageError, OSError, ValueError):
            raise ServiceError("InvalidImageFormatException", "Request has invalid image format") from None
        if min(width, height) < MIN_SIDE:
            raise ServiceError("InvalidParameterException", "Request has invalid parameters")
        if max(width, height) > MAX_SIDE:
            message = f"Input image dimensions {width} x {height} exceed maximum dimension size of {MAX_SIDE}"
            raise ServiceError("InvalidParameterException", message + " pixels")
        try:
            # Rekognition applies a JPEG's Exif orientation before it finds faces and gives
            # boxes in the corrected image (the DetectFaces reference); so does this.
            upright, size = upright_image(data, ANALYSIS_SIDE)
        except BadImage:
            raise ServiceError("InvalidImageFormatException", "Request has invalid image format") from None
        return _Photo(upright.convert("RGB"), size)

    # --- operations -----------------------------------------------------------------------

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, f"_op_{operation}", None)
        if handler is None:
            raise ServiceError("UnknownOperationException", f"{operation} is not implemented by the stand-in")
        return handler(params)

    def _faces(self, photo: _Photo, emotions: bool) -> list[tuple[FaceFound, EmotionScores | None]]:
        stages = {Stage.FACES, Stage.EMOTIONS} if emotions else {Stage.FACES}
        found = self.analyze(photo, stages)
        faces = found.faces or []
        scores: list[EmotionScores | None] = (
            list(found.emotions) if emotions and found.emotions else [None] * len(faces)
        )
        return list(zip(faces, scores, strict=True))

    def _detail(self, photo: _Photo, face: FaceFound, emotions: EmotionScores | None) -> dict[str, Any]:
        w, h = photo.image.size
        b = face.box
        crop = photo.image.crop(
            (round(b.x * w), round(b.y * h), round((b.x + b.w) * w), round((b.y + b.h) * h))
        )
        quality = assess(crop, crop.size) if crop.width and crop.height else None
        return mapping.rekognition_face_detail(face, emotions, image_size=photo.size, quality=quality)

    def _op_DetectFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        attributes = set(params.get("Attributes") or ["DEFAULT"])
        photo = self.photo(params["Image"])
        faces = self._faces(photo, emotions=bool(attributes & {"ALL", "EMOTIONS"}))
        # Only what the local models measure is answered; the model makes the rest optional.
        return {"FaceDetails": [self._detail(photo, face, emo) for face, emo in faces]}

    def _op_DetectLabels(self, params: dict[str, Any]) -> dict[str, Any]:
        if "IMAGE_PROPERTIES" in (params.get("Features") or []):
            raise ServiceError(
                "InvalidParameterException", "IMAGE_PROPERTIES is not answered by the stand-in"
            )
        photo = self.photo(params["Image"])
        found = self.analyze(photo, {Stage.LABELS})
        labels = mapping.rekognition_labels_from(found.labels or [], found.top_classes or [])
        least = float(params.get("MinConfidence", LABELS_MIN_CONFIDENCE))
        labels = [lb for lb in labels if lb["Confidence"] >= least]
        general = (params.get("Settings") or {}).get("GeneralLabels") or {}
        labels = [lb for lb in labels if _passes(lb, general)]
        return {
            "Labels": labels[: int(params.get("MaxLabels", 1000))],
            "LabelModelVersion": LABEL_MODEL_VERSION,
        }

    def _op_DetectModerationLabels(self, params: dict[str, Any]) -> dict[str, Any]:
        if "ProjectVersion" in params:
            raise ServiceError("ResourceNotFoundException", "The project version does not exist")
        photo = self.photo(params["Image"])
        found = self.analyze(photo, {Stage.MODERATION})
        assert found.moderation is not None
        least = float(params.get("MinConfidence", MODERATION_MIN_CONFIDENCE))
        labels = [
            lb for lb in mapping.rekognition_moderation_labels(found.moderation) if lb["Confidence"] >= least
        ]
        return {
            "ModerationLabels": labels,
            "ModerationModelVersion": MODERATION_MODEL_VERSION,
            "ContentTypes": [],
        }

    def _collection(self, collection_id: str) -> Collection:
        with self._state:
            found = self.collections.get(collection_id)
        if found is None:
            raise ServiceError(
                "ResourceNotFoundException", f"The collection id: {collection_id} does not exist"
            )
        return found

    def _op_CreateCollection(self, params: dict[str, Any]) -> dict[str, Any]:
        collection_id = params["CollectionId"]
        arn = f"aws:rekognition:{self.region}:{ACCOUNT}:collection/{collection_id}"
        with self._state:
            if collection_id in self.collections:
                raise ServiceError(
                    "ResourceAlreadyExistsException", f"The collection id: {collection_id} already exists"
                )
            self.collections[collection_id] = Collection(arn, time.time())
        return {"StatusCode": 200, "CollectionArn": arn, "FaceModelVersion": FACE_MODEL_VERSION}

    def _op_DescribeCollection(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self._collection(params["CollectionId"])
        return {
            "FaceCount": len(found.faces),
            "FaceModelVersion": FACE_MODEL_VERSION,
            "CollectionARN": found.arn,
            "CreationTimestamp": found.created,
            "UserCount": 0,
        }

    def _op_DeleteCollection(self, params: dict[str, Any]) -> dict[str, Any]:
        self._collection(params["CollectionId"])
        with self._state:
            self.collections.pop(params["CollectionId"], None)
        return {"StatusCode": 200}

    def _op_ListCollections(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._state:
            ids = sorted(self.collections)
        page, token = _page(ids, params)
        out: dict[str, Any] = {"CollectionIds": page, "FaceModelVersions": [FACE_MODEL_VERSION] * len(page)}
        if token is not None:
            out["NextToken"] = token
        return out

    def _op_IndexFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params["CollectionId"])
        attributes = set(params.get("DetectionAttributes") or ["DEFAULT"])
        photo = self.photo(params["Image"])
        faces = self._faces(photo, emotions=bool(attributes & {"ALL", "EMOTIONS"}))
        # Rekognition indexes the largest faces first.
        faces.sort(key=lambda pair: -(pair[0].box.w * pair[0].box.h))
        most = params.get("MaxFaces")
        bar = params.get("QualityFilter", "AUTO")
        image_id = str(uuid.uuid4())
        records: list[dict[str, Any]] = []
        unindexed: list[dict[str, Any]] = []
        for face, emotions in faces:
            detail = self._detail(photo, face, emotions)
            reasons = _quality_reasons(face, photo.size, bar)
            if not reasons and most is not None and len(records) >= most:
                reasons = ["EXCEEDS_MAX_FACES"]
            if reasons:
                unindexed.append({"Reasons": reasons, "FaceDetail": detail})
                continue
            assert face.embedding is not None
            indexed = IndexedFace(
                face_id=str(uuid.uuid4()),
                image_id=image_id,
                external_image_id=params.get("ExternalImageId"),
                box=face.box,
                confidence=detail["Confidence"],
                embedding=np.frombuffer(face.embedding, dtype=np.float32),
            )
            with self._state:
                collection.faces[indexed.face_id] = indexed
            records.append({"Face": indexed.as_face(), "FaceDetail": detail})
        return {"FaceRecords": records, "FaceModelVersion": FACE_MODEL_VERSION, "UnindexedFaces": unindexed}

    def _matches(
        self, collection: Collection, vector: NDArray[np.float32], params: dict[str, Any], skip: str | None
    ) -> list[dict[str, Any]]:
        threshold = float(params.get("FaceMatchThreshold", FACE_MATCH_THRESHOLD))
        with self._state:
            others = [f for f in collection.faces.values() if f.face_id != skip]
        scored = [(similarity(float(np.linalg.norm(f.embedding - vector))), f) for f in others]
        scored = sorted((pair for pair in scored if pair[0] >= threshold), key=lambda pair: -pair[0])
        most = int(params.get("MaxFaces", 4096))
        return [{"Similarity": round(s, 4), "Face": f.as_face()} for s, f in scored[:most]]

    def _op_SearchFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params["CollectionId"])
        with self._state:
            searched = collection.faces.get(params["FaceId"])
        if searched is None:
            raise ServiceError(
                "InvalidParameterException", f"Face {params['FaceId']} is not in the collection"
            )
        return {
            "SearchedFaceId": searched.face_id,
            "FaceMatches": self._matches(collection, searched.embedding, params, skip=searched.face_id),
            "FaceModelVersion": FACE_MODEL_VERSION,
        }

    def _op_SearchFacesByImage(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params["CollectionId"])
        photo = self.photo(params["Image"])
        bar = params.get("QualityFilter", "NONE")
        faces = [
            face
            for face, _ in self._faces(photo, emotions=False)
            if not _quality_reasons(face, photo.size, bar)
        ]
        if not faces:
            raise ServiceError(
                "InvalidParameterException", "There are no faces in the image. Should be at least 1."
            )
        largest = max(faces, key=lambda face: face.box.w * face.box.h)
        assert largest.embedding is not None
        vector = np.frombuffer(largest.embedding, dtype=np.float32)
        return {
            "SearchedFaceBoundingBox": _bounding_box(largest.box),
            "SearchedFaceConfidence": mapping.rekognition_face_detail(largest, None)["Confidence"],
            "FaceMatches": self._matches(collection, vector, params, skip=None),
            "FaceModelVersion": FACE_MODEL_VERSION,
        }

    def _op_ListFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params["CollectionId"])
        with self._state:
            faces = list(collection.faces.values())
        if "FaceIds" in params:
            wanted = set(params["FaceIds"])
            faces = [f for f in faces if f.face_id in wanted]
        if "UserId" in params:
            faces = []  # users are not kept here: no face belongs to one
        page, token = _page(faces, params)
        out: dict[str, Any] = {"Faces": [f.as_face() for f in page], "FaceModelVersion": FACE_MODEL_VERSION}
        if token is not None:
            out["NextToken"] = token
        return out

    def _op_DeleteFaces(self, params: dict[str, Any]) -> dict[str, Any]:
        collection = self._collection(params["CollectionId"])
        deleted, missing = [], []
        with self._state:
            for face_id in params["FaceIds"]:
                if collection.faces.pop(face_id, None) is not None:
                    deleted.append(face_id)
                else:
                    missing.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
        return {"DeletedFaces": deleted, "UnsuccessfulFaceDeletions": missing}


def _passes(label: dict[str, Any], general: dict[str, Any]) -> bool:
    name = label["Name"]
    categories = {c["Name"] for c in label["Categories"]}
    if "LabelInclusionFilters" in general or "LabelCategoryInclusionFilters" in general:
        included = name in general.get("LabelInclusionFilters", []) or bool(
            categories & set(general.get("LabelCategoryInclusionFilters", []))
        )
        if not included:
            return False
    if name in general.get("LabelExclusionFilters", []):
        return False
    return not categories & set(general.get("LabelCategoryExclusionFilters", []))


def _quality_reasons(face: FaceFound, size: tuple[int, int], bar: str) -> list[str]:
    if bar == "NONE":
        return []
    reasons = []
    least = SMALL_FACE_PX * max(1.0, max(size) / SMALL_FACE_IMAGE)
    if min(face.box.w * size[0], face.box.h * size[1]) < least:
        reasons.append("SMALL_BOUNDING_BOX")
    if face.score < QUALITY_SCORE[bar]:
        reasons.append("LOW_CONFIDENCE")
    return reasons


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    token = params.get("NextToken")
    start = 0
    if token is not None:
        if not token.isdigit() or int(token) > len(items):
            raise ServiceError("InvalidPaginationTokenException", "Invalid pagination token")
        start = int(token)
    size = int(params.get("MaxResults", PAGE_SIZE)) or PAGE_SIZE
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _shrunk(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as recorded: image bytes as their decoded size, not megabytes of text."""
    image = params.get("Image")
    if not isinstance(image, dict) or not isinstance(image.get("Bytes"), str):
        return params
    try:
        size = len(base64.b64decode(image["Bytes"]))
    except (binascii.Error, ValueError):
        size = -1
    return {**params, "Image": {**image, "Bytes": f"<{size} bytes>"}}


def _validation_message(found: list[str]) -> str:
    count = len(found)
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(found)


def _handler(state: RekognitionStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keeps pytest's output clean
            return

        def _send(self, status: int, payload: dict[str, Any], error: str | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            if error is not None:
                self.send_header("x-amzn-ErrorType", error)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, error: ServiceError) -> None:
            # As Rekognition's own errors look (its developer guide, "Error handling").
            payload = {
                "__type": error.kind,
                "Code": error.kind,
                "Logref": str(uuid.uuid4()),
                "Message": error.message,
            }
            self._send(error.status, payload, error.kind)

        def _auth_error(self, kind: str) -> None:
            # The AWS front door answers these before Rekognition sees the request.
            message = {
                "UnrecognizedClientException": "The security token included in the request is invalid.",
                "InvalidSignatureException": "The request signature we calculated does not match the "
                "signature you provided. Check your AWS Secret Access Key and signing method. Consult the "
                "service documentation for details.",
            }[kind]
            self._send(400, {"__type": kind, "message": message}, kind)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            target = self.headers.get("X-Amz-Target", "")
            operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
            if self.path != "/" or operation not in MODEL.operation_names:
                self._send(400, {"__type": "UnknownOperationException"}, "UnknownOperationException")
                return
            problem = signature_problem(
                self, body, {state.access_key: state.secret_key}, SERVICE, state.region
            )
            if problem is not None:
                self._auth_error(problem)
                return
            try:
                params = json.loads(body or b"{}")
                if not isinstance(params, dict):
                    raise ValueError("not an object")
            except ValueError:
                self._error(
                    ServiceError(
                        "SerializationException", "Start of structure or map found where not expected."
                    )
                )
                return
            with state._state:
                state.requests.append((operation, _shrunk(params)))
            try:
                fault = state._next_fault()
                if fault is not None:
                    raise fault
                self._error_or_answer(operation, params)
            except ServiceError as error:
                self._error(error)
            except Exception:
                text = traceback.format_exc()
                with state._state:
                    state.crashes.append(f"{operation}: {text}")
                print(f"rekognition stand-in crashed on {operation}:\n{text}", file=sys.stderr)
                self._error(ServiceError("InternalServerError", "Internal server error", 500))

        def _error_or_answer(self, operation: str, params: dict[str, Any]) -> None:
            op = MODEL.operation_model(operation)
            image = params.get("Image")
            if isinstance(image, dict) and isinstance(image.get("Bytes"), str):
                # The model caps Image.Bytes at 5 MB too; Rekognition's own error for it is this.
                try:
                    if len(base64.b64decode(image["Bytes"])) > MAX_BYTES:
                        raise ServiceError("ImageTooLargeException", "Image size is too large.")
                except (binascii.Error, ValueError):
                    pass  # the model check below reports it
            found = problems(params, op.input_shape)
            if found:
                message = _validation_message(found)
                with state._state:
                    state.invalid.append(f"{operation}: {message}")
                raise ServiceError("ValidationException", message)
            answer = state.handle(operation, params)
            wrong = problems(answer, op.output_shape)
            if wrong:
                text = f"{operation} answer breaks the model: {wrong}"
                with state._state:
                    state.bad_responses.append(text)
                print(f"rekognition stand-in: {text}", file=sys.stderr)
                raise ServiceError("InternalServerError", text, 500)
            self._send(200, answer)

    return Handler


@contextmanager
def serving(
    s3_endpoint: str | None,
    access_key: str,
    secret_key: str,
    region: str,
    analyzer: Analyzer | None = None,
) -> Iterator[tuple[str, RekognitionStandIn]]:
    """The stand-in on a free local port; yields its endpoint URL and its state. S3Object
    images are read from `s3_endpoint` with the same key pair. Ends with an AssertionError if
    the stand-in answered against the model or crashed: a bug of its own, not the client's."""
    state = RekognitionStandIn(s3_endpoint, access_key, secret_key, region, analyzer)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
    if state.bad_responses or state.crashes:
        raise AssertionError(
            "the Rekognition stand-in failed:\n" + "\n".join(state.bad_responses + state.crashes)
        )
