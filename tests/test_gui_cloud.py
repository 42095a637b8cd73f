"""The editor's Cloud menu on the real window and the analysed demo book, against real loopback
servers: SeaweedFS for S3, the Rekognition stand-in, PostgreSQL. Upload, compare and caption
sync from the menu, the automatic sync after Suggest Captions and on the timer, and a book
without a bucket or a database saying so in one line."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PySide6.QtWidgets import QMenu, QTableWidget
from pytestqt.qtbot import QtBot

from mixbook_desktop.cloud import caption_sync, config, uploads
from mixbook_desktop.store.captions import CaptionStore, photo_target
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui.cloud_menu import COMPARE, NO_BUCKET, NO_POSTGRES, SYNC, UPLOAD
from mixbook_desktop.ui.library import ROW, LibraryPhoto
from mixbook_desktop.ui.main_window import MainWindow
from tests.cloud_support import ACCESS_KEY, REGION, SECRET_KEY, unique_bucket
from tests.gui_support import WAIT_MS, entry, idle
from tests.support.postgres import PostgresServer, free_port
from tests.support.rekognition_server import RekognitionStandIn, serving
from tests.support.seaweed import SeaweedServer


@pytest.fixture(scope="module")
def rekognition(s3_server: SeaweedServer) -> Iterator[tuple[str, RekognitionStandIn]]:
    with serving(s3_server.endpoint, ACCESS_KEY, SECRET_KEY, REGION) as (url, state):
        yield url, state


def _cloud_menu(window: MainWindow) -> QMenu:
    menu = next(a for a in window.menuBar().actions() if a.text() == "&Cloud").menu()
    assert isinstance(menu, QMenu)
    return menu


def _choose(window: MainWindow, qtbot: QtBot, starts: str) -> None:
    entry(_cloud_menu(window), starts).trigger()
    idle(window, qtbot)


def _configure(window: MainWindow, **changes: Any) -> config.CloudSettings:
    """As the settings dialog or `mixbook-desktop cloud` leaves the book: every job reads the
    settings afresh in its worker, so the open window uses them from its next job on."""
    with Project.open(window.book) as project:
        return config.save(project, **changes)


def _progress_texts(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the jobs report to the status bar from now on (connected as each job is queued)."""
    seen: list[str] = []
    shown = window._progress

    def spy(done: int, total: int, text: str) -> None:
        seen.append(text)
        shown(done, total, text)

    monkeypatch.setattr(window, "_progress", spy)
    return seen


def _server_captions(pg: PostgresServer, book: Path) -> dict[str, str]:
    with Project.open(book) as project:
        book_id = config.book_id(project)
        names = caption_sync.TargetNames(project)
    with psycopg.connect(pg.url, password=pg.password) as db:
        rows = db.execute(
            f"SELECT target, text FROM {caption_sync.SCHEMA}.captions WHERE book = %s", [book_id]
        ).fetchall()
    return {names.to_local(target): text for target, text in rows}


