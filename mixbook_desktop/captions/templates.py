"""Captions and titles written from the facts by code, for when no model text passes.

Each tone has a few sentence shapes; the first one whose every slot can be filled and that
passes the same checks as model text is used, so a fallback is never worse than the facts.
"""

from __future__ import annotations

import re

from mixbook_desktop.captions import validate
from mixbook_desktop.captions.facts import daytime_in
from mixbook_desktop.core.captions import TITLE_RULES, Facts, Rules, TextKind, Tone
from mixbook_desktop.core.describe import town

_NUMBERS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

_PHOTO_SHAPES: dict[Tone, list[str]] = {
    Tone.NEUTRAL: [
        "{subject} in {town}, {month}.",
        "{subject} on a {season} {daytime} in {town}.",
        "{subject} on a {season} {daytime}.",
        "{subject} in {town}.",
        "{subject}, photographed in {month}.",
        "{subject}, just as we saw it that day.",
    ],
    Tone.HEARTFELT: [
        "{subject} in {town}, a {season} to remember.",
        "{subject}, one {season} {daytime} we will keep.",
        "{subject}, a moment we will always treasure.",
        "{subject}, and a day we will always remember.",
    ],
    Tone.PLAYFUL: [
        "{subject} in {town}, and not a care in sight.",
        "{subject}, starring in this {season} {daytime} show.",
        "{subject}, stealing the show as usual.",
        "{subject}, and absolutely no regrets.",
    ],
    Tone.MINIMAL: [
        "{town}, {month}. {subject}.",
        "{subject}. A {season} {daytime}.",
        "{subject}, {month}. Simply as it was.",
        "{subject}, simply as it was that day.",
        "{subject}. Just this, just then, just us.",
    ],
    Tone.TRAVEL: [
        "{town} in {month_only}: {subject_lower} along the way.",
        "Notes from {town}: {subject_lower}, {month}.",
        "Somewhere on our way: {subject_lower}, {month}.",
        "From our journal: {subject_lower}, one {season} {daytime}.",
        "From our journal: {subject_lower} along the way.",
    ],
}
_TITLE_SHAPES: dict[TextKind, list[str]] = {
    TextKind.BOOK_TITLE: [
        "{town} {year}",
        "Our {season_title} in {town}",
        "{people_title}, {year}",
        "{year} in Pictures",
        "Our {season_title} Album",
        "Moments to Keep",
    ],
    TextKind.CHAPTER_TITLE: [
        "{town}, {month_only}",
        "{weekday} in {town}",
        "{tag_article} {tag_title} Day",
        "{season_title} {year}",
        "{day_month}",
        "More Moments",
    ],
}


def _subjects(facts: Facts) -> list[str]:
    """Ways to say who or what the photo shows, longest first."""
    names = list(facts.people)
    smiling = facts.mood == "smiling"
    out: list[str] = []
    if names:
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        out += [f"{who}, all smiles"] if smiling else []
        out.append(who)
    if facts.told:
        # The description's subject: drop its place and date, which the shapes add themselves.
        subject = re.sub(r",? (near|in) [^,.]+", "", facts.told.rstrip("."))
        subject = re.sub(r",? [A-Z][a-z]+ \d{4}$", "", subject).strip()
        if subject and not names:
            out.append(subject)
            short = re.split(r" (?:by|on|in|at|with) ", subject, maxsplit=1)[0]
            if short != subject:
                out.append(short)
    if facts.face_count and not names:
        count = _NUMBERS[facts.face_count] if facts.face_count <= 10 else "so many"
        if facts.face_count == 1:
            out.append("A happy smile" if smiling else "A portrait")
        else:
            out.append(f"{count.capitalize()} smiling faces" if smiling else f"{count.capitalize()} of us")
    named = [text for what, text in facts.quoted if what == "file name"]
    if not out and named:
        out.append(named[0][:1].upper() + named[0][1:])
    return out or ["This moment"]


def _slots(facts: Facts, subject: str) -> dict[str, str | None]:
    month = re.search(r"([A-Z][a-z]+) (\d{4})", facts.when or "")
    year = re.findall(r"\d{4}", facts.when or "")
    weekday = re.match(
        r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) (\d+) ([A-Z][a-z]+)", facts.when or ""
    )
    daytime = daytime_in(facts.when)
    tag = facts.tags[0] if facts.tags else None
    return {
        "subject": subject,
        "subject_lower": subject[:1].lower() + subject[1:] if subject and not facts.people else subject,
        "town": town(facts.place.split(";")[0]) if facts.place else None,
        "month": f"{month.group(1)} {month.group(2)}" if month else None,
        "month_only": month.group(1) if month else None,
        "year": " to ".join(dict.fromkeys(year)) if year else None,
        "season": facts.season,
        "season_title": facts.season.capitalize() if facts.season else None,
        "daytime": daytime or ("day" if facts.when else None),
        "weekday": weekday.group(1) if weekday else None,
        "day_month": f"{weekday.group(2)} {weekday.group(3)}" if weekday else None,
        "people_title": " and ".join(facts.people[:2]) or None,
        "tag_title": tag.capitalize() if tag else None,
        "tag_article": ("An" if tag[0] in "aeiou" else "A") if tag else None,
    }


def _fill(shape: str, slots: dict[str, str | None]) -> str | None:
    needed = re.findall(r"{(\w+)}", shape)
    if any(not slots.get(name) for name in needed):
        return None
    text = shape.format(**{k: v or "" for k, v in slots.items()})
    return text[:1].upper() + text[1:]


def template_text(facts: Facts, tone: Tone, rules: Rules) -> str:
    """The first filled shape that passes the checks, trying shorter subjects as needed."""
    rules = TITLE_RULES.get(facts.kind, rules)
    shapes = _PHOTO_SHAPES[tone] if facts.kind is TextKind.PHOTO else _TITLE_SHAPES[facts.kind]
    filled: list[str] = []
    for subject in _subjects(facts):
        slots = _slots(facts, subject)
        for shape in shapes:
            text = _fill(shape, slots)
            if text is None:
                continue
            if not validate.problems(text, facts, rules):
                return text
            filled.append(text)
    if facts.kind is not TextKind.PHOTO:
        return "Our Photobook"
    # No shape fits the word range: the subject and plain words, cut to the range.
    subject = _subjects(facts)[-1].rstrip(".")
    tokens = f"{subject}, one moment from our photobook".split()
    return " ".join(tokens[: rules.max_words]).rstrip(",") + "."
