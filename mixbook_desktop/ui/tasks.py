"""Slow work off the GUI thread: a task runs a plain function in a worker thread and reports
progress, its result or its failure back through Qt signals, which Qt delivers on the GUI
thread. Cancelling sets an event the function checks between steps.

Each task opens its own connection to the project file: SQLite connections belong to the
thread that made them, and WAL lets the GUI thread read while a task writes.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from mixbook_desktop.store.project import write_refused

# Workers' QObjects whose threads may still be running, held here by the GUI thread. Were a
# worker thread to drop the last reference, Qt would destroy the object on that thread while
# the GUI thread may be delivering its queued signals: a crash far from its cause.
_RETIRED: list[tuple[QObject, threading.Thread]] = []

# How a failure begins when the OS or SQLite refused a write; what failed may work later.
WRITE_REFUSED = "a write was refused"


def retire(owner: QObject, thread: threading.Thread) -> None:
    """Keep `owner` until `thread` has ended; called on the GUI thread, which therefore lets go
    of it (at a later call, once the thread is over)."""
    _RETIRED[:] = [(o, t) for o, t in _RETIRED if t.is_alive()]
    _RETIRED.append((owner, thread))


class Cancelled(Exception):
    """Raised by a task's function when it sees the cancel request."""


@dataclass
class Control:
    """What a task's function gets: a way to report progress, and the cancel flag."""

    report: Callable[[int, int, str], None]
    cancel: threading.Event

    def check(self) -> None:
        if self.cancel.is_set():
            raise Cancelled


class Task(QObject):
    """One piece of work. Signals arrive on the GUI thread in order: progress*, then exactly
    one of finished, failed or cancelled."""

    progress = Signal(int, int, str)  # done, total (0: unknown), what is happening
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, name: str, work: Callable[[Control], Any]) -> None:
        super().__init__()
        self.name = name
        self._work = work
        self._cancel = threading.Event()
        self.cancellable = False  # does the work check the cancel flag?
        self.undoable = False  # an edit that goes on the undo stack once it is saved
        self._thread = threading.Thread(target=self._run, name=f"task: {name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work is over (tests and shutdown only, never the GUI at work)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        control = Control(lambda done, total, text: self.progress.emit(done, total, text), self._cancel)
        try:
            result = self._work(control)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # a task's failure is shown to the user, never a crash
            detail = str(exc) or type(exc).__name__
            if write_refused(exc):
                detail = f"{WRITE_REFUSED}: the disk is full, or failing ({detail})"
            traceback.print_exc()
            self.failed.emit(detail)
        else:
            # Finished work is reported as finished even if Cancel came too late to stop it:
            # what it did is saved, and the window must show it.
            self.finished.emit(result)
