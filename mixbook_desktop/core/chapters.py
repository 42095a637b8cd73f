"""A book's photos grouped into chapters (events) by breaks in time and jumps in place.

Pure: plain values in, plain values out. Captions use a photo's chapter as a fact and title the
chapters; the book layout will use them to break pages.

Times are compared as local wall-clock time, the time the camera showed, whether or not the
importer stored a UTC offset. A camera without an offset and a phone with one, shooting the same
scene, then interleave correctly; converting to UTC would shift one against the other by the
offset. Wall-clock time is also what "a night" and "a new day" mean to the photographer. The cost
is that crossing time zones stretches or shrinks the gap around a journey, which the place rule
covers anyway.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

# A break this long ends an event even within one day: a morning and an evening eight hours
# apart are different outings, while lunch or a drive (a few hours) stays inside a day's chapter.
GAP_HOURS = 8.0

# A night's sleep, even a short one, is the real break between the days of a holiday. A gap of
# this length that passes DAY_STARTS_AT is taken as one: 23:30 -> 06:30 (seven hours) splits.
# Four hours, not three, so a red-eye start or a late party followed by a sunrise shot of the
# same trip is less likely to be cut.
NIGHT_GAP_HOURS = 4.0

# The photographer's day starts at 04:00, not midnight: a party or a day trip that runs past
# midnight belongs to the evening before. Few people are both awake and shooting at 04:00.
DAY_STARTS_AT = dt.time(4, 0)

# Two places this far apart are different destinations (another city, not another part of
# town or a day's hike), when shooting paused for at least TRAVEL_GAP_HOURS between them, as it
# does for a flight or a long drive. Photos taken from a moving train minutes apart never pause
# that long, so they stay one chapter however far they span.
FAR_KM = 50.0
TRAVEL_GAP_HOURS = 1.0

# The mean Earth radius (IUGG); haversine on a sphere is within 0.5% of the ellipsoid.
EARTH_RADIUS_KM = 6371.0088

UNDATED_KEY = "undated"

# No merging of one-photo chapters into a neighbour: every split above stands for a night or a
# journey, which a merge would undo, and a merge that depends on the neighbours' sizes would
# let one newly added photo move another into a different chapter. The layout can put small
# chapters together on a page if it wants to.


@dataclass(frozen=True)
class Moment:
    """What grouping needs to know about one photo."""

    photo_id: int
    order: int  # import/file order, used when a photo has no time
    taken_at: str | None  # ISO 8601 as stored by the importer; the offset may be missing
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Chapter:
    photo_ids: tuple[int, ...]  # time order; file order for the undated chapter
    start: str | None  # taken_at of the first photo; None for the undated chapter
    end: str | None  # taken_at of the last photo
    dated: bool  # False only for the one chapter of photos without a usable time
    # Titles are stored under this, so it must survive re-runs: "p<first photo id>" stays the
    # same while photos are added later in the chapter or elsewhere in the book. There is at
    # most one undated chapter, so it has a fixed key rather than one that changes when its
    # first photo gets a date.
    key: str


@dataclass(frozen=True)
class _Dated:
    moment: Moment
    local: dt.datetime  # naive wall-clock time


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance by the haversine formula."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _wall_clock(taken_at: str | None) -> dt.datetime | None:
    if not taken_at:
        return None
    try:
        stamp = dt.datetime.fromisoformat(taken_at)
    except ValueError:
        return None  # an unreadable time is no better than none: the photo goes undated
    return stamp.replace(tzinfo=None)


def _photo_day(local: dt.datetime) -> dt.date:
    start = dt.timedelta(hours=DAY_STARTS_AT.hour, minutes=DAY_STARTS_AT.minute)
    return (local - start).date()


def _hours(a: _Dated, b: _Dated) -> float:
    return (b.local - a.local).total_seconds() / 3600


def _position(m: Moment) -> tuple[float, float] | None:
    return None if m.lat is None or m.lon is None else (m.lat, m.lon)


def _time_breaks(photos: list[_Dated], gap_hours: float, night_gap_hours: float) -> set[int]:
    """Indices i where a chapter starts at photos[i] because of the time before it."""
    breaks: set[int] = set()
    for i in range(1, len(photos)):
        prev, cur = photos[i - 1], photos[i]
        gap = _hours(prev, cur)
        overnight = _photo_day(prev.local) != _photo_day(cur.local)
        if gap >= gap_hours or (overnight and gap >= night_gap_hours):
            breaks.add(i)
    return breaks


def _travel_breaks(
    photos: list[_Dated], breaks: set[int], far_km: float, travel_gap_hours: float
) -> set[int]:
    """Indices where a chapter starts because the place jumped between two photos with GPS.

    Photos without GPS between the two positions may belong to either place, so the cut goes
    at the longest pause between them: that is when the journey happened."""
    travel: set[int] = set()
    last: tuple[int, tuple[float, float]] | None = None  # index and position of the last fix
    for i, photo in enumerate(photos):
        here = _position(photo.moment)
        if here is None:
            continue
        if last is not None:
            j, there = last
            span = range(j + 1, i + 1)
            if distance_km(*there, *here) >= far_km and not breaks.intersection(span):
                cut = max(span, key=lambda k: _hours(photos[k - 1], photos[k]))
                if _hours(photos[cut - 1], photos[cut]) >= travel_gap_hours:
                    travel.add(cut)
        last = (i, here)
    return travel


def _chapter(photos: list[_Dated]) -> Chapter:
    first = photos[0].moment
    return Chapter(
        photo_ids=tuple(p.moment.photo_id for p in photos),
        start=first.taken_at,
        end=photos[-1].moment.taken_at,
        dated=True,
        key=f"p{first.photo_id}",
    )


def group_chapters(
    moments: Sequence[Moment],
    *,
    gap_hours: float = GAP_HOURS,
    night_gap_hours: float = NIGHT_GAP_HOURS,
    far_km: float = FAR_KM,
    travel_gap_hours: float = TRAVEL_GAP_HOURS,
) -> list[Chapter]:
    """The chapters of a book in time order, then one chapter of the undated photos, if any.

    A chapter ends at a pause of gap_hours, at a pause of night_gap_hours over the start of a
    day (DAY_STARTS_AT), or where two photos with GPS are far_km apart with a pause of
    travel_gap_hours between them. Photos without GPS never split by place."""
    dated: list[_Dated] = []
    undated: list[Moment] = []
    for m in moments:
        local = _wall_clock(m.taken_at)
        if local is None:
            undated.append(m)
        else:
            dated.append(_Dated(m, local))
    dated.sort(key=lambda d: (d.local, d.moment.order, d.moment.photo_id))
    undated.sort(key=lambda m: (m.order, m.photo_id))

    breaks = _time_breaks(dated, gap_hours, night_gap_hours)
    breaks |= _travel_breaks(dated, breaks, far_km, travel_gap_hours)
    bounds = [0, *sorted(breaks), len(dated)] if dated else []
    chapters = [_chapter(dated[a:b]) for a, b in pairwise(bounds)]

    if undated:
        ids = tuple(m.photo_id for m in undated)
        chapters.append(Chapter(photo_ids=ids, start=None, end=None, dated=False, key=UNDATED_KEY))
    return chapters
