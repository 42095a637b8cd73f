"""Thumbnails for the views, decoded off the GUI thread.

The project file holds every photo's upright JPEG thumbnail. One worker thread reads and
decodes the ones the views ask for, newest request first (the rows on screen now), and hands
each back as a QImage; the GUI thread turns it into a pixmap once and keeps it.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from mixbook_desktop.ui.tasks import retire

# Pixmaps kept in memory; at 256 px a side about 200 KB each, so some 100 MB at most.
KEPT = 500


class Thumbnails(QObject):
    """Ask with `pixmap(sha)`: it answers what it has (or None) and, when it has nothing yet,
    loads it and emits `ready(sha)`."""

    ready = Signal(str)
    _decoded = Signal(str, QImage)

    def __init__(self, book: Path) -> None:
        super().__init__()
        self._book = book
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._wanted: list[str] = []
        self._asked: set[str] = set()
        self._lock = threading.Condition()
        self._closed = False
        self._decoded.connect(self._store)
        self._worker = threading.Thread(target=self._work, name="thumbnails", daemon=True)
        self._worker.start()

    def pixmap(self, sha256: str) -> QPixmap | None:
        found = self._cache.get(sha256)
        if found is not None:
            self._cache.move_to_end(sha256)
            return found
        with self._lock:
            if sha256 not in self._asked:
                self._asked.add(sha256)
                self._wanted.append(sha256)
                self._lock.notify()
        return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify()
        retire(self, self._worker)
        # The worker is a daemon that ends at its next wake-up; no waiting on the GUI thread.

    def _store(self, sha256: str, image: QImage) -> None:
        self._cache[sha256] = QPixmap.fromImage(image)
        while len(self._cache) > KEPT:
            old, _ = self._cache.popitem(last=False)
            self._asked.discard(old)
        self.ready.emit(sha256)

    def _work(self) -> None:
        # Read-only, its own connection: the GUI's and the tasks' writes never wait for it.
        conn = sqlite3.connect(f"file:{self._book}?mode=ro", uri=True, check_same_thread=False)
        try:
            while True:
                with self._lock:
                    while not self._wanted and not self._closed:
                        self._lock.wait()
                    if self._closed:
                        return
                    sha256 = self._wanted.pop()  # the newest request: what is on screen now
                try:
                    row = conn.execute("SELECT jpeg FROM thumbnails WHERE sha256 = ?", [sha256]).fetchone()
                except sqlite3.Error as exc:
                    print(f"thumbnails: {exc}", file=sys.stderr)  # one miss, not the end of all
                    row = None
                image = QImage.fromData(bytes(row[0])) if row else QImage()
                if image.isNull():
                    with self._lock:
                        self._asked.discard(sha256)  # asked again later: it may exist by then
                else:
                    self._decoded.emit(sha256, image)
        finally:
            conn.close()
