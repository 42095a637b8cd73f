"""The one interface every caption model backend implements, and what it returns."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


class GeneratorError(Exception):
    """The model could not be loaded or reached, or failed while generating; says why."""


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.7
    top_p: float = 0.9
    max_tokens: int = 40
    seed: int = 0
    stop: tuple[str, ...] = ("\n",)
    # A backend that can steer sampling keeps the text from ending before this many words;
    # others ignore it, and the checks refuse short text either way.
    min_words: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "stop": list(self.stop),
            "min_words": self.min_words,
        }


@dataclass(frozen=True)
class Generated:
    text: str
    finish: str  # "stop", "length" (hit max_tokens: the text may be unfinished) or "cancelled"
    prompt_tokens: int
    tokens: int
    seconds: float
    # The model's mean log-probability of the tokens it wrote, when the backend can see it.
    mean_logprob: float | None = None


class CaptionGenerator(Protocol):
    """A chat model that completes `messages` one token at a time.

    `on_token` receives each piece of text as it arrives; when `cancel` is set, generation
    stops before the next token and the result has finish "cancelled". Implementations are
    used from one thread at a time."""

    @property
    def name(self) -> str:
        """What made the text, for provenance: a model file's name, or endpoint and model."""
        ...

    @property
    def model_sha256(self) -> str | None:
        """The SHA-256 of the model file, when the backend can know it."""
        ...

    def generate(
        self,
        messages: list[Message],
        sampling: Sampling,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Generated: ...

    def close(self) -> None:
        """Free the model (a later generate loads it again)."""
        ...
