"""The Rekognition stand-in (tests/support/rekognition_server.py) and the mapping between
Rekognition's answers and ours (mixbook_desktop/cloud/mapping.py), through real boto3 clients.

What the stand-in finds must be what local analysis finds, once through Rekognition's terms and
back; its requests and answers must be Rekognition's own, by botocore's model; its errors must
reach boto3 as AWS's do."""

from __future__ import annotations

import base64
import io
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from PIL import Image

from mixbook_desktop.analysis.faces import FaceDetector
from mixbook_desktop.analysis.moderation import level
from mixbook_desktop.analysis.pipeline import Analyzer
from mixbook_desktop.analysis.tags import PARENTS
from mixbook_desktop.cloud import mapping
from mixbook_desktop.core.analysis import (
    Emotion,
    EmotionScores,
    FaceFound,
    Label,
    Moderation,
    ModerationLevel,
    PhotoAnalysis,
    Stage,
)
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.library.decode import upright_image
from mixbook_desktop.services.analysis_worker import ANALYSIS_SIDE
from tests.cloud_support import ACCESS_KEY, REGION, SECRET_KEY, unique_bucket
from tests.conftest import DEMO_PHOTOS, FIXTURE_PHOTOS
from tests.support import aws_shapes
from tests.support.rekognition_server import (
    MODEL,
    RekognitionStandIn,
    distance_for,
    serving,
    similarity,
)
from tests.support.seaweed import SeaweedServer

PILOTS = DEMO_PHOTOS / "maxpose__Pilots.jpg"  # three frontal faces
ASTRONAUT = DEMO_PHOTOS / "skimage__astronaut.png"  # one face, a PNG
DOG_HUMAN = DEMO_PHOTOS / "maxobjdet__dog-human.jpg"  # a face in 3/4 view, and a dog
CAT = DEMO_PHOTOS / "skimage__chelsea.png"  # no human face
HOPPER = [FIXTURE_PHOTOS / f"pillow__hopper_orientation_{n}.jpg" for n in (3, 6, 8)]  # one person


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    found = Analyzer()
    assert found.load() == []
    return found


@pytest.fixture(scope="module")
def standin(analyzer: Analyzer) -> Iterator[tuple[str, RekognitionStandIn]]:
    with serving(None, ACCESS_KEY, SECRET_KEY, REGION, analyzer) as served:
        yield served


@pytest.fixture
def state(standin: tuple[str, RekognitionStandIn]) -> Iterator[RekognitionStandIn]:
    """The stand-in's state, checked after the test: every request the model's own."""
    _, found = standin
    yield found
    assert found.invalid == []


