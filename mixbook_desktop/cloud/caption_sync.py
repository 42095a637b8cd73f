"""The book's captions mirrored to PostgreSQL (Amazon RDS or any server), both ways.

What is on the server. One schema, `mixbook`, shared by any number of books, each row under
the book's lasting id (`config.book_id`). The tables have the project file's caption columns,
same names, same types (TEXT and INTEGER; times as the same ISO text, so rows compare
exactly), with a `book` column added:

- `captions`: the user's text per target, exactly the project file's rows. A caption the user
  cleared is deleted here too.
- `caption_history` and `caption_suggestions`: append-only, without the project's `id` (every
  copy of the book numbers its rows itself) but with `uid`, the name a row has in every copy
  (project migration 6 gives one to each row), and `revision`.
- `books`: per book a revision number, raised by one by every sync that writes, and an
  epoch, made with the row. Each sync locks its book's row first, so syncs of one book run
  one after the other and a copy can ask for "everything since revision N" without missing a
  row committed late. A server that lost the book (emptied, restored from an older backup)
  shows another epoch or an older revision: the copy then compares everything afresh.

The tables are made on first sync (CREATE ... IF NOT EXISTS, under an advisory lock so two
first syncs do not collide); once there, syncing needs no right to create anything.

What the project file keeps (migration 6): per server ("host:port/database") the epoch, the
revision read up to and the highest local history and suggestion ids already on the server
(`caption_sync`); per target the caption as both sides had it after the last sync, the base of
the three-way merge (`caption_sync_base`).

Targets on the server name photos by content, not by the local id: "photo:<sha256>", and a
chapter keyed by its first photo "chapter:p<sha256>". Two copies of a book that each imported
other photos later give the same id to different photos; a caption must not move to another
photo on the way. Rows for a photo this copy does not have are not applied to its captions
(they wait on the server until the photo is imported here); their history and suggestions are
kept under the server's name for the target and take the local name once the photo arrives.

What a sync does, in one PostgreSQL transaction and one SQLite transaction (the server commits
first: a kill between the two leaves rows on the server that the next sync finds already
there, and every step is idempotent, so nothing is lost or doubled):

1. History events and suggestions: every row one side has and the other lacks is copied,
   found by uid (locally: rows above the id reached by the last sync; from the server: rows
   above the revision read by the last sync).
2. Captions, three-way: each side is compared with the base. With none (the first sync of
   this copy with this server), a caption whose last event the server already has counts as
   unchanged here (a copy of the file, made before the other copy's edits); otherwise any
   difference counts as a change on both sides. A change on one side is copied to the other.
   Changed on both sides, the text (with its source) and the lock are merged apart, so a lock
   on one copy and an edit on another both stay. Two different texts are a conflict: the
   newest edit stays current on both sides (its time is the caption's `updated_at` or the
   side's newest history event for the target, whichever is later, so an undo counts from
   when it was made; a tie keeps this copy's), and the other text is written into the history
   on both sides ("conflict: kept from <where>": "the server", or this computer's name), from
   where the user can take it back. No edit is ever dropped.

The project file stays locked for writing (BEGIN IMMEDIATE) from reading its captions to the
end of the sync, so an edit made meanwhile cannot slip between the two: the editor's write
waits (its busy timeout, 10 s) instead. A sync of a usual book takes well under a second.

User edits always win over suggestions: suggestions are only ever appended to the history of
suggestions; the captions table, the user's own text, is written by user edits alone.

Offline nothing is needed: edits accumulate in the project file, and the next sync sends what
changed since the last one (`pending_changes` counts it). An unreachable server is a one-line
CloudError before the project file is touched.

Password: never in the book; where it comes from is `postgres`'s business. Messages made
from PostgreSQL errors are scrubbed of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import platform
import re
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mixbook_desktop.cloud.config import CloudError, CloudSettings, book_id, load
from mixbook_desktop.cloud.postgres import CONNECT_TIMEOUT, Row, connect, describe, server_of
from mixbook_desktop.store.project import Project

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

SCHEMA = "mixbook"
CONFLICT_ACTION = "conflict: kept from "  # + where the text set aside was made
CAPTION_COLUMNS = ("target", "text", "source", "locked", "updated_at")
HISTORY_COLUMNS = ("uid", "target", "action", "text", "at")
SUGGESTION_COLUMNS = (
    "uid",
    "target",
    "kind",
    "tone",
    "text",
    "source",
    "alternatives",
    "candidates",
    "facts",
    "settings",
    "model",
    "model_sha256",
    "note",
    "round",
    "created_at",
)
# Serialises the first creation of the tables by several clients at once.
_DDL_LOCK = 0x4D424B43_41505431

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.books (
    book TEXT PRIMARY KEY,
    epoch TEXT NOT NULL,
    revision BIGINT NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.captions (
    book TEXT NOT NULL REFERENCES {SCHEMA}.books(book),
    target TEXT NOT NULL,
    text TEXT,
    source TEXT CHECK (source IN ('model', 'template', 'user')),
    locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (book, target)
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.caption_history (
    book TEXT NOT NULL REFERENCES {SCHEMA}.books(book),
    uid TEXT NOT NULL,
    target TEXT NOT NULL,
    action TEXT NOT NULL,
    text TEXT,
    at TEXT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (book, uid)
);
CREATE INDEX IF NOT EXISTS caption_history_revision ON {SCHEMA}.caption_history (book, revision);
CREATE TABLE IF NOT EXISTS {SCHEMA}.caption_suggestions (
    book TEXT NOT NULL REFERENCES {SCHEMA}.books(book),
    uid TEXT NOT NULL,
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
    created_at TEXT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (book, uid)
);
CREATE INDEX IF NOT EXISTS caption_suggestions_revision ON {SCHEMA}.caption_suggestions (book, revision);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ---- target names --------------------------------------------------------------------------------
_PHOTO_ID = re.compile(r"^(photo:|chapter:p)(\d+)$")
_PHOTO_SHA = re.compile(r"^(photo:|chapter:p)([0-9a-f]{64})$")


class TargetNames:
    """Targets as the project names them (photo ids) and as the server does (photo hashes)."""

    def __init__(self, project: Project) -> None:
        rows = project.conn.execute("SELECT id, sha256 FROM photos").fetchall()
        self._sha = {int(i): str(s) for i, s in rows}
        self._id = {s: i for i, s in self._sha.items()}

    def to_server(self, target: str) -> str | None:
        """None for a photo the project no longer has."""
        found = _PHOTO_ID.match(target)
        if not found:
            return target
        sha = self._sha.get(int(found[2]))
        return f"{found[1]}{sha}" if sha else None

    def to_local(self, target: str) -> str:
        """The project's name; the server's one for a photo this copy does not have."""
        found = _PHOTO_SHA.match(target)
        if not found or found[2] not in self._id:
            return target
        return f"{found[1]}{self._id[found[2]]}"

    def known(self, target: str) -> bool:
        found = _PHOTO_SHA.match(target)
        return not found or found[2] in self._id


def _rename_arrived(project: Project, names: TargetNames) -> None:
    """History and suggestions kept under the server's name of a photo imported since."""
    for table in ("caption_history", "caption_suggestions"):
        parked = project.conn.execute(
            f"SELECT DISTINCT target FROM {table} WHERE target GLOB 'photo:*' OR target GLOB 'chapter:p*'"
        ).fetchall()
        for (target,) in parked:
            local = names.to_local(target)
            if local != target:
                project.conn.execute(f"UPDATE {table} SET target = ? WHERE target = ?", (local, target))


