"""The Bedrock caption backend through boto3, against a stand-in that speaks Bedrock's protocol
(tests/bedrock_server.py) and answers from the real SmolLM2 on this machine."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from botocore.config import Config

from mixbook_desktop.captions import validate
from mixbook_desktop.captions.bedrock_backend import BedrockGenerator
from mixbook_desktop.captions.generator import GeneratorError, Sampling
from mixbook_desktop.captions.llama_backend import LlamaCppGenerator
from mixbook_desktop.captions.suggest import Cancelled, Settings, suggest
from mixbook_desktop.core.captions import Facts, Source
from tests.bedrock_server import ACCESS_KEY, REGION, SECRET_KEY, BedrockStandIn, serving

MODEL_ID = "meta.llama3-2-3b-instruct-v1:0"
DOG = Facts(description="A dog on a beach.", tags=("dog", "beach"), place="Santa Cruz, United States")


@pytest.fixture(scope="module")
def bedrock() -> Iterator[tuple[str, BedrockStandIn]]:
    local = LlamaCppGenerator(threads=lambda: 1)
    with serving(local) as (url, state):
        yield url, state
    local.close()


def _generator(url: str, secret: str = SECRET_KEY, attempts: int = 3) -> BedrockGenerator:
    return BedrockGenerator(
        MODEL_ID,
        region=REGION,
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}),
    )


def test_a_caption_comes_back_checked_and_the_request_is_bedrocks_own(
    bedrock: tuple[str, BedrockStandIn],
) -> None:
    url, state = bedrock
    generator = _generator(url)
    pieces: list[str] = []
    asked = len(state.requests)
    found = suggest(DOG, Settings(), generator, "dog", on_token=lambda n, p: pieces.append(p))
    generator.close()
    # Each candidate is one ConverseStream call the stand-in answered.
    assert len(state.requests) - asked == len(found.candidates)
    # Every candidate came from the model through Bedrock and went through the same checks; a
    # remote model cannot be steered to the minimum length, so the 135M one often falls short
    # and the template may win: either way the caption shown passes.
    assert found.candidates and all(c.text for c in found.candidates)
    assert validate.problems(found.text, DOG, Settings().rules) == []
    assert len(pieces) > 5  # streamed token by token, not in one piece
    sent = state.requests[-1]
    assert sent["modelId"] == MODEL_ID
    assert sent["system"][0]["text"].startswith("You write one caption")
    assert (
        sent["messages"][-1]["role"] == "user" and "Santa Cruz" in sent["messages"][-1]["content"][0]["text"]
    )
    assert sent["inferenceConfig"]["stopSequences"] == ["\n"]


def test_the_token_limit_is_reported_as_a_cut(bedrock: tuple[str, BedrockStandIn]) -> None:
    url, _ = bedrock
    chat = [{"role": "user", "content": "Tell me a long story about a dragon."}]
    out = _generator(url).generate(chat, Sampling(max_tokens=5, stop=()))
    assert out.finish == "length" and out.tokens == 5 and out.prompt_tokens > 0


def test_cancel_stops_reading_the_stream(bedrock: tuple[str, BedrockStandIn]) -> None:
    url, _ = bedrock
    cancel = threading.Event()
    pieces: list[str] = []

    def on_token(attempt: int, piece: str) -> None:
        pieces.append(piece)
        if len(pieces) == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        suggest(DOG, Settings(), _generator(url), "dog", on_token=on_token, cancel=cancel)
    assert len(pieces) == 2


def test_wrong_credentials_and_throttling_are_clear_errors_without_secrets(
    bedrock: tuple[str, BedrockStandIn],
) -> None:
    url, state = bedrock
    chat = [{"role": "user", "content": "Hello"}]
    with pytest.raises(GeneratorError, match="UnrecognizedClientException") as refused:
        _generator(url, secret="not-the-secret").generate(chat, Sampling())
    assert "not-the-secret" not in str(refused.value) and SECRET_KEY not in str(refused.value)
    state.throttle = True
    with pytest.raises(GeneratorError, match="ThrottlingException"):
        _generator(url, attempts=1).generate(chat, Sampling())
    # With retries, boto3 waits and asks again; the stand-in throttles only once.
    state.throttle = True
    assert _generator(url, attempts=3).generate(chat, Sampling(max_tokens=4)).text


def test_a_connection_broken_mid_answer_is_a_clear_error(bedrock: tuple[str, BedrockStandIn]) -> None:
    url, state = bedrock
    state.cut = True
    with pytest.raises(GeneratorError, match="Bedrock could not be reached"):
        _generator(url, attempts=1).generate([{"role": "user", "content": "Hello"}], Sampling())


def test_an_unreachable_endpoint_falls_back_to_the_template() -> None:
    generator = _generator("http://127.0.0.1:9", attempts=1)  # the discard port: nothing listens
    found = suggest(DOG, Settings(), generator, "dog")
    assert found.source is Source.TEMPLATE and found.note and "Bedrock could not be reached" in found.note
