"""The settings dialog's cloud mode section, on the real window and the analysed demo book,
through pytest-qt: what it saves is what cloud.config reads, a change is one step to undo, and
a refused value (a password in a URL, a bucket S3 would not take) saves nothing."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from mixbook_desktop.cloud import config
from mixbook_desktop.cloud.config import CloudSettings
from mixbook_desktop.core.captions import Tone
from mixbook_desktop.services import captions
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui.main_window import MainWindow
from mixbook_desktop.ui.settings_dialog import SettingsDialog
from tests.gui_support import WAIT_MS, idle

SAVED_BEFORE = {"bucket": "old-bucket", "region": "eu-west-1", "captions": "bedrock", "bedrock_model": "m1"}


def _settings(main: MainWindow, qtbot: QtBot) -> SettingsDialog:
    dialog = main.open_settings()
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT_MS)
    return dialog


def _cloud(main: MainWindow) -> CloudSettings:
    with Project.open(main.book) as project:
        return config.load(project)


def test_cloud_settings_are_saved_with_the_book_and_undone_in_one_step(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    with Project.open(window.book) as project:  # as `mixbook-desktop cloud` would have left it
        before = config.save(project, **SAVED_BEFORE)
    dialog = _settings(window, qtbot)
    assert dialog.cloud_group.title() == "Cloud mode (this book)" and dialog.cloud_group.isEnabled()
    assert dialog.bucket.text() == "old-bucket" and dialog.bedrock_model.text() == "m1"
    assert dialog.analysis_backend.currentData() == "local"

    dialog.analysis_backend.setCurrentIndex(dialog.analysis_backend.findData("cloud"))
    dialog.bucket.setText(" my-photobooks ")  # pasted with spaces around it
    dialog.prefix.setText("family/2024")
    dialog.region.setText("eu-central-1")
    dialog.s3_endpoint.setText("http://localhost:9000")
    dialog.rekognition_endpoint.setText("https://rekognition.example.test")
    dialog.caption_backend.setCurrentIndex(dialog.caption_backend.findData("openai"))
    dialog.openai_url.setText("http://localhost:8080/v1")
    dialog.openai_model.setText("llama-3.2-3b")
    dialog.postgres_url.setText("postgresql://mixbook@db.example.test/books")
    assert dialog.apply()
    assert window.task is None, "a new analysis backend starts no analysis"
    idle(window, qtbot)
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT_MS)

    wanted = CloudSettings(
        analysis="cloud",
        bucket="my-photobooks",
        prefix="family/2024",
        region="eu-central-1",
        s3_endpoint="http://localhost:9000",
        rekognition_endpoint="https://rekognition.example.test",
        captions="openai",
        openai_url="http://localhost:8080/v1",
        openai_model="llama-3.2-3b",
        bedrock_model="m1",  # hidden while OpenAI is chosen, and kept for when Bedrock is again
        postgres_url="postgresql://mixbook@db.example.test/books",
    )
    assert _cloud(window) == wanted
    assert dialog.bucket.text() == "my-photobooks" and not dialog.message.text()
    assert window.undo_action.text() == "&Undo Cloud mode settings"

    window.undo_action.trigger()
    idle(window, qtbot)
    assert _cloud(window) == before
    window.redo_action.trigger()
    idle(window, qtbot)
    assert _cloud(window) == wanted


def test_a_password_in_a_url_or_a_bad_bucket_is_refused_and_nothing_is_saved(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    dialog = _settings(window, qtbot)
    dialog.tone.setCurrentIndex(dialog.tone.findData(Tone.PLAYFUL.value))  # not saved either
    dialog.caption_backend.setCurrentIndex(dialog.caption_backend.findData("openai"))
    dialog.openai_url.setText("http://localhost:8080/v1")
    dialog.postgres_url.setText("postgresql://mixbook:hunter22@db.example.test/books")
    assert not dialog.apply()
    assert dialog.message.text() == (
        "PostgreSQL URL: leave the password out of the URL; it comes from the keyring or the environment"
    )
    assert "hunter22" not in dialog.message.text()
    dialog.postgres_url.clear()
    dialog.bucket.setText("My_Bucket")
    assert not dialog.apply()
    assert dialog.message.text() == "bucket 'My_Bucket': 3-63 lower-case letters, digits, dots or hyphens"
    dialog.bucket.clear()
    dialog.analysis_backend.setCurrentIndex(dialog.analysis_backend.findData("cloud"))
    assert not dialog.apply() and dialog.message.text().startswith("cloud analysis needs an S3 bucket")
    assert "\n" not in dialog.message.text(), "one line"
    idle(window, qtbot)
    assert _cloud(window) == CloudSettings()
    with Project.open(window.book) as project:
        assert captions.load_options(project).tone is Tone.NEUTRAL
    assert window.undo_stack.count() == 0


def test_the_dialog_shows_the_saved_cloud_settings_when_reopened(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    dialog = _settings(window, qtbot)
    assert dialog.cloud_form.isRowVisible(dialog.local_captions_note)
    assert not dialog.cloud_form.isRowVisible(dialog.openai_url)
    dialog.caption_backend.setCurrentIndex(dialog.caption_backend.findData("bedrock"))
    assert dialog.cloud_form.isRowVisible(dialog.bedrock_model)
    assert not dialog.cloud_form.isRowVisible(dialog.openai_url)
    assert not dialog.cloud_form.isRowVisible(dialog.local_captions_note)
    dialog.bedrock_model.setText("meta.llama3-2-3b-instruct-v1:0")
    dialog.bedrock_endpoint.setText("https://bedrock.example.test")
    dialog.bucket.setText("my-photobooks")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dialog.isVisible()
    idle(window, qtbot)

    for shown in (window.open_settings(), SettingsDialog(window)):
        if not shown.isVisible():
            shown.reload()
        qtbot.waitUntil(lambda shown=shown: shown.ready, timeout=WAIT_MS)  # type: ignore[misc]
        assert shown.caption_backend.currentData() == "bedrock"
        assert shown.cloud_form.isRowVisible(shown.bedrock_endpoint)
        assert not shown.cloud_form.isRowVisible(shown.openai_model)
        assert shown.bedrock_model.text() == "meta.llama3-2-3b-instruct-v1:0"
        assert shown.bedrock_endpoint.text() == "https://bedrock.example.test"
        assert shown.bucket.text() == "my-photobooks" and shown.s3_endpoint.text() == ""
        assert (shown.prefix.text(), shown.region.text()) == ("mixbook", "us-east-1")
        assert shown.analysis_backend.currentData() == "local"
