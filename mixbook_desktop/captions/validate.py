"""Checks a model's text against the facts and the rules, and ranks the texts that pass.

A small model invents: names ("my sister Anna"), places, times of day, animals from the
examples, and it loops. Each check below names what it refused, so the refused candidates can
be stored with their reasons and the checks tuned on real output.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable

from mixbook_desktop.captions.facts import DAYTIMES, daytime_in
from mixbook_desktop.core.captions import Candidate, Facts, Rules, TextKind


def _wordset(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)
_MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
}  # fmt: skip
_WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_SEASONS = {"spring", "summer", "autumn", "winter"}
# Times of day and the ones they agree with.
_TIMES = {
    "morning": {"morning"},
    "sunrise": {"morning"},
    "dawn": {"morning"},
    "noon": {"afternoon", "morning"},
    "afternoon": {"afternoon"},
    "evening": {"evening"},
    "sunset": {"evening"},
    "dusk": {"evening"},
    "night": {"night", "evening"},
    "tonight": {"night", "evening"},
}
# Things a caption may only name when the analysis found them: word -> tags that allow it.
_THINGS: dict[str, set[str]] = {}
for _tags, _words in [
    ({"dog"}, "dog dogs puppy puppies pup pups hound"),
    ({"cat"}, "cat cats kitten kittens kitty"),
    ({"bird"}, "bird birds"),
    ({"horse"}, "horse horses pony"),
    ({"fish"}, "fish"),
    ({"beach"}, "beach beaches sand sandy shore seaside"),
    ({"beach", "water", "boat"}, "sea ocean waves wave"),
    ({"water", "boat", "beach"}, "water lake river harbour harbor"),
    ({"boat"}, "boat boats ship ships sailing yacht ferry"),
    ({"snow"}, "snow snowy ski skiing snowman"),
    ({"mountain"}, "mountain mountains peak peaks summit alps hike hiking"),
    ({"city", "building"}, "city street streets town downtown"),
    ({"building", "city"}, "building buildings church cathedral tower castle palace"),
    ({"car", "vehicle"}, "car cars"),
    ({"vehicle", "train"}, "train trains bus"),
    ({"aircraft", "vehicle"}, "plane planes airplane aircraft flight"),
    ({"bicycle"}, "bike bikes bicycle cycling"),
    ({"flower", "nature"}, "flower flowers bloom blossom"),
    ({"nature"}, "forest woods trees"),
    ({"food"}, "food meal dinner lunch breakfast feast"),
    ({"drink"}, "drink drinks"),
    # Particular dishes and drinks only when the analysis named them ("pizza", "espresso").
    (set(), "pizza cake bread dessert bakery pasta burger salad coffee espresso tea wine beer"),
    (set(), "cocktail jelly cheese chocolate ice-cream sandwich soup fruit"),
    (set(), "bagel bagels croissant croissants pastry pastries muffin muffins cookie cookies donut"),
    (set(), "donuts doughnut pie pancake pancakes noodles rice sushi steak fries eggs"),
    (set(), "park garden playground museum restaurant cafe shop market hotel bar pub"),
    (set(), "donkey cow cows sheep goat pig chicken duck ducks lion tiger elephant bear monkey"),
    (set(), "butterfly shark whale dolphin snake"),
    # Clothes and colours are what a small model adds most readily and sees least.
    (set(), "hat hats dress shirt jacket glasses sunglasses scarf shoes"),
    (set(), "red pink blue green yellow purple orange brown"),
    ({"celebration"}, "birthday party wedding celebration"),
    # "home" says indoors at home, not which room.
    (set(), "kitchen bedroom bathroom sofa couch"),
    ({"music"}, "music guitar piano concert"),
    ({"sport"}, "game match ball football soccer"),
    ({"computer"}, "computer laptop"),
    (set(), "hospital office classroom"),
]:
    for _w in _words.split():
        _THINGS[_w] = _tags
# Words that put people in the photo, or say how they feel.
_PEOPLE = _wordset(
    "people person friends friend family faces face kids children child couple crew team "
    "everyone everybody guys girls boys mother father mom dad sister brother grandma grandpa "
    "locals crowd tourists visitors strangers owner owners girl boy man woman men women lady "
    "guy baby babies human humans"
)
_SMILES = {"smile", "smiles", "smiling", "smiled", "grin", "grins", "grinning", "laugh", "laughs", "laughing"}
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_WEATHER = {"rainy", "rain", "cloudy", "stormy", "storm", "foggy", "fog", "windy", "sunny", "weather"}
# Time told from the day the book is made, which no photo knows.
_RELATIVE = re.compile(r"\b(yesterday|tomorrow|last (week|month|year|summer|winter|spring|autumn))\b", re.I)
# Text that talks about the task instead of the photo, or obeys text it was shown.
_LEAKS = {
    "spam",
    "instruction",
    "instructions",
    "prompt",
    "ignore",
    "assistant",
    "hashtag",
    "hashtags",
    "quote",
    "sentence",
}
_LEAK_PHRASES = re.compile(r"\b(file name|quoted|written in the photo)\b", re.I)
_LABELS = re.compile(r"\b(photo|when|place|people|faces|things|chapter|photos|caption|title|facts)\s*:", re.I)
_DANGLING = _wordset(
    "a an the and or but of with to in at on for from by my our your their his her its is are "
    "was were be as that this these those than so very"
)
# Titles are written in title case, so there every word may be capitalised; these common
# title words are not names.
_TITLE_WORDS = _wordset(
    "day days moments moment memories album pictures photos story stories year years adventure "
    "adventures journey trip holiday holidays vacation weekend time times life love home "
    "together family friends party dinner lunch walk walks road sea seaside "
    "shore coast light sun snow trail days nights night morning evening afternoon keep remember "
    "is are of and in at on to by with under over our my a an the little big great best sweet "
    "simple quiet happy golden wild long short first last good old new more"
)
# Common words that may open a sentence capitalised without being a name.
_STARTERS = _wordset(
    "a an the one two three four five six seven eight nine ten our my we us this that these it "
    "those here there what when where who how why just all every some another no not only "
    "in on at under by after before along across through over from with without into out up "
    "down off around near beside between behind during since until after "
    "sunny lazy happy sweet little big old new first last best beautiful lovely golden bright "
    "quiet cozy cosy fluffy warm cold fresh perfect proud good great long late early busy "
    "morning evening afternoon night summer winter spring autumn beach snow sun sea "
    "home time together welcome cheers hello goodbye days day love life family friends"
)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def _fold(word: str) -> str:
    return word.lower().replace("’", "'").removesuffix("'s")


def _fact_words(facts: Facts, extra: Iterable[str] = ()) -> set[str]:
    texts = [
        facts.when,
        facts.season,
        facts.place,
        facts.description,
        facts.chapter,
        facts.mood,
        *facts.people,
        *facts.tags,
        *facts.subjects,
        *(text for _, text in facts.quoted),
        *extra,
    ]
    found = {_fold(w) for t in texts if t for w in words(t)}
    return found | {w + "s" for w in found}  # "kite festival" allows "Kites"


def adds_to(text: str, facts: Facts) -> bool:
    """Whether `text` says anything the facts do not: a word they lack, other than one for
    the people already counted in them."""
    known = _fact_words(facts)
    return any(
        w not in known and w not in _DANGLING and not (facts.has_people and w in _PEOPLE)
        for w in (_fold(word) for word in words(text))
    )


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


def clean(text: str) -> str:
    """The model's text without wrapping quotes, a leading label or stray spaces."""
    text = " ".join(text.split())
    text = re.sub(r"^(caption|title)\s*:\s*", "", text, flags=re.I)
    for left, right in ('""', "''", "“”", "``", "**"):
        if len(text) > 1 and text.startswith(left) and text.endswith(right):
            text = text[1:-1].strip()
    return text


