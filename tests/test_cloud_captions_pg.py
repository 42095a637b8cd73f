"""The caption mirror on a real PostgreSQL server (password authentication, on 127.0.0.1):
rows equal to the project file's, offline edits sent later, two copies of a book editing the
same caption without losing either edit, kills of the server and of the app mid-sync, and no
password anywhere it could leak to."""

from __future__ import annotations

import hashlib
import itertools
import logging
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mixbook_desktop.cloud import caption_sync, config, postgres
from mixbook_desktop.cloud.caption_sync import (
    CAPTION_COLUMNS,
    HISTORY_COLUMNS,
    SCHEMA,
    SUGGESTION_COLUMNS,
    TargetNames,
    pending_changes,
    sync_captions,
)
from mixbook_desktop.cloud.config import CloudError
from mixbook_desktop.cloud.postgres import save_pg_password
from mixbook_desktop.core.captions import Facts, Source, Suggestion, TextKind, Tone
from mixbook_desktop.services import captions as service
from mixbook_desktop.store import captions as caption_store
from mixbook_desktop.store import snapshots
from mixbook_desktop.store.captions import CaptionStore
from mixbook_desktop.store.migrations import APPLICATION_ID, MIGRATIONS
from mixbook_desktop.store.project import Project
from tests.cloud_support import MemoryKeyring
from tests.support.postgres import PostgresServer

Rows = list[tuple[Any, ...]]


