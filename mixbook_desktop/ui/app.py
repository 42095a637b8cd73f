"""Starting the editor, on a screen or, for machines without one, offscreen to screenshots."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from mixbook_desktop.ui.main_window import OPEN_WINDOWS, MainWindow

WINDOW_SIZE = (1440, 900)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in (
        "darwin",
        "win32",
    )


def application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(sys.argv[:1])
    app.setApplicationName("mixbook-desktop")
    app.setOrganizationName("mixbook-desktop")
    return app


def save_screenshots(window: MainWindow, folder: Path) -> list[Path]:
    """Each main view of the editor: the cover, page 1 and the first full spread with the
    details, caption and print-check panels; the people; the book title in the caption panel;
    the settings."""
    folder.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    if window.library.model().rowCount():
        window.library.setCurrentIndex(window.library.model().index(0, 0))

    def shoot(name: str, widget: QWidget | None = None) -> None:
        QApplication.processEvents()
        path = folder / f"{name}.png"
        (widget or window).grab().save(str(path))
        shots.append(path)

    for name, spread, panel in (
        ("window-cover", 0, window.details),
        ("window-page-1", 1, window.caption),
        ("window-spread-2-3", 2, window.checks),
    ):
        window.spread.show_spread(spread)
        window.side.setCurrentWidget(panel)
        shoot(name)
    window.side.setCurrentWidget(window.people_panel)
    if window.people_panel.people_model.rowCount():
        window.people_panel.people.setCurrentIndex(window.people_panel.people_model.index(0, 0))
    shoot("window-people")
    window.filter_bar.person.setCurrentIndex(0)
    window.side.setCurrentWidget(window.caption)
    window.caption.choose("book")
    shoot("window-book-title")
    dialog = window.open_settings()
    wait_until(lambda: dialog.current is not None, 10)  # the book's settings, read in a task
    shoot("settings", dialog)
    dialog.close()
    pdf = window.book.with_suffix(".pdf")
    if pdf.is_file():  # the book as exported, in the preview
        preview = window.show_pdf(pdf)
        preview.resize(900, 900)
        wait_until(lambda: preview.view.rendered(0), 10)  # opened and drawn by its worker
        shoot("pdf-preview", preview)
        preview.close()
    return shots


def wait_until(ready: Callable[[], bool], seconds: float, poll_ms: int = 10) -> bool:
    """Run the event loop until `ready()` or `seconds` have passed; whether it is ready."""
    if ready():
        return True
    loop = QEventLoop()
    check = QTimer()
    check.timeout.connect(lambda: loop.quit() if ready() else None)
    check.start(poll_ms)
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()
    check.stop()
    return ready()


def run(book: Path, screenshots: Path | None = None, quit_after: bool = False) -> int:
    """Open the editor on `book`. With `screenshots`, save views of the window there once the
    book is read and its thumbnails are in; with `quit_after`, close then."""
    app = application()
    window = MainWindow(book)
    window.resize(*WINDOW_SIZE)
    window.show()
    # A window that finishes its work before it goes was hidden first, so Qt does not see the
    # last window close: the app ends when no editor window is left, whichever closed last.
    app.setQuitOnLastWindowClosed(False)
    watch = QTimer()
    watch.timeout.connect(lambda: None if OPEN_WINDOWS else app.quit())
    watch.start(250)
    outcome = [0]
    if screenshots is not None:

        def when_ready() -> None:
            if window.read_failed is not None:
                print(f"mixbook-desktop: the book could not be read: {window.read_failed}", file=sys.stderr)
                outcome[0] = 1
                window.close()
                app.quit()
                return
            if window.busy or window.overview is None:
                QTimer.singleShot(100, when_ready)
                return
            # Give the thumbnail worker a moment for the rows and pages on screen.
            QTimer.singleShot(1500, shoot)

        def shoot() -> None:
            for path in save_screenshots(window, screenshots):
                print(f"screenshot: {path}")
            if quit_after:
                window.close()
                app.quit()

        QTimer.singleShot(100, when_ready)
    code = app.exec()
    return outcome[0] or code