def client(url: str, secret: str = SECRET_KEY, access: str = ACCESS_KEY, attempts: int = 1) -> Any:
    return boto3.session.Session().client(
        "rekognition",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def local(analyzer: Analyzer, path: Path, stages: set[Stage]) -> PhotoAnalysis:
    """The local analysis of the photo as the app runs it."""
    image, size = upright_image(path.read_bytes(), ANALYSIS_SIDE)
    result = analyzer.analyze(image, size, stages)
    assert result.errors == {}
    return result


def box(b: Box) -> tuple[float, float, float, float]:
    return (b.x, b.y, b.w, b.h)


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


# --- faces ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PILOTS, ASTRONAUT, DOG_HUMAN, CAT], ids=lambda p: p.name)
def test_detect_faces_finds_the_local_faces_with_the_same_boxes(
    standin: tuple[str, RekognitionStandIn], state: RekognitionStandIn, analyzer: Analyzer, path: Path
) -> None:
    url, _ = standin
    expected = local(analyzer, path, {Stage.FACES, Stage.EMOTIONS})
    answer = client(url).detect_faces(Image={"Bytes": path.read_bytes()}, Attributes=["ALL"])
    got = [mapping.face_from_rekognition(d) for d in answer["FaceDetails"]]
    assert len(got) == len(expected.faces or []) == {PILOTS: 3, ASTRONAUT: 1, DOG_HUMAN: 1, CAT: 0}[path]
    for (face, emotions), want, want_emotions in zip(
        got, expected.faces or [], expected.emotions or [], strict=True
    ):
        assert box(face.box) == pytest.approx(box(want.box), abs=1e-9)
        assert face.score == pytest.approx(want.score, abs=1e-4)
        # The landmarks both name come back as they were; the rest are documented as absent.
        shared = set(mapping.LANDMARK_NAMES.values())
        assert face.landmarks == {k: v for k, v in want.landmarks.items() if k in shared}
        assert face.embedding is None and face.embedder == "rekognition"
        assert emotions is not None
        assert emotions.scores == pytest.approx(want_emotions.scores, abs=1e-4)
        assert emotions.dominant == want_emotions.dominant


def test_rekognitions_left_eye_is_on_the_images_left(standin: tuple[str, RekognitionStandIn]) -> None:
    url, _ = standin
    (detail,) = client(url).detect_faces(Image={"Bytes": ASTRONAUT.read_bytes()})["FaceDetails"]
    points = {lm["Type"]: lm["X"] for lm in detail["Landmarks"]}
    # As in every real answer: eyeLeft has the smaller X, the person's own right eye.
    assert points["eyeLeft"] < points["nose"] < points["eyeRight"]
    # DEFAULT attributes: no emotions; box, confidence, landmarks, pose and quality are there.
    assert "Emotions" not in detail
    assert {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"} <= set(detail)
    assert abs(detail["Pose"]["Roll"]) < 15  # an upright portrait


def test_the_blazeface_keypoints_are_the_ones_mapped() -> None:
    names = FaceDetector().settings.keypoints
    assert set(mapping.LANDMARK_NAMES.values()) | {"mouth_centre"} <= set(names)
    assert names[0] == mapping.LANDMARK_NAMES["eyeLeft"]  # keypoint 0 is on the image's left


def test_a_face_detail_maps_both_ways() -> None:
    emotions = EmotionScores({e: round(0.05 * i, 4) for i, e in enumerate(Emotion)})
    face = FaceFound(
        box=Box(0.1, 0.2, 0.3, 0.4),
        score=0.9731,
        landmarks={"right_eye": (0.18, 0.3), "left_eye": (0.32, 0.31), "nose_tip": (0.25, 0.4)},
        embedding=b"\0" * 8,
        embedder="dlib",
    )
    detail = mapping.rekognition_face_detail(face, emotions, image_size=(400, 300))
    aws_shapes.check(detail, MODEL.shape_for("FaceDetail"), wire=False)
    back, back_emotions = mapping.face_from_rekognition(detail)
    assert box(back.box) == pytest.approx(box(face.box))
    assert (back.score, back.landmarks, back.embedding, back.embedder) == (
        0.9731,
        face.landmarks,
        None,
        "rekognition",
    )
    assert back_emotions == emotions
    assert mapping.face_from_rekognition(mapping.rekognition_face_detail(face, None))[1] is None


def test_a_rekognition_face_cut_by_the_edge_is_clipped() -> None:
    detail = {
        "BoundingBox": {"Left": -0.05, "Top": 0.9, "Width": 0.25, "Height": 0.2},
        "Confidence": 99.5,
        "Landmarks": [
            {"Type": "eyeLeft", "X": 0.05, "Y": 0.95},
            {"Type": "mouthLeft", "X": 0.04, "Y": 1.02},
            {"Type": "mouthRight", "X": 0.12, "Y": 1.04},
            {"Type": "chinBottom", "X": 0.08, "Y": 1.08},
        ],
        "Emotions": [{"Type": "HAPPY", "Confidence": 90.0}, {"Type": "UNKNOWN", "Confidence": 60.0}],
    }
    face, emotions = mapping.face_from_rekognition(detail)
    assert box(face.box) == pytest.approx((0.0, 0.9, 0.2, 0.1))
    assert face.score == 0.995
    # Landmarks are kept outside the frame, as BlazeFace's are; the mouth is the corners' middle.
    assert face.landmarks == {"right_eye": (0.05, 0.95), "mouth_centre": (0.08, 1.03)}
    assert emotions is not None and emotions.dominant is Emotion.HAPPY
    assert set(emotions.scores) == set(Emotion) and emotions.scores[Emotion.SAD] == 0.0


# --- labels --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        DEMO_PHOTOS / "maxinception__dog.jpg",
        DEMO_PHOTOS / "maxinception__pizza.jpg",
        DEMO_PHOTOS / "exifpy__HMD_Nokia_8.3_5G.jpg",  # boat, which is a vehicle and water
        DEMO_PHOTOS / "maxcaption__surfing.jpg",
        CAT,
        PILOTS,  # one weak tag (sport, 0.33)
    ],
    ids=lambda p: p.name,
)
def test_detect_labels_maps_back_to_the_local_tags(
    standin: tuple[str, RekognitionStandIn], state: RekognitionStandIn, analyzer: Analyzer, path: Path
) -> None:
    url, _ = standin
    expected = local(analyzer, path, {Stage.LABELS})
    rekognition = client(url)
    answer = rekognition.detect_labels(
        Image={"Bytes": path.read_bytes()}, MinConfidence=mapping.MIN_CONFIDENCE
    )
    tags, top = mapping.labels_from_rekognition(answer["Labels"])
    assert [t.name for t in tags] == [t.name for t in expected.labels or []]
    assert [t.score for t in tags] == pytest.approx([t.score for t in expected.labels or []], abs=0.01)
    assert len(top) == min(5, len(answer["Labels"])) and all(0 <= s <= 1 for _, s in top)
    assert answer["LabelModelVersion"] == "3.0"
    # With Rekognition's own default MinConfidence (55) the weaker local tags would be lost.
    default = rekognition.detect_labels(Image={"Bytes": path.read_bytes()})
    strong = [t.name for t in expected.labels or [] if t.score >= 0.55]
    assert [t.name for t in mapping.labels_from_rekognition(default["Labels"])[0]] == strong


