"""Captions for a book: the facts of every photo, chapter and the book, a suggestion for each
that needs one, and the user's edits, which nothing here ever overwrites."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mixbook_desktop.captions import validate
from mixbook_desktop.captions.facts import (
    clean_quoted,
    group_facts,
    name_from_file,
    short_place,
    when_words,
)
from mixbook_desktop.captions.generator import CaptionGenerator, GeneratorError
from mixbook_desktop.captions.llama_backend import LlamaCppGenerator, gguf_problem
from mixbook_desktop.captions.suggest import Cancelled, Settings, suggest
from mixbook_desktop.core.captions import Facts, Rules, Source, TextKind, Tone
from mixbook_desktop.core.describe import SURE_FROM
from mixbook_desktop.library.exif import text_fields
from mixbook_desktop.services import catalog
from mixbook_desktop.services.caption_worker import CaptionWorker, caption_threads
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.captions import (
    BOOK_TARGET,
    CaptionStore,
    chapter_target,
    photo_target,
)
from mixbook_desktop.store.project import Project

TONE_KEY, STYLE_KEY, WORDS_KEY, MODEL_KEY = (
    "captions.tone",
    "captions.style",
    "captions.words",
    "captions.model",
)


class CaptionError(Exception):
    """A request that cannot be carried out (unknown photo, bad setting); says why."""


@dataclass(frozen=True)
class Options:
    tone: Tone = Tone.NEUTRAL
    style_hint: str | None = None
    min_words: int = 6
    max_words: int = 10
    model: str | None = None  # a GGUF path; None for the bundled model
    # Where the model runs: "local" (llama.cpp here), "openai" (an OpenAI-compatible
    # endpoint) or "bedrock"; the endpoint's details come from the book's cloud settings.
    # Not part of the provenance: moving a book to another backend keeps its suggestions.
    backend: str = "local"
    remote: dict[str, Any] = field(default_factory=dict, compare=False)

    def settings(self) -> Settings:
        return Settings(
            tone=self.tone, rules=Rules(self.min_words, self.max_words), style_hint=self.style_hint
        )

    def provenance(self) -> dict[str, Any]:
        """What a stored suggestion was made with; a change makes it out of date."""
        s = self.settings()
        return {
            "tone": self.tone.value,
            "style_hint": self.style_hint,
            "rules": s.rules.as_json(),
            "candidates": s.candidates,
            "retries": s.retries,
            "temperature": s.temperature,
            "model": Path(self.model).name if self.model else "default",
        }


def load_options(project: Project) -> Options:
    store = AnalysisStore(project)
    words = store.get_setting(WORDS_KEY) or [6, 10]
    cloud: dict[str, Any] = store.get_setting("cloud") or {}
    return Options(
        tone=Tone(store.get_setting(TONE_KEY) or Tone.NEUTRAL.value),
        style_hint=store.get_setting(STYLE_KEY),
        min_words=int(words[0]),
        max_words=int(words[1]),
        model=store.get_setting(MODEL_KEY),
        backend=str(cloud.get("captions", "local")),
        remote=cloud,
    )


def check_options(
    style_hint: str | None = None,
    words: tuple[int, int] | None = None,
    model: str | None = None,
) -> None:
    """Raise CaptionError, saying why in one line, if save_options would refuse these."""
    if style_hint and clean_quoted(style_hint) is None:
        raise CaptionError("the style hint was refused: keep it short, a description of a style")
    if words is not None:
        low, high = words
        if not 1 <= low <= high <= 40:
            raise CaptionError(f"word range {low}-{high}: give MIN-MAX with 1 <= MIN <= MAX <= 40")
    if model:
        problem = gguf_problem(Path(model).expanduser())
        if problem is not None:
            raise CaptionError(problem)


def save_options(
    project: Project,
    tone: Tone | None = None,
    style_hint: str | None = None,
    words: tuple[int, int] | None = None,
    model: str | None = None,
) -> Options:
    """Changes the book's caption settings; '' clears the style hint or the model. Nothing
    is saved unless every one of them is accepted."""
    check_options(style_hint, words, model)
    store = AnalysisStore(project)
    with project.db.atomic():
        if tone is not None:
            store.set_setting(TONE_KEY, tone.value)
        if style_hint is not None:
            store.set_setting(STYLE_KEY, clean_quoted(style_hint))
        if words is not None:
            store.set_setting(WORDS_KEY, list(words))
        if model is not None:
            store.set_setting(MODEL_KEY, str(Path(model).expanduser().absolute()) if model else None)
    return load_options(project)


@dataclass(frozen=True)
class Target:
    key: str  # "photo:<id>", "chapter:<key>" or "book"
    kind: TextKind
    facts: Facts
    label: str  # for progress and messages: a file name, "chapter 2", "book title"
    sha256: str | None = None
    blocked: str | None = None  # why it gets no caption


OutsideText = dict[str, tuple[tuple[str, str], ...]]  # file path -> cleaned (label, text)


def _outside_text(path: str, seen: OutsideText) -> tuple[tuple[str, str], ...]:
    """The photo's own EXIF text and a human-written file name, cleaned; read once per file."""
    if path not in seen:
        quoted = [(label, cleaned) for label, text in text_fields(path) if (cleaned := clean_quoted(text))]
        from_name = name_from_file(path)
        if from_name:
            quoted.append(("file name", from_name))
        seen[path] = tuple(quoted[:2])
    return seen[path]


