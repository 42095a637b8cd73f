"""The Qt for Python build itself: a long session must not wear away Python's own objects."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot


def test_calls_that_return_nothing_leave_none_and_bools_alone(qtbot: QtBot) -> None:
    """PySide6 6.12.0 on Python 3.11 dropped a reference to None (or a bool) at each such call,
    and the editor died after a few minutes with "Fatal Python error: none_dealloc"."""
    label = QLabel()
    qtbot.addWidget(label)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    for n in range(500):
        label.setText(str(n))
        label.setVisible(n % 2 == 0)
        label.update()
        app.processEvents()
    after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    assert all(a >= b - 50 for a, b in zip(after, before, strict=True)), (before, after)