def test_a_real_looking_rekognition_answer_gives_our_tags() -> None:
    def label(name: str, confidence: float, *parents: str) -> dict[str, Any]:
        return {"Name": name, "Confidence": confidence, "Parents": [{"Name": p} for p in parents]}

    answer = [
        label("Person", 99.8),
        label("Human", 99.8),
        label("Outdoors", 98.0),
        label("Nature", 97.0),
        label("Animal", 96.1),
        label("Mammal", 96.1, "Animal"),
        label("Pet", 96.1, "Animal"),
        label("Dog", 96.0, "Animal", "Canine", "Mammal", "Pet"),
        label("Canine", 96.0, "Animal", "Mammal"),
        label("Beagle", 80.2, "Animal", "Canine", "Dog", "Mammal", "Pet"),
        label("Sea", 62.0, "Nature", "Outdoors", "Water"),
        {"Name": "Sedan", "Confidence": 30.0, "Parents": [], "Aliases": [{"Name": "Automobile"}]},
        label("Grass", 58.0, "Plant"),
        label("Hot Dog", 15.0, "Food"),
    ]
    tags, top = mapping.labels_from_rekognition(answer)
    # No "people" (it comes from faces), nothing from Nature, Outdoors or Plant; the hot dog is
    # under the local threshold; the sedan counts through its alias.
    assert [(t.name, t.score) for t in tags] == [
        ("animal", 0.961),
        ("dog", 0.96),
        ("water", 0.62),
        ("car", 0.3),
    ]
    assert tags[1].classes == ("beagle", "dog", "canine")  # the most specific first, lower case
    assert top == [
        ("person", 0.998),
        ("human", 0.998),
        ("outdoors", 0.98),
        ("nature", 0.97),
        ("animal", 0.961),
    ]


