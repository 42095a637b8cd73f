"""Amazon Rekognition's answers as our analysis results, and back.

Rekognition answers in its own terms: thousands of label names in a taxonomy, confidences in
percent, 30 facial landmarks, a three-level moderation taxonomy. Local analysis answers in
the photobook's: a few tags (analysis/tags.py), scores 0-1, BlazeFace's six keypoints, one
OpenNSFW score. The functions here turn the first into the second, so that a book analysed in
the cloud stores what a book analysed locally would; and the second into the first, which the
project's Rekognition stand-in (tests/support/rekognition_server.py) answers with. Both ways
are written so that local -> Rekognition -> local gives back the same tags, boxes, emotions and
moderation level.

Plain dicts in, plain dicts out, as boto3 returns and takes them; nothing here imports boto3.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mixbook_desktop.analysis.labels import MAX_TAGS, TAG_FROM
from mixbook_desktop.analysis.moderation import FLAG_FROM, REVIEW_FROM, level
from mixbook_desktop.core.analysis import (
    Emotion,
    EmotionScores,
    FaceFound,
    Label,
    Moderation,
    ModerationLevel,
    Quality,
)
from mixbook_desktop.core.geometry import Box

# What the client sends as MinConfidence to DetectLabels and DetectModerationLabels (percent).
# Below 20 % no tag is kept locally (TAG_FROM) and no moderation level rises above safe
# (REVIEW_FROM); Rekognition's own defaults (55 and 50) would drop tags and "review" photos that
# local analysis keeps.
MIN_CONFIDENCE = round(100 * min(TAG_FROM, REVIEW_FROM), 4)

EMBEDDER = "rekognition"

# Our tag -> the Rekognition label names that mean it; the first is the one the stand-in
# answers with. A label also counts for the tag of any of its Parents, so the long tail
# ("Beagle" under Dog, "Pizza" under Food) needs no entry here.
# Left out on purpose, because Rekognition gives them to nearly every photo while our tags are
# narrower: Nature and Outdoors (our "nature" is plants and fungi seen close), Plant and Tree
# (greenery in the background), Indoors (our "home" is furniture and rooms), Electronics (a
# phone is not a computer).
TAG_LABELS: dict[str, tuple[str, ...]] = {
    "dog": ("Dog", "Canine", "Puppy"),
    "cat": ("Cat", "Kitten"),
    "bird": ("Bird",),
    "fish": ("Fish", "Goldfish", "Shark"),
    "horse": ("Horse", "Pony", "Foal", "Stallion"),
    "animal": ("Animal", "Mammal", "Pet", "Wildlife"),
    "food": ("Food", "Meal", "Dish", "Dessert", "Lunch", "Dinner", "Breakfast", "Fruit", "Bread"),
    "drink": ("Beverage", "Drink", "Alcohol", "Coffee", "Coffee Cup", "Wine", "Beer", "Cocktail", "Tea"),
    "beach": ("Beach", "Shoreline", "Coast"),
    "water": ("Water", "Sea", "Ocean", "Lake", "River", "Waterfront", "Harbor", "Pier"),
    "mountain": ("Mountain", "Mountain Range", "Peak", "Cliff", "Valley", "Volcano"),
    "snow": ("Snow", "Winter", "Skiing", "Snowboarding"),
    "building": ("Building", "Architecture", "Church", "Castle", "Tower", "Bridge", "Monument", "Temple"),
    "city": ("City", "Urban", "Street", "Town", "Downtown", "Metropolis", "Cityscape", "Road"),
    "car": ("Car", "Automobile", "Sedan", "Sports Car", "Taxi"),
    "boat": ("Boat", "Watercraft", "Ship", "Sailboat", "Yacht", "Canoe", "Kayak"),
    "aircraft": ("Aircraft", "Airplane", "Airliner", "Helicopter", "Jet"),
    "train": ("Train", "Railway", "Locomotive"),
    "bicycle": ("Bicycle", "Bike", "Cycling", "Mountain Bike"),
    "vehicle": ("Vehicle", "Transportation", "Bus", "Truck", "Motorcycle", "Van"),
    "flower": ("Flower", "Blossom", "Flower Arrangement", "Bouquet", "Rose", "Daisy", "Tulip"),
    "nature": ("Vegetation", "Fungus", "Mushroom", "Moss", "Forest", "Woodland", "Jungle", "Hay"),
    "sport": ("Sport", "Sports", "Ball", "Team Sport", "Soccer", "Tennis", "Golf", "Surfing", "Running"),
    "music": ("Musical Instrument", "Music", "Guitar", "Piano", "Concert", "Violin", "Musician"),
    "celebration": ("Party", "Birthday Party", "Wedding", "Balloon", "Birthday Cake", "Christmas Tree"),
    "baby": ("Baby", "Newborn", "Toddler", "Crib", "Teddy Bear"),
    "home": ("Room", "Living Room", "Bedroom", "Kitchen", "Furniture", "Couch", "Bed", "Home Decor"),
    "computer": ("Computer", "Laptop", "Pc", "Computer Keyboard", "Monitor"),
    # Local analysis has no "people" label: the catalogue adds the tag from the faces stage (see
    # services/catalog.py). The cloud does the same from DetectFaces, so labels_from_rekognition
    # never makes it: Rekognition's Person also fires for people seen from behind or far away,
    # where no face is found, and the two modes would disagree.
    "people": ("Person", "Human", "Adult", "Child", "Man", "Woman", "Boy", "Girl", "Crowd"),
}
FACE_DERIVED_TAGS = frozenset({"people"})

# Rekognition's own parents and category for the names the stand-in answers with, so its
# answers look like the real ones: every ancestor is listed under its child and again as a
# label of its own. An ancestor never means a tag that the local tag's PARENTS lack (Beach's
# Sea means "water", as a beach is water locally; its Nature and Outdoors mean nothing).
LABEL_PARENTS: dict[str, tuple[str, ...]] = {
    "Dog": ("Animal", "Canine", "Mammal", "Pet"),
    "Canine": ("Animal", "Mammal"),
    "Cat": ("Animal", "Mammal", "Pet"),
    "Bird": ("Animal",),
    "Fish": ("Animal",),
    "Horse": ("Animal", "Mammal"),
    "Mammal": ("Animal",),
    "Pet": ("Animal",),
    "Animal": (),
    "Food": (),
    "Beverage": (),
    "Beach": ("Coast", "Nature", "Outdoors", "Sea", "Shoreline", "Water"),
    "Coast": ("Nature", "Outdoors", "Sea", "Shoreline", "Water"),
    "Shoreline": ("Nature", "Outdoors", "Water"),
    "Sea": ("Nature", "Outdoors", "Water"),
    "Water": (),
    "Mountain": ("Nature", "Outdoors"),
    "Snow": ("Nature", "Outdoors"),
    "Nature": (),
    "Outdoors": (),
    "Building": ("Architecture",),
    "Architecture": (),
    "City": ("Urban",),
    "Urban": (),
    "Car": ("Transportation", "Vehicle"),
    "Boat": ("Transportation", "Vehicle"),
    "Aircraft": ("Transportation", "Vehicle"),
    "Train": ("Transportation", "Vehicle"),
    "Bicycle": ("Transportation", "Vehicle"),
    "Vehicle": ("Transportation",),
    "Transportation": (),
    "Flower": ("Plant",),
    "Vegetation": ("Plant",),
    "Plant": (),
    "Sport": (),
    "Musical Instrument": (),
    "Party": (),
    "Baby": ("Person",),
    "Person": (),
    "Room": ("Indoors",),
    "Indoors": (),
    "Computer": ("Electronics",),
    "Electronics": (),
}
_CATEGORY_OF_TAG = {
    "dog": "Animals and Pets",
    "cat": "Animals and Pets",
    "bird": "Animals and Pets",
    "fish": "Animals and Pets",
    "horse": "Animals and Pets",
    "animal": "Animals and Pets",
    "food": "Food and Beverage",
    "drink": "Food and Beverage",
    "beach": "Nature and Outdoors",
    "water": "Nature and Outdoors",
    "mountain": "Nature and Outdoors",
    "snow": "Nature and Outdoors",
    "building": "Buildings and Architecture",
    "city": "Buildings and Architecture",
    "car": "Vehicles and Automotive",
    "boat": "Vehicles and Automotive",
    "aircraft": "Vehicles and Automotive",
    "train": "Vehicles and Automotive",
    "bicycle": "Vehicles and Automotive",
    "vehicle": "Vehicles and Automotive",
    "flower": "Plants and Flowers",
    "nature": "Plants and Flowers",
    "sport": "Sports",
    "music": "Performing Arts",
    "celebration": "Events and Attractions",
    "baby": "Person Description",
    "home": "Home and Indoors",
    "computer": "Technology and Computing",
    "people": "Person Description",
}
_CATEGORY_OF_NAME = {
    "Nature": "Nature and Outdoors",
    "Outdoors": "Nature and Outdoors",
    "Plant": "Plants and Flowers",
    "Indoors": "Home and Indoors",
    "Electronics": "Technology and Computing",
}

_TAG_OF_NAME: dict[str, str] = {name: tag for tag, names in TAG_LABELS.items() for name in names}
TOP_CLASSES = 5


def _tags_meant(label: Mapping[str, Any]) -> list[str]:
    """The tags a Rekognition label counts for: its name's, then its ancestors' and aliases'."""
    names = [label.get("Name")]
    names += [p.get("Name") for p in label.get("Parents") or []]
    names += [a.get("Name") for a in label.get("Aliases") or []]
    tags = (_TAG_OF_NAME.get(str(name)) for name in names)
    return [t for t in dict.fromkeys(tags) if t is not None and t not in FACE_DERIVED_TAGS]