def _photo_facts(row: dict[str, Any], chapter: str | None, seen: OutsideText) -> Facts:
    gps = row.get("gps") or {}
    when, which = when_words(row.get("taken_at"), gps.get("lat"))
    faces = row.get("faces") or []
    names = [f["person_name"] for f in faces if f.get("person_name")]
    emotions: dict[str, int] = {}
    for f in faces:
        if f.get("emotion"):
            emotions[f["emotion"]] = emotions.get(f["emotion"], 0) + 1
    # Only tags the description would also state: a caption must not build on a guess.
    tags = [
        lb["name"] for lb in row.get("labels") or [] if lb["name"] != "people" and lb["score"] >= SURE_FROM
    ]
    subjects = [
        lb["classes"][0]
        for lb in row.get("labels") or []
        if lb["name"] in ("food", "drink", "flower") and lb["classes"] and lb["score"] >= 0.5
    ]
    path = row.get("file")
    facts = Facts(
        kind=TextKind.PHOTO,
        when=when,
        season=which,
        place=short_place(row.get("place")),
        people=tuple(dict.fromkeys(names)),
        face_count=len(faces),
        mood="smiling" if row.get("mood") == "HAPPY" else None,
        emotions=tuple(k for k, _ in sorted(emotions.items(), key=lambda kv: -kv[1])),
        tags=tuple(tags[:4]),
        subjects=tuple(subjects),
        description=row.get("description"),
        chapter=chapter,
    )
    # A file name that only repeats what the analysis found ("dog human" under a person with
    # a dog) adds nothing, and a small model reads it back word for word.
    quoted = _outside_text(path, seen) if path else ()
    kept = tuple(q for q in quoted if q[0] != "file name" or validate.adds_to(q[1], facts))
    return replace(facts, quoted=kept)


