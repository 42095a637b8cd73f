"""A one-sentence factual description of a photo, built only from what is known about it.

"Three smiling people on a beach near Santa Cruz, July 2023." It is used for accessibility
(alt text in the PDF) and as a fact for captions, so it never guesses beyond the facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from mixbook_desktop.core.analysis import Emotion

_NUMBERS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
# Only moods the model reads reliably are put into words: smiles are read well, while the
# facial-expression model confuses neutral faces with sad or fearful ones (MODELS.md), and a
# wrong "sad-looking" in a family book is worse than saying nothing.
_MOOD_WORDS = {Emotion.HAPPY: "smiling"}
# Where a tag places the scene; the first one present wins.
_SETTINGS = [
    ("beach", "on a beach"),
    ("snow", "in the snow"),
    ("mountain", "in the mountains"),
    ("water", "by the water"),
    ("city", "in the city"),
    ("building", "by a building"),
    ("home", "at home"),
]
# What a photo without people shows, for the tag that describes it best.
_SUBJECTS = {
    "dog": "a dog",
    "cat": "a cat",
    "bird": "a bird",
    "fish": "a fish",
    "horse": "a horse",
    "animal": "an animal",
    "food": "food",
    "drink": "a drink",
    "flower": "flowers",
    "car": "a car",
    "boat": "a boat",
    "aircraft": "an aircraft",
    "train": "a train",
    "bicycle": "a bicycle",
    "vehicle": "a vehicle",
    "building": "a building",
    "city": "a city street",
    "beach": "a beach",
    "mountain": "mountains",
    "snow": "a snowy scene",
    "water": "the water",
    "nature": "nature",
    "music": "music",
    "sport": "sport",
    "celebration": "a celebration",
    "home": "a room at home",
    "computer": "a computer",
}
_FINE_NAMED = {"food", "drink", "flower", "car"}  # dog breeds are often wrong
# A tag is put into words only from this score. Over the development corpus most tags under
# it were wrong (wisteria as "animal", a surfer as "animal", a naval portrait as
# "celebration") and most over it right; a sentence that says less beats one that is false.
SURE_FROM = 0.4


def sure_tags(tags: Sequence[tuple[str, float, Sequence[str]]]) -> list[tuple[str, float, Sequence[str]]]:
    return [t for t in tags if t[1] >= SURE_FROM]


def _count(n: int) -> str:
    return _NUMBERS[n] if n < len(_NUMBERS) else str(n)


def _article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _people_phrase(names: Sequence[str], face_count: int, mood: Emotion | None) -> str:
    mood_word = _MOOD_WORDS.get(mood) if mood else None
    others = face_count - len(names)
    if names:
        listed = list(names)
        if others > 0:
            listed.append(f"{_count(others)} other{'s' if others > 1 else ''}")
        joined = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
        return f"{joined} {mood_word}" if mood_word else joined
    if face_count == 1:
        return _article(f"{mood_word} person") if mood_word else "a person"
    noun = f"{mood_word} people" if mood_word else "people"
    return f"{_count(face_count)} {noun}"


def _when(taken_at: str | None) -> str | None:
    if not taken_at:
        return None
    try:
        stamp = dt.datetime.fromisoformat(taken_at)
    except ValueError:
        return None
    return stamp.strftime("%B %Y")


def town(place: str | None) -> str | None:
    """Places are stored as "Town, Region, Country"; the town reads best in a sentence."""
    return place.split(",")[0].strip() if place else None


def describe(
    face_count: int,
    names: Sequence[str],
    mood: Emotion | None,
    tags: Sequence[tuple[str, float, Sequence[str]]],
    place: str | None,
    taken_at: str | None,
) -> str:
    """The sentence, from: faces, named people among them, overall mood, (tag, score, fine
    classes) best first, place name and capture time (ISO 8601)."""
    tags = sure_tags(tags)
    tag_names = [t for t, _, _ in tags]
    if face_count > 0:
        subject = _people_phrase(names, face_count, mood)
        setting = next((phrase for tag, phrase in _SETTINGS if tag in tag_names), None)
        extras = [w for w in ("dog", "cat") if w in tag_names]
        if extras:
            subject += f" with {_article(extras[0])}"
        elif setting is None and ("food" in tag_names or "drink" in tag_names):
            subject += " with food" if "food" in tag_names else " with drinks"
    else:
        subject, chosen = "a photo", None
        # The most specific subject present wins: "a dog" says more than "an animal".
        for name in _SUBJECTS:
            found = next((t for t in tags if t[0] == name), None)
            if found is not None:
                tag, score, fine = found
                chosen = tag
                subject = _SUBJECTS[tag]
                if tag in _FINE_NAMED and fine and score >= 0.5:
                    subject = fine[0] if tag in ("food", "flower") else _article(fine[0])
                break
        setting = next((phrase for tag, phrase in _SETTINGS if tag in tag_names and tag != chosen), None)
    parts = [subject]
    if setting:
        parts.append(setting)
    where = town(place)
    if where:
        parts.append(f"near {where}")
    sentence = " ".join(parts)
    when = _when(taken_at)
    if when:
        sentence += f", {when}"
    return sentence[:1].upper() + sentence[1:] + "."
