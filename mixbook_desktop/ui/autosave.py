"""What the user types is saved without asking: a moment after they stop typing, when they
select something else, and when the window closes. Every other edit is saved the moment it is
made (each is its own transaction in the project file), so a crash or a kill loses at most the
last few seconds of typing."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from mixbook_desktop.ui.captions_panel import CaptionPanel

AUTOSAVE_MS = 1500  # long enough not to save every word, short enough that a crash costs little
LONGEST_MS = 5000  # someone who types on without a pause is saved this often all the same


class Autosave(QObject):
    def __init__(
        self, panel: CaptionPanel, delay_ms: int = AUTOSAVE_MS, longest_ms: int = LONGEST_MS
    ) -> None:
        super().__init__(panel)
        self._panel = panel
        self._pause = self._timer(delay_ms)
        self._longest = self._timer(longest_ms)
        panel.editor.textChanged.connect(self._typed)

    def _timer(self, ms: int) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(self.flush)
        return timer

    def _typed(self) -> None:
        if self._panel.editor.document().isModified():
            self._pause.start()
            if not self._longest.isActive():
                self._longest.start()

    @property
    def pending(self) -> bool:
        return self._pause.isActive()

    def flush(self) -> None:
        """Save the text being typed now, if there is any."""
        self._pause.stop()
        self._longest.stop()
        panel = self._panel
        text = " ".join(panel.editor.toPlainText().split())
        if panel.target is not None and panel.editor.document().isModified() and text:
            panel.editor.document().setModified(False)
            panel.saveRequested.emit(panel.target, text)
