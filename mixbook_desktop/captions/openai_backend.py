"""A caption model behind an OpenAI-compatible chat endpoint: llama.cpp's server, vLLM, Ollama, OpenAI.

Standard library only, so a remote model adds no dependency to the app."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from mixbook_desktop.captions.generator import Generated, GeneratorError, Message, Sampling

_EXCERPT_CHARS = 200
# Servers name a cut-off answer differently; anything else is a natural end (stop string,
# end of turn, a content filter), whose text is whole as far as the caller can tell.
_LENGTH_REASONS = {"length", "max_tokens"}


class OpenAICompatibleGenerator:
    """Streams a chat completion from `base_url` (with its `/v1`, as OpenAI clients take it).

    `timeout` bounds the connection and each wait for the next piece of the answer, not the
    whole answer, so a long caption from a slow model is not cut short. Credentials in the URL
    (`http://user:pass@host/v1`) are sent as HTTP Basic auth when there is no `api_key`."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url.strip().rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # The URL itself is not echoed: it may hold a password.
            raise GeneratorError(
                "the caption endpoint must be an http:// or https:// URL, like http://127.0.0.1:8000/v1"
            )
        self._model = model
        self._timeout = timeout
        self._https = parts.scheme == "https"
        self._host = parts.netloc.rpartition("@")[2]
        self._where = f"the caption endpoint at {parts.scheme}://{self._host}{parts.path}"
        self._path = f"{parts.path}/chat/completions"
        self._headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        elif parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self._headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        token = self._headers.get("Authorization", "").partition(" ")[2]
        self._secrets = [s for s in (api_key, parts.password and unquote(parts.password), token) if s]

    @property
    def name(self) -> str:
        return f"openai-compatible:{self._model}@{self._host}"

    @property
    def model_sha256(self) -> str | None:
        return None  # the server does not say which file it loaded

    def close(self) -> None:
        """Nothing to free: each generate opens its own connection and closes it."""

    def generate(
        self,
        messages: list[Message],
        sampling: Sampling,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Generated:
        started = time.monotonic()
        body = {
            "model": self._model,
            "messages": messages,
            **sampling.as_json(),
            "stream": True,
            # Without this OpenAI and vLLM leave token counts out of a stream; others ignore it.
            "stream_options": {"include_usage": True},
        }
        pieces: list[str] = []
        finish: str | None = None
        usage: dict[str, Any] | None = None
        connection = self._connect()
        try:
            with self._post(connection, json.dumps(body).encode()) as response:
                for data in _sse_data(response):
                    if data == "[DONE]":
                        finish = finish or "stop"
                        break
                    piece, reason, chunk_usage = self._parse_chunk(data)
                    usage = chunk_usage or usage
                    if reason:
                        finish = "length" if reason in _LENGTH_REASONS else "stop"
                    if piece:
                        pieces.append(piece)
                        if on_token is not None:
                            on_token(piece)
                    if cancel is not None and cancel.is_set():
                        # Dropping the connection is what tells the server to stop generating.
                        finish = "cancelled"
                        break
            if finish is None:
                raise self._error(f"{self._where} ended the answer unfinished")
        except TimeoutError as e:
            raise self._error(f"{self._where} sent nothing for {self._timeout:g} s") from e
        except (OSError, http.client.HTTPException) as e:
            raise self._error(f"the connection to {self._where} broke: {e or type(e).__name__}") from e
        finally:
            connection.close()
        prompt_tokens, tokens = 0, len(pieces)
        if usage is not None and finish != "cancelled":
            prompt_tokens = _count(usage.get("prompt_tokens"), prompt_tokens)
            tokens = _count(usage.get("completion_tokens"), tokens)
        return Generated("".join(pieces), finish, prompt_tokens, tokens, time.monotonic() - started)

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, timeout=self._timeout)
        try:
            connection.connect()
        except OSError as e:
            connection.close()
            raise self._error(f"cannot reach {self._where}: {_why(e, self._timeout)}") from e
        return connection

    def _post(self, connection: http.client.HTTPConnection, body: bytes) -> http.client.HTTPResponse:
        """The response, open on its event stream. The caller closes it as well as the connection:
        after a "Connection: close" from the server, the socket belongs to the response alone."""
        connection.request("POST", self._path, body=body, headers=self._headers)
        response = connection.getresponse()
        kind = response.getheader("Content-Type", "")
        if response.status == 200 and "text/event-stream" in kind:
            return response
        with response:
            if response.status != 200:
                excerpt = _error_excerpt(response.read(64 * 1024))
                raise self._error(
                    f"{self._where} answered HTTP {response.status} {response.reason}"
                    + (f": {excerpt}" if excerpt else "")
                )
            raise self._error(f"{self._where} answered {kind or 'untyped data'}, not an event stream")

    def _parse_chunk(self, data: str) -> tuple[str, str | None, dict[str, Any] | None]:
        """One streamed chunk's text, finish reason (None until the last) and usage (if any)."""
        try:
            chunk = json.loads(data)
            if not isinstance(chunk, dict):
                raise TypeError
            if "error" in chunk:
                raise self._error(f"{self._where} failed mid-answer: {_error_excerpt(data.encode())}")
            # The usage chunk of an OpenAI stream has no choices.
            choice = chunk["choices"][0] if chunk.get("choices") else {}
            piece = (choice.get("delta") or {}).get("content") or ""
            reason = choice.get("finish_reason")
            usage = chunk.get("usage")
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
            raise self._error(f"{self._where} sent a malformed stream: {_shorten(data)}") from e
        if not isinstance(piece, str) or not (reason is None or isinstance(reason, str)):
            raise self._error(f"{self._where} sent a malformed stream: {_shorten(data)}")
        return piece, reason, usage if isinstance(usage, dict) else None

    def _error(self, message: str) -> GeneratorError:
        # A server may quote the key back ("Incorrect API key provided: sk-..."); it never leaves here.
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return GeneratorError(message)


def _sse_data(lines: Iterable[bytes]) -> Iterator[str]:
    """The data of each server-sent event; comments (keep-alive pings), ids and event names are skipped."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            yield "\n".join(data)
            data = []
    if data:
        yield "\n".join(data)


def _why(error: OSError, timeout: float) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(error, socket.gaierror):
        return "unknown host"
    return error.strerror or str(error)


def _error_excerpt(body: bytes) -> str:
    """The server's own words: OpenAI's {"error": {"message": ...}}, FastAPI's {"detail": ...}."""
    text = body.decode("utf-8", "replace")
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        said = payload.get("error", payload.get("detail", payload.get("message")))
        if isinstance(said, dict):
            said = said.get("message")
        if isinstance(said, str):
            text = said
    return _shorten(text)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 1] + "…"


def _count(value: object, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback
