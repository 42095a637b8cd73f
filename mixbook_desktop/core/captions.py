"""What captions are made of: the facts they may use, the rules they must keep, the results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Tone(StrEnum):
    NEUTRAL = "neutral"
    HEARTFELT = "heartfelt"
    PLAYFUL = "playful"
    MINIMAL = "minimal"
    TRAVEL = "travel"  # a travel journal


class TextKind(StrEnum):
    """What a piece of book text is for; each kind has its own length and examples."""

    PHOTO = "photo"
    BOOK_TITLE = "book"
    CHAPTER_TITLE = "chapter"


class Source(StrEnum):
    MODEL = "model"
    TEMPLATE = "template"
    USER = "user"


@dataclass(frozen=True)
class Facts:
    """Everything a caption may say, already in words. Nothing else reaches the model.

    `quoted` holds text that came from outside the app's own analysis (the photo's own EXIF
    title, a file name): cleaned, and shown to the model as a quotation, never as an order."""

    kind: TextKind = TextKind.PHOTO
    when: str | None = None  # "Friday 14 July 2023, afternoon"; a range for a chapter or book
    season: str | None = None  # "summer"
    place: str | None = None  # "Santa Cruz, United States"
    people: tuple[str, ...] = ()  # only people the user named
    face_count: int = 0
    mood: str | None = None  # "smiling" when faces read as happy; other moods are not worded
    emotions: tuple[str, ...] = ()  # Rekognition words, most common first
    tags: tuple[str, ...] = ()  # "beach", "dog"
    subjects: tuple[str, ...] = ()  # fine classes kept under tags: "golden retriever"
    description: str | None = None
    chapter: str | None = None  # the chapter's title, when it has one
    photo_count: int = 1  # for chapter and book titles
    quoted: tuple[tuple[str, str], ...] = ()  # (what it is, cleaned text)

    @property
    def has_people(self) -> bool:
        return self.face_count > 0 or bool(self.people)

    @property
    def told(self) -> str | None:
        """The description when it says what the photo shows; "A photo near Lisbon, April
        2019." only repeats the place and time."""
        if self.description and not self.description.lower().startswith("a photo"):
            return self.description
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "when": self.when,
            "season": self.season,
            "place": self.place,
            "people": list(self.people),
            "face_count": self.face_count,
            "mood": self.mood,
            "emotions": list(self.emotions),
            "tags": list(self.tags),
            "subjects": list(self.subjects),
            "description": self.description,
            "chapter": self.chapter,
            "photo_count": self.photo_count,
            "quoted": [list(q) for q in self.quoted],
        }


@dataclass(frozen=True)
class Rules:
    """What a candidate must keep to be shown. Word counts are inclusive."""

    min_words: int = 6
    max_words: int = 10
    hashtags: bool = False
    emoji: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "min_words": self.min_words,
            "max_words": self.max_words,
            "hashtags": self.hashtags,
            "emoji": self.emoji,
        }


# Book and chapter titles are short whatever the caption length is set to.
TITLE_RULES = {
    TextKind.BOOK_TITLE: Rules(min_words=2, max_words=6),
    TextKind.CHAPTER_TITLE: Rules(min_words=1, max_words=5),
}


@dataclass(frozen=True)
class Candidate:
    text: str
    problems: tuple[str, ...] = ()
    score: float = 0.0
    fluency: float | None = None  # the model's mean log-probability of its own tokens
    repairs: tuple[str, ...] = ()  # words the checks put right ("morning -> afternoon")

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.text,
            "problems": list(self.problems),
            "score": round(self.score, 3),
        }
        if self.fluency is not None:
            out["fluency"] = round(self.fluency, 3)
        if self.repairs:
            out["repairs"] = list(self.repairs)
        return out


@dataclass(frozen=True)
class Suggestion:
    """The best candidate, the other good ones, and every candidate with why it was refused."""

    text: str
    source: Source
    alternatives: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    note: str | None = None  # why the template was used, when it was
