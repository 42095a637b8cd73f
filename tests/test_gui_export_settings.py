"""The editor's PDF preview after an export, and its settings dialog, on the real services and
the analysed demo book, through pytest-qt."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QMenu
from pytestqt.qtbot import QtBot

from mixbook_desktop.core.captions import Tone
from mixbook_desktop.export.pdf import ExportError
from mixbook_desktop.services import book as book_service
from mixbook_desktop.services import captions, people
from mixbook_desktop.services import settings as settings_service
from mixbook_desktop.store.book import BookStore
from mixbook_desktop.store.project import Project
from mixbook_desktop.ui import commands as commands_module
from mixbook_desktop.ui.main_window import MainWindow
from mixbook_desktop.ui.pdf_preview import ZoomMode
from mixbook_desktop.ui.settings_dialog import JOBS_KEY, SettingsDialog, worker_count
from tests.conftest import ROOT
from tests.gui_support import WAIT_MS, idle

RENDERED = 200  # distinct colours in a sample of the view: a photo, not a blank page


def _colours(image: QImage) -> int:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.height() * image.width())
    return len(np.unique(pixels[::5]))


def _menu_action(main: MainWindow, menu: str, text: str) -> QAction:
    found = next(a for a in main.menuBar().actions() if a.text() == menu).menu()
    assert isinstance(found, QMenu)
    return next(a for a in found.actions() if a.text() == text)


def _settings(main: MainWindow, qtbot: QtBot) -> SettingsDialog:
    dialog = main.open_settings()
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT_MS)
    return dialog


def test_an_export_opens_a_preview_of_the_pdf_written(
    window: MainWindow,
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pdf = tmp_path / "exported.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args, **_kw: (str(pdf), "PDF (*.pdf)"))
    _menu_action(window, "&File", "&Export PDF...").trigger()
    idle(window, qtbot)
    preview = window.pdf_preview
    assert preview is not None and preview.isVisible() and preview.path == pdf
    with Project.open(window.book) as project:
        pages = len(book_service.printed_book(project).pages)
    # Read by poppler: pdfium in this thread could run into the preview's worker inside it.
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert f"\nPages:           {pages}\n" in info
    # The worker opens the file and hands the page sizes over.
    qtbot.waitUntil(lambda: preview.page_count == pages, timeout=WAIT_MS)
    assert preview.page_box.text() == f"Page 1 of {pages}" and preview.current_page == 0
    assert preview.zoom_label.text().startswith("Fit page")
    # Page 1 (the cover photo) arrives from the preview's render thread.
    viewport = preview.view.viewport()
    qtbot.waitUntil(lambda: _colours(viewport.grab().toImage()) > RENDERED, timeout=WAIT_MS)
    cover = viewport.grab().toImage()

    preview.next_action.trigger()
    assert preview.current_page == 1 and preview.page_box.text() == f"Page 2 of {pages}"
    assert preview.view.verticalScrollBar().value() > 0
    qtbot.waitUntil(lambda: viewport.grab().toImage() != cover, timeout=WAIT_MS)
    preview.last_action.trigger()
    assert preview.current_page == pages - 1 and not preview.next_action.isEnabled()
    preview.previous_action.trigger()
    assert preview.current_page == pages - 2
    preview.page_box.setValue(3)  # as typed into the box
    assert preview.current_page == 2 and preview.previous_action.isEnabled()

    fit = preview.shown_zoom()
    preview.zoom_in_action.trigger()
    assert preview.zoom_mode is ZoomMode.CUSTOM
    assert preview.shown_zoom() == pytest.approx(fit * 1.25)
    assert preview.zoom_label.text() == f"{round(fit * 125)}%"
    assert preview.current_page == 2, "zooming keeps the page in view"
    preview.zoom_out_action.trigger()
    preview.zoom_out_action.trigger()
    assert preview.shown_zoom() == pytest.approx(fit / 1.25)
    preview.fit_width_action.trigger()
    assert preview.zoom_label.text().startswith("Fit width") and preview.current_page == 2

    # Exported again, to the same file: the same window shows the new PDF from its first page.
    first = pdf.stat().st_mtime_ns
    window.export_and_preview(pdf)
    idle(window, qtbot)
    assert pdf.stat().st_mtime_ns != first and window.message.text().endswith("done")
    assert window.pdf_preview is preview
    qtbot.waitUntil(lambda: preview.page_count == pages, timeout=WAIT_MS)
    assert preview.current_page == 0 and preview.view.verticalScrollBar().value() == 0
    qtbot.waitUntil(lambda: _colours(viewport.grab().toImage()) > RENDERED, timeout=WAIT_MS)

    # An export that fails leaves the PDF as it was, and the preview shows it again.
    def full_disk(*_args: object, **_kw: object) -> None:
        raise ExportError("cannot write the PDF: no space left (a test's failure)")

    monkeypatch.setattr(commands_module, "write_pdf", full_disk)
    second = pdf.stat().st_mtime_ns
    window.export_and_preview(pdf)
    idle(window, qtbot)
    assert "failed: cannot write the PDF" in window.message.text()
    assert pdf.stat().st_mtime_ns == second
    qtbot.waitUntil(lambda: preview.page_count == pages, timeout=WAIT_MS)
    assert preview.isVisible() and preview.page_box.text() == f"Page 1 of {pages}"

    # Closed, it lets go of the file, and its render thread ends without being waited for.
    preview.close()
    assert preview.page_count == 0
    qtbot.waitUntil(lambda: all(t.name != "pdf preview" for t in threading.enumerate()), timeout=WAIT_MS)


def test_a_new_product_lays_the_book_out_again_and_can_be_undone(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    with Project.open(window.book) as project:
        assert book_service.product_of(project).key == "8x8"
        crops = {n: [f.crop for f in p.fills] for n, p in BookStore(project).pages().items()}
    dialog = _settings(window, qtbot)
    assert dialog.product.currentData() == "8x8"
    dialog.product.setCurrentIndex(dialog.product.findData("11x8.5"))
    assert dialog.apply()
    idle(window, qtbot)
    with Project.open(window.book) as project:
        assert book_service.product_of(project).key == "11x8.5"
        after = {n: [f.crop for f in p.fills] for n, p in BookStore(project).pages().items()}
    assert after != crops, "landscape slots: every photo is cropped anew"
    assert window.overview is not None and window.overview.book is not None
    assert window.overview.book.product.key == "11x8.5", "the window shows the new format"
    assert dialog.product.currentData() == "11x8.5" and not dialog.message.text()

    assert window.undo_action.text() == "&Undo Product 11x8.5"
    window.undo_action.trigger()
    idle(window, qtbot)
    with Project.open(window.book) as project:
        assert book_service.product_of(project).key == "8x8"
        assert {n: [f.crop for f in p.fills] for n, p in BookStore(project).pages().items()} == crops


def test_a_new_people_threshold_is_kept_and_people_are_grouped_again(
    window: MainWindow,
    qtbot: QtBot,
) -> None:
    with Project.open(window.book) as project:
        before = len(people.listing(project))
        assert people.threshold(project) == 0.5
    dialog = _settings(window, qtbot)
    assert dialog.threshold.value() == 0.5 and "dlib" in dialog.threshold_label.text()
    # The demo's faces are all different people at 0.5; a looser threshold takes some together.
    dialog.threshold.setValue(0.7)
    assert dialog.apply()
    assert window.task is not None and window.task.name == "People threshold 0.7", "a long job"
    idle(window, qtbot)
    with Project.open(window.book) as project:
        assert people.threshold(project) == 0.7
        assert len(people.listing(project)) < before, "the faces were grouped again"
    assert dialog.threshold.value() == 0.7
    assert window.undo_action.text() == "&Undo People threshold 0.7"
    window.undo_action.trigger()
    idle(window, qtbot)
    with Project.open(window.book) as project:
        assert people.threshold(project) == 0.5 and len(people.listing(project)) == before


def test_a_file_that_is_not_a_gguf_model_is_refused_and_nothing_is_saved(
    window: MainWindow,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("a text file with the right name")
    dialog = _settings(window, qtbot)
    dialog.tone.setCurrentIndex(dialog.tone.findData(Tone.PLAYFUL.value))
    dialog.jobs.setValue(1)
    dialog.caption_model.setText(str(fake))
    assert not dialog.apply()
    assert dialog.message.text() == f"caption model {fake} is not a GGUF file"
    dialog.caption_model.setText(str(tmp_path / "missing.gguf"))
    assert not dialog.apply() and "caption model not found" in dialog.message.text()
    dialog.caption_model.clear()
    dialog.product.setEditText("3x3in")
    assert not dialog.apply() and dialog.message.text() == "3x3in: a page side must be 4 to 20 in"
    dialog.product.setCurrentIndex(dialog.product.findData("8x8"))
    dialog.threshold.setValue(0.0)
    assert not dialog.apply() and "out of range" in dialog.message.text()
    idle(window, qtbot)
    with Project.open(window.book) as project:
        options = captions.load_options(project)
        assert options.tone is Tone.NEUTRAL and options.model is None
        assert people.threshold(project) == 0.5
    assert window.settings.value(JOBS_KEY) is None and window.undo_stack.count() == 0


def test_settings_survive_closing_and_reopening_the_dialog(
    window: MainWindow,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF" + bytes(60))  # only the magic is checked when it is chosen
    settings_action = _menu_action(window, "&Edit", "&Settings...")
    assert settings_action.shortcut().toString() == "Ctrl+,"
    settings_action.trigger()
    dialog = window.settings_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT_MS)
    assert dialog.cloud_group.title() == "Cloud mode (this book)" and dialog.cloud_group.isEnabled()
    dialog.tone.setCurrentIndex(dialog.tone.findData(Tone.HEARTFELT.value))
    dialog.min_words.setValue(5)
    dialog.max_words.setValue(9)
    dialog.style_hint.setText("dry and understated")
    dialog.caption_model.setText(str(model))
    dialog.product.setEditText("9.5x8in")
    dialog.jobs.setValue(2)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dialog.isVisible()
    idle(window, qtbot)
    assert worker_count(window.settings) == 2

    for shown in (window.open_settings(), SettingsDialog(window)):
        if not shown.isVisible():
            shown.reload()
        qtbot.waitUntil(lambda shown=shown: shown.ready, timeout=WAIT_MS)  # type: ignore[misc]
        assert shown.tone.currentData() == Tone.HEARTFELT
        assert (shown.min_words.value(), shown.max_words.value()) == (5, 9)
        assert shown.style_hint.text() == "dry and understated"
        assert shown.caption_model.text() == str(model)
        assert shown.product.currentText() == "9.5x8in"
        assert shown.jobs.value() == 2
    with Project.open(window.book) as project:
        assert book_service.product_of(project).name == "Custom 9.5 x 8 in"
        assert captions.load_options(project).model == str(model)


def test_a_change_that_fails_in_its_task_is_named_in_the_dialog(
    window: MainWindow,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_room(_project: Project, product: str) -> None:
        raise book_service.BookError(f"the layout failed: {product} has no room (a test's failure)")

    monkeypatch.setattr(settings_service, "change_product", no_room)
    dialog = _settings(window, qtbot)
    dialog.product.setCurrentIndex(dialog.product.findData("12x12"))
    dialog.tone.setCurrentIndex(dialog.tone.findData(Tone.TRAVEL.value))
    assert dialog.apply() and not dialog.ready
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT_MS)
    idle(window, qtbot)
    assert dialog.message.text() == (
        "Not saved: Product 12x12: the layout failed: 12x12 has no room (a test's failure)"
    )
    assert dialog.product.currentData() == "8x8", "the dialog shows the book as it is"
    assert dialog.tone.currentData() == Tone.TRAVEL, "the other change was saved"
    assert "Product 12x12 failed" in window.message.text()
    with Project.open(window.book) as project:
        assert book_service.product_of(project).key == "8x8"
        assert captions.load_options(project).tone is Tone.TRAVEL


_EXIT_PROBE = """
import pypdfium2
import pypdfium2.raw as pdfium_c

from mixbook_desktop.ui import pdf_preview

close_page = pdfium_c.FPDF_ClosePage


def recorded(raw):
    # At exit pypdfium2 closes what is still open, on the main thread: only once the preview's
    # lock is held there, so that no worker can be inside pdfium at the same time.
    print("kept out" if pdf_preview._PDFIUM.locked() else "a worker may be inside", flush=True)
    close_page(raw)


pdfium_c.FPDF_ClosePage = recorded
document = pypdfium2.PdfDocument.new()
page = document.new_page(100, 100)
"""


def test_at_exit_pdfium_closes_pages_only_once_preview_workers_are_kept_out() -> None:
    # The bundle aborted in pdfium now and then when the editor quit while a preview page was
    # being drawn: weakref.finalize's exit handler closed the page on the main thread first.
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_PROBE], capture_output=True, text=True, timeout=60, cwd=ROOT, check=True
    )
    assert done.stdout.splitlines() == ["kept out"], done.stdout + done.stderr
