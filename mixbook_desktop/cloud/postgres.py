"""The PostgreSQL server of the caption mirror: a connection, and its password kept out of
the book, the logs and every message.

The password comes from libpq's own sources first (PGPASSWORD, ~/.pgpass or PGPASSFILE, and
anything else libpq reads), then the OS keyring (service "mixbook-desktop", user
"postgres:<user>@<host>:<port>/<database>"; a headless machine may have no keyring)."""

from __future__ import annotations

import getpass
import logging
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mixbook_desktop.cloud import aws
from mixbook_desktop.cloud.config import CloudError, CloudSettings, check

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

KEYRING_PREFIX = "postgres:"
CONNECT_TIMEOUT = 10.0

Row = tuple[Any, ...]


def scrub(text: str) -> str:
    """`text` without any password: the ones this process used, AWS secrets (`aws.redact`),
    and whatever a connection string would carry (password=..., user:password@)."""
    text = aws.redact(text)
    text = re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)", r"\1***", text)
    return re.sub(r"(?i)(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


@dataclass(frozen=True)
class Server:
    """Where the mirror lives, as named in messages and in the book's sync records."""

    user: str
    host: str
    port: str
    database: str

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"

    @property
    def keyring_user(self) -> str:
        return f"{KEYRING_PREFIX}{self.user}@{self.name}"


def server_of(url: str) -> Server:
    """The server a PostgreSQL URL names, with libpq's defaults filled in. Refuses a URL
    holding a password: the URL is saved in the book."""
    check(CloudSettings(postgres_url=url))
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise CloudError("the caption mirror needs psycopg: pip install 'mixbook-desktop[cloud]'") from None
    try:
        params = conninfo_to_dict(url)
    except Exception as exc:
        raise CloudError(f"PostgreSQL URL: {scrub(' '.join(str(exc).split()))}") from None
    if "password" in params or "passfile" in params:
        raise CloudError(
            "PostgreSQL URL: leave the password out of the URL; it comes from the keyring or the environment"
        )
    user = str(params.get("user") or os.environ.get("PGUSER") or getpass.getuser())
    return Server(
        user=user,
        host=str(params.get("host") or os.environ.get("PGHOST") or "localhost"),
        port=str(params.get("port") or os.environ.get("PGPORT") or "5432"),
        database=str(params.get("dbname") or os.environ.get("PGDATABASE") or user),
    )


def save_pg_password(url: str, password: str) -> None:
    """Keep the password of the server `url` names in the OS keyring."""
    aws.remember(password)
    aws.save_secret(server_of(url).keyring_user, password)


def pg_password(url: str) -> str | None:
    """The password saved with `save_pg_password`, or None (also when there is no keyring)."""
    return aws.keyring_secret(server_of(url).keyring_user)


def describe(exc: BaseException, server: Server) -> str:
    """One line for the user from a psycopg error."""
    import psycopg

    lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
    message = lines[0] if lines else type(exc).__name__
    message = re.sub(r"^connection failed: ", "", message)
    if isinstance(exc, psycopg.OperationalError) and "password authentication failed" in message:
        message = f"password refused for user {server.user}"
    return scrub(f"PostgreSQL at {server.name}: {message}")


def connect(url: str, timeout: float = CONNECT_TIMEOUT) -> psycopg.Connection[Row]:
    """An autocommit connection; the password from libpq's sources, else from the keyring."""
    server = server_of(url)
    import psycopg

    options: dict[str, Any] = {
        "connect_timeout": max(1, round(timeout)),
        "application_name": "mixbook-desktop",
        # A server that vanishes without a word (a laptop leaving the network) is noticed in
        # seconds rather than after the system's TCP timeout of many minutes.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }
    aws.remember(os.environ.get("PGPASSWORD"))
    log.debug("connecting to PostgreSQL at %s", server.name)
    try:
        return psycopg.connect(url, autocommit=True, **options)
    except psycopg.Error as exc:
        if "no password supplied" not in str(exc):
            raise CloudError(describe(exc, server)) from None
    password = pg_password(url)
    if password is None:
        raise CloudError(
            f"PostgreSQL at {server.name} asks for a password: set PGPASSWORD, put it in ~/.pgpass, "
            "or save it in the OS keyring"
        )
    try:
        return psycopg.connect(url, autocommit=True, password=password, **options)
    except psycopg.Error as exc:
        raise CloudError(describe(exc, server)) from None