LOCAL_LABEL_CASES = [
    (
        [Label("dog", 0.62, ("beagle",)), Label("animal", 0.62, ("beagle",))],
        [("beagle", 0.6), ("basset", 0.02)],
    ),
    (
        [
            Label("water", 0.7, ("seashore", "boathouse")),
            Label("beach", 0.55, ("seashore",)),
            Label("boat", 0.3, ("canoe",)),
            Label("vehicle", 0.3, ("canoe",)),
            Label("sport", 0.21),
        ],
        [
            ("seashore", 0.5),
            ("canoe", 0.3),
            ("boathouse", 0.1),
            ("mountain bike", 0.05),
            ("bicycle-built-for-two", 0.02),
        ],
    ),
    # A tie at the cut: beach kept fifth, water (its parent) cut sixth, as to_labels does.
    (
        [
            Label("food", 0.4, ("pizza",)),
            Label("drink", 0.3, ("espresso",)),
            Label("home", 0.25),
            Label("computer", 0.22, ("laptop",)),
            Label("beach", 0.21, ("seashore",)),
        ],
        [("pizza", 0.4), ("espresso", 0.3), ("laptop", 0.22), ("seashore", 0.21), ("desk", 0.1)],
    ),
    ([], [("tench", 0.1), ("goldfish", 0.05)]),
]


@pytest.mark.parametrize(("labels", "top"), LOCAL_LABEL_CASES)
def test_local_labels_survive_the_round_trip(labels: list[Label], top: list[tuple[str, float]]) -> None:
    answer = mapping.rekognition_labels_from(labels, top)
    aws_shapes.check(answer, MODEL.shape_for("Labels"), wire=False)
    back, _ = mapping.labels_from_rekognition(answer)
    assert [(t.name, t.score) for t in back] == [(t.name, t.score) for t in labels]
    # As Rekognition lists them: best first, every ancestor also a label of its own.
    names = {lb["Name"] for lb in answer}
    assert all(p["Name"] in names for lb in answer for p in lb["Parents"])
    assert [lb["Confidence"] for lb in answer] == sorted((lb["Confidence"] for lb in answer), reverse=True)


def test_the_label_vocabulary_agrees_with_the_local_tags() -> None:
    from mixbook_desktop.analysis.tags import TAG_CLASSES

    assert set(mapping.TAG_LABELS) == set(TAG_CLASSES) | mapping.FACE_DERIVED_TAGS
    names = [n for names in mapping.TAG_LABELS.values() for n in names]
    assert len(names) == len(set(names)), "a Rekognition name may mean one tag only"
    tag_of = {n: t for t, ns in mapping.TAG_LABELS.items() for n in ns}
    for tag, (canonical, *_) in mapping.TAG_LABELS.items():
        if tag in mapping.FACE_DERIVED_TAGS:
            continue
        # An ancestor of the stand-in's label may only mean the tag or a local parent of it,
        # or the round trip would add tags local analysis did not find (face-derived tags are
        # never made from labels).
        meant = {
            tag_of[p] for p in mapping.LABEL_PARENTS[canonical] if p in tag_of
        } - mapping.FACE_DERIVED_TAGS
        assert meant <= {tag, *PARENTS.get(tag, ())}, (tag, meant)
        assert all(p in mapping.LABEL_PARENTS for p in mapping.LABEL_PARENTS[canonical])


def test_every_demo_photo_survives_the_mapping(analyzer: Analyzer) -> None:
    """Local results of every bundled photo, as Rekognition's answers and back: the same."""
    photos = sorted(
        p for p in DEMO_PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".heic")
    )
    assert len(photos) >= 15
    for path in photos:
        found = local(analyzer, path, {Stage.FACES, Stage.EMOTIONS, Stage.LABELS, Stage.MODERATION})
        labels = mapping.rekognition_labels_from(found.labels or [], found.top_classes or [])
        aws_shapes.check(labels, MODEL.shape_for("Labels"), wire=False, what=path.name)
        tags, _ = mapping.labels_from_rekognition(labels)
        assert [(t.name, t.score) for t in tags] == [(t.name, t.score) for t in found.labels or []], path.name
        assert found.moderation is not None
        moderation = mapping.moderation_from_rekognition(
            mapping.rekognition_moderation_labels(found.moderation)
        )
        assert moderation.level is found.moderation.level, path.name
        for face, emotions in zip(found.faces or [], found.emotions or [], strict=True):
            detail = mapping.rekognition_face_detail(face, emotions, image_size=(4000, 3000))
            aws_shapes.check(detail, MODEL.shape_for("FaceDetail"), wire=False, what=path.name)
            back, back_emotions = mapping.face_from_rekognition(detail)
            assert box(back.box) == pytest.approx(box(face.box)), path.name
            assert back_emotions == emotions, path.name