def _cell(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    assert item is not None, (row, column)
    return item.text()


def _first_photo(window: MainWindow) -> LibraryPhoto:
    return window.model.photo(0)


def test_upload_puts_every_photo_in_the_bucket_with_its_progress_in_megabytes(
    window: MainWindow,
    qtbot: QtBot,
    s3_server: SeaweedServer,
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _configure(window, bucket=unique_bucket(), s3_endpoint=s3_server.endpoint, region=REGION)
    seen = _progress_texts(window, monkeypatch)
    photos = window.model.rowCount()
    _choose(window, qtbot, "&Upload Photos to S3")
    shown = window.message.text()
    assert re.fullmatch(
        rf"{UPLOAD}: {photos} photos uploaded \([\d.]+ MB\), 0 already there, 0 failed", shown
    ), shown
    assert seen and all(re.fullmatch(r"[\d.]+ of [\d.]+ MB", text) for text in seen), seen
    # The server's own client, with its keys given directly: boto3's default session keeps the
    # first credentials it saw in this process, whatever the environment says later.
    s3 = s3_server.client()
    for row in range(photos):
        sha = window.model.photo(row).sha256
        head = s3.head_object(Bucket=settings.bucket, Key=uploads.analysis_key(settings, sha))
        assert head["ContentLength"] > 0
    listed = s3.list_objects_v2(Bucket=settings.bucket)["KeyCount"]
    assert listed == 2 * photos, "each photo's original and its analysis copy"

    _choose(window, qtbot, "&Upload Photos to S3")
    assert window.message.text() == f"{UPLOAD}: 0 photos uploaded, {photos} already there, 0 failed"


def test_compare_shows_one_row_per_photo_and_choosing_one_selects_it(
    window: MainWindow,
    qtbot: QtBot,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _configure(
        window,
        bucket=unique_bucket(),
        s3_endpoint=s3_server.endpoint,
        rekognition_endpoint=rekognition[0],
        region=REGION,
    )
    seen = _progress_texts(window, monkeypatch)
    photos = window.model.rowCount()
    _choose(window, qtbot, "&Compare Local and Cloud...")
    dialog = window.cloud.compare_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert any(text.endswith(" MB") and text.startswith("uploading, ") for text in seen), seen
    assert f"{photos} of {photos} photos compared" in seen
    table = dialog.table
    assert table.rowCount() == photos
    names = {_cell(table, row, 0) for row in range(photos)}
    assert names == {window.model.photo(row).name for row in range(photos)}
    for row in range(photos):
        assert table.columnSpan(row, 1) == 1, f"no error: {_cell(table, row, 1)}"
        assert re.fullmatch(r"\d+/\d+", _cell(table, row, 1))
        assert _cell(table, row, 5).endswith("%")
    # The stand-in answers with the local models on the upright analysis copy: nearly the same.
    means = dict(re.findall(r"(\w+) (\d+)%", dialog.means.text()))
    assert dialog.means.text().startswith(f"Mean agreement over {photos} photos")
    assert int(means["overall"]) >= 90 and means["moderation"] == "100", dialog.means.text()
    assert window.message.text().startswith(f"Compared {photos} of {photos} photos: ")
    assert COMPARE not in window.message.text()

    table.selectRow(3)
    chosen = window.library.currentIndex().data(ROW)
    assert isinstance(chosen, LibraryPhoto) and chosen.sha256 == dialog.sha_at(3)
    window.close()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)


def test_sync_now_sends_a_typed_caption_and_names_the_captions_in_conflict(
    window: MainWindow,
    qtbot: QtBot,
    pg_env: PostgresServer,
    tmp_path: Path,
) -> None:
    _configure(window, postgres_url=pg_env.url)
    photo = _first_photo(window)
    target = photo_target(photo.photo_id)
    window.save_caption(target, "Typed in the editor")
    idle(window, qtbot)
    _choose(window, qtbot, "&Sync Captions Now")
    assert window.message.text().startswith("captions synced with 127.0.0.1:"), window.message.text()
    assert _server_captions(pg_env, window.book)[target] == "Typed in the editor"
    assert window.cloud.conflicts_box is None

    # Another copy of the book (same id, same last sync) changes the caption and syncs first.
    other = tmp_path / "other.mbook"
    with sqlite3.connect(window.book) as source, sqlite3.connect(other) as copy:
        source.backup(copy)
    with Project.open(other) as project:
        CaptionStore(project).set_text(target, "Written on the other laptop", None, "edit")
        caption_sync.sync_captions(project)
    window.save_caption(target, "Written here")
    idle(window, qtbot)
    _choose(window, qtbot, "&Sync Captions Now")
    assert "1 conflict(s): the other text is in each one's history" in window.message.text()
    box = window.cloud.conflicts_box
    assert box is not None and box.isVisible()
    assert "history" in box.text() and box.informativeText().startswith(f"{photo.name}: kept “")
    assert "Written on the other laptop" in box.informativeText()
    assert "Written here" in box.informativeText()


def test_without_a_bucket_or_a_database_each_entry_fails_in_one_readable_line(
    window: MainWindow, qtbot: QtBot
) -> None:
    for starts, name, why in (
        ("&Upload Photos to S3", UPLOAD, NO_BUCKET),
        ("&Compare Local and Cloud...", COMPARE, NO_BUCKET),
        ("&Sync Captions Now", SYNC, NO_POSTGRES),
    ):
        _choose(window, qtbot, starts)
        assert window.message.text() == f"{name} failed: {why}"
        assert "\n" not in window.message.text()
    assert window.cloud.compare_dialog is None


def test_captions_sync_quietly_after_suggestions_and_say_once_when_the_server_is_away(
    window: MainWindow,
    qtbot: QtBot,
    pg_env: PostgresServer,
) -> None:
    target = photo_target(_first_photo(window).photo_id)
    window.save_caption(target, "Typed before the suggestions")
    idle(window, qtbot)

    # No mirror: the automatic sync reads the setting and says nothing.
    window.message.setText("as the user left it")
    window.cloud.auto_sync()
    qtbot.waitUntil(lambda: not window.cloud._auto_pending and not window.busy, timeout=WAIT_MS)
    assert window.message.text() == "as the user left it"

    # A caption endpoint nobody answers: the real run, each text falling back to its template
    # at once (the model itself is not what is tested here).
    nobody = f"http://127.0.0.1:{free_port()}/v1"
    _configure(window, postgres_url=pg_env.url, captions="openai", openai_url=nobody)
    window.suggest_captions()
    qtbot.waitUntil(lambda: window.message.text().startswith("captions synced with"), timeout=WAIT_MS)
    assert _server_captions(pg_env, window.book)[target] == "Typed before the suggestions"

    # Nothing to send: the status bar keeps what it showed.
    idle(window, qtbot)
    window.message.setText("as the user left it")
    window.cloud.auto_sync()
    qtbot.waitUntil(lambda: not window.cloud._auto_pending and not window.busy, timeout=WAIT_MS)
    assert window.message.text() == "as the user left it"

    # A server away (nothing listens on the port) is said once, not at every tick.
    away = f"postgresql://mixbook@127.0.0.1:{free_port()}/books"
    _configure(window, postgres_url=away)
    window.cloud.auto_sync()
    qtbot.waitUntil(lambda: not window.cloud._auto_pending and not window.busy, timeout=WAIT_MS)
    said = window.message.text()
    assert said.startswith("Captions not synced, trying again in 5 minutes: PostgreSQL at 127.0.0.1:"), said
    assert "\n" not in said
    window.message.setText("as the user left it")
    window.cloud.auto_sync()
    qtbot.waitUntil(lambda: not window.cloud._auto_pending and not window.busy, timeout=WAIT_MS)
    assert window.message.text() == "as the user left it"

    # Back: the next tick syncs, and says the mirror works again.
    window.save_caption(target, "Typed while the server was away")
    idle(window, qtbot)
    _configure(window, postgres_url=pg_env.url)
    window.cloud.auto_sync()
    qtbot.waitUntil(lambda: not window.cloud._auto_pending and not window.busy, timeout=WAIT_MS)
    assert window.message.text().startswith("Caption sync works again: captions synced with")
    assert _server_captions(pg_env, window.book)[target] == "Typed while the server was away"
    assert window.cloud.timer.isActive() and window.cloud.timer.interval() == 5 * 60 * 1000


def test_analyse_in_the_cloud_says_why_it_stopped(
    window: MainWindow,
    qtbot: QtBot,
    s3_server: SeaweedServer,
    rekognition: tuple[str, RekognitionStandIn],
    aws_env: None,
) -> None:
    url, state = rekognition
    _configure(
        window,
        analysis="cloud",
        bucket=unique_bucket(),
        s3_endpoint=s3_server.endpoint,
        rekognition_endpoint=url,
        region=REGION,
    )
    state.deny_next(1_000_000)
    try:
        window.analyse()
        qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    finally:
        state.clear_faults()
    shown = window.message.text()
    assert shown.startswith("Analysing failed: Rekognition refused the credentials"), shown
    assert "AccessDenied" in shown and SECRET_KEY not in shown
