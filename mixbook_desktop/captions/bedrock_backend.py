"""A caption model on Amazon Bedrock, through its Converse API (ConverseStream).

boto3 is imported on first use, so only people who pick Bedrock need it (`pip install
mixbook-desktop[cloud]`). Credentials come from boto3's standard chain (environment, shared
files, instance roles), never from the book; no message here repeats them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from mixbook_desktop.captions.generator import Generated, GeneratorError, Message, Sampling

# Stop reasons after which the text may be cut short or replaced: reported as a cut, which
# the checks refuse. "end_turn" and "stop_sequence" leave whole text.
_CUT_REASONS = {"max_tokens", "model_context_window_exceeded", "content_filtered", "guardrail_intervened"}


class BedrockGenerator:
    """Streams a reply from `model_id` (a Bedrock model or inference profile id, such as
    "meta.llama3-2-3b-instruct-v1:0"). `endpoint_url` points boto3 elsewhere than AWS (a VPC
    endpoint, or a local server in tests); `client_options` go to `boto3.client` as they are.
    Converse has no sampling seed, so a regenerate on Bedrock varies by sampling alone."""

    def __init__(
        self,
        model_id: str,
        region: str | None = None,
        endpoint_url: str | None = None,
        **client_options: Any,
    ) -> None:
        self._model_id = model_id
        self._region = region
        self._endpoint_url = endpoint_url
        self._options = client_options
        self._client: Any = None

    @property
    def name(self) -> str:
        return f"bedrock:{self._model_id}"

    @property
    def model_sha256(self) -> str | None:
        return None  # Bedrock does not say which weights served the request

    def _connect(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise GeneratorError(
                    "Bedrock captions need boto3: pip install 'mixbook-desktop[cloud]'"
                ) from None
            # A session of its own: boto3's default one keeps the first credentials it found for
            # the life of the process, so keys the user changes since would go unseen.
            self._client = boto3.Session().client(
                "bedrock-runtime", region_name=self._region, endpoint_url=self._endpoint_url, **self._options
            )
        return self._client

    def generate(
        self,
        messages: list[Message],
        sampling: Sampling,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Generated:
        client = self._connect()  # boto3 and botocore are there from here on
        from botocore.eventstream import ParserError
        from botocore.exceptions import BotoCoreError, ClientError
        from urllib3.exceptions import HTTPError

        started = time.perf_counter()
        system = [{"text": m["content"]} for m in messages if m["role"] == "system"]
        turns = [
            {"role": m["role"], "content": [{"text": m["content"]}]}
            for m in messages
            if m["role"] != "system"
        ]
        request: dict[str, Any] = {
            "modelId": self._model_id,
            "messages": turns,
            "inferenceConfig": {
                "maxTokens": sampling.max_tokens,
                "temperature": sampling.temperature,
                "topP": sampling.top_p,
                "stopSequences": list(sampling.stop),
            },
        }
        if system:
            request["system"] = system
        pieces: list[str] = []
        finish = "stop"
        prompt_tokens = tokens = 0
        try:
            stream = client.converse_stream(**request)["stream"]
            for event in stream:
                if cancel is not None and cancel.is_set():
                    finish = "cancelled"
                    stream.close()
                    break
                if "contentBlockDelta" in event:
                    piece = event["contentBlockDelta"]["delta"].get("text")
                    if piece:
                        pieces.append(piece)
                        if on_token is not None:
                            on_token(piece)
                elif "messageStop" in event:
                    finish = "length" if event["messageStop"]["stopReason"] in _CUT_REASONS else "stop"
                elif "metadata" in event:
                    usage = event["metadata"].get("usage", {})
                    prompt_tokens, tokens = usage.get("inputTokens", 0), usage.get("outputTokens", 0)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "error"), error.get("Message", "")
            raise GeneratorError(f"Bedrock refused the caption request ({code}): {message}") from None
        except (BotoCoreError, HTTPError, ParserError, OSError) as exc:
            # Unreachable, or the connection broke or garbled mid-answer.
            raise GeneratorError(f"Bedrock could not be reached: {exc}") from None
        return Generated(
            text="".join(pieces),
            finish=finish,
            prompt_tokens=prompt_tokens,
            tokens=tokens or len(pieces),
            seconds=time.perf_counter() - started,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
