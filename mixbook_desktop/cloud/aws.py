"""boto3 clients for a book's cloud settings, with credentials from the standard AWS chain
(environment, shared files, SSO, instance roles) or, when it has none, the OS keyring.

Nothing here writes a credential anywhere, and messages made from AWS errors go through
`redact` so that a key echoed back by a server never reaches a log or the user's screen."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from mixbook_desktop.cloud.config import CloudError, CloudSettings

KEYRING_SERVICE = "mixbook-desktop"
_ACCESS, _SECRET = "aws_access_key_id", "aws_secret_access_key"
# Rekognition's and S3's own limits on how fast one account may call: "standard" retries
# back off with jitter on throttling and on 5xx, which is what AWS advises.
RETRIES = {"mode": "standard", "total_max_attempts": 6}

_known_secrets: set[str] = set()
_lock = threading.Lock()


def remember(*secrets: str | None) -> None:
    """Secrets in use, to be blanked out of every message and log line from now on."""
    _redact_logs()
    with _lock:
        _known_secrets.update(s for s in secrets if s and len(s) >= 8)


def redact(text: str) -> str:
    """`text` with every credential this process has used, and anything shaped like an AWS
    secret or a signature, blanked out."""
    with _lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    text = re.sub(
        r"(Signature=|X-Amz-Signature=|X-Amz-Credential=|X-Amz-Security-Token=)[^&\s,\"']+", r"\1***", text
    )
    # A refreshed session token (SSO, assumed roles) is new to this process: it goes by its
    # header's name instead.
    text = re.sub(r"(?i)(['\"]?x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,}&]+", r"\1***", text)
    return re.sub(r"\b(AKIA|ASIA)[A-Z0-9]{12,}\b", "***", text)


# Loggers of the libraries that carry our requests: botocore logs signed headers and, at
# DEBUG, whole requests; a user who turns logging on must not find a key in the file.
_REDACTED_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "psycopg", "mixbook_desktop")
_factory_installed = False


def _redact_logs() -> None:
    """Every log record of those libraries is redacted when it is made, whatever handler
    (a file, the console, pytest's capture) receives it later."""
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
    previous = logging.getLogRecordFactory()

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.startswith(_REDACTED_LOGGERS):
            try:
                text = record.getMessage()
            except (TypeError, ValueError):
                text = str(record.msg)
            record.msg, record.args = redact(text), None
            if record.exc_info:
                # Formatters use exc_text when it is there: the traceback, redacted too.
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(make)


def keyring_secret(name: str) -> str | None:
    """A secret saved under `name` in the OS keyring; None when absent, and also when the OS
    has no keyring (a headless server)."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        found = keyring.get_password(KEYRING_SERVICE, name)
    except (KeyringError, RuntimeError):
        return None
    if found:
        remember(found)
    return found or None


def save_secret(name: str, value: str) -> None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        raise CloudError("saving secrets needs keyring: pip install 'mixbook-desktop[cloud]'") from None
    try:
        keyring.set_password(KEYRING_SERVICE, name, value)
    except (KeyringError, RuntimeError) as exc:
        raise CloudError(f"the OS keyring refused to keep it ({type(exc).__name__})") from None


def keyring_credentials() -> tuple[str, str] | None:
    """The access key pair saved with `save_to_keyring`, or None."""
    access, secret = keyring_secret(_ACCESS), keyring_secret(_SECRET)
    return (access, secret) if access and secret else None


def save_to_keyring(access_key: str, secret_key: str) -> None:
    save_secret(_ACCESS, access_key)
    save_secret(_SECRET, secret_key)


def credential_options(settings: CloudSettings) -> dict[str, str]:
    """Keys to give a boto3 client explicitly: none when the AWS chain has credentials (boto3
    finds them itself), else the keyring's pair."""
    session(settings)  # raises CloudError, saying what to do, when there are none at all
    pair = None if _chain_has_credentials(settings) else keyring_credentials()
    return {"aws_access_key_id": pair[0], "aws_secret_access_key": pair[1]} if pair else {}


def config(**options: Any) -> Any:
    """botocore's client configuration with our retries and timeouts."""
    from botocore.config import Config

    return Config(
        **{
            "retries": RETRIES,
            "connect_timeout": 10,
            "read_timeout": 120,
            "max_pool_connections": 16,
            **options,
        }
    )


def _chain_has_credentials(settings: CloudSettings) -> bool:
    import boto3

    return boto3.Session(region_name=settings.region).get_credentials() is not None


def session(settings: CloudSettings) -> Any:
    """A boto3 session for the book's region: the AWS chain first, the keyring second."""
    try:
        import boto3
    except ImportError:
        raise CloudError("cloud mode needs boto3: pip install 'mixbook-desktop[cloud]'") from None
    from botocore.exceptions import BotoCoreError

    try:
        chained = boto3.Session(region_name=settings.region)
        found = chained.get_credentials()
    except BotoCoreError as exc:  # a named profile that is not there, an SSO login expired...
        raise CloudError(f"the AWS credentials cannot be used: {describe(exc)}") from None
    if found is not None:
        frozen = found.get_frozen_credentials()
        remember(frozen.access_key, frozen.secret_key, frozen.token)
        return chained
    pair = keyring_credentials()
    if pair is None:
        raise CloudError(
            "no AWS credentials: set them up with `aws configure` (or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or save them with `mixbook-desktop cloud-login`"
        )
    remember(*pair)
    return boto3.Session(
        aws_access_key_id=pair[0], aws_secret_access_key=pair[1], region_name=settings.region
    )


def client(settings: CloudSettings, service: str, **options_: Any) -> Any:
    """A client of `service` ("s3", "rekognition", "bedrock-runtime") at the book's endpoint."""
    endpoint = {
        "s3": settings.s3_endpoint,
        "rekognition": settings.rekognition_endpoint,
        "bedrock-runtime": settings.bedrock_endpoint,
    }.get(service)
    options: dict[str, Any] = dict(options_)
    if service == "s3":
        # SigV4 everywhere (presigned URLs default to SigV2), and path-style addressing, which
        # every S3-compatible server understands.
        options.setdefault("signature_version", "s3v4")
        options.setdefault("s3", {"addressing_style": "path"} if endpoint else {})
    return session(settings).client(service, endpoint_url=endpoint, config=config(**options))


def describe(exc: BaseException) -> str:
    """One line for the user from a boto3 error: the service's code and message, redacted."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "error")
        message = " ".join(str(error.get("Message", "")).split())
        return redact(f"{code}: {message}" if message else str(code))
    if isinstance(exc, EndpointConnectionError):
        return redact(f"cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}")
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials"
    return redact(f"{type(exc).__name__}: {' '.join(str(exc).split())}")


def error_code(exc: BaseException) -> str | None:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or None
    return None