def labels_from_rekognition(
    labels: Sequence[Mapping[str, Any]],
) -> tuple[list[Label], list[tuple[str, float]]]:
    """DetectLabels' Labels as photobook tags, kept and ordered as local labels are (score from
    TAG_FROM, best first, at most MAX_TAGS), and Rekognition's own top five names (0-1).

    A tag's score is the best confidence of the labels meaning it. Its classes are those labels'
    names, the most specific first (the one with the most ancestors: "Beagle" before "Dog"),
    so that the first says what the photo shows, as a local tag's first fine class does."""
    scores: dict[str, float] = {}
    classes: dict[str, dict[str, tuple[int, float]]] = {}
    for label in labels:
        confidence = round(float(label.get("Confidence", 0.0)) / 100, 4)
        depth = len(label.get("Parents") or [])
        # Lower case, as ImageNet's names are: captions use a tag's first class mid-sentence.
        name = str(label.get("Name", "")).lower()
        for tag in _tags_meant(label):
            scores[tag] = max(scores.get(tag, 0.0), confidence)
            seen = classes.setdefault(tag, {}).get(name)
            if seen is None or seen[1] < confidence:
                classes[tag][name] = (depth, confidence)
    kept = sorted((t for t in scores if scores[t] >= TAG_FROM), key=lambda t: -scores[t])[:MAX_TAGS]
    tags = [
        Label(
            tag,
            min(1.0, scores[tag]),
            tuple(sorted(classes[tag], key=lambda n: (-classes[tag][n][0], -classes[tag][n][1]))),
        )
        for tag in kept
    ]
    ranked = sorted(labels, key=lambda lb: -float(lb.get("Confidence", 0.0)))[:TOP_CLASSES]
    top = [
        (str(lb.get("Name", "")).lower(), round(float(lb.get("Confidence", 0.0)) / 100, 4)) for lb in ranked
    ]
    return tags, top


