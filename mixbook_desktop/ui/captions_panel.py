"""The caption of the selected photo: the text to edit, the alternatives to choose from, a new
suggestion streamed in as the model writes it, the lock, and the caption's history. Every
change is the captions service's, run as a task by the window; nothing here decides."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class CaptionPanel(QWidget):
    saveRequested = Signal(str, str)  # target, the user's text
    pickRequested = Signal(str, str)  # target, the suggested text chosen
    lockRequested = Signal(str, bool)
    suggestRequested = Signal(str)
    historyRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.target: str | None = None
        self.title = QLabel("Select a photo to caption it.")
        self.title.setWordWrap(True)
        self.source = QLabel()
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Write the caption, or pick a suggestion below")
        self.editor.setMaximumHeight(80)
        self.save_button = QPushButton("Keep my text")
        self.suggest_button = QPushButton("Suggest again")
        self.locked = QCheckBox("Locked (never suggested again)")
        self.streaming = QLabel()
        self.streaming.setWordWrap(True)
        self.streaming.setStyleSheet("color: #555; font-style: italic")
        self.alternatives = QListWidget()
        self.history = QListWidget()
        for words in (self.alternatives, self.history):
            words.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.suggest_button)
        rows = QVBoxLayout(self)
        rows.addWidget(self.title)
        rows.addWidget(self.source)
        rows.addWidget(self.editor)
        rows.addLayout(buttons)
        rows.addWidget(self.locked)
        rows.addWidget(self.streaming)
        rows.addWidget(QLabel("Suggestions (double-click to use one):"))
        rows.addWidget(self.alternatives, 1)
        rows.addWidget(QLabel("History:"))
        rows.addWidget(self.history, 1)
        self.save_button.clicked.connect(self._save)
        self.suggest_button.clicked.connect(self._suggest)
        self.locked.clicked.connect(lambda on: self.target and self.lockRequested.emit(self.target, on))
        self.alternatives.itemDoubleClicked.connect(self._pick)
        self.show_caption(None, "", None)

    def show_caption(self, target: str | None, label: str, caption: dict[str, Any] | None) -> None:
        """`caption` as `catalog.caption_view` gives it (None: nothing suggested yet)."""
        # Text the user is typing is theirs: a refresh of the same caption leaves it alone.
        keep_typing = target is not None and target == self.target and self.editor.document().isModified()
        self.target = target
        enabled = target is not None
        for widget in (self.editor, self.save_button, self.suggest_button, self.locked):
            widget.setEnabled(enabled)
        self.title.setText(f"<b>{label}</b>" if enabled else "Select a photo to caption it.")
        caption = caption or {}
        if not keep_typing:
            self.editor.setPlainText(caption.get("text") or "")
            self.editor.document().setModified(False)
        source = caption.get("source")
        self.source.setText(
            {"user": "Your own text", "model": "Suggested by the model", "template": "From a template"}.get(
                str(source), "No caption yet"
            )
        )
        self.locked.setChecked(bool(caption.get("locked")))
        self.streaming.clear()
        self.alternatives.clear()
        current = caption.get("text")
        for text in dict.fromkeys([caption.get("suggested"), *(caption.get("alternatives") or [])]):
            if text and text != current:
                self.alternatives.addItem(text)
        self.history.clear()

    def show_history(self, events: list[dict[str, Any]]) -> None:
        self.history.clear()
        for event in events:
            self.history.addItem(f"{event['at'][:19]}  {event['action']}: {event['text'] or ''}")

    def show_streaming(self, text: str) -> None:
        self.streaming.setText(f"writing: {text}")

    def _save(self) -> None:
        text = " ".join(self.editor.toPlainText().split())
        if self.target and text:
            self.editor.document().setModified(False)
            self.saveRequested.emit(self.target, text)

    def _suggest(self) -> None:
        if self.target:
            self.streaming.setText("writing...")
            self.suggestRequested.emit(self.target)

    def _pick(self, item: QListWidgetItem) -> None:
        if self.target:
            self.pickRequested.emit(self.target, item.text())
