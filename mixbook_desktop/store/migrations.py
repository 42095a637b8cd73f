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
    # 2: analysis results per stage, faces and the people they belong to, duplicate groups,
    # per-book settings, and the user's moderation decisions.
    """
    CREATE TABLE analysis (
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        stage TEXT NOT NULL,
        version TEXT NOT NULL,
        result TEXT,
        error TEXT,
        analysed_at TEXT NOT NULL,
        PRIMARY KEY (photo_id, stage),
        CHECK ((result IS NULL) != (error IS NULL))
    );
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT,
        hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1)),
        created_at TEXT NOT NULL
    );
    CREATE TABLE faces (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        x REAL NOT NULL,
        y REAL NOT NULL,
        w REAL NOT NULL,
        h REAL NOT NULL,
        score REAL NOT NULL,
        landmarks TEXT NOT NULL,
        embedding BLOB,
        embedder TEXT,
        emotions TEXT,
        person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
        pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
        UNIQUE (photo_id, idx)
    );
    CREATE INDEX faces_person ON faces(person_id);
    CREATE TABLE face_rejections (
        face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        PRIMARY KEY (face_id, person_id)
    );
    CREATE TABLE duplicates (
        photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        group_id INTEGER NOT NULL,
        best INTEGER NOT NULL CHECK (best IN (0, 1))
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ALTER TABLE photos ADD COLUMN moderation_override TEXT
        CHECK (moderation_override IN ('allow', 'block'));
    """,
    # 3: captions and titles. Suggestions are kept (newest wins) with their provenance; the
    # user's own text lives apart, with its history, so no regeneration can touch it.
    """
    CREATE TABLE caption_suggestions (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('photo', 'book', 'chapter')),
        tone TEXT NOT NULL,
        text TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('model', 'template')),
        alternatives TEXT NOT NULL,
        candidates TEXT NOT NULL,
        facts TEXT NOT NULL,
        settings TEXT NOT NULL,
        model TEXT,
        model_sha256 TEXT,
        note TEXT,
        round INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE INDEX caption_suggestions_target ON caption_suggestions(target, id);
    CREATE TABLE captions (
        target TEXT PRIMARY KEY,
        text TEXT,
        source TEXT CHECK (source IN ('model', 'template', 'user')),
        locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
        updated_at TEXT NOT NULL
    );
    CREATE TABLE caption_history (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        action TEXT NOT NULL,
        text TEXT,
        at TEXT NOT NULL
    );
    CREATE INDEX caption_history_target ON caption_history(target, id);
    """,
    # 4: the book. Pages by position (0 is the cover), what each slot of a page's template
    # holds, and the photos the user put into the book or took out of it. The product and the
    # page count asked for are settings.
    """
    CREATE TABLE book_pages (
        id INTEGER PRIMARY KEY,
        position INTEGER NOT NULL UNIQUE CHECK (position >= 0),
        template TEXT NOT NULL,
        chapter TEXT,
        locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1))
    );
    CREATE TABLE book_slots (
        page_id INTEGER NOT NULL REFERENCES book_pages(id) ON DELETE CASCADE,
        slot INTEGER NOT NULL CHECK (slot >= 0),
        photo_id INTEGER REFERENCES photos(id) ON DELETE SET NULL,
        text_target TEXT,
        crop_x REAL,
        crop_y REAL,
        crop_w REAL,
        crop_h REAL,
        crop_by_user INTEGER NOT NULL DEFAULT 0 CHECK (crop_by_user IN (0, 1)),
        locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
        PRIMARY KEY (page_id, slot),
        CHECK (photo_id IS NULL OR text_target IS NULL),
        CHECK ((crop_x IS NULL) = (crop_w IS NULL))
    );
    CREATE INDEX book_slots_photo ON book_slots(photo_id);
    CREATE TABLE book_choices (
        photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        choice TEXT NOT NULL CHECK (choice IN ('include', 'exclude'))
    );
    """,
    # 5: cloud mode. What the book has in S3 under content-addressed keys, multipart uploads
    # in flight (resumed after a kill rather than started over), and people in a Rekognition
    # face collection: the id Rekognition gave each face and the matches it found between them.
    """
    CREATE TABLE cloud_objects (
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('original', 'analysis')),
        size INTEGER NOT NULL,
        uploaded_at TEXT NOT NULL,
        PRIMARY KEY (bucket, key)
    );
    CREATE INDEX cloud_objects_sha256 ON cloud_objects(sha256, kind);
    CREATE TABLE cloud_multipart (
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        upload_id TEXT NOT NULL,
        part_size INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        PRIMARY KEY (bucket, key)
    );
    CREATE TABLE cloud_faces (
        face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
        collection TEXT NOT NULL,
        cloud_face_id TEXT NOT NULL,
        UNIQUE (collection, cloud_face_id)
    );
    CREATE TABLE cloud_face_matches (
        collection TEXT NOT NULL,
        a TEXT NOT NULL,
        b TEXT NOT NULL,
        similarity REAL NOT NULL CHECK (similarity BETWEEN 0 AND 100),
        PRIMARY KEY (collection, a, b)
    );
    """,
    # 6: syncing captions with a PostgreSQL mirror (cloud/caption_sync.py). History events and
    # suggestions get a uid, the one name a row has in every copy of the book and on the
    # server (the local id differs between copies); a trigger gives one to each new row, so
    # the code that writes them needs no change. Per server: which incarnation of the book's
    # data there this copy knows (epoch: a server restored or emptied since starts anew), how
    # far this copy has read its changes, and up to which local id this copy's rows are there;
    # per target: the caption as both sides had it after the last sync, the base of a
    # three-way merge. The book's lasting id (cloud.config.book_id) is made here rather than
    # on first use, so that every copy of the file, even one made before any sync, is the
    # same book on the server.
    """
    INSERT OR IGNORE INTO settings (key, value) VALUES ('book.id', '"' || lower(hex(randomblob(16))) || '"');
    ALTER TABLE caption_history ADD COLUMN uid TEXT;
    ALTER TABLE caption_suggestions ADD COLUMN uid TEXT;
    UPDATE caption_history SET uid = lower(hex(randomblob(16)));
    UPDATE caption_suggestions SET uid = lower(hex(randomblob(16)));
    CREATE UNIQUE INDEX caption_history_uid ON caption_history(uid);
    CREATE UNIQUE INDEX caption_suggestions_uid ON caption_suggestions(uid);
    CREATE TRIGGER caption_history_give_uid AFTER INSERT ON caption_history WHEN NEW.uid IS NULL
    BEGIN
        UPDATE caption_history SET uid = lower(hex(randomblob(16))) WHERE id = NEW.id;
    END;
    CREATE TRIGGER caption_suggestions_give_uid AFTER INSERT ON caption_suggestions WHEN NEW.uid IS NULL
    BEGIN
        UPDATE caption_suggestions SET uid = lower(hex(randomblob(16))) WHERE id = NEW.id;
    END;
    CREATE TABLE caption_sync (
        server TEXT PRIMARY KEY,
        epoch TEXT NOT NULL,
        revision INTEGER NOT NULL,
        history_id INTEGER NOT NULL,
        suggestion_id INTEGER NOT NULL,
        synced_at TEXT NOT NULL
    );
    CREATE TABLE caption_sync_base (
        server TEXT NOT NULL,
        target TEXT NOT NULL,
        text TEXT,
        source TEXT,
        locked INTEGER NOT NULL CHECK (locked IN (0, 1)),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (server, target)
    );
    """,
    # 7: every face id the book has put into a Rekognition collection, by photo, until the book
    # takes it out again. The faces table forgets a face's collection id when the photo is
    # analysed on this machine; this keeps it, so that the next cloud analysis of the photo
    # removes it from the collection instead of leaving it there for ever.
    """
    CREATE TABLE cloud_indexed (
        collection TEXT NOT NULL,
        cloud_face_id TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (collection, cloud_face_id)
    );
    CREATE INDEX cloud_indexed_photo ON cloud_indexed(sha256, collection);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