# ---- local bookkeeping ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _State:
    epoch: str = ""  # which incarnation of the book's data on the server this is about
    revision: int = 0  # the server's book revision this copy has read up to
    history_id: int = 0  # local caption_history rows up to this id are on the server
    suggestion_id: int = 0


def _state(project: Project, server: str) -> _State:
    row = project.conn.execute(
        "SELECT epoch, revision, history_id, suggestion_id FROM caption_sync WHERE server = ?", (server,)
    ).fetchone()
    return _State(*row) if row else _State()


def _local_captions(project: Project, names: TargetNames) -> dict[str, Row]:
    out: dict[str, Row] = {}
    for row in project.conn.execute(f"SELECT {', '.join(CAPTION_COLUMNS)} FROM captions"):
        remote = names.to_server(row[0])
        if remote is not None and names.known(remote):
            out[remote] = (remote, *row[1:])
    return out


def _bases(project: Project, server: str) -> dict[str, Row]:
    rows = project.conn.execute(
        "SELECT target, text, source, locked, updated_at FROM caption_sync_base WHERE server = ?", (server,)
    )
    return {r[0]: tuple(r) for r in rows}


def _new_rows(project: Project, table: str, columns: Sequence[str], after: int) -> list[Row]:
    return [
        tuple(r)
        for r in project.conn.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE id > ? ORDER BY id", (after,)
        )
    ]