def _title(name: str) -> str:
    # Rekognition writes every word capitalised ("Golden Retriever"); ImageNet lower-case.
    return " ".join(word[:1].upper() + word[1:] for word in name.replace("_", " ").split())


def _percent(score: float) -> float:
    return min(100.0, max(0.0, round(score * 100, 4)))


def _label(name: str, confidence: float, parents: Iterable[str], category: str | None) -> dict[str, Any]:
    return {
        "Name": name,
        "Confidence": confidence,
        "Instances": [],
        "Parents": [{"Name": p} for p in parents],
        "Aliases": [],
        "Categories": [{"Name": category}] if category else [],
    }


def rekognition_labels_from(
    labels: Sequence[Label], top_classes: Sequence[tuple[str, float]]
) -> list[dict[str, Any]]:
    """Local labels as DetectLabels would give them, best first: each tag's first name, the
    label model's top classes under it as finer labels (ImageNet's names, capitalised as
    Rekognition writes them: many, like Beagle or Espresso, are Rekognition names too), and
    every ancestor as a label of its own, as Rekognition lists them.

    labels_from_rekognition of the result gives back the tags and their scores: no label
    here is more confident than the local tag it counts for, and none counts for a tag that
    the local labels lack."""
    out: dict[str, dict[str, Any]] = {}

    def put(name: str, confidence: float, parents: Iterable[str], category: str | None) -> None:
        if name in out:
            out[name]["Confidence"] = max(out[name]["Confidence"], confidence)
        else:
            out[name] = _label(name, confidence, parents, category)

    kept = [lb for lb in labels if lb.name not in FACE_DERIVED_TAGS]
    for lb in kept:
        name = TAG_LABELS[lb.name][0]
        put(name, _percent(lb.score), LABEL_PARENTS.get(name, ()), _CATEGORY_OF_TAG.get(lb.name))
    tag_of_class = {cls: lb.name for lb in kept for cls in lb.classes}
    present = {lb.name for lb in kept}
    for cls, probability in top_classes:
        name, tag = _title(cls), tag_of_class.get(cls)
        chain: tuple[str, ...] = ()
        if tag is not None:
            canonical = TAG_LABELS[tag][0]
            chain = (canonical, *LABEL_PARENTS.get(canonical, ()))
        # A fine class must not bring in a tag of its own: "Mountain Bike" as an ImageNet
        # class is no reason for a "bicycle" tag the local labels did not keep.
        meant = set(_tags_meant({"Name": name, "Parents": [{"Name": p} for p in chain]}))
        if name in out or not meant <= present:
            continue
        confidence = _percent(probability)
        if chain:  # never above the tag it counts for, whatever the rounding
            confidence = min(confidence, out[chain[0]]["Confidence"])
        put(name, confidence, chain, None)
    for label in list(out.values()):
        for parent in [p["Name"] for p in label["Parents"]]:
            tag = _TAG_OF_NAME.get(parent)
            category = _CATEGORY_OF_TAG.get(tag) if tag else _CATEGORY_OF_NAME.get(parent)
            put(parent, label["Confidence"], LABEL_PARENTS.get(parent, ()), category)
    # Ties keep their order: Python's sort is stable, and local labels came best first.
    return sorted(out.values(), key=lambda lb: -lb["Confidence"])