# --- moderation ----------------------------------------------------------------------------


@pytest.mark.parametrize("score", [0.0, 0.0001, 0.05, 0.1999, 0.2, 0.35, 0.7999, 0.8, 0.93, 1.0])
def test_moderation_survives_the_round_trip(score: float) -> None:
    ours = Moderation(score, level(score))
    labels = mapping.rekognition_moderation_labels(ours)
    aws_shapes.check(labels, MODEL.shape_for("ModerationLabels"), wire=False)
    assert all(lb["Confidence"] >= mapping.MIN_CONFIDENCE for lb in labels)
    back = mapping.moderation_from_rekognition(labels)
    assert back.level is ours.level
    if score * 100 >= mapping.MIN_CONFIDENCE:
        assert back.score == pytest.approx(score, abs=0.01)
    else:
        assert labels == [] and back == Moderation(0.0, ModerationLevel.SAFE)


def test_only_nudity_counts_and_non_explicit_never_flags() -> None:
    def label(name: str, confidence: float, parent: str = "", level_: int = 1) -> dict[str, Any]:
        return {"Name": name, "Confidence": confidence, "ParentName": parent, "TaxonomyLevel": level_}

    holiday = [
        label("Swimwear or Underwear", 97.0),
        label("Female Swimwear or Underwear", 97.0, "Swimwear or Underwear", 2),
        label("Alcohol", 91.0),
        label("Non-Explicit Nudity of Intimate parts and Kissing", 95.0),
        label("Kissing on the Lips", 95.0, "Non-Explicit Nudity of Intimate parts and Kissing", 2),
    ]
    assert mapping.moderation_from_rekognition(holiday) == Moderation(0.0, ModerationLevel.SAFE)
    bare = [label("Non-Explicit Nudity", 99.0, "Non-Explicit Nudity of Intimate parts and Kissing", 2)]
    assert mapping.moderation_from_rekognition(bare).level is ModerationLevel.REVIEW
    explicit = [label("Explicit", 88.0), label("Exposed Female Nipple", 85.0, "Explicit Nudity", 3)]
    assert mapping.moderation_from_rekognition(explicit) == Moderation(0.88, ModerationLevel.FLAGGED)


def test_detect_moderation_labels_gives_the_local_level(
    standin: tuple[str, RekognitionStandIn], state: RekognitionStandIn, analyzer: Analyzer
) -> None:
    url, _ = standin
    for path in (PILOTS, ASTRONAUT):
        expected = local(analyzer, path, {Stage.MODERATION}).moderation
        assert expected is not None and expected.level is ModerationLevel.SAFE
        answer = client(url).detect_moderation_labels(
            Image={"Bytes": path.read_bytes()}, MinConfidence=mapping.MIN_CONFIDENCE
        )
        assert answer["ModerationModelVersion"] == "7.0"
        assert mapping.moderation_from_rekognition(answer["ModerationLabels"]).level is expected.level


# --- collections ---------------------------------------------------------------------------


def test_similarity_is_80_at_the_local_same_person_distance() -> None:
    assert similarity(0.5) == pytest.approx(80.0)
    assert similarity(0.0) > 99.99 and similarity(0.4) > 95 and similarity(0.7) < 7
    distances = np.linspace(0, 2, 201)
    scores = [similarity(float(d)) for d in distances]
    assert all(a > b for a, b in itertools.pairwise(scores)) and scores[-1] >= 0
    assert distance_for(similarity(0.37)) == pytest.approx(0.37)