def pending_changes(project: Project, settings: CloudSettings | str | None = None) -> int:
    """How many targets (captions, titles) have edits, history or suggestions this copy has
    not sent to the book's PostgreSQL server yet ("3 captions to sync"). Needs no network."""
    server = server_of(_url(project, settings)).name
    names = TargetNames(project)
    state = _state(project, server)
    local, bases = _local_captions(project, names), _bases(project, server)
    changed = {t for t in local.keys() | bases.keys() if local.get(t) != bases.get(t)}
    for table, after in (("caption_history", state.history_id), ("caption_suggestions", state.suggestion_id)):
        for (target,) in project.conn.execute(f"SELECT DISTINCT target FROM {table} WHERE id > ?", (after,)):
            remote = names.to_server(target)
            if remote is not None:
                changed.add(remote)
    return len(changed)


# ---- the merge -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Conflict:
    """Both sides changed a target's text differently: `kept` is current on both now, and
    `set_aside` is in the history on both, from `set_aside_from` ("this copy" or "the server")."""

    target: str
    kept: str | None
    set_aside: str | None
    set_aside_from: str


@dataclass
class SyncReport:
    server: str
    revision: int = 0
    captions_sent: int = 0
    captions_received: int = 0
    history_sent: int = 0
    history_received: int = 0
    suggestions_sent: int = 0
    suggestions_received: int = 0
    conflicts: list[Conflict] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{self.captions_sent} caption(s) sent",
            f"{self.captions_received} received",
            f"{self.history_sent + self.suggestions_sent} history row(s) sent",
            f"{self.history_received + self.suggestions_received} received",
        ]
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflict(s): the other text is in each one's history")
        return f"captions synced with {self.server}: " + ", ".join(parts)


def _moment(at: str | None) -> dt.datetime:
    """A time to compare; every time the app writes is UTC ISO text, older or odd ones too."""
    if at:
        try:
            parsed = dt.datetime.fromisoformat(at)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return dt.datetime.min.replace(tzinfo=dt.UTC)


def _content(row: Row | None) -> tuple[Any, Any, int]:
    """(text, source, locked); no row is the same as no text and no lock (CaptionStore keeps
    a row only while it has either)."""
    return (row[1], row[2], int(row[3])) if row else (None, None, 0)


def _pick(base: Any, mine: Any, theirs: Any, mine_first: bool) -> Any:
    """One field of a three-way merge: the side that changed it, the first when both did."""
    if mine == theirs or theirs == base:
        return mine
    if mine == base:
        return theirs
    return mine if mine_first else theirs


def _merge(
    target: str, base: Row | None, mine: Row | None, theirs: Row | None, mine_first: bool
) -> Row | None:
    """The caption both sides get."""
    b, m, t = _content(base), _content(mine), _content(theirs)
    text, source = _pick(b[:2], m[:2], t[:2], mine_first)
    locked = _pick(b[2], m[2], t[2], mine_first)
    if text is None and not locked:
        return None
    merged = (text, source, locked)
    if merged == m and (merged != t or mine_first):
        return mine
    if merged == t:
        return theirs
    stamps = [r[4] for r in (mine, theirs) if r is not None]
    return (target, text, source, locked, max(stamps, key=_moment) if stamps else _now())


def _conflict_uid(book: str, target: str, text: str | None, at: str) -> str:
    """The same conflict met twice (a sync killed after the server committed) is one row."""
    return hashlib.sha256(f"{book}\0{target}\0{text}\0{at}".encode()).hexdigest()[:32]


