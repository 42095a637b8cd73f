"""The editor's test fixtures (registered for every test module by conftest.py) and the helpers
the GUI tests share: a window on a copy of the analysed, laid-out demo book, and ways to wait
for its tasks and to reach a slot or a menu entry as a user does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QPointF, QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from tests.analysis_support import copy_book
from tests.conftest import run_cli

if TYPE_CHECKING:  # every test module loads this file: only the GUI's tests import the GUI
    from mixbook_desktop.ui.main_window import MainWindow

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def editor_book(demo_book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = copy_book(demo_book, tmp_path_factory.mktemp("editor"))
    run_cli("caption", str(book), "--set", "book", "The Demo Book")
    run_cli("layout", str(book))
    return book


@pytest.fixture
def window(editor_book: Path, tmp_path: Path, qtbot: QtBot) -> Iterator[MainWindow]:
    from mixbook_desktop.ui.main_window import MainWindow

    book = copy_book(editor_book, tmp_path)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    shown = MainWindow(book, settings)

    # Offscreen, a question box would wait forever for a click: a test that ends with work
    # running answers "close" for the user.
    def close_anyway(running: str) -> bool:
        return True

    shown.confirm_close = close_anyway  # type: ignore[method-assign]
    shown.confirm_lose = lambda unsaved: True  # type: ignore[method-assign]
    qtbot.addWidget(shown)
    shown.resize(1400, 900)
    shown.show()
    qtbot.waitUntil(lambda: shown.overview is not None and not shown.busy, timeout=WAIT_MS)
    yield shown
    shown.thumbnails.close()


def idle(window: MainWindow, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)


def slot_centre(window: MainWindow, position: int, slot: int = 0) -> QPointF:
    window.spread.show_page(position)
    page = next(p for p in window.spread._pages_here() if p.position == position)
    scale, spine_x, top = window.spread._frame()
    photo = next(p for p in page.photos if p.slot == slot)
    rect = window.spread._to_widget(photo.rect, window.spread._page_origin(page, spine_x, scale), top, scale)
    return QPointF(rect.center())


def entry(menu: QMenu | None, starts: str, submenu: str | None = None) -> QAction:
    """The entry of `menu` (or of its `submenu`) whose text starts with `starts`."""
    assert menu is not None
    actions = menu.actions()
    if submenu is not None:
        sub = next(a for a in actions if a.text() == submenu).menu()
        assert isinstance(sub, QMenu)
        actions = sub.actions()
    return next(a for a in actions if a.text().startswith(starts))


def act(window: MainWindow, qtbot: QtBot, point: QPointF, starts: str, submenu: str | None = None) -> None:
    """Choose an entry of the spread's menu at `point`, and wait for what it does."""
    entry(window.spread.menu_for(point), starts, submenu).trigger()
    idle(window, qtbot)
