"""The model proposes, code disposes: candidates from the model, checked, ranked, and a
template over the same facts when none passes."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from mixbook_desktop.captions import prompt, templates, validate
from mixbook_desktop.captions.generator import CaptionGenerator, GeneratorError, Sampling
from mixbook_desktop.core.captions import (
    TITLE_RULES,
    Candidate,
    Facts,
    Rules,
    Source,
    Suggestion,
    TextKind,
    Tone,
)

MAX_ALTERNATIVES = 3


class Cancelled(Exception):
    """The user stopped generation; nothing is stored."""


@dataclass(frozen=True)
class Settings:
    tone: Tone = Tone.NEUTRAL
    rules: Rules = field(default_factory=Rules)
    style_hint: str | None = None
    candidates: int = 6  # model attempts per photo; generation stops early with 3 good ones
    temperature: float = 0.6
    # When none of those passes, a few calmer attempts: lower temperature wanders less.
    retries: int = 3
    retry_temperature: float = 0.3


def seed_for(key: str, attempt: int, round_: int = 0) -> int:
    """Same photo, same settings, same round: the same candidates. A regenerate is a new round."""
    digest = hashlib.sha256(f"{key}|{round_}|{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def suggest(
    facts: Facts,
    settings: Settings,
    generator: CaptionGenerator | None,
    key: str,
    round_: int = 0,
    on_token: Callable[[int, str], None] | None = None,
    cancel: threading.Event | None = None,
) -> Suggestion:
    """A suggestion for `facts`. `on_token(attempt, piece)` streams each candidate as it is
    written; setting `cancel` raises Cancelled before the next token."""
    rules = settings.rules if facts.kind is TextKind.PHOTO else TITLE_RULES[facts.kind]
    examples = prompt.all_examples(facts.kind, settings.tone)
    allowed = validate.words(settings.style_hint or "")
    found: list[Candidate] = []
    failure: str | None = None
    if generator is not None:
        chat = prompt.messages(facts, settings.tone, rules, settings.style_hint)
        for attempt in range(settings.candidates + settings.retries):
            if attempt >= settings.candidates and validate.rank(found):
                break
            calm = attempt >= settings.candidates
            sampling = Sampling(
                temperature=settings.retry_temperature if calm else settings.temperature,
                max_tokens=12 + 4 * rules.max_words,
                seed=seed_for(key, attempt, round_),
                min_words=rules.min_words,
            )

            def piece(text: str, attempt: int = attempt) -> None:
                if on_token is not None:
                    on_token(attempt, text)

            try:
                out = generator.generate(chat, sampling, piece, cancel)
            except GeneratorError as exc:
                failure = f"model unavailable: {exc}"
                break
            if out.finish == "cancelled":
                raise Cancelled
            found.append(
                validate.judge(out.text, facts, rules, out.finish, examples, allowed, out.mean_logprob)
            )
            if len(validate.rank(found)) >= MAX_ALTERNATIVES:
                break
    good = validate.rank(found)
    if good:
        return Suggestion(
            text=good[0].text,
            source=Source.MODEL,
            alternatives=tuple(c.text for c in good[1 : 1 + MAX_ALTERNATIVES]),
            candidates=tuple(found),
        )
    if failure is None:
        failure = "no model configured" if generator is None else "no model candidate passed the checks"
    text = templates.template_text(facts, settings.tone, rules)
    return Suggestion(text=text, source=Source.TEMPLATE, candidates=tuple(found), note=failure)