# ---- the sync ------------------------------------------------------------------------------------
def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def _quoted(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _ensure_schema(pg: psycopg.Connection[Row]) -> None:
    with pg.transaction():
        found = pg.execute(
            "SELECT to_regclass(%s), to_regclass(%s), to_regclass(%s), to_regclass(%s)",
            [f"{SCHEMA}.{t}" for t in ("books", "captions", "caption_history", "caption_suggestions")],
        ).fetchone()
        if found is not None and all(found):
            return  # a user with no right to create tables can still sync
        pg.execute("SELECT pg_advisory_xact_lock(%s)", [_DDL_LOCK])
        pg.execute(_DDL)


def _url(project: Project, settings: CloudSettings | str | None) -> str:
    url = settings if isinstance(settings, str) else (settings or load(project)).postgres_url
    if not url:
        raise CloudError("no PostgreSQL server for the captions (cloud --postgres-url URL)")
    return url


def sync_captions(
    project: Project, settings: CloudSettings | str | None = None, *, timeout: float = CONNECT_TIMEOUT
) -> SyncReport:
    """Send this copy's caption changes to the book's PostgreSQL mirror and take in the ones
    made elsewhere (see the module's notes). `settings`: the book's cloud settings or a
    PostgreSQL URL; None loads the book's. Raises CloudError, with the project file as it was,
    when the server cannot be reached or refuses."""
    import psycopg

    url = _url(project, settings)
    server = server_of(url)
    if project.conn.in_transaction:
        raise CloudError("caption sync must not run inside another change of the book")
    book = book_id(project)
    pg = connect(url, timeout)
    try:
        _ensure_schema(pg)
        # IMMEDIATE: the copy's captions cannot change between being read and the sync's
        # writes; another writer waits (busy timeout) for the sync instead.
        project.conn.execute("BEGIN IMMEDIATE")
        try:
            with pg.transaction():
                report = _sync(project, pg, book, server.name)
            _commit_local(project)
        except BaseException:
            if project.conn.in_transaction:
                project.conn.execute("ROLLBACK")
            raise
    except psycopg.Error as exc:
        message = describe(exc, server)
        log.warning("caption sync failed: %s", message)
        raise CloudError(message) from None
    except sqlite3.Error as exc:
        raise CloudError(f"caption sync: the project file refused a change ({exc})") from None
    finally:
        pg.close()
    log.info("%s", report.summary())
    return report


def _commit_local(project: Project) -> None:
    """After the server's commit: a kill before this leaves work the next sync finds done."""
    project.conn.execute("COMMIT")


@dataclass
class _Plan:
    """What one sync writes to the server."""

    history: list[Row] = field(default_factory=list)
    suggestions: list[Row] = field(default_factory=list)
    captions: list[Row] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)


