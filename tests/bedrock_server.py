"""A Bedrock Runtime stand-in on 127.0.0.1 for ConverseStream, answering from the real local
SmolLM2 through llama.cpp.

No real Bedrock can run here, so this speaks its wire protocol instead: a SigV4-signed
REST-JSON request, checked against botocore's own service model and signature code, and a reply
in AWS's binary event-stream framing, every event checked against the same model before it is
sent. boto3 talks to it as it would to AWS."""

from __future__ import annotations

import binascii
import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import botocore.session
from botocore.validate import ParamValidator

from mixbook_desktop.captions.generator import Sampling
from mixbook_desktop.captions.llama_backend import LlamaCppGenerator
from tests.support.aws_shapes import signature_ok

ACCESS_KEY, SECRET_KEY, REGION = "AKIDMIXBOOKTEST", "mixbook-test-secret", "us-east-1"
_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")
_OPERATION = _MODEL.operation_model("ConverseStream")
_EVENTS = _OPERATION.output_shape.members["stream"]


def _validate(params: dict[str, Any], shape: Any) -> None:
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise AssertionError(report.generate_report())


def _frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude, string headers, payload, each part CRC32-checked."""
    head = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for k, v in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(head) + len(payload) + 4, len(head))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", binascii.crc32(body))


def event(kind: str, payload: dict[str, Any]) -> bytes:
    _validate(payload, _EVENTS.members[kind])
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return _frame(headers, json.dumps(payload).encode())


def _exception(kind: str, message: str) -> bytes:
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return _frame(headers, json.dumps({"message": message}).encode())


class BedrockStandIn:
    """Requests seen are kept in `requests`; `throttle` makes the next reply a throttling error,
    `cut` breaks the next reply's connection after its first event."""

    def __init__(self, generator: LlamaCppGenerator) -> None:
        self.generator = generator
        self.requests: list[dict[str, Any]] = []
        self.throttle = False
        self.cut = False
        self.lock = threading.Lock()  # one llama.cpp model, one request at a time


def _handler(state: BedrockStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keeps pytest's output clean
            return

        def _error(self, status: int, kind: str, message: str) -> None:
            data = json.dumps({"message": message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Amzn-ErrorType", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            prefix, suffix = "/model/", "/converse-stream"
            if not (self.path.startswith(prefix) and self.path.endswith(suffix)):
                self._error(404, "UnknownOperationException", f"no operation at {self.path}")
                return
            if not signature_ok(self, body, ACCESS_KEY, SECRET_KEY, "bedrock", REGION):
                self._error(
                    403,
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                )
                return
            params = {"modelId": unquote(self.path[len(prefix) : -len(suffix)]), **json.loads(body)}
            _validate(params, _OPERATION.input_shape)
            state.requests.append(params)
            if state.throttle:
                state.throttle = False
                self._error(429, "ThrottlingException", "Too many requests, please wait before trying again.")
                return
            config = params.get("inferenceConfig", {})
            chat = [{"role": "system", "content": s["text"]} for s in params.get("system", [])]
            chat += [{"role": m["role"], "content": m["content"][0]["text"]} for m in params["messages"]]
            sampling = Sampling(
                temperature=config.get("temperature", 0.7),
                top_p=config.get("topP", 0.9),
                max_tokens=config.get("maxTokens", 40),
                stop=tuple(config.get("stopSequences", ())),
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.amazon.eventstream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                self._chunk(event("messageStart", {"role": "assistant"}))
                if state.cut:
                    state.cut = False
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return

                def piece(text: str) -> None:
                    self._chunk(event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}}))

                with state.lock:
                    out = state.generator.generate(chat, sampling, piece)
                self._chunk(event("contentBlockStop", {"contentBlockIndex": 0}))
                reason = "max_tokens" if out.finish == "length" else "end_turn"
                self._chunk(event("messageStop", {"stopReason": reason}))
                usage = {"inputTokens": out.prompt_tokens, "outputTokens": out.tokens}
                usage["totalTokens"] = out.prompt_tokens + out.tokens
                metrics = {"latencyMs": int(out.seconds * 1000)}
                self._chunk(event("metadata", {"usage": usage, "metrics": metrics}))
                self._chunk(b"")
            except (BrokenPipeError, ConnectionResetError):
                return  # the client stopped reading: a cancelled caption

    return Handler


@contextmanager
def serving(generator: LlamaCppGenerator) -> Iterator[tuple[str, BedrockStandIn]]:
    """The stand-in on a free local port; yields its endpoint URL and its state."""
    state = BedrockStandIn(generator)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