# ---- helpers ---------------------------------------------------------------------------------
def sha_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def add_photo(project: Project, name: str) -> int:
    """A photo row as the importer leaves it; captions need nothing else of a photo."""
    with project.db.atomic():
        cursor = project.conn.execute(
            "INSERT INTO photos (sha256, format, width, height, imported_at) VALUES (?, 'jpeg', 640, 480, ?)",
            (sha_of(name), "2026-01-01T00:00:00+00:00"),
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def new_book(path: Path, photos: tuple[str, ...] = ("a.jpg", "b.jpg", "c.jpg")) -> Path:
    with Project.open(path, create=True) as project:
        for name in photos:
            add_photo(project, name)
    return path


def suggest(project: Project, target: str, text: str) -> None:
    CaptionStore(project).add_suggestion(
        target,
        TextKind.PHOTO,
        Tone.NEUTRAL,
        Suggestion(text, Source.MODEL, alternatives=(text + " too",)),
        Facts(place="Helsinki, Finland"),
        {"tone": "neutral"},
        "test-model",
        None,
        0,
    )


class Clock:
    """The time the caption store writes, under the test's control: edits on two copies in
    the same second would otherwise depend on the machine's speed."""

    def __init__(self) -> None:
        self._seconds = itertools.count(0)

    def __call__(self) -> str:
        n = next(self._seconds)
        return f"2026-05-01T10:{n // 60:02d}:{n % 60:02d}+00:00"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    made = Clock()
    monkeypatch.setattr(caption_store, "_now", made)
    return made


def local_rows(project: Project, table: str, columns: tuple[str, ...]) -> Rows:
    """The project's rows as the server names their targets, sorted."""
    names = TargetNames(project)
    rows = project.conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    at = columns.index("target")
    return sorted(tuple(names.to_server(v) if i == at else v for i, v in enumerate(r)) for r in rows)


def server_rows(pg: PostgresServer, book: str, table: str, columns: tuple[str, ...]) -> Rows:
    quoted = ", ".join(f'"{c}"' for c in columns)
    with psycopg.connect(pg.url, password=pg.password) as conn:
        rows = conn.execute(f"SELECT {quoted} FROM {SCHEMA}.{table} WHERE book = %s", [book]).fetchall()
    return sorted(tuple(r) for r in rows)


def assert_mirrored(project: Project, pg: PostgresServer) -> None:
    """The server's rows of the book are the project's, column for column."""
    book = config.book_id(project)
    for table, columns in (
        ("captions", CAPTION_COLUMNS),
        ("caption_history", HISTORY_COLUMNS),
        ("caption_suggestions", SUGGESTION_COLUMNS),
    ):
        assert server_rows(pg, book, table, columns) == local_rows(project, table, columns), table


def history(project: Project, target: str) -> list[tuple[str, str | None]]:
    return [(e["action"], e["text"]) for e in CaptionStore(project).history(target)]


def caption(project: Project, target: str) -> str | None:
    found = CaptionStore(project).user_captions().get(target)
    return found.text if found else None


def count(project: Project, table: str) -> int:
    return int(project.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.fixture
def two_copies(tmp_path: Path, pg_env: PostgresServer, clock: Clock) -> Iterator[tuple[Project, Project]]:
    """A book synced once, and a copy of its file: the same book on another machine."""
    path = new_book(tmp_path / "a" / "book.mbook")
    with Project.open(path) as a:
        service.set_caption(a, "photo:1", "A boat in Helsinki harbour")
        service.set_caption(a, "photo:2", "Lunch by the market hall")
        service.set_caption(a, "book", "Summer in Helsinki")
        sync_captions(a, pg_env.url)
    (tmp_path / "b").mkdir()
    shutil.copy(path, tmp_path / "b" / "book.mbook")
    with Project.open(path) as a, Project.open(tmp_path / "b" / "book.mbook") as b:
        assert config.book_id(a) == config.book_id(b)
        yield a, b


# ---- the tests -------------------------------------------------------------------------------
def test_captions_sync_up_and_the_server_rows_equal_the_project_rows(
    tmp_path: Path, pg_env: PostgresServer, clock: Clock
) -> None:
    with Project.open(new_book(tmp_path / "book.mbook")) as project:
        suggest(project, "photo:1", "A quiet harbour in Helsinki on a summer afternoon")
        suggest(project, "photo:2", "Lunch at the market hall in Helsinki")
        service.set_caption(project, "photo:1", "Our boat, waiting in the harbour")
        service.pick(project, "photo:2", 1)
        service.lock(project, "photo:3", True)  # locked without text of the user's own
        service.set_caption(project, "book", "Summer in Helsinki")
        service.set_caption(project, "chapter:p1", "The harbour")
        service.set_caption(project, "chapter:undated", "Odds and ends")
        assert pending_changes(project, pg_env.url) == 6

        report = sync_captions(project, pg_env.url)

        assert (report.captions_sent, report.captions_received, report.conflicts) == (6, 0, [])
        assert (report.history_sent, report.suggestions_sent) == (6, 2)
        assert pending_changes(project, pg_env.url) == 0
        assert_mirrored(project, pg_env)
        # Photos are named by content on the server, so copies that imported other photos
        # since cannot mix theirs up.
        book = config.book_id(project)
        targets = [r[0] for r in server_rows(pg_env, book, "captions", ("target",))]
        assert f"photo:{sha_of('a.jpg')}" in targets and f"chapter:p{sha_of('a.jpg')}" in targets

        # Idempotent: nothing to send or take the second time, and no row twice.
        again = sync_captions(project, pg_env.url)
        assert (again.captions_sent, again.captions_received, again.history_sent, again.history_received) == (
            0,
            0,
            0,
            0,
        )
        assert again.revision == report.revision
        assert_mirrored(project, pg_env)

        # A cleared caption is cleared on the server too.
        service.clear(project, "chapter:undated")
        assert pending_changes(project, pg_env.url) == 1
        sync_captions(project, pg_env.url)
        assert_mirrored(project, pg_env)


def test_an_edit_made_offline_is_kept_and_sent_when_the_server_is_back(
    tmp_path: Path, pg_env: PostgresServer, clock: Clock
) -> None:
    with Project.open(new_book(tmp_path / "book.mbook")) as project:
        service.set_caption(project, "photo:1", "A boat in the harbour")
        sync_captions(project, pg_env.url)
        pg_env.stop()
        service.set_caption(project, "photo:1", "Our boat, the morning we left")
        service.set_caption(project, "photo:2", "The market hall at noon")
        assert pending_changes(project, pg_env.url) == 2
        before = (
            count(project, "caption_history"),
            project.conn.execute("SELECT * FROM caption_sync").fetchall(),
        )

        with pytest.raises(CloudError) as failed:
            sync_captions(project, pg_env.url, timeout=2)

        assert "\n" not in str(failed.value) and "127.0.0.1" in str(failed.value)
        assert caption(project, "photo:1") == "Our boat, the morning we left"
        assert (
            count(project, "caption_history"),
            project.conn.execute("SELECT * FROM caption_sync").fetchall(),
        ) == before
        assert pending_changes(project, pg_env.url) == 2

        pg_env.start()
        report = sync_captions(project, pg_env.url)
        assert report.captions_sent == 2
        assert pending_changes(project, pg_env.url) == 0
        assert_mirrored(project, pg_env)


def test_conflicting_edits_on_two_copies_keep_both_edits(
    two_copies: tuple[Project, Project], pg_env: PostgresServer
) -> None:
    a, b = two_copies
    # photo:1: edited on both, B later. photo:2: edited on both, A later. book: locked on A,
    # retitled on B, which is no conflict: both stay.
    service.set_caption(a, "photo:1", "Edited on A first")
    service.set_caption(b, "photo:2", "Edited on B first")
    service.set_caption(b, "photo:1", "Edited on B later")
    service.set_caption(a, "photo:2", "Edited on A later")
    service.lock(a, "book", True)
    service.set_caption(b, "book", "A summer in Helsinki")

    first = sync_captions(a, pg_env.url)
    assert first.conflicts == []
    second = sync_captions(b, pg_env.url)
    assert {(c.target, c.kept, c.set_aside, c.set_aside_from) for c in second.conflicts} == {
        ("photo:1", "Edited on B later", "Edited on A first", "the server"),
        ("photo:2", "Edited on A later", "Edited on B first", "this copy"),
    }
    third = sync_captions(a, pg_env.url)
    assert third.conflicts == []

    for copy in (a, b):
        mine = CaptionStore(copy).user_captions()
        assert mine["photo:1"].text == "Edited on B later"
        assert mine["photo:2"].text == "Edited on A later"
        assert (mine["book"].text, mine["book"].locked) == ("A summer in Helsinki", True)
        # Nothing dropped: every edit is in the history of both copies, the one set aside
        # marked as such.
        assert ("edited", "Edited on A first") in history(copy, "photo:1")
        assert ("conflict: kept from the server", "Edited on A first") in history(copy, "photo:1")
        assert ("edited", "Edited on B first") in history(copy, "photo:2")
        assert any(
            action.startswith("conflict: kept from ") and text == "Edited on B first"
            for action, text in history(copy, "photo:2")
        )
        assert_mirrored(copy, pg_env)
    assert local_rows(a, "caption_history", HISTORY_COLUMNS) == local_rows(
        b, "caption_history", HISTORY_COLUMNS
    )
    assert local_rows(a, "captions", CAPTION_COLUMNS) == local_rows(b, "captions", CAPTION_COLUMNS)

    # Settled: more syncs change nothing and add no row.
    rows = count(a, "caption_history"), count(b, "caption_history")
    for copy in (a, b, a):
        report = sync_captions(copy, pg_env.url)
        assert (report.captions_sent, report.captions_received, report.conflicts) == (0, 0, [])
    assert (count(a, "caption_history"), count(b, "caption_history")) == rows


def test_an_undo_counts_from_when_it_was_made(
    two_copies: tuple[Project, Project], pg_env: PostgresServer
) -> None:
    a, b = two_copies
    scope = snapshots.caption("photo:1")
    before = snapshots.take(a, scope)
    service.set_caption(a, "photo:1", "A's edit")
    after = snapshots.take(a, scope)
    sync_captions(a, pg_env.url)
    service.set_caption(b, "photo:1", "B's edit")
    sync_captions(b, pg_env.url)  # B's edit is newer than A's: it stays
    # Undone on A after B's edit: the caption's own time goes back with it, but the undo is
    # the newest edit.
    snapshots.put_back(a, before, after, "undo")
    report = sync_captions(a, pg_env.url)
    assert [(c.kept, c.set_aside) for c in report.conflicts] == [("A boat in Helsinki harbour", "B's edit")]
    sync_captions(b, pg_env.url)
    for copy in (a, b):
        assert caption(copy, "photo:1") == "A boat in Helsinki harbour"
        assert ("conflict: kept from the server", "B's edit") in history(copy, "photo:1")
        assert ("edited", "A's edit") in history(copy, "photo:1")
        assert_mirrored(copy, pg_env)


def test_a_copy_made_before_the_first_sync_takes_newer_edits_without_a_conflict(
    tmp_path: Path, pg_env: PostgresServer, clock: Clock
) -> None:
    path = new_book(tmp_path / "a" / "book.mbook")
    with Project.open(path) as a:
        service.set_caption(a, "photo:1", "Before the copy")
    (tmp_path / "b").mkdir()
    shutil.copy(path, tmp_path / "b" / "book.mbook")
    with Project.open(path) as a, Project.open(tmp_path / "b" / "book.mbook") as b:
        service.set_caption(a, "photo:1", "After the copy, on A")
        service.set_caption(b, "photo:2", "Only edited on B")
        sync_captions(a, pg_env.url)
        # B has never synced: no base. Its photo:1 is what the server already knew (the event
        # that made it is there), so A's newer text is no conflict.
        report = sync_captions(b, pg_env.url)
        assert report.conflicts == []
        sync_captions(a, pg_env.url)
        for copy in (a, b):
            assert caption(copy, "photo:1") == "After the copy, on A"
            assert caption(copy, "photo:2") == "Only edited on B"
            assert_mirrored(copy, pg_env)


def test_a_server_that_lost_the_book_gets_it_all_again(
    two_copies: tuple[Project, Project], pg_env: PostgresServer
) -> None:
    a, b = two_copies
    book = config.book_id(a)
    with psycopg.connect(pg_env.url, password=pg_env.password) as conn:
        for table in ("caption_suggestions", "caption_history", "captions", "books"):
            conn.execute(f"DELETE FROM {SCHEMA}.{table} WHERE book = %s", [book])  # a restored backup
    service.set_caption(b, "photo:3", "Edited while the server was away")
    report = sync_captions(a, pg_env.url)
    assert report.history_sent == count(a, "caption_history")
    assert report.captions_sent == count(a, "captions")
    assert sync_captions(b, pg_env.url).conflicts == []
    sync_captions(a, pg_env.url)
    for copy in (a, b):
        assert caption(copy, "photo:3") == "Edited while the server was away"
        assert_mirrored(copy, pg_env)
        assert pending_changes(copy, pg_env.url) == 0


def test_two_copies_syncing_at_the_same_time_miss_nothing(
    two_copies: tuple[Project, Project], pg_env: PostgresServer
) -> None:
    """Syncs of one book take turns on the server (its row in `books` is locked), so a copy
    reading "everything since revision N" never misses rows another sync commits meanwhile."""
    paths = [copy.path for copy in two_copies]
    errors: list[BaseException] = []

    def work(path: Path, who: str) -> None:
        try:
            with Project.open(path) as project:
                for n in range(6):
                    service.set_caption(project, "photo:3", f"{who} edit {n}")
                    service.set_caption(project, f"chapter:{who}{n}", f"{who} chapter {n}")
                    sync_captions(project, pg_env.url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p, w)) for p, w in zip(paths, "ab", strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    a, b = two_copies
    for copy in (a, b, a):
        sync_captions(copy, pg_env.url)
    for copy in (a, b):
        assert_mirrored(copy, pg_env)
        texts = [text for _action, text in history(copy, "photo:3")]
        assert all(f"{who} edit {n}" in texts for who in "ab" for n in range(6))
        assert all(
            caption(copy, f"chapter:{who}{n}") == f"{who} chapter {n}" for who in "ab" for n in range(6)
        )
    assert caption(a, "photo:3") == caption(b, "photo:3")


def test_a_copy_that_imported_other_photos_keeps_each_caption_on_its_photo(
    two_copies: tuple[Project, Project], pg_env: PostgresServer
) -> None:
    a, b = two_copies
    # Each copy imports a different photo, which gets the same local id in both.
    on_a, on_b = add_photo(a, "only-on-a.jpg"), add_photo(b, "only-on-b.jpg")
    assert on_a == on_b
    service.set_caption(a, f"photo:{on_a}", "Only A has this photo")
    service.set_caption(b, f"photo:{on_b}", "Only B has this photo")
    for copy in (a, b, a):
        assert sync_captions(copy, pg_env.url).conflicts == []
    assert caption(a, f"photo:{on_a}") == "Only A has this photo"
    assert caption(b, f"photo:{on_b}") == "Only B has this photo"
    assert history(a, f"photo:{on_a}") == [("edited", "Only A has this photo")]

    # Once B imports A's photo too, its caption and history follow it there.
    late = add_photo(b, "only-on-a.jpg")
    report = sync_captions(b, pg_env.url)
    assert report.captions_received == 1
    assert caption(b, f"photo:{late}") == "Only A has this photo"
    assert history(b, f"photo:{late}") == [("edited", "Only A has this photo")]
    assert pending_changes(b, pg_env.url) == 0


def test_a_server_killed_mid_sync_loses_nothing_and_the_next_sync_completes(
    two_copies: tuple[Project, Project], pg_env: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two_copies
    service.set_caption(b, "photo:1", "B's edit, synced first")
    sync_captions(b, pg_env.url)
    service.set_caption(a, "photo:1", "A's edit, made later")
    suggest(a, "photo:3", "A street of old wooden houses")
    service.set_caption(a, "photo:3", "The old town")
    state = a.conn.execute("SELECT * FROM caption_sync").fetchall()
    rows = count(a, "caption_history"), count(a, "captions"), count(a, "caption_suggestions")

    push = caption_sync._push

    def push_then_die(*args: Any, **kwargs: Any) -> None:
        push(*args, **kwargs)  # the rows are written, not committed
        pg_env.kill()

    with monkeypatch.context() as patch, pytest.raises(CloudError):
        patch.setattr(caption_sync, "_push", push_then_die)
        sync_captions(a, pg_env.url)

    # The project file is as it was: no half-applied sync.
    assert a.conn.execute("SELECT * FROM caption_sync").fetchall() == state
    assert (count(a, "caption_history"), count(a, "captions"), count(a, "caption_suggestions")) == rows
    assert caption(a, "photo:1") == "A's edit, made later"
    assert a.integrity_ok()

    pg_env.start()
    report = sync_captions(a, pg_env.url)
    assert [(c.target, c.kept, c.set_aside) for c in report.conflicts] == [
        ("photo:1", "A's edit, made later", "B's edit, synced first")
    ]
    sync_captions(b, pg_env.url)
    for copy in (a, b):
        assert caption(copy, "photo:1") == "A's edit, made later"
        assert ("conflict: kept from the server", "B's edit, synced first") in history(copy, "photo:1")
        assert caption(copy, "photo:3") == "The old town"
        assert_mirrored(copy, pg_env)


def test_the_app_killed_between_the_two_commits_doubles_nothing(
    two_copies: tuple[Project, Project], pg_env: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two_copies
    service.set_caption(a, "photo:2", "A's edit, synced first")
    sync_captions(a, pg_env.url)
    service.set_caption(b, "photo:2", "B's edit, made later")

    def killed(project: Project) -> None:
        raise KeyboardInterrupt  # the server has committed, the project file has not

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(caption_sync, "_commit_local", killed)
        sync_captions(b, pg_env.url)
    assert not b.conn.in_transaction
    assert pending_changes(b, pg_env.url) == 1

    report = sync_captions(b, pg_env.url)
    assert report.history_sent == 0  # it has them all from the first try
    assert pending_changes(b, pg_env.url) == 0
    sync_captions(a, pg_env.url)
    for copy in (a, b):
        assert caption(copy, "photo:2") == "B's edit, made later"
        kept = [h for h in history(copy, "photo:2") if h[0].startswith("conflict")]
        assert kept == [("conflict: kept from the server", "A's edit, synced first")]
        assert_mirrored(copy, pg_env)


def _leaks(password: str, project_path: Path) -> list[str]:
    found = []
    for path in project_path.parent.glob(project_path.name + "*"):
        if password.encode() in path.read_bytes():
            found.append(path.name)
    return found


def test_no_password_in_the_project_file_logs_or_messages(
    tmp_path: Path,
    pg_env: PostgresServer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    path = new_book(tmp_path / "book.mbook")
    password = pg_env.password
    messages: list[str] = []
    with Project.open(path) as project:
        # A password in the URL is refused before anything is saved.
        with pytest.raises(CloudError) as refused:
            config.save(project, postgres_url=pg_env.url.replace("app@", f"app:{password}@"))
        messages.append(str(refused.value))
        with pytest.raises(CloudError) as refused:
            sync_captions(project, pg_env.url + f"?password={password}")
        messages.append(str(refused.value))

        config.save(project, postgres_url=pg_env.url)
        service.set_caption(project, "photo:1", "A boat in Helsinki")
        report = sync_captions(project)  # the URL from the book's settings
        messages.append(report.summary())
        assert _leaks(password, path) == []

        # A wrong password: the message says so without repeating either password.
        monkeypatch.setenv("PGPASSWORD", "wrong-" + password)
        with pytest.raises(CloudError) as wrong:
            sync_captions(project)
        messages.append(str(wrong.value))
        assert "password" in str(wrong.value)

        # None at all, and no keyring on this machine.
        monkeypatch.delenv("PGPASSWORD")
        monkeypatch.setattr(postgres, "pg_password", lambda url: None)
        with pytest.raises(CloudError) as missing:
            sync_captions(project)
        messages.append(str(missing.value))
        assert "asks for a password" in str(missing.value)

        # The server gone.
        monkeypatch.setenv("PGPASSWORD", password)
        pg_env.stop()
        with pytest.raises(CloudError) as down:
            sync_captions(project, timeout=2)
        messages.append(str(down.value))
        pg_env.start()
        assert _leaks(password, path) == []
    assert _leaks(password, path) == []
    assert all("\n" not in m for m in messages), messages
    for text in (*messages, caplog.text, *(str(r.args) for r in caplog.records)):
        assert password not in text
        assert "wrong-" not in text


def test_the_password_can_come_from_the_os_keyring(
    tmp_path: Path,
    pg_env: PostgresServer,
    clock: Clock,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memory = memory_keyring
    monkeypatch.delenv("PGPASSWORD")
    save_pg_password(pg_env.url, pg_env.password)
    assert list(memory.saved) == [("mixbook-desktop", f"postgres:app@127.0.0.1:{pg_env.port}/postgres")]

    path = new_book(tmp_path / "book.mbook")
    with Project.open(path) as project:
        service.set_caption(project, "photo:1", "A boat in Helsinki")
        assert sync_captions(project, pg_env.url).captions_sent == 1
        assert_mirrored(project, pg_env)
    assert _leaks(pg_env.password, path) == []


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:secret@db.example.com/x",
        "postgresql://app@db.example.com/x?password=secret",
        "mysql://x",
    ],
)
def test_a_url_that_cannot_be_used_is_refused_without_a_network_call(url: str, tmp_path: Path) -> None:
    def no_connect(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("connected")

    with Project.open(new_book(tmp_path / "book.mbook")) as project, pytest.MonkeyPatch.context() as patch:
        patch.setattr(psycopg, "connect", no_connect)
        with pytest.raises(CloudError) as refused:
            sync_captions(project, url)
    assert "secret" not in str(refused.value)


def test_scrub_removes_what_a_connection_string_carries() -> None:
    scrub: Callable[[str], str] = postgres.scrub
    assert "hunter2" not in scrub("invalid dsn: host=x password=hunter2 user=y")
    assert "hunter2" not in scrub("could not use postgresql://app:hunter2@db/x")
    assert "hunter 2" not in scrub("bad conninfo password='hunter 2' host=x")


def test_migration_6_names_existing_rows_and_keeps_the_book_id(tmp_path: Path) -> None:
    """A project saved before caption sync existed: its history and suggestions get uids, a
    book id it already had stays, and rows written afterwards get uids of their own."""
    path = tmp_path / "old.mbook"
    conn = sqlite3.connect(path)
    for step, script in enumerate(MIGRATIONS[:5]):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {step + 1};\nCOMMIT;")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.executemany(
        "INSERT INTO caption_history (target, action, text, at) VALUES (?, 'edited', ?, ?)",
        [("book", "One", "2025-01-01T00:00:00+00:00"), ("book", "Two", "2025-01-01T00:00:01+00:00")],
    )
    conn.execute("INSERT INTO settings (key, value) VALUES ('book.id', '\"kept-id\"')")
    conn.commit()
    conn.close()

    with Project.open(path) as project:
        assert config.book_id(project) == "kept-id"
        service.set_caption(project, "book", "Three")
        uids = [r[0] for r in project.conn.execute("SELECT uid FROM caption_history ORDER BY id")]
        assert len(uids) == 3 and len(set(uids)) == 3 and all(len(u) == 32 for u in uids)