def problems(
    text: str,
    facts: Facts,
    rules: Rules,
    finish: str = "stop",
    allowed: Iterable[str] = (),
) -> list[str]:
    """Every reason to refuse `text`; empty when it may be shown. `allowed` adds words the
    user supplied (the style hint) to those the facts allow."""
    found: list[str] = []
    tokens = words(text)
    if not tokens:
        return ["empty"]
    if not rules.min_words <= len(tokens) <= rules.max_words:
        found.append(f"{len(tokens)} words ({rules.min_words}-{rules.max_words} wanted)")
    if finish == "length":
        found.append("cut off at the token limit")
    stripped = text.rstrip()
    last = _fold(tokens[-1])
    if (
        stripped.endswith((",", ":", ";", "-", "(", "...", "…"))
        or last in _DANGLING
        or ABBREVIATION.search(stripped)
    ):
        found.append("unfinished sentence")
    if text.count("(") != text.count(")") or text.count('"') % 2:
        found.append("unbalanced brackets or quotes")
    if "(" in text or _LABELS.search(text):
        found.append("repeats the fact labels")
    if "#" in text and not rules.hashtags:
        found.append("hashtag")
    if any(_is_emoji(ch) for ch in text) and not rules.emoji:
        found.append("emoji")
    if re.search(r"https?:|www\.", text, re.I):
        found.append("web address")
    folded = [_fold(w) for w in tokens]
    leaks = sorted({w for w in folded if w in _LEAKS})
    if _LEAK_PHRASES.search(text):
        leaks.append("the fact labels")
    if leaks:
        found.append(f"talks about the task: {', '.join(leaks)}")
    # "Helsinki in August, car, boat.": single words between commas are the fact lines
    # read back, not a sentence.
    names = {_fold(w) for name in facts.people for w in words(name)}
    bare = [
        part.strip(" .!")
        for part in text.split(",")[1:]
        if len(words(part)) == 1 and _fold(words(part)[0]) not in names | {"and"}
    ]
    if len(bare) >= 2:
        found.append(f"a list of words, not a sentence: {', '.join(bare)}")
    if all(w.isdigit() for w in tokens):
        found.append("only numbers")
    found += _repetition(folded)
    found += _inventions(text, folded, facts, _fact_words(facts, allowed))
    return found


