"""The editor in a process of its own, with a user typing into the caption panel, for the crash
tests to kill. Usage: python -m tests.support.typing_editor BOOK PHOTO_NAME TEXT

It selects the photo, types TEXT a key at a time (as a person does), prints "typed", then types
on slowly, with a pause after every fifth word. It prints "more" at each word (w1, w2, ...)
and "saved" when an edit is saved. When the book refuses a save, it prints "refused" and stops
typing; "kept" follows each save the book takes after that. It never stops by itself: the
test ends it with SIGKILL."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtTest import QTest

from mixbook_desktop.ui.app import application
from mixbook_desktop.ui.main_window import MainWindow


def main() -> None:
    book, name, text = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = application()
    settings = QSettings(str(book.with_suffix(".ini")), QSettings.Format.IniFormat)
    window = MainWindow(book, settings)
    window.show()
    refused = False
    words = 0

    def saved(_index: int) -> None:
        print("saved", flush=True)
        if refused:
            print("kept", flush=True)  # a save the book took after it had refused one

    window.undo_stack.indexChanged.connect(saved)

    def when_read() -> None:
        if window.overview is None or window.busy:
            QTimer.singleShot(50, when_read)
            return
        window.filter_bar.search.setText(name)
        window.library.setCurrentIndex(window.filtered.index(0, 0))
        window.caption.editor.setFocus()
        window.caption.editor.selectAll()
        QTest.keyClicks(window.caption.editor, text)
        print("typed", flush=True)
        QTimer.singleShot(100, more)

    def more() -> None:
        nonlocal refused, words
        if window.unsaved_captions:
            # The book refused a save: the user stops typing and waits for it to be saved.
            refused = True
            print("refused", flush=True)
            return
        # Still typing when the kill comes: these letters may be lost, what came before not.
        # Numbered words, so that a test can tell which were lost.
        words += 1
        QTest.keyClicks(window.caption.editor, f" w{words}")
        print("more", flush=True)
        # A pause after every fifth word, long enough for the autosave to save while idle.
        QTimer.singleShot(2000 if words % 5 == 0 else 100, more)

    QTimer.singleShot(0, when_read)
    app.exec()


if __name__ == "__main__":
    main()
