"""What the project's AWS stand-ins share: checking a value against botocore's own service model,
and checking a request's Signature Version 4 with botocore's own signer.

botocore's ParamValidator only checks what a client may send (no upper bounds, no enums, no
unknown members in responses), so the stand-ins walk the model themselves, the same way for a
request they receive and a response they are about to send."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
from collections.abc import Mapping
from enum import Enum
from http.server import BaseHTTPRequestHandler
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def problems(value: Any, shape: Any, *, wire: bool = True, path: str = "") -> list[str]:
    """Every way `value` breaks `shape` (a botocore Shape), each as "path: what".

    With `wire`, the value is JSON as sent over HTTP (the JSON protocols): a blob is a base64
    string, a timestamp a number of seconds. Without it, the value is what boto3 takes and
    returns: bytes and datetimes."""
    out: list[str] = []
    _walk(value, shape, wire, path or shape.name, out)
    return out


def check(value: Any, shape: Any, *, wire: bool = True, what: str = "") -> None:
    """Raise one AssertionError listing every problem of `value` against `shape`."""
    found = problems(value, shape, wire=wire)
    if found:
        title = f"{what or shape.name} does not match the service model"
        raise AssertionError(title + ":\n  " + "\n  ".join(found))


def _range(what: str, number: float, shape: Any, out: list[str], path: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and number < low:
        out.append(f"{path}: {what} {number} is under the minimum {low}")
    if high is not None and number > high:
        out.append(f"{path}: {what} {number} is over the maximum {high}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _walk(value: Any, shape: Any, wire: bool, path: str, out: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            out.append(f"{path}: a structure must be an object, not {type(value).__name__}")
            return
        members = shape.members
        for name in shape.required_members:
            if name not in value:
                out.append(f"{path}: the required member {name} is missing")
        for name in value:
            if name not in members:
                out.append(f"{path}: {name} is not a member of {shape.name}")
        if shape.metadata.get("union") and len(value) != 1:
            out.append(f"{path}: a union takes exactly one member, not {len(value)}")
        for name, item in value.items():
            if name in members and item is not None:
                _walk(item, members[name], wire, f"{path}.{name}", out)
            elif name in members:
                out.append(f"{path}.{name}: null is not a value")
    elif kind == "list":
        if not isinstance(value, list):
            out.append(f"{path}: a list must be an array, not {type(value).__name__}")
            return
        _range("length", len(value), shape, out, path)
        for i, item in enumerate(value):
            _walk(item, shape.member, wire, f"{path}[{i}]", out)
    elif kind == "map":
        if not isinstance(value, Mapping):
            out.append(f"{path}: a map must be an object, not {type(value).__name__}")
            return
        _range("size", len(value), shape, out, path)
        for key, item in value.items():
            _walk(key, shape.key, wire, f"{path} key {key!r}", out)
            _walk(item, shape.value, wire, f"{path}[{key!r}]", out)
    elif kind == "string":
        _string(value, shape, path, out)
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            out.append(f"{path}: {kind} expected, not {type(value).__name__} {value!r}")
            return
        _range("value", value, shape, out, path)
    elif kind in ("float", "double"):
        if not _is_number(value) or not math.isfinite(value):
            out.append(f"{path}: a finite {kind} expected, not {value!r}")
            return
        _range("value", value, shape, out, path)
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: boolean expected, not {type(value).__name__} {value!r}")
    elif kind == "blob":
        _blob(value, shape, wire, path, out)
    elif kind == "timestamp":
        if wire and not _is_number(value):
            out.append(f"{path}: a timestamp is sent as epoch seconds, not {value!r}")
        elif not wire and not isinstance(value, dt.datetime | dt.date) and not _is_number(value):
            out.append(f"{path}: a timestamp must be a datetime, not {value!r}")
    elif kind != "document":  # a document is any JSON
        out.append(f"{path}: the shape type {kind} is not checked here")


def _string(value: Any, shape: Any, path: str, out: list[str]) -> None:
    if isinstance(value, Enum):
        value = value.value
    if not isinstance(value, str):
        out.append(f"{path}: string expected, not {type(value).__name__} {value!r}")
        return
    if shape.enum and value not in shape.enum:
        out.append(f"{path}: {value!r} is none of {', '.join(shape.enum)}")
    _range("length", len(value), shape, out, path)
    pattern = shape.metadata.get("pattern")
    if pattern:
        try:
            compiled = re.compile(pattern)
        except re.error:
            return  # a Java-only construct; botocore's models keep these rare
        # The whole value must match, as AWS's services check it ("Member must satisfy regular
        # expression pattern" for a collection id with a space), though Smithy's own text
        # leaves patterns unanchored.
        if compiled.fullmatch(value) is None:
            out.append(f"{path}: {value!r} does not match the pattern {pattern}")


def _blob(value: Any, shape: Any, wire: bool, path: str, out: list[str]) -> None:
    if wire:
        if not isinstance(value, str):
            out.append(f"{path}: a blob is sent as a base64 string, not {type(value).__name__}")
            return
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            out.append(f"{path}: not valid base64")
            return
    elif isinstance(value, bytes | bytearray):
        data = bytes(value)
    else:
        out.append(f"{path}: bytes expected, not {type(value).__name__}")
        return
    _range("decoded length", len(data), shape, out, path)


def signature_ok(
    handler: BaseHTTPRequestHandler,
    body: bytes,
    access_key: str,
    secret_key: str,
    service: str,
    region: str,
) -> bool:
    """Whether the request in `handler` is signed with this key pair for this service and
    region, recomputed with botocore's own SigV4 signer."""
    return signature_problem(handler, body, {access_key: secret_key}, service, region) is None


def signature_problem(
    handler: BaseHTTPRequestHandler,
    body: bytes,
    keys: Mapping[str, str],
    service: str,
    region: str,
) -> str | None:
    """None for a good signature by one of `keys` (access key -> secret); otherwise the error
    AWS gives: "UnrecognizedClientException" for a missing or unknown access key,
    "InvalidSignatureException" for a known key whose signature does not match (a wrong
    secret, another region or service, a changed body or header)."""
    auth = handler.headers.get("Authorization", "")
    scheme = "AWS4-HMAC-SHA256 "
    if not auth.startswith(scheme):
        return "UnrecognizedClientException"
    try:
        fields = dict(part.strip().split("=", 1) for part in auth[len(scheme) :].split(","))
        access_key, _date, scope_region, scope_service, _terminator = fields["Credential"].split("/")
        signed, given = fields["SignedHeaders"].split(";"), fields["Signature"]
    except (KeyError, ValueError):
        return "UnrecognizedClientException"
    if access_key not in keys:
        return "UnrecognizedClientException"
    if (scope_region, scope_service) != (region, service) or handler.headers.get("X-Amz-Date") is None:
        return "InvalidSignatureException"
    if any(handler.headers.get(name) is None for name in signed):
        return "InvalidSignatureException"
    request = AWSRequest(
        method=handler.command,
        url=f"http://{handler.headers['Host']}{handler.path}",
        data=body,
        headers={name: handler.headers[name] for name in signed},
    )
    request.context["timestamp"] = handler.headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(access_key, keys[access_key]), service, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return None if expected == given else "InvalidSignatureException"