def _sync(project: Project, pg: psycopg.Connection[Row], book: str, server: str) -> SyncReport:
    report = SyncReport(server)
    db = project.conn
    names = TargetNames(project)
    _rename_arrived(project, names)
    now = _now()

    # A stalled peer holding the book, or a statement that hangs, ends the sync with an error.
    pg.execute("SET LOCAL lock_timeout = '30s'")
    pg.execute("SET LOCAL statement_timeout = '120s'")
    pg.execute(
        f"INSERT INTO {SCHEMA}.books (book, epoch, revision, updated_at) VALUES (%s, %s, 0, %s) "
        "ON CONFLICT DO NOTHING",
        [book, uuid.uuid4().hex, now],
    )
    held = pg.execute(
        f"SELECT epoch, revision FROM {SCHEMA}.books WHERE book = %s FOR UPDATE", [book]
    ).fetchone()
    assert held is not None
    epoch, server_revision = str(held[0]), int(held[1])
    state = _state(project, server)
    bases = _bases(project, server)
    if state.epoch != epoch or state.revision > server_revision:
        # Another server at the same address, or this one restored from a backup: what this
        # copy knew about it does not hold. Everything is compared afresh, nothing is lost.
        if state.epoch:
            log.warning("the caption mirror at %s is not the one last synced with: comparing all", server)
        state, bases = _State(epoch=epoch), {}
        db.execute("DELETE FROM caption_sync_base WHERE server = ?", (server,))
    revision = server_revision + 1  # what this sync's rows are written under

    theirs = {
        r[0]: tuple(r)
        for r in pg.execute(
            f"SELECT {_quoted(CAPTION_COLUMNS)} FROM {SCHEMA}.captions WHERE book = %s", [book]
        )
    }
    their_history = pg.execute(
        f"SELECT {_quoted(HISTORY_COLUMNS)} FROM {SCHEMA}.caption_history "
        "WHERE book = %s AND revision > %s ORDER BY revision, at, uid",
        [book, state.revision],
    ).fetchall()
    their_suggestions = pg.execute(
        f"SELECT {_quoted(SUGGESTION_COLUMNS)} FROM {SCHEMA}.caption_suggestions "
        "WHERE book = %s AND revision > %s ORDER BY revision, created_at, uid",
        [book, state.revision],
    ).fetchall()
    mine = _local_captions(project, names)
    plan = _Plan(
        history=_new_rows(project, "caption_history", HISTORY_COLUMNS, state.history_id),
        suggestions=_new_rows(project, "caption_suggestions", SUGGESTION_COLUMNS, state.suggestion_id),
    )
    # Per target, the event that made this copy's caption what it is: when the server has it,
    # the server knew this caption, even with no base (the first sync of a copied book).
    last_event: dict[str, str] = {}
    newest = (
        "SELECT target, uid FROM caption_history "
        "WHERE id IN (SELECT max(id) FROM caption_history GROUP BY target)"
    )
    for target, uid in db.execute(newest):
        remote = names.to_server(target)
        if remote is not None:
            last_event[remote] = uid
    their_uids = {r[0] for r in their_history}

    # When each side last changed a target: its caption's time, or a later event of its own
    # (an undo puts back the caption's old time but records when it was made).
    my_time: dict[str, dt.datetime] = {}
    their_time: dict[str, dt.datetime] = {}
    for rows, times, local_names in ((plan.history, my_time, True), (their_history, their_time, False)):
        for _uid, target, action, _text, at in rows:
            remote = names.to_server(target) if local_names else target
            if remote is not None and not action.startswith(CONFLICT_ACTION):  # a sync's, not an edit
                times[remote] = max(times.get(remote, _moment(None)), _moment(at))

    # The other side's history and suggestions, in the order the server has them.
    pulled = db.executemany(
        f"INSERT OR IGNORE INTO caption_history ({', '.join(HISTORY_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
        [(r[0], names.to_local(r[1]), *r[2:]) for r in their_history],
    )
    report.history_received = max(pulled.rowcount, 0)
    pulled = db.executemany(
        f"INSERT OR IGNORE INTO caption_suggestions ({', '.join(SUGGESTION_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(SUGGESTION_COLUMNS))})",
        [(r[0], names.to_local(r[1]), *r[2:]) for r in their_suggestions],
    )
    report.suggestions_received = max(pulled.rowcount, 0)

    set_aside: list[Row] = []
    for target in sorted(mine.keys() | theirs.keys() | bases.keys()):
        if not names.known(target):
            continue  # a photo this copy does not have: its caption waits on the server
        m, t, b = mine.get(target), theirs.get(target), bases.get(target)
        inferred = b is None and m is not None and last_event.get(target) in their_uids
        if inferred:
            b = m
        if m == b and t == b:
            if inferred:
                _set_base(project, server, target, m)
            continue
        local_target = names.to_local(target)
        if t == b:
            merged: Row | None = m
        elif m == b:
            merged = t
        else:
            mine_first = max(my_time.get(target, _moment(None)), _moment(m[4] if m else None)) >= max(
                their_time.get(target, _moment(None)), _moment(t[4] if t else None)
            )
            merged = _merge(target, b, m, t, mine_first)
            texts = _content(b)[0], _content(m)[0], _content(t)[0]
            if texts[1] != texts[0] and texts[2] != texts[0] and texts[1] != texts[2]:
                loser = t if mine_first else m
                lost = texts[2] if mine_first else texts[1]
                report.conflicts.append(
                    Conflict(
                        local_target, _content(merged)[0], lost, "the server" if mine_first else "this copy"
                    )
                )
                if loser is not None and lost is not None:
                    # A clearing that lost has no text to keep; its "cleared" event stays.
                    where = "the server" if mine_first else _this_copy()
                    uid = _conflict_uid(book, target, lost, loser[4])
                    set_aside.append((uid, local_target, f"{CONFLICT_ACTION}{where}", lost, now))
        if merged != m:
            report.captions_received += 1
            if merged is None:
                db.execute("DELETE FROM captions WHERE target = ?", (local_target,))
            else:
                db.execute(
                    f"INSERT OR REPLACE INTO captions ({', '.join(CAPTION_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
                    (local_target, *merged[1:]),
                )
        if merged != t:
            report.captions_sent += 1
            if merged is None:
                plan.cleared.append(target)
            else:
                plan.captions.append(merged)
        _set_base(project, server, target, merged)

    for row in set_aside:
        # Already here when a sync killed after the server's commit met this conflict before.
        added = db.execute(
            f"INSERT OR IGNORE INTO caption_history ({', '.join(HISTORY_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
            row,
        )
        if added.rowcount > 0:
            plan.history.append(row)

    _push(pg, book, revision, names, plan, report)
    wrote = bool(report.history_sent or report.suggestions_sent or report.captions_sent)
    if wrote:
        pg.execute(
            f"UPDATE {SCHEMA}.books SET revision = %s, updated_at = %s WHERE book = %s", [revision, now, book]
        )
    report.revision = revision if wrote else server_revision

    # Every row this copy has is on the server now, the ones just pulled included.
    high = db.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM caption_history), "
        "(SELECT coalesce(max(id), 0) FROM caption_suggestions)"
    ).fetchone()
    db.execute(
        "INSERT OR REPLACE INTO caption_sync (server, epoch, revision, history_id, suggestion_id, synced_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (server, epoch, report.revision, high[0], high[1], now),
    )
    return report