def copies_example(text: str, examples: Iterable[str]) -> bool:
    """Nearly the words of a worked example. Not refused: the checks above already keep out
    what the example says and the photo does not; but ranked lower, so a book does not repeat
    one example's sentence under every photo like it."""
    folded = {_fold(w) for w in words(text)}
    return any(_jaccard(folded, {_fold(w) for w in words(example)}) >= 0.7 for example in examples)


def _repetition(folded: list[str]) -> list[str]:
    content = [w for w in folded if len(w) > 2 and w not in _DANGLING]
    repeated = sorted({w for w in content if content.count(w) > 1})
    pairs = list(itertools.pairwise(folded))
    if repeated or len(set(pairs)) < len(pairs):
        return [f"repeats itself: {', '.join(repeated) or 'a phrase'}"]
    return []


def _inventions(text: str, folded: list[str], facts: Facts, known: set[str]) -> list[str]:
    found: list[str] = []
    when = {_fold(w) for w in words(facts.when or "")}
    # Names and places: capitalised words the facts do not contain. A sentence's first word
    # is capitalised anyway, so there only words that cannot be common ones count.
    unknown = []
    title = facts.kind is not TextKind.PHOTO
    for match in _WORD.finditer(text):
        raw, word = match.group(), _fold(match.group())
        if not raw[:1].isupper() or raw == "I" or word in known or word in _MONTHS | _WEEKDAYS:
            continue
        opens = title or not text[: match.start()].strip() or text[: match.start()].rstrip()[-1] in ".!?:"
        common = word in _STARTERS or word in _THINGS or word in _PEOPLE or word in _DANGLING
        common = common or (title and word in _TITLE_WORDS)
        # -ing, -ed and -ly openers are verbs and adverbs ("Sailing past ..."), not names.
        if opens and (common or word.endswith(("ing", "ed", "ly"))):
            continue
        unknown.append(raw)
    if unknown:
        found.append(f"names or places not in the facts: {', '.join(dict.fromkeys(unknown))}")
    months = {w for w in folded if w in _MONTHS and w != "may"} | {w for w in folded if w in _WEEKDAYS}
    # "may" is the verb, and "May" opening a sentence may be too; elsewhere it is the month.
    if re.search(r"(?<![.!?]\s)(?<!^)\bMay\b|\bMay \d", text.strip()):
        months.add("may")
    wrong_dates = sorted(w for w in months if w not in when)
    years = [w for w in folded if re.fullmatch(r"(1[89]|20)\d\d", w) and w not in known]
    numbers = [
        w for w in folded if re.fullmatch(r"\d+(st|nd|rd|th)?", w) and w not in known and w not in years
    ]
    if wrong_dates or years or numbers:
        found.append(f"dates or numbers not in the facts: {', '.join(wrong_dates + years + numbers)}")
    counted = "|".join(_COUNTS)
    spans = re.findall(rf"\b(?:{counted}|\d+) (?:years|months|weeks|days)\b", text, re.I)
    if spans:
        found.append(f"a length of time not in the facts: {', '.join(spans)}")
    relative = _RELATIVE.search(text)
    if relative:
        found.append(f"dates or numbers not in the facts: {relative.group().lower()}")
    seasons = {w for w in folded if w in _SEASONS}
    if seasons and seasons != {facts.season}:
        found.append(f"wrong season: {', '.join(sorted(seasons))}")
    times = {w for w in folded if w in _TIMES}
    if any(not (_TIMES[t] & when) for t in times):
        found.append(f"time of day not in the facts: {', '.join(sorted(times))}")
    things = sorted(
        {w for w in folded if w in _THINGS and w not in known and not (_THINGS[w] & set(facts.tags))}
    )
    if things:
        found.append(f"things not in the photo: {', '.join(things)}")
    weather = sorted({w for w in folded if w in _WEATHER and w not in known})
    if weather:
        found.append(f"weather not in the facts: {', '.join(weather)}")
    if not facts.has_people and any(w in _PEOPLE for w in folded):
        found.append("people, but none in the photo")
    if facts.mood != "smiling" and any(w in _SMILES for w in folded):
        found.append("smiles, but no smile was seen")
    for n, word in enumerate(folded):
        count = _COUNTS.get(word)
        nearby = folded[n + 1 : n + 3]
        people_near = any(w in _PEOPLE or w in _SMILES for w in nearby)
        if count is not None and people_near and count != max(facts.face_count, len(facts.people)):
            found.append(f"says {word} people, the photo has {facts.face_count}")
    return found


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