def test_the_same_person_is_found_across_photos_and_strangers_are_not(
    standin: tuple[str, RekognitionStandIn], state: RekognitionStandIn, analyzer: Analyzer
) -> None:
    url, _ = standin
    rekognition = client(url)
    collection = f"book-{uuid.uuid4().hex[:8]}"
    arn = rekognition.create_collection(CollectionId=collection)["CollectionArn"]
    assert arn.endswith(f":collection/{collection}")
    with pytest.raises(ClientError) as again:
        rekognition.create_collection(CollectionId=collection)
    assert error_code(again) == "ResourceAlreadyExistsException"

    def index(path: Path) -> list[str]:
        answer = rekognition.index_faces(
            CollectionId=collection,
            Image={"Bytes": path.read_bytes()},
            ExternalImageId=path.stem,
            QualityFilter="NONE",
            DetectionAttributes=["DEFAULT"],
        )
        assert answer["UnindexedFaces"] == []
        return [r["Face"]["FaceId"] for r in answer["FaceRecords"]]

    (hopper_a,), (hopper_b,) = index(HOPPER[0]), index(HOPPER[1])
    (astronaut,), pilots = index(ASTRONAUT), index(PILOTS)
    assert len(pilots) == 3
    assert rekognition.describe_collection(CollectionId=collection)["FaceCount"] == 6

    found = rekognition.search_faces(CollectionId=collection, FaceId=hopper_a, FaceMatchThreshold=80)
    assert found["SearchedFaceId"] == hopper_a
    assert [m["Face"]["FaceId"] for m in found["FaceMatches"]] == [hopper_b]  # never itself
    assert found["FaceMatches"][0]["Face"]["ExternalImageId"] == HOPPER[1].stem
    # Its similarity is the local distance of the two faces, through the documented formula.
    faces = [local(analyzer, p, {Stage.FACES}).faces for p in HOPPER[:2]]
    vectors = [np.frombuffer(f[0].embedding or b"", dtype=np.float32) for f in faces if f]
    distance = float(np.linalg.norm(vectors[0] - vectors[1]))
    assert distance < 0.5
    assert found["FaceMatches"][0]["Similarity"] == pytest.approx(similarity(distance), abs=1e-3)
    # Nobody else is the same person; with no threshold at all they are there, far below 80.
    for face in (astronaut, *pilots):
        strangers = rekognition.search_faces(CollectionId=collection, FaceId=face)["FaceMatches"]
        assert hopper_a not in [m["Face"]["FaceId"] for m in strangers]
    everyone = rekognition.search_faces(CollectionId=collection, FaceId=astronaut, FaceMatchThreshold=0)
    assert len(everyone["FaceMatches"]) == 5 and max(m["Similarity"] for m in everyone["FaceMatches"]) < 80

    by_image = rekognition.search_faces_by_image(
        CollectionId=collection, Image={"Bytes": HOPPER[2].read_bytes()}
    )
    assert {m["Face"]["FaceId"] for m in by_image["FaceMatches"]} == {hopper_a, hopper_b}
    with pytest.raises(ClientError) as faceless:
        rekognition.search_faces_by_image(CollectionId=collection, Image={"Bytes": CAT.read_bytes()})
    assert error_code(faceless) == "InvalidParameterException"

    listed, token = [], None
    while True:
        page = rekognition.list_faces(
            CollectionId=collection, MaxResults=4, **({"NextToken": token} if token else {})
        )
        listed += [f["FaceId"] for f in page["Faces"]]
        token = page.get("NextToken")
        if token is None:
            break
    assert sorted(listed) == sorted([hopper_a, hopper_b, astronaut, *pilots])
    deleted = rekognition.delete_faces(CollectionId=collection, FaceIds=[hopper_b, str(uuid.uuid4())])
    assert deleted["DeletedFaces"] == [hopper_b]
    assert deleted["UnsuccessfulFaceDeletions"][0]["Reasons"] == ["FACE_NOT_FOUND"]
    assert rekognition.search_faces(CollectionId=collection, FaceId=hopper_a)["FaceMatches"] == []
    assert collection in rekognition.list_collections()["CollectionIds"]
    rekognition.delete_collection(CollectionId=collection)
    calls: list[Callable[[], Any]] = [
        lambda: rekognition.describe_collection(CollectionId=collection),
        lambda: rekognition.index_faces(CollectionId=collection, Image={"Bytes": HOPPER[0].read_bytes()}),
    ]
    for call in calls:
        with pytest.raises(ClientError) as gone:
            call()
        assert error_code(gone) == "ResourceNotFoundException"


