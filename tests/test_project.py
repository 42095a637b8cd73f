"""The project file: identity, versions, migrations, and refusing what is not ours."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mixbook_desktop.store import migrations
from mixbook_desktop.store.migrations import APPLICATION_ID, SCHEMA_VERSION
from mixbook_desktop.store.project import Project, ProjectError
from tests.conftest import run_cli


def test_new_project_is_wal_with_foreign_keys_and_our_identity(book: Path) -> None:
    with Project.open(book, create=True) as project:
        conn = project.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert project.schema_version == SCHEMA_VERSION
        assert project.integrity_ok()


def test_missing_project_is_not_created_by_readers(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no project file"):
        Project.open(tmp_path / "nope.mbook")
    assert not (tmp_path / "nope.mbook").exists()


def test_an_empty_file_is_opened_only_to_make_a_project_in_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.touch()
    with pytest.raises(ProjectError, match="is empty, not a project file"):
        Project.open(path)
    assert path.stat().st_size == 0  # a reader leaves it as it was
    with Project.open(path, create=True) as project:  # an import asked to make a book there
        assert project.integrity_ok()


def test_foreign_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (t TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(ProjectError, match="not a mixbook project"):
        Project.open(path)
    assert path.read_bytes() == before


def test_non_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.mbook"
    path.write_bytes(b"\xff\xd8\xff\xe0 definitely a jpeg")
    with pytest.raises(ProjectError, match="not an SQLite database"):
        Project.open(path)


def test_project_from_a_newer_version_is_refused(book: Path) -> None:
    with Project.open(book, create=True) as project:
        project.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ProjectError, match="newer mixbook-desktop"):
        Project.open(book)
    # Put it back so the fixture's integrity check can open it.
    conn = sqlite3.connect(book)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.close()


def test_migration_moves_forward_keeps_data_and_a_backup(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Project.open(book, create=True) as project:
        project.db.table("photos").insert(
            {"sha256": "a" * 64, "format": "JPEG", "width": 1, "height": 1, "imported_at": "now"}
        )
    step = "ALTER TABLE photos ADD COLUMN rating INTEGER NOT NULL DEFAULT 0;"
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, step])
    monkeypatch.setattr("mixbook_desktop.store.project.MIGRATIONS", migrations.MIGRATIONS)
    monkeypatch.setattr("mixbook_desktop.store.project.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with Project.open(book) as project:
        assert project.schema_version == SCHEMA_VERSION + 1
        assert [r["rating"] for r in project.db.query("SELECT rating FROM photos")] == [0]
    backup = book.with_name(f"{book.name}.v{SCHEMA_VERSION}.bak")
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT count(*) FROM photos").fetchone()[0] == 1
    conn.close()
    # Leave a file the current version can check.
    monkeypatch.undo()
    with sqlite3.connect(book) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.close()


def test_failed_migration_leaves_the_old_schema(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Project.open(book, create=True).close()
    broken = "CREATE TABLE extra (x INTEGER); SELECT no_such_function();"
    monkeypatch.setattr("mixbook_desktop.store.project.MIGRATIONS", [*migrations.MIGRATIONS, broken])
    monkeypatch.setattr("mixbook_desktop.store.project.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(ProjectError):
        Project.open(book)
    monkeypatch.undo()
    with Project.open(book) as project:
        assert project.schema_version == SCHEMA_VERSION
        tables = {r["name"] for r in project.db.query("SELECT name FROM sqlite_schema")}
        assert "extra" not in tables


def test_cli_says_clearly_when_the_book_cannot_be_opened(tmp_path: Path) -> None:
    missing = run_cli("photos", str(tmp_path / "missing.mbook"), "--json", check=False)
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert "no project file" in missing.stderr
    foreign = tmp_path / "notes.txt"
    foreign.write_text("hello")
    refused = run_cli("import", str(foreign), str(tmp_path), check=False)
    assert refused.returncode == 1
    assert "not a mixbook project" in refused.stderr
    assert foreign.read_text() == "hello"


def test_opening_the_project_again_keeps_this_process_s_hold_on_it(book: Path) -> None:
    """A window keeps the book open while its tasks open and close their own connections; another
    process (the command line) closing the book must then leave the shared WAL alone. Reading the
    file's header with open() and close() used to drop SQLite's locks and let it delete them."""
    held = Project.open(book, create=True)
    try:
        held.db.execute("SELECT count(*) FROM photos").fetchone()
        Project.open(book).close()  # a task's connection, in this process
        run_cli("photos", str(book), "--json")  # another process opens the book and closes it
        assert book.with_name(book.name + "-wal").exists() and book.with_name(book.name + "-shm").exists()
        with Project.open(book) as again:
            again.db.execute("INSERT INTO settings (key, value) VALUES ('probe', '1')")
            again.conn.commit()
        assert held.db.execute("SELECT value FROM settings WHERE key = 'probe'").fetchone()[0] == "1"
    finally:
        held.close()
