"""The OpenAI-compatible caption backend, against llama-cpp-python's real server and SmolLM2-135M.

A tiny stdlib server stands in where llama_cpp.server cannot: to see the headers that were sent,
and to misbehave (401, garbage, a stream cut short, silence)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mixbook_desktop.captions.generator import GeneratorError, Sampling
from mixbook_desktop.captions.openai_backend import OpenAICompatibleGenerator
from tests.support.postgres import free_port as _free_port

DOG = [
    {"role": "system", "content": "You write one short caption for a photo."},
    {"role": "user", "content": "Write a caption for a photo of a dog on a beach."},
]
STORY = [{"role": "user", "content": "Tell me a long story about a dragon."}]


@pytest.fixture
def smol(llama_server: str) -> OpenAICompatibleGenerator:
    return OpenAICompatibleGenerator(llama_server + "/", "smollm2")  # the trailing slash is allowed


def test_a_caption_streams_piece_by_piece(smol: OpenAICompatibleGenerator) -> None:
    pieces: list[str] = []
    result = smol.generate(DOG, Sampling(temperature=0, seed=1), on_token=pieces.append)
    assert len(pieces) > 1
    assert "".join(pieces) == result.text
    assert result.text.strip()
    assert result.finish in ("stop", "length")
    # llama_cpp.server sends no usage in a stream (even when asked), so chunks are counted.
    assert (result.prompt_tokens, result.tokens) == (0, len(pieces))
    assert result.seconds > 0


def test_max_tokens_ends_with_length(smol: OpenAICompatibleGenerator) -> None:
    result = smol.generate(DOG, Sampling(max_tokens=3, stop=()))
    assert result.finish == "length"
    assert 1 <= result.tokens <= 3


def test_same_seed_same_text(smol: OpenAICompatibleGenerator) -> None:
    greedy = Sampling(temperature=0, seed=7)
    assert smol.generate(DOG, greedy).text == smol.generate(DOG, greedy).text
    # At a high temperature only the seed makes it repeatable, which shows the seed is sent.
    hot = [Sampling(temperature=1.0, seed=seed, max_tokens=20) for seed in (1, 1, 2, 3)]
    texts = [smol.generate(DOG, sampling).text for sampling in hot]
    assert texts[0] == texts[1]
    assert len(set(texts)) > 1


def test_cancel_stops_after_the_current_piece(smol: OpenAICompatibleGenerator) -> None:
    cancel = threading.Event()
    pieces: list[str] = []

    def first_only(piece: str) -> None:
        pieces.append(piece)
        cancel.set()

    result = smol.generate(STORY, Sampling(max_tokens=200, stop=()), on_token=first_only, cancel=cancel)
    assert result.finish == "cancelled"
    assert pieces == [result.text]
    assert result.tokens == 1
    # The dropped connection left the server ready for the next caption.
    assert smol.generate(DOG, Sampling(temperature=0)).finish in ("stop", "length")


def test_a_closed_port_cannot_be_reached() -> None:
    port = _free_port()
    generator = OpenAICompatibleGenerator(f"http://127.0.0.1:{port}/v1", "smollm2")
    with pytest.raises(GeneratorError) as caught:
        generator.generate(DOG, Sampling())
    message = str(caught.value)
    assert message == f"cannot reach the caption endpoint at http://127.0.0.1:{port}/v1: connection refused"


# --- a stand-in server for what a real one will not do on request --------------------------------

GOOD_KEY = "sk-good-1234"
CANNED = [
    {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]},
    {"choices": [{"index": 0, "delta": {"content": "Sandy"}, "finish_reason": None}]},
    {"choices": [{"index": 0, "delta": {"content": " paws"}, "finish_reason": None}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {"choices": [], "usage": {"prompt_tokens": 21, "completion_tokens": 2, "total_tokens": 23}},
]


class _Endpoint(ThreadingHTTPServer):
    received: list[tuple[str | None, dict[str, object]]]  # (Authorization, request body)
    release: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Endpoint

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        auth = self.headers["Authorization"]
        self.server.received.append((auth, body))
        if auth is not None and auth != f"Bearer {GOOD_KEY}":
            # Like OpenAI, quote the key back, to prove the client never repeats it.
            error = {"error": {"message": f"Incorrect API key provided: {auth.partition(' ')[2]}"}}
            return self._send(401, "application/json", json.dumps(error).encode())
        streams = {
            "canned": "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in CANNED) + "data: [DONE]\n\n",
            "garbage": ": ping\n\ndata: {not json\n\n",
            "cut-short": f"data: {json.dumps(CANNED[1])}\n\n",
        }
        if body["model"] == "silent":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.server.release.wait(10)
            return None
        return self._send(200, "text/event-stream", streams[body["model"]].encode())

    def _send(self, status: int, kind: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[_Endpoint]:
    server = _Endpoint(("127.0.0.1", 0), _Handler)
    server.received, server.release = [], threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def _url(server: _Endpoint, credentials: str = "") -> str:
    return f"http://{credentials}127.0.0.1:{server.server_address[1]}/v1"


def test_the_key_is_sent_as_a_bearer_token_and_usage_is_read(endpoint: _Endpoint) -> None:
    generator = OpenAICompatibleGenerator(_url(endpoint), "canned", api_key=GOOD_KEY)
    pieces: list[str] = []
    result = generator.generate(DOG, Sampling(max_tokens=9, seed=4, stop=(".",)), on_token=pieces.append)
    assert (result.text, result.finish, result.prompt_tokens, result.tokens) == ("Sandy paws", "stop", 21, 2)
    assert pieces == ["Sandy", " paws"]
    auth, body = endpoint.received[0]
    assert auth == f"Bearer {GOOD_KEY}"
    assert body["messages"] == DOG
    assert body["stream"] is True
    assert (body["max_tokens"], body["seed"], body["stop"]) == (9, 4, ["."])


def test_a_rejected_key_is_not_repeated(endpoint: _Endpoint) -> None:
    generator = OpenAICompatibleGenerator(_url(endpoint), "canned", api_key="sk-wrong-5678")
    with pytest.raises(GeneratorError) as caught:
        generator.generate(DOG, Sampling())
    message = str(caught.value)
    assert message.startswith(f"the caption endpoint at {_url(endpoint)} answered HTTP 401 Unauthorized: ")
    assert "Incorrect API key provided" in message
    assert "sk-wrong-5678" not in message
    assert "sk-wrong-5678" not in repr(caught.value)


def test_credentials_in_the_url_stay_out_of_name_and_errors(endpoint: _Endpoint) -> None:
    generator = OpenAICompatibleGenerator(_url(endpoint, "alice:s3cret@"), "smollm2")
    assert generator.name == f"openai-compatible:smollm2@127.0.0.1:{endpoint.server_address[1]}"
    assert generator.model_sha256 is None
    with pytest.raises(GeneratorError) as caught:
        generator.generate(DOG, Sampling())
    auth = endpoint.received[0][0]
    assert auth == "Basic YWxpY2U6czNjcmV0"  # alice:s3cret
    assert "HTTP 401" in str(caught.value)
    for secret in ("alice", "s3cret", "YWxpY2U6czNjcmV0"):
        assert secret not in str(caught.value)
    generator.close()


@pytest.mark.parametrize(
    ("model", "timeout", "expected"),
    [
        ("garbage", 5.0, "sent a malformed stream: {not json"),
        ("cut-short", 5.0, "ended the answer unfinished"),
        ("silent", 0.3, "sent nothing for 0.3 s"),
    ],
)
def test_a_broken_stream_is_an_error(endpoint: _Endpoint, model: str, timeout: float, expected: str) -> None:
    generator = OpenAICompatibleGenerator(_url(endpoint), model, timeout=timeout)
    with pytest.raises(GeneratorError) as caught:
        generator.generate(DOG, Sampling())
    assert str(caught.value) == f"the caption endpoint at {_url(endpoint)} {expected}"