def test_index_faces_keeps_the_largest_and_reports_the_rest(
    standin: tuple[str, RekognitionStandIn], state: RekognitionStandIn
) -> None:
    url, _ = standin
    rekognition = client(url)
    collection = f"max-{uuid.uuid4().hex[:8]}"
    rekognition.create_collection(CollectionId=collection)
    answer = rekognition.index_faces(
        CollectionId=collection, Image={"Bytes": PILOTS.read_bytes()}, MaxFaces=1, DetectionAttributes=["ALL"]
    )
    (record,) = answer["FaceRecords"]
    assert [u["Reasons"] for u in answer["UnindexedFaces"]] == [["EXCEEDS_MAX_FACES"]] * 2
    area = record["Face"]["BoundingBox"]["Width"] * record["Face"]["BoundingBox"]["Height"]
    assert all(
        area >= u["FaceDetail"]["BoundingBox"]["Width"] * u["FaceDetail"]["BoundingBox"]["Height"]
        for u in answer["UnindexedFaces"]
    )
    assert "Emotions" in record["FaceDetail"]
    rekognition.delete_collection(CollectionId=collection)


# --- the protocol: credentials, faults, limits ---------------------------------------------


def test_a_wrong_secret_or_an_unknown_key_is_refused_as_aws_does(
    standin: tuple[str, RekognitionStandIn], state: RekognitionStandIn
) -> None:
    url, _ = standin
    seen = len(state.requests)
    with pytest.raises(ClientError) as wrong_secret:
        client(url, secret="not-the-secret").list_collections()
    assert error_code(wrong_secret) == "InvalidSignatureException"
    assert wrong_secret.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as unknown:
        client(url, access="AKIDSOMEBODYELSE").list_collections()
    assert error_code(unknown) == "UnrecognizedClientException"
    assert (
        unknown.value.response["Error"]["Message"] == "The security token included in the request is invalid."
    )
    assert len(state.requests) == seen  # refused before Rekognition looked at them


@pytest.mark.parametrize("kind", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_throttling_is_retried_by_boto3(
    standin: tuple[str, RekognitionStandIn], state: RekognitionStandIn, kind: str
) -> None:
    url, _ = standin
    state.throttle_next(1, kind)
    seen = len(state.requests)
    answer = client(url, attempts=3).list_collections()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert state.operations()[seen:] == ["ListCollections", "ListCollections"]
    state.throttle_next(1, kind)
    with pytest.raises(ClientError) as once:
        client(url, attempts=1).list_collections()
    assert error_code(once) == kind


def test_denied_is_final_and_a_server_error_is_retried(
    standin: tuple[str, RekognitionStandIn], state: RekognitionStandIn
) -> None:
    url, _ = standin
    state.deny_next(1)
    seen = len(state.requests)
    with pytest.raises(ClientError) as denied:
        client(url, attempts=3).list_collections()
    assert error_code(denied) == "AccessDeniedException" and len(state.requests) == seen + 1
    state.fail_next(1)
    answer = client(url, attempts=3).list_collections()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1


def _png(width: int, height: int, noise: bool = False) -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8) if noise else None
    image = Image.fromarray(pixels) if pixels is not None else Image.new("RGB", (width, height), "gray")
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_rekognitions_image_limits_are_its_errors(
    standin: tuple[str, RekognitionStandIn], state: RekognitionStandIn
) -> None:
    url, _ = standin
    rekognition = client(url)
    big = _png(1400, 1400, noise=True)
    assert len(big) > 5 * 1024 * 1024
    gif = io.BytesIO()
    Image.new("RGB", (200, 200), "red").save(gif, "GIF")
    small = io.BytesIO()
    Image.new("RGB", (79, 200), "red").save(small, "JPEG")
    cases = [
        (big, "ImageTooLargeException"),
        (gif.getvalue(), "InvalidImageFormatException"),
        ((FIXTURE_PHOTOS / "pillow__truncated_jpeg.jpg").read_bytes(), "InvalidImageFormatException"),
        (b"<html>404</html>", "InvalidImageFormatException"),
        (small.getvalue(), "InvalidParameterException"),
        (_png(10_001, 80), "InvalidParameterException"),
    ]
    for data, code in cases:
        with pytest.raises(ClientError) as refused:
            rekognition.detect_labels(Image={"Bytes": data})
        assert error_code(refused) == code, code
    # Right at the limits is fine.
    assert rekognition.detect_faces(Image={"Bytes": _png(80, 80)})["FaceDetails"] == []