# Rekognition's eyeLeft is the eye on the image's left (it has the smaller X in every answer),
# which is the person's right eye: BlazeFace's "right_eye" (models/manifest.json).
LANDMARK_NAMES: dict[str, str] = {"eyeLeft": "right_eye", "eyeRight": "left_eye", "nose": "nose_tip"}
# BlazeFace's mouth_centre has no Rekognition twin; it is the middle of mouthLeft and
# mouthRight one way, and not sent the other (two corners cannot be made from a centre).
# BlazeFace's ear tragions have none either (upperJawline* lie below the ear), nor do
# Rekognition's brows, pupils, eye corners, nose wings and jawline.
MOUTH_CORNERS = ("mouthLeft", "mouthRight")


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def box_from_rekognition(bounding_box: Mapping[str, Any]) -> Box:
    """A BoundingBox (ratios, partly outside 0-1 for a face cut by the edge) clipped to the
    image, as local boxes are."""
    left, top = float(bounding_box.get("Left", 0.0)), float(bounding_box.get("Top", 0.0))
    x0, y0 = _clip(left), _clip(top)
    x1 = _clip(left + float(bounding_box.get("Width", 0.0)))
    y1 = _clip(top + float(bounding_box.get("Height", 0.0)))
    return Box(x0, y0, x1 - x0, y1 - y0)