def _set_base(project: Project, server: str, target: str, row: Row | None) -> None:
    if row is None:
        project.conn.execute(
            "DELETE FROM caption_sync_base WHERE server = ? AND target = ?", (server, target)
        )
    else:
        project.conn.execute(
            "INSERT OR REPLACE INTO caption_sync_base (server, target, text, source, locked, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (server, *row),
        )


def _push(
    pg: psycopg.Connection[Row], book: str, revision: int, names: TargetNames, plan: _Plan, report: SyncReport
) -> None:
    """This copy's rows to the server; the ones it has already (by uid) stay as they are."""
    with pg.cursor() as cur:
        for table, columns, rows in (
            ("caption_history", HISTORY_COLUMNS, plan.history),
            ("caption_suggestions", SUGGESTION_COLUMNS, plan.suggestions),
        ):
            outgoing = [(book, r[0], t, *r[2:], revision) for r in rows if (t := names.to_server(r[1]))]
            if not outgoing:
                continue
            cur.executemany(
                f"INSERT INTO {SCHEMA}.{table} (book, {_quoted(columns)}, revision) "
                f"VALUES ({_placeholders(len(columns) + 2)}) ON CONFLICT (book, uid) DO NOTHING",
                outgoing,
            )
            sent = max(cur.rowcount, 0)
            if table == "caption_history":
                report.history_sent = sent
            else:
                report.suggestions_sent = sent
        if plan.captions:
            updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in CAPTION_COLUMNS[1:])
            cur.executemany(
                f"INSERT INTO {SCHEMA}.captions (book, {_quoted(CAPTION_COLUMNS)}) "
                f"VALUES ({_placeholders(len(CAPTION_COLUMNS) + 1)}) "
                f"ON CONFLICT (book, target) DO UPDATE SET {updates}",
                [(book, *r) for r in plan.captions],
            )
        if plan.cleared:
            cur.execute(
                f"DELETE FROM {SCHEMA}.captions WHERE book = %s AND target = ANY(%s)", [book, plan.cleared]
            )


def _this_copy() -> str:
    """This computer, as a conflict's history entry names where the set-aside text was made."""
    return platform.node() or "another computer"
