"""Forward-only schema migrations; MIGRATIONS[i] takes a project from version i to i + 1."""

from __future__ import annotations

# 'MBK1': marks a SQLite file as a mixbook project (PRAGMA application_id).
APPLICATION_ID = 0x4D424B31

MIGRATIONS: list[str] = [
    # 1: photos, the files they came from, thumbnails.
    """
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        format TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        orientation INTEGER CHECK (orientation BETWEEN 1 AND 8),
        taken_at TEXT,
        gps_lat REAL CHECK (gps_lat BETWEEN -90 AND 90),
        gps_lon REAL CHECK (gps_lon BETWEEN -180 AND 180),
        gps_alt REAL,
        place TEXT,
        camera_make TEXT,
        camera_model TEXT,
        warnings TEXT NOT NULL DEFAULT '[]',
        imported_at TEXT NOT NULL
    );
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('ok', 'duplicate', 'error')),
        photo_id INTEGER REFERENCES photos(id) ON DELETE CASCADE,
        sha256 TEXT,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        error TEXT,
        imported_at TEXT NOT NULL,
        CHECK ((status = 'error') = (photo_id IS NULL)),
        CHECK ((status = 'error') = (error IS NOT NULL))
    );
    CREATE INDEX files_photo ON files(photo_id);
    CREATE INDEX files_sha256 ON files(sha256);
    CREATE TABLE thumbnails (
        sha256 TEXT PRIMARY KEY REFERENCES photos(sha256) ON DELETE CASCADE,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        jpeg BLOB NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