def collect_targets(project: Project, seen: OutsideText | None = None) -> list[Target]:
    """Chapters first, then the book, then every photo: the order in which each one's facts
    can use the titles before it. `seen` keeps the files' own text between calls."""
    seen = {} if seen is None else seen
    rows = [r for r in catalog.photo_listing(project) if r["status"] == "ok"]
    store = CaptionStore(project)
    mine = store.user_captions()
    ids = AnalysisStore(project).photo_ids()
    by_id = {ids[r["sha256"]]: r for r in rows}
    chapters = catalog.book_chapters(by_id)
    targets: list[Target] = []
    photo_targets: list[Target] = []
    all_facts: list[Facts] = []
    for number, chapter in enumerate(chapters, start=1):
        key = chapter_target(chapter.key)
        # Only a title the user wrote or accepted is a fact; a suggested one is not.
        own = mine.get(key)
        title = own.text if own is not None and own.text else None
        members = [_photo_facts(by_id[pid], title, seen) for pid in chapter.photo_ids]
        all_facts += members
        if len(chapters) > 1:
            facts = group_facts(
                TextKind.CHAPTER_TITLE, members, [by_id[p].get("taken_at") for p in chapter.photo_ids]
            )
            targets.append(Target(key, TextKind.CHAPTER_TITLE, facts, f"chapter {number}"))
        for pid, facts in zip(chapter.photo_ids, members, strict=True):
            row = by_id[pid]
            moderation = row.get("moderation") or {}
            blocked = None
            if not row.get("analysed"):
                blocked = "not analysed yet (run `mixbook-desktop analyze` first)"
            elif moderation.get("override") == "block":
                blocked = "left out by you (`flagged BOOK --reset SHA256` takes it back)"
            elif not moderation.get("cleared"):
                blocked = (
                    "flagged as objectionable (caption it after `flagged BOOK --allow SHA256`)"
                    if moderation.get("flagged")
                    else "not cleared by the content check (see `flagged BOOK`)"
                )
            name = Path(row["file"]).name
            photo_targets.append(
                Target(photo_target(pid), TextKind.PHOTO, facts, name, row["sha256"], blocked)
            )
    book = group_facts(TextKind.BOOK_TITLE, all_facts, [r.get("taken_at") for r in by_id.values()])
    targets.append(Target(BOOK_TARGET, TextKind.BOOK_TITLE, book, "book title"))
    return targets + photo_targets


@dataclass(frozen=True)
class Done:
    target: Target
    text: str | None
    source: Source | None
    note: str | None  # why it was skipped, or why the template was used


@dataclass
class CaptionReport:
    done: list[Done] = field(default_factory=list)
    cancelled: bool = False

    def count(self, source: Source) -> int:
        return sum(1 for d in self.done if d.source is source)


def make_generator(options: Options) -> CaptionGenerator:
    if options.backend == "local":
        return LlamaCppGenerator(Path(options.model) if options.model else None, threads=caption_threads)
    # Remote backends are imported only when chosen: local mode loads no network code.
    from mixbook_desktop.cloud.captions import remote_generator

    return remote_generator(options.backend, options.remote)


def resolve_photo(project: Project, ref: str) -> str:
    """The target of the photo whose SHA-256 is or starts with `ref` (at least 6 characters)."""
    ids = AnalysisStore(project).photo_ids()
    matches = [sha for sha in ids if len(ref) >= 6 and sha.startswith(ref.lower())]
    if len(matches) != 1:
        raise CaptionError(f"{'no' if not matches else 'more than one'} photo has the SHA-256 {ref}")
    return photo_target(ids[matches[0]])


def resolve_target(project: Project, ref: str) -> str:
    """A target from what a user types: a photo's SHA-256 (or its first 6+ characters),
    "book", or "chapter:N" (counted from 1)."""
    if ref == "book":
        return BOOK_TARGET
    if ref.startswith("chapter:"):
        chapters = [t for t in collect_targets(project) if t.kind is TextKind.CHAPTER_TITLE]
        number = ref.split(":", 1)[1]
        if not number.isdigit() or not 1 <= int(number) <= len(chapters):
            raise CaptionError(f"{ref}: the book has {len(chapters)} chapters with titles")
        return chapters[int(number) - 1].key
    return resolve_photo(project, ref)


def caption_book(
    project: Project,
    worker: CaptionWorker | None = None,
    only: Sequence[str] | None = None,
    regenerate: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[Done], None] | None = None,
    on_token: Callable[[Target, int, str], None] | None = None,
    cancel: threading.Event | None = None,
) -> CaptionReport:
    """Suggest text for every target that needs it: none yet, or made with other settings or
    facts, or all of them with `regenerate`. `only` limits the run to these targets. The
    user's own or locked text is never replaced; an explicit regenerate of such a target
    stores new alternatives beside it."""
    options = load_options(project)
    report = CaptionReport()
    own_worker = worker is None
    worker = worker or CaptionWorker(lambda: make_generator(options))
    try:
        # Titles first: each photo's facts name its chapter's title, so photos are gathered
        # again once the titles exist.
        seen: OutsideText = {}
        for titles in (True, False):
            targets = [t for t in collect_targets(project, seen) if (t.kind is not TextKind.PHOTO) == titles]
            if only is not None:
                targets = [t for t in targets if t.key in set(only)]
            _run(
                project,
                options,
                worker,
                targets,
                regenerate,
                only is not None,
                report,
                on_total,
                on_done,
                on_token,
                cancel,
            )
            if report.cancelled:
                break
    finally:
        if own_worker:
            worker.close()
    return report