def face_from_rekognition(
    detail: Mapping[str, Any], embedder: str = EMBEDDER
) -> tuple[FaceFound, EmotionScores | None]:
    """A FaceDetail as our face, and its emotions when it has them (Attributes ALL or
    EMOTIONS). The box is clipped to the image, as local boxes are; landmarks are not, as
    BlazeFace's keypoints are not either."""
    points = {
        str(lm.get("Type")): (float(lm.get("X", 0.0)), float(lm.get("Y", 0.0)))
        for lm in detail.get("Landmarks") or []
    }
    landmarks = {
        ours: _rounded(points[theirs]) for theirs, ours in LANDMARK_NAMES.items() if theirs in points
    }
    if all(c in points for c in MOUTH_CORNERS):
        (ax, ay), (bx, by) = (points[c] for c in MOUTH_CORNERS)
        landmarks["mouth_centre"] = _rounded(((ax + bx) / 2, (ay + by) / 2))
    face = FaceFound(
        box=box_from_rekognition(detail.get("BoundingBox", {})),
        score=round(float(detail.get("Confidence", 0.0)) / 100, 4),
        landmarks=landmarks,
        embedding=None,
        embedder=embedder,
    )
    emotions = None
    if "Emotions" in detail:
        scores = dict.fromkeys(Emotion, 0.0)
        for item in detail["Emotions"]:
            kind = str(item.get("Type"))
            if kind in Emotion.__members__:  # UNKNOWN is no emotion of ours
                scores[Emotion(kind)] = round(float(item.get("Confidence", 0.0)) / 100, 4)
        emotions = EmotionScores(scores)
    return face, emotions


def _rounded(point: tuple[float, float]) -> tuple[float, float]:
    return (round(point[0], 4), round(point[1], 4))


def rekognition_face_detail(
    face: FaceFound,
    emotions: EmotionScores | None,
    *,
    image_size: tuple[int, int] | None = None,
    quality: Quality | None = None,
) -> dict[str, Any]:
    """Our face as a FaceDetail, with what our data honestly says: box, confidence, the
    landmarks both name, the roll of the eye line (needs `image_size`, as landmarks are
    fractions of width and height), the face's brightness and sharpness (`quality`, measured
    on the face), and the emotions. Yaw and pitch, age, smile, glasses, beard, eyes and mouth
    open, occlusion and gaze are left out: every one of them is optional in the model, and
    guessing them from six keypoints would be inventing data."""
    detail: dict[str, Any] = {
        "BoundingBox": {"Width": face.box.w, "Height": face.box.h, "Left": face.box.x, "Top": face.box.y},
        "Confidence": _percent(face.score),
        "Landmarks": [
            {"Type": theirs, "X": face.landmarks[ours][0], "Y": face.landmarks[ours][1]}
            for theirs, ours in LANDMARK_NAMES.items()
            if ours in face.landmarks
        ],
    }
    eyes = [face.landmarks.get(LANDMARK_NAMES[e]) for e in ("eyeLeft", "eyeRight")]
    if image_size is not None and eyes[0] is not None and eyes[1] is not None:
        w, h = image_size
        dx, dy = (eyes[1][0] - eyes[0][0]) * w, (eyes[1][1] - eyes[0][1]) * h
        # Positive when the face leans clockwise in the image (y grows downwards).
        detail["Pose"] = {"Roll": round(math.degrees(math.atan2(dy, dx)), 4)}
    if quality is not None:
        detail["Quality"] = {
            "Brightness": _percent(quality.exposure),
            "Sharpness": _percent(quality.sharpness),
        }
    if emotions is not None:
        ranked = sorted(emotions.scores.items(), key=lambda item: -item[1])
        detail["Emotions"] = [{"Type": e.value, "Confidence": _percent(s)} for e, s in ranked]
    return detail


