"""Where a book's cloud work happens: endpoints and names, kept in the book. Credentials are
never part of it: they come from the AWS chain or the OS keyring (see `aws`)."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.project import Project

SETTINGS_KEY = "cloud"
BOOK_ID_KEY = "book.id"

AnalysisBackend = Literal["local", "cloud"]
CaptionBackend = Literal["local", "openai", "bedrock"]


class CloudError(Exception):
    """A cloud setting or call that cannot be carried out; one line, never holding a secret."""


@dataclass(frozen=True)
class CloudSettings:
    analysis: AnalysisBackend = "local"
    bucket: str | None = None
    prefix: str = "mixbook"
    region: str = "us-east-1"
    s3_endpoint: str | None = None  # None: AWS itself
    rekognition_endpoint: str | None = None
    captions: CaptionBackend = "local"
    openai_url: str | None = None  # an OpenAI-compatible base URL, e.g. http://host:8080/v1
    openai_model: str | None = None
    bedrock_model: str | None = None  # a model or inference-profile id
    bedrock_endpoint: str | None = None
    postgres_url: str | None = None  # the caption mirror; no password in it (see check)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# S3's own naming rules for buckets (3-63 characters, lower case, digits, dots, hyphens).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]{0,200}$")


# libpq parameters that carry a secret, or point at one, when given in a URL's query.
_PG_SECRETS = {"password", "passfile", "sslpassword"}


def _check_url(what: str, url: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise CloudError(f"{what}: give a URL starting with {' or '.join(s + '://' for s in schemes)}")
    # The URL is saved in the book: a secret in it would travel with every copy.
    secret_in_query = bool(_PG_SECRETS & {k.lower() for k in parse_qs(parts.query)})
    if parts.password is not None or (parts.username is not None and parts.scheme.startswith("http")):
        secret_in_query = True
    if secret_in_query:
        raise CloudError(
            f"{what}: leave the password out of the URL; it comes from the keyring or the environment"
        )
    if parts.scheme.startswith("http") and (parts.query or parts.fragment):
        # An endpoint needs none; a key in one (?api_key=...) would be saved in the book.
        raise CloudError(f"{what}: give the endpoint without a query (?...); keys come from the keyring")


def check(settings: CloudSettings) -> None:
    """Raise CloudError, saying why in one line, if the settings cannot work."""
    if settings.analysis not in ("local", "cloud"):
        raise CloudError(f"analysis backend {settings.analysis!r}: choose local or cloud")
    if settings.captions not in ("local", "openai", "bedrock"):
        raise CloudError(f"caption backend {settings.captions!r}: choose local, openai or bedrock")
    if settings.bucket is not None and not _BUCKET.match(settings.bucket):
        raise CloudError(f"bucket {settings.bucket!r}: 3-63 lower-case letters, digits, dots or hyphens")
    if not _PREFIX.match(settings.prefix):
        raise CloudError(f"prefix {settings.prefix!r}: letters, digits and / - _ . only")
    if not _REGION.match(settings.region):
        raise CloudError(f"region {settings.region!r}: an AWS region such as eu-west-1")
    for what, url in (
        ("S3 endpoint", settings.s3_endpoint),
        ("Rekognition endpoint", settings.rekognition_endpoint),
        ("Bedrock endpoint", settings.bedrock_endpoint),
        ("OpenAI-compatible URL", settings.openai_url),
    ):
        if url:
            _check_url(what, url, ("http", "https"))
    if settings.postgres_url:
        _check_url("PostgreSQL URL", settings.postgres_url, ("postgresql", "postgres"))
    if settings.analysis == "cloud" and not settings.bucket:
        raise CloudError("cloud analysis needs an S3 bucket (cloud --bucket NAME)")
    if settings.captions == "openai" and not settings.openai_url:
        raise CloudError("OpenAI-compatible captions need the endpoint's URL (cloud --openai-url URL)")
    if settings.captions == "bedrock" and not settings.bedrock_model:
        raise CloudError("Bedrock captions need a model id (cloud --bedrock-model ID)")


def load_json(saved: dict[str, Any]) -> CloudSettings:
    known = {f.name for f in fields(CloudSettings)}
    return CloudSettings(**{k: v for k, v in saved.items() if k in known})


def load(project: Project) -> CloudSettings:
    return load_json(AnalysisStore(project).get_setting(SETTINGS_KEY) or {})


def save(project: Project, **changes: Any) -> CloudSettings:
    """Change some settings ('' clears an optional one); nothing is saved unless all pass."""
    current = load(project)
    optional = {f.name for f in fields(CloudSettings) if f.default is None}
    cleaned: dict[str, Any] = {k: (None if k in optional and v == "" else v) for k, v in changes.items()}
    unknown = set(cleaned) - {f.name for f in fields(CloudSettings)}
    if unknown:
        raise CloudError(f"no cloud setting called {', '.join(sorted(unknown))}")
    updated = replace(current, **cleaned)
    check(updated)
    AnalysisStore(project).set_setting(SETTINGS_KEY, updated.as_json())
    return updated


def book_id(project: Project) -> str:
    """A lasting id of the book, naming it where many books share a server (face collection,
    caption mirror); made on first use."""
    store = AnalysisStore(project)
    saved = store.get_setting(BOOK_ID_KEY)
    if saved:
        return str(saved)
    made = uuid.uuid4().hex
    store.set_setting(BOOK_ID_KEY, made)
    return made
