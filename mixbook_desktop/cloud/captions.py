"""Caption models elsewhere than on this machine: an OpenAI-compatible endpoint or Bedrock,
configured by the book's cloud settings and reached with credentials from outside the book."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from mixbook_desktop.captions.bedrock_backend import BedrockGenerator
from mixbook_desktop.captions.generator import CaptionGenerator, Generated, GeneratorError, Message, Sampling
from mixbook_desktop.captions.openai_backend import OpenAICompatibleGenerator
from mixbook_desktop.cloud import aws
from mixbook_desktop.cloud.config import CloudError, CloudSettings, load_json

# The environment variable an OpenAI-compatible endpoint's key is read from, then the keyring.
API_KEY_ENV = "MIXBOOK_OPENAI_API_KEY"
API_KEY_NAME = "openai_api_key"


def openai_api_key() -> str | None:
    return os.environ.get(API_KEY_ENV) or aws.keyring_secret(API_KEY_NAME)


class Unavailable:
    """Stands in for a backend that cannot be set up (no URL, no credentials): each request
    fails with the reason, and suggestions fall back to templates as for any failed model."""

    def __init__(self, backend: str, reason: str) -> None:
        self._backend, self._reason = backend, reason

    @property
    def name(self) -> str:
        return f"{self._backend} (unavailable)"

    @property
    def model_sha256(self) -> str | None:
        return None

    def generate(
        self,
        messages: list[Message],
        sampling: Sampling,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Generated:
        raise GeneratorError(self._reason)

    def close(self) -> None:
        return


def remote_generator(backend: str, saved: dict[str, Any]) -> CaptionGenerator:
    try:
        return _remote(backend, saved)
    except GeneratorError as exc:
        return Unavailable(backend, str(exc))


def _remote(backend: str, saved: dict[str, Any]) -> CaptionGenerator:
    settings: CloudSettings = load_json(saved)
    if backend == "openai":
        if not settings.openai_url:
            raise GeneratorError("no OpenAI-compatible URL is set (cloud --openai-url URL)")
        return OpenAICompatibleGenerator(
            settings.openai_url, settings.openai_model or "default", api_key=openai_api_key()
        )
    if backend == "bedrock":
        if not settings.bedrock_model:
            raise GeneratorError("no Bedrock model is set (cloud --bedrock-model ID)")
        try:
            options = aws.credential_options(settings)
        except CloudError as exc:
            raise GeneratorError(str(exc)) from None
        return BedrockGenerator(
            settings.bedrock_model,
            region=settings.region,
            endpoint_url=settings.bedrock_endpoint,
            config=aws.config(),
            **options,
        )
    raise GeneratorError(f"unknown caption backend {backend!r}")