# The moderation taxonomy (model 7, the one that reports TaxonomyLevel). OpenNSFW, the local
# model, only measures nudity and sexual content; so only those labels make the score here.
# Explicit content counts in full. Non-explicit nudity (a bare back, a bare-chested man on a
# beach) counts up to the review level but never flags a photo alone. Everything else is left
# out: swimwear, kissing, alcohol, tobacco, gambling, gestures, violence would keep ordinary
# holiday and wedding photos out of the book, which the local mode never does. Model 6 names
# (still returned for older adapters) are understood too.
EXPLICIT = frozenset(
    {
        "Explicit",
        "Explicit Nudity",
        "Explicit Sexual Activity",
        "Sex Toys",
        "Exposed Male Genitalia",
        "Exposed Female Genitalia",
        "Exposed Buttocks or Anus",
        "Exposed Female Nipple",
        # model 6
        "Nudity",
        "Graphic Male Nudity",
        "Graphic Female Nudity",
        "Sexual Activity",
        "Illustrated Explicit Nudity",
        "Adult Toys",
    }
)
NON_EXPLICIT = frozenset(
    {
        "Non-Explicit Nudity",
        "Obstructed Intimate Parts",
        "Bare Back",
        "Exposed Male Nipple",
        "Partially Exposed Buttocks",
        "Partially Exposed Female Breast",
        "Implied Nudity",
        "Obstructed Female Nipple",
        "Obstructed Male Genitalia",
        # model 6
        "Partial Nudity",
        "Sexual Situations",
    }
)
_NON_EXPLICIT_TOP = "Non-Explicit Nudity of Intimate parts and Kissing"
_BELOW_FLAG = round(FLAG_FROM - 0.0001, 4)


def moderation_from_rekognition(labels: Sequence[Mapping[str, Any]]) -> Moderation:
    """DetectModerationLabels' labels as our score (0-1) and level (local thresholds)."""
    score = 0.0
    for label in labels:
        confidence = float(label.get("Confidence", 0.0)) / 100
        if label.get("Name") in EXPLICIT:
            score = max(score, confidence)
        elif label.get("Name") in NON_EXPLICIT:
            score = max(score, min(confidence, _BELOW_FLAG))
    score = round(min(1.0, score), 5)
    return Moderation(score=score, level=level(score))


def rekognition_moderation_labels(moderation: Moderation) -> list[dict[str, Any]]:
    """Our score as the labels DetectModerationLabels would give: a flagged photo is explicit
    nudity, one to review non-explicit nudity, a safe one (under MIN_CONFIDENCE, which is the
    review threshold) has none, as Rekognition gives none for a photo under the client's
    MinConfidence."""
    confidence = _percent(moderation.score)
    if moderation.level is ModerationLevel.FLAGGED:
        top, second = "Explicit", "Explicit Nudity"
    elif moderation.level is ModerationLevel.REVIEW:
        top, second = _NON_EXPLICIT_TOP, "Non-Explicit Nudity"
    else:
        return []
    return [
        {"Confidence": confidence, "Name": top, "ParentName": "", "TaxonomyLevel": 1},
        {"Confidence": confidence, "Name": second, "ParentName": top, "TaxonomyLevel": 2},
    ]