# How much the model's own confidence in a text counts against its use of the facts: a mean
# log-probability 0.3 nat lower costs as much as one fact left out.
FLUENCY_WEIGHT = 1.0
_META = re.compile(r"\b(in|on|of) (a|the|this) (photo|picture|image|shot)\b", re.I)
COPY_PENALTY = 0.4
# About the median mean log-probability of passing candidates: stands in where it is unknown
# (a backend that does not report it) or meaningless (a copy).
COPY_FLUENCY = -1.0


def score(text: str, facts: Facts, rules: Rules) -> float:
    """Higher is better: uses more of the facts, is near the middle of the length range."""
    folded = [_fold(w) for w in words(text)]
    mentions = 0
    for name in facts.people:
        mentions += all(_fold(w) in folded for w in words(name))
    town = (facts.place or "").split(",")[0]
    if town and all(_fold(w) in folded for w in words(town)):
        mentions += 1
    mentions += sum(1 for w in set(folded) if w in _THINGS and _THINGS[w] & set(facts.tags))
    mentions += sum(1 for w in set(folded) if w in _SEASONS | _MONTHS | set(_TIMES))
    ideal = (rules.min_words + rules.max_words) // 2 + 1
    value = 1.0 + 0.3 * min(mentions, 3) - 0.05 * abs(len(folded) - ideal)
    if _META.search(text):
        value -= 0.5  # "in a photo" says nothing a photobook page does not show
    if text.rstrip().endswith((".", "!")):
        value += 0.1
    described = {_fold(w) for w in words(facts.description or "")}
    if described and _jaccard(set(folded), described) >= 0.8:
        value -= 0.4  # restates the description instead of captioning
    return value


# Short words that end in a full stop without ending a sentence ("St. Albert", "Mt. Fuji").
ABBREVIATION = re.compile(r"\b(St|Ste|Mt|Ft|Pt|Dr|Mr|Mrs|Ms|Jr|Sr|Av|Ave|Rd|No|vs|etc)\.$")