def _run(
    project: Project,
    options: Options,
    worker: CaptionWorker,
    targets: list[Target],
    regenerate: bool,
    explicit: bool,
    report: CaptionReport,
    on_total: Callable[[int], None] | None,
    on_done: Callable[[Done], None] | None,
    on_token: Callable[[Target, int, str], None] | None,
    cancel: threading.Event | None,
) -> None:
    store = CaptionStore(project)
    latest, mine, rounds = store.latest(), store.user_captions(), store.rounds()
    provenance = options.provenance()
    todo: list[Target] = []
    for t in targets:
        own = mine.get(t.key)
        kept = own is not None and (own.locked or own.text is not None)
        stale = (
            t.key not in latest
            or latest[t.key].settings != provenance
            or latest[t.key].facts != t.facts.as_json()
        )
        skipped: Done | None = None
        if t.blocked:
            skipped = Done(t, None, None, t.blocked)
        elif kept and not (regenerate and explicit):
            if regenerate or stale:
                skipped = Done(t, own.text if own else None, Source.USER, "kept: edited or locked by you")
        elif regenerate or stale:
            todo.append(t)
        if skipped is not None:
            report.done.append(skipped)
            if on_done:
                on_done(skipped)
    if on_total:
        on_total(len(todo))
    settings = options.settings()
    for t in todo:
        round_ = rounds.get(t.key, -1) + 1 if regenerate else rounds.get(t.key, 0)

        def job(
            generator: CaptionGenerator, t: Target = t, round_: int = round_
        ) -> tuple[Any, str, str | None]:
            stream = (lambda n, piece: on_token(t, n, piece)) if on_token else None
            found = suggest(t.facts, settings, generator, t.key, round_, stream, cancel)
            return found, generator.name, _sha_or_none(generator)

        try:
            found, model, sha = worker.submit(job).result()
        except Cancelled:
            report.cancelled = True
            break
        store.add_suggestion(t.key, t.kind, options.tone, found, t.facts, provenance, model, sha, round_)
        done = Done(t, found.text, found.source, found.note)
        report.done.append(done)
        if on_done:
            on_done(done)
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break


def _sha_or_none(generator: CaptionGenerator) -> str | None:
    try:
        return generator.model_sha256
    except GeneratorError:
        return None


def set_caption(project: Project, target: str, text: str) -> None:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise CaptionError("an empty caption: use --clear to go back to the suggestion")
    CaptionStore(project).set_text(target, cleaned, Source.USER, "edited")


def pick(project: Project, target: str, choice: int) -> str:
    """Accept the suggestion (0) or one of its alternatives (1..) as the target's text."""
    store = CaptionStore(project)
    s = store.latest().get(target)
    if s is None:
        raise CaptionError("nothing was suggested for it yet: run `caption` first")
    choices = [s.text, *s.alternatives]
    if not 0 <= choice < len(choices):
        raise CaptionError(f"choose 0 (the suggestion) to {len(choices) - 1}")
    source = s.source if choice == 0 else Source.MODEL
    store.set_text(target, choices[choice], source, f"accepted choice {choice}")
    return choices[choice]


def clear(project: Project, target: str) -> None:
    CaptionStore(project).set_text(target, None, None, "cleared")


def lock(project: Project, target: str, locked: bool) -> None:
    CaptionStore(project).set_locked(target, locked)


def pick_text(project: Project, target: str, text: str) -> str:
    """Accept the suggestion or the alternative that reads `text` (as an editor shows them)."""
    s = CaptionStore(project).latest().get(target)
    choices = [s.text, *s.alternatives] if s else []
    if text not in choices:
        raise CaptionError("that suggestion is no longer there: it was suggested again meanwhile")
    return pick(project, target, choices.index(text))
