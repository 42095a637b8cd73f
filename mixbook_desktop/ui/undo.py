"""Undo and redo through QUndoStack: a command holds its edit's rows before and after, and
undoing or redoing writes one of them back, in a task like any other edit."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from mixbook_desktop.store.snapshots import Snapshot

TYPING = 1  # QUndoStack merges only commands of one id
MERGE_SECONDS = 10.0


class Undoable(QUndoCommand):
    def __init__(
        self,
        name: str,
        before: Snapshot,
        after: Snapshot,
        apply: Callable[[str, Snapshot, Snapshot, str], object],
    ) -> None:
        super().__init__(name)
        self._before = before
        self._after = after
        self._apply = apply
        self._fresh = True  # pushed once the edit is saved: the first redo has nothing to do
        self._at = time.monotonic()

    def id(self) -> int:
        return TYPING if self._before.scope.caption_target is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Autosaves of one caption while the user keeps typing are one step to undo."""
        if not isinstance(other, Undoable) or other.text() != self.text():
            return False
        if other._before.scope != self._before.scope or other._at - self._at > MERGE_SECONDS:
            return False
        self._after = other._after
        self._at = other._at
        return True

    def undo(self) -> None:
        self._apply(self.text(), self._before, self._after, "undo")

    def redo(self) -> None:
        if self._fresh:
            self._fresh = False
            return
        self._apply(self.text(), self._after, self._before, "redo")
