"""Opening, creating and migrating a project file safely."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from types import TracebackType

import sqlite_utils

from mixbook_desktop.store.migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

# Long enough to ride out another process's short write transaction (WAL allows one writer).
_BUSY_TIMEOUT_MS = 10_000
_SQLITE_HEADER_BYTES = 100


class ProjectError(Exception):
    """The project file cannot be used; the message says why in one line."""


class WriteRefusedError(ProjectError):
    """The project file could not be opened because the OS refused a write (a full disk)."""


def write_refused(exc: BaseException) -> bool:
    """A write the OS refused: no space, a file size limit, a quota, or a failing drive. From
    SQLite: "database or disk is full" (SQLITE_FULL), or "disk I/O error" (SQLITE_IOERR_*),
    which is also what a write beyond a file size limit gives."""
    if isinstance(exc, WriteRefusedError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO)
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    if code in (sqlite3.SQLITE_IOERR_READ, sqlite3.SQLITE_IOERR_SHORT_READ):
        return False  # a read that failed: nothing was refused
    return code is not None and code & 0xFF in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)


def _check_path(path: Path, create: bool) -> None:
    """Refuse what cannot be a project file, without opening it: closing any descriptor of a
    file drops every POSIX lock this process holds on it, SQLite's included, and another
    process could then delete the WAL of a project this one has open."""
    if path.is_dir():
        raise ProjectError(f"{path} is a folder, not a project file")
    if not os.access(path, os.R_OK):
        raise ProjectError(f"cannot read {path}: permission denied")
    if path.stat().st_size == 0 and not create:
        raise ProjectError(f"{path} is empty, not a project file (importing photos into it makes one)")
    if 0 < path.stat().st_size < _SQLITE_HEADER_BYTES:
        # SQLite takes a file this short for an empty database (a 1-byte one, at least), which
        # would then become a project over whatever the file held.
        raise ProjectError(f"{path} is not a mixbook project (not an SQLite database)")


class Project:
    """An open project file. Use `Project.open`; close it, or use it as a context manager."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn, execute_plugins=False)

    @classmethod
    def open(cls, path: str | os.PathLike[str], create: bool = False) -> Project:
        path = Path(path).expanduser().absolute()
        if path.exists():
            _check_path(path, create)
        elif not create:
            raise ProjectError(f"no project file at {path}")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise ProjectError(f"cannot open {path}: {exc}") from None
        try:
            cls._configure(conn, path)
            cls._migrate(conn, path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if exc.sqlite_errorcode == sqlite3.SQLITE_NOTADB:
                raise ProjectError(f"{path} is not a mixbook project (not an SQLite database)") from None
            if write_refused(exc):
                # Opening writes too (the WAL index, a pending checkpoint): a full disk is not damage.
                raise WriteRefusedError(
                    f"cannot open {path}: a write was refused (the disk is full, or failing); "
                    "free some space and try again"
                ) from None
            raise ProjectError(f"{path} is damaged or not a project file ({exc})") from None
        except ProjectError:
            conn.close()
            raise
        return cls(path, conn)

    @staticmethod
    def _configure(conn: sqlite3.Connection, path: Path) -> None:
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        has_tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] > 0
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        # Only a database with nothing in it at all becomes a new project; one with a version
        # of its own would otherwise be "migrated" from that version, by steps meant for ours.
        if app_id != APPLICATION_ID and (app_id != 0 or has_tables or version != 0):
            raise ProjectError(f"{path} is an SQLite database but not a mixbook project")
        if version < 0:
            # Migrations are picked by version: a negative one would run the last steps first.
            raise ProjectError(f"{path} is damaged: its project version is {version}")
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"{path} was saved by a newer mixbook-desktop (project version {version}, "
                f"this one reads up to {SCHEMA_VERSION}); update the app to open it"
            )
        # WAL: readers never block the writer and a killed writer cannot tear the file;
        # NORMAL sync keeps every commit across a crash of the app (not of the OS).
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > 0:
            # Keep the pre-migration file: a migration is the one write that rewrites the schema.
            backup = path.with_name(f"{path.name}.v{version}.bak")
            with sqlite3.connect(backup) as target:
                conn.backup(target)
            target.close()
        for step in range(version, SCHEMA_VERSION):
            # One transaction per step, version bump included, so a kill leaves either the old
            # or the new schema. executescript would commit first, hence the explicit BEGIN.
            try:
                conn.executescript(
                    f"BEGIN;\n{MIGRATIONS[step]}\n"
                    f"PRAGMA application_id = {APPLICATION_ID};\n"
                    f"PRAGMA user_version = {step + 1};\nCOMMIT;"
                )
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def integrity_ok(self) -> bool:
        return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
