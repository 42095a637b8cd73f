"""Facts in words: dates, seasons and places as a caption would say them, and outside text
(EXIF titles, file names, the user's style hint) cleaned before it may be shown to a model."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence

from mixbook_desktop.core.captions import Facts, TextKind

_QUOTED_MAX = 80
# Text a camera writes by itself: it says nothing about the photo.
_CAMERA_JUNK = re.compile(
    r"^(olympus digital camera|sony dsc|digital camera|default|image|picture|photo|untitled|"
    r"exif_jpeg_picture|minolta digital camera|samsung|camera|screenshot)\b",
    re.I,
)
_CAMERA_FILE = re.compile(r"^(img|dsc|dscn|dscf|pxl|p|mvimg|photo|image|screenshot|wp)[-_ ]?\d", re.I)
# A file name that names the device says nothing about what it shows; words for processing
# are dropped from a name and the rest kept ("beach-edited" -> "beach").
_DEVICE_WORDS = re.compile(
    r"\b(iphone|ipad|android|samsung|nokia|huawei|xiaomi|nikon|sony|fujifilm|olympus|pentax|"
    r"panasonic|lumix|gopro|dji|whatsapp)\b",
    re.I,
)
_PROCESSING_WORDS = {"hdr", "edited", "resized", "exported", "compressed", "copy"}
# Outside text that talks to the model rather than about the photo is dropped whole: the
# facts are data, and an instruction in them must not even be seen.
_ORDERS = re.compile(
    r"\b(ignore|disregard|forget|override|instruction|instructions|prompt|system|assistant|"
    r"you are|you must|act as|pretend|respond|reply|answer|output|write|say|print|repeat|"
    r"caption|hashtag)\b|[<>{}\[\]`|\\]|#{2,}|https?:|www\.",
    re.I,
)


def clean_quoted(text: str | None) -> str | None:
    """`text` made safe to quote to a model, or None when it says nothing or gives orders."""
    if not text:
        return None
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = " ".join(text.replace('"', "'").split()).strip(" '.,;:-")
    if not text or len(text) > _QUOTED_MAX or not re.search(r"[^\W\d_]{2}", text):
        return None
    if _CAMERA_JUNK.match(text) or _ORDERS.search(text):
        return None
    return text


def name_from_file(path: str) -> str | None:
    """A file name that a person wrote ("paris-day-2.jpg" -> "paris day 2"), not a camera's."""
    stem = re.sub(r"\.[A-Za-z0-9]{2,5}$", "", path.replace("\\", "/").rsplit("/", 1)[-1])
    if _CAMERA_FILE.match(stem) or re.fullmatch(r"[\W\d_]*|[0-9a-f]{16,}", stem, re.I):
        return None
    # Test-corpus prefixes like "skimage__" are sources, not names; keep only the part after.
    stem = stem.rsplit("__", 1)[-1]
    words = re.sub(r"[_\-.]+", " ", stem).split()
    # Model numbers and counters ("Nokia 8 3 5G", "trip 0042") say nothing a caption can use.
    if sum(any(ch.isdigit() for ch in w) for w in words) > 1 or _DEVICE_WORDS.search(" ".join(words)):
        return None
    words = [w for w in words if w.lower() not in _PROCESSING_WORDS]
    return clean_quoted(" ".join(words))


def _stamp(taken_at: str | None) -> dt.datetime | None:
    if not taken_at:
        return None
    try:
        # The wall-clock time the camera showed, as the chapters use: offsets are dropped.
        return dt.datetime.fromisoformat(taken_at).replace(tzinfo=None)
    except ValueError:
        return None


DAYTIMES = ("morning", "afternoon", "evening", "night")


def time_of_day(hour: int) -> str:
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"


def daytime_in(when: str | None) -> str | None:
    """The time of day that `when` (as when_words writes it) names, if any."""
    return next((t for t in DAYTIMES if re.search(rf"\b{t}\b", when or "")), None)


def season(month: int, lat: float | None) -> str:
    north = ["winter", "winter", "spring", "spring", "spring", "summer"]
    north += ["summer", "summer", "autumn", "autumn", "autumn", "winter"]
    name = north[month - 1]
    if lat is not None and lat < 0:  # the southern hemisphere's seasons are the other way round
        name = {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}[name]
    return name


# Days a date alone names, wherever the photo was taken.
_HOLIDAYS = {
    (12, 24): "Christmas Eve",
    (12, 25): "Christmas Day",
    (12, 31): "New Year's Eve",
    (1, 1): "New Year's Day",
}


def _day(stamp: dt.datetime) -> str:
    holiday = _HOLIDAYS.get((stamp.month, stamp.day))
    return f"{stamp:%A} {stamp.day} {stamp:%B %Y}" + (f", {holiday}" if holiday else "")


def when_words(taken_at: str | None, lat: float | None = None) -> tuple[str | None, str | None]:
    """("Friday 14 July 2023, afternoon", "summer"), from the wall-clock time the camera
    showed; a holiday the date names is added ("Friday 24 December 2021, Christmas Eve, ...")."""
    stamp = _stamp(taken_at)
    if stamp is None:
        return None, None
    return f"{_day(stamp)}, {time_of_day(stamp.hour)}", season(stamp.month, lat)


def span_words(stamps: Sequence[str | None], lat: float | None = None) -> tuple[str | None, str | None]:
    """A chapter's or book's time in words: one day, a month, or "July 2023 to August 2023"."""
    known = sorted(s for s in (_stamp(t) for t in stamps) if s is not None)
    if not known:
        return None, None
    first, last = known[0], known[-1]
    seasons = {season(s.month, lat) for s in known}
    which = seasons.pop() if len(seasons) == 1 else None
    if first.date() == last.date():
        return _day(first), which
    if (first.year, first.month) == (last.year, last.month):
        return f"{first:%B %Y}", which
    if first.year == last.year and last.month - first.month <= 2:
        return f"{first:%B} to {last:%B %Y}", which
    if first.year == last.year:
        return f"{first.year}", which
    return f"{first.year} to {last.year}", which


def short_place(place: str | None) -> str | None:
    """ "Town, Country": enough to tell the model where, without the region's long name."""
    if not place:
        return None
    parts = [p.strip() for p in place.split(",") if p.strip()]
    return ", ".join([parts[0], parts[-1]] if len(parts) > 1 else parts)


def group_facts(
    kind: TextKind, members: Sequence[Facts], stamps: Sequence[str | None], lat: float | None = None
) -> Facts:
    """Facts for a chapter or the whole book, from its photos' facts."""
    when, which = span_words(stamps, lat)
    places: dict[str, int] = {}
    people: dict[str, int] = {}
    tags: dict[str, int] = {}
    for f in members:
        if f.place:
            places[f.place] = places.get(f.place, 0) + 1
        for name in f.people:
            people[name] = people.get(name, 0) + 1
        for tag in f.tags:
            tags[tag] = tags.get(tag, 0) + 1

    def top(counts: dict[str, int], n: int) -> tuple[str, ...]:
        return tuple(k for k, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:n])

    # A place names the chapter or book only where at least half its photos were taken: a
    # title after the one photo with GPS among twenty would misname the rest.
    common = {p: n for p, n in places.items() if 2 * n >= len(members)}
    # Tags likewise: "dog" in three photos of twelve does not make a "Dog Day".
    shared = {t: n for t, n in tags.items() if 2 * n >= len(members)}
    return Facts(
        kind=kind,
        when=when,
        season=which,
        place="; ".join(top(common, 2)) or None,
        people=top(people, 3),
        face_count=sum(f.face_count for f in members),
        tags=top(shared, 4),
        photo_count=len(members),
    )