def test_a_request_outside_the_model_is_refused_and_recorded(standin: tuple[str, RekognitionStandIn]) -> None:
    url, state = standin
    rekognition = client(url)
    # botocore checks lower bounds only: an upper bound and an enum reach the server.
    with pytest.raises(ClientError) as refused:
        rekognition.search_faces(CollectionId="any", FaceId=str(uuid.uuid4()), FaceMatchThreshold=101)
    assert error_code(refused) == "ValidationException"
    assert "FaceMatchThreshold" in state.invalid[-1]
    state.invalid.clear()


def test_the_model_walker_reports_every_problem_at_once() -> None:
    request = MODEL.operation_model("IndexFaces").input_shape
    found = aws_shapes.problems(
        {
            "CollectionId": "bad id!",
            "Image": {"Bytes": base64.b64encode(b"x" * 10).decode(), "Colour": "red"},
            "DetectionAttributes": ["EVERYTHING"],
            "MaxFaces": 0,
            "QualityFilter": True,
        },
        request,
    )
    text = "\n".join(found)
    for part in ("CollectionId", "Colour is not a member", "EVERYTHING", "MaxFaces", "QualityFilter"):
        assert part in text, part
    assert len(found) == 5
    assert aws_shapes.problems({"Image": {"Bytes": "***"}}, MODEL.operation_model("DetectFaces").input_shape)
    huge = {"Image": {"Bytes": base64.b64encode(b"x" * (5 * 1024 * 1024 + 1)).decode()}}
    assert (
        "over the maximum" in aws_shapes.problems(huge, MODEL.operation_model("DetectFaces").input_shape)[0]
    )
    response = MODEL.operation_model("DescribeCollection").output_shape
    assert aws_shapes.problems({"FaceCount": -1, "CreationTimestamp": "yesterday"}, response)
    with pytest.raises(AssertionError, match="SearchedFaceId"):
        aws_shapes.check(
            {"SearchedFaceId": "nope", "FaceMatches": []}, MODEL.operation_model("SearchFaces").output_shape
        )


# --- images in S3 --------------------------------------------------------------------------


def test_images_are_read_from_s3(s3_server: SeaweedServer, analyzer: Analyzer, tmp_path: Path) -> None:
    s3 = s3_server.client()
    bucket = unique_bucket("rekognition")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="photos/pilots.jpg", Body=PILOTS.read_bytes())
    s3.put_object(Bucket=bucket, Key="photos/huge.jpg", Body=b"\xff\xd8\xff" + os.urandom(15 * 1024 * 1024))
    with serving(s3_server.endpoint, ACCESS_KEY, SECRET_KEY, REGION, analyzer) as (url, state):
        rekognition = client(url)
        by_s3 = rekognition.detect_faces(Image={"S3Object": {"Bucket": bucket, "Name": "photos/pilots.jpg"}})
        by_bytes = rekognition.detect_faces(Image={"Bytes": PILOTS.read_bytes()})
        assert by_s3["FaceDetails"] == by_bytes["FaceDetails"] and len(by_s3["FaceDetails"]) == 3
        for where, code in [
            ({"Bucket": bucket, "Name": "photos/missing.jpg"}, "InvalidS3ObjectException"),
            ({"Bucket": unique_bucket("nobody"), "Name": "photos/pilots.jpg"}, "InvalidS3ObjectException"),
            ({"Bucket": bucket, "Name": "photos/huge.jpg"}, "ImageTooLargeException"),
        ]:
            with pytest.raises(ClientError) as refused:
                rekognition.detect_labels(Image={"S3Object": where})
            assert error_code(refused) == code
        assert state.invalid == []
        assert state.requests[0] == (
            "DetectFaces",
            {"Image": {"S3Object": {"Bucket": bucket, "Name": "photos/pilots.jpg"}}},
        )