def first_sentence(text: str, rules: Rules) -> str:
    """The first sentence alone when it is long enough: a small model's second sentence is
    mostly a comment on the first ("This is a famous example of ...")."""
    for match in re.finditer(r"[.!?](?=\s+[A-Z\"“])", text):
        first = text[: match.end()]
        if ABBREVIATION.search(first):
            continue  # "St. Ives" goes on
        return first if len(words(first)) >= rules.min_words else text
    return text


def repair(text: str, facts: Facts) -> tuple[str, list[str]]:
    """`text` with a wrong season or time of day replaced by the one in the facts, and a clearly
    wrong article ("a old") put right. Those words are slots with one right answer; a small
    model fills them by chance, and the rest of its sentence is often good. Words that belong
    to a name ("Winter Park", a person called Autumn) are left alone."""
    fixes: list[str] = []
    daytime = daytime_in(facts.when)
    named = {_fold(w) for t in (facts.place, facts.chapter, *facts.people) if t for w in words(t)}
    named |= {_fold(w) for _, t in facts.quoted for w in words(t)}

    def swap(match: re.Match[str]) -> str:
        word = match.group()
        folded = word.lower()
        before = text[: match.start()].rstrip()
        opens = not before or before[-1] in ".!?:"
        if folded in named or (word[0].isupper() and not opens):
            return word  # part of a name
        right = facts.season if folded in _SEASONS else daytime
        if right is None or right == folded or (folded in _TIMES and _TIMES[folded] & {right}):
            return word
        fixes.append(f"{folded} -> {right}")
        return right.capitalize() if word[0].isupper() else right

    pattern = r"\b(" + "|".join(sorted(_SEASONS | set(DAYTIMES))) + r")\b"
    fixed = re.sub(pattern, swap, text, flags=re.I)

    def article(match: re.Match[str]) -> str:
        word, after = match.group(1), match.group(2)
        low = after.lower()
        # Only the clear cases: "u", "eu", "one", "h" and acronyms ("an X-ray") go either way.
        if low[0] in "uh" or low.startswith(("eu", "one", "once")) or (len(after) > 1 and after[1].isupper()):
            return match.group()
        if "-" in after[:2]:
            return match.group()
        right = "an" if low[0] in "aeio" else "a"
        if word.lower() == right:
            return match.group()
        fixes.append(f"{word.lower()} {after} -> {right} {after}")
        return (right.capitalize() if word[0].isupper() else right) + " " + after

    # "A surfing, and ...": the activity the owner named in the file name takes no article.
    bare = re.match(r"(A|An) ([a-z]+ing)(?=[,.:;])", fixed)
    if bare and bare.group(2) in named:
        fixes.append(f"{bare.group(1).lower()} {bare.group(2)} -> {bare.group(2)}")
        fixed = bare.group(2).capitalize() + fixed[bare.end() :]
    fixed = re.sub(r"\b(a|an|A|An)\s+([^\W\d_][\w'’-]*)", article, fixed)
    return fixed, fixes


def judge(
    raw: str,
    facts: Facts,
    rules: Rules,
    finish: str = "stop",
    examples: Iterable[str] = (),
    allowed: Iterable[str] = (),
    fluency: float | None = None,
) -> Candidate:
    cleaned = clean(raw)
    text = first_sentence(cleaned, rules)
    if text != cleaned:
        finish = "stop"  # the part kept ended on its own
    text, fixes = repair(text, facts)
    found = problems(text, facts, rules, finish, allowed)
    value = 0.0
    if not found:
        value = score(text, facts, rules)
        if copies_example(text, examples):
            # The model finds a copy likely because it has just read it: its fluency says
            # nothing about the fit, so a typical value stands in for it.
            value += FLUENCY_WEIGHT * COPY_FLUENCY - COPY_PENALTY
        else:
            value += FLUENCY_WEIGHT * (COPY_FLUENCY if fluency is None else fluency)
    return Candidate(text, tuple(found), value, fluency, tuple(fixes))


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The passing candidates, best first, without repeats."""
    seen: set[str] = set()
    out = []
    for c in sorted((c for c in candidates if c.ok), key=lambda c: -c.score):
        key = " ".join(_fold(w) for w in words(c.text))
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out
