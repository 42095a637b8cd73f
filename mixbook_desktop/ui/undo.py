"""Undo and redo through QUndoStack: a command holds its edit's rows before and after, and
undoing or redoing writes one of them back, in a task like any other edit."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from mixbook_desktop.store.snapshots import Snapshot


class Undoable(QUndoCommand):
    def __init__(
        self, name: str, before: Snapshot, after: Snapshot, apply: Callable[[str, Snapshot, str], object]
    ) -> None:
        super().__init__(name)
        self._before = before
        self._after = after
        self._apply = apply
        self._fresh = True  # pushed once the edit is saved: the first redo has nothing to do

    def undo(self) -> None:
        self._apply(self.text(), self._before, "undo")

    def redo(self) -> None:
        if self._fresh:
            self._fresh = False
            return
        self._apply(self.text(), self._after, "redo")
