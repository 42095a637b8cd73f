"""The text of what is chosen at the top of the panel: the selected photo's caption, the book's
title or a chapter's title. Each shows the text to edit, the alternatives to choose from, a new
suggestion streamed in as the model writes it, the lock and the history; the tone new
suggestions are written in is the book's. Every change is the captions service's, run as a task
by the window; nothing here decides."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mixbook_desktop.core.captions import Tone

Caption = dict[str, Any]  # as catalog.caption_view gives it
Title = tuple[str, str, Caption | None]  # target, what it is ("Book title"), its caption
PHOTO_ENTRY = 0  # the first entry of the chooser is always the selected photo

SOURCES = {
    "user": "Your own text",
    "model": "Suggested by the model",
    "template": "From a template",
    "unsaved": "Your own text, not saved yet: the book refused it (see the status bar)",
}


class CaptionPanel(QWidget):
    saveRequested = Signal(str, str)  # target, the user's text
    pickRequested = Signal(str, str)  # target, the suggested text chosen
    lockRequested = Signal(str, bool)
    suggestRequested = Signal(str)
    historyRequested = Signal(str)  # a target now shown, whose history the window fetches
    toneRequested = Signal(str)  # a Tone value, for the whole book
    # Another text is about to be shown: what was typed for this one is saved first.
    leaving = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.target: str | None = None
        self._photo: Title | None = None
        self._titles: dict[str, Title] = {}
        self.chooser = QComboBox()
        # Titles can be long: they must not widen the side panel.
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.setMinimumContentsLength(16)
        self.chooser.addItem("")
        self.tone = QComboBox()
        for tone in Tone:
            self.tone.addItem(tone.value.capitalize(), tone.value)
        self.tone.setToolTip("The tone of every suggestion in this book; Suggest again uses it at once")
        self.source = QLabel()
        self.source.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Write the text, or pick a suggestion below")
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
        top = QFormLayout()
        top.addRow("Text of:", self.chooser)
        top.addRow("Book tone:", self.tone)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.suggest_button)
        rows = QVBoxLayout(self)
        rows.addLayout(top)
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
        self.chooser.currentIndexChanged.connect(lambda _index: self._refresh())
        self.tone.currentIndexChanged.connect(lambda _index: self.toneRequested.emit(self.tone.currentData()))
        self.show_photo(None, "", None)

    @property
    def photo(self) -> str | None:
        """The target of the selected photo, whether its caption is the one shown or not."""
        return self._photo[0] if self._photo else None

    # What the window tells the panel.

    def show_photo(self, target: str | None, label: str, caption: Caption | None) -> None:
        """The selected photo (None: no photo is). A photo newly selected is shown; the same
        photo again, as a reload brings it, is only brought up to date, so a title the user
        chose stays in view."""
        new = target is not None and (self._photo is None or self._photo[0] != target)
        self._photo = (target, label, caption) if target is not None else None
        self.chooser.setItemText(
            PHOTO_ENTRY, f"Photo: {label}" if target else "Photo: select one in the library or on a page"
        )
        if new and self.chooser.currentIndex() != PHOTO_ENTRY:
            self.chooser.setCurrentIndex(PHOTO_ENTRY)  # shows it
        elif self.chooser.currentIndex() == PHOTO_ENTRY:
            self._refresh()

    def set_titles(self, titles: list[Title], tone: Tone) -> None:
        """The book's and the chapters' titles, and the book's tone, as a reload read them."""
        chosen = self.chooser.currentData() if self.chooser.currentIndex() != PHOTO_ENTRY else None
        self._titles = {title[0]: title for title in titles}
        with QSignalBlocker(self.chooser):
            while self.chooser.count() > 1:
                self.chooser.removeItem(1)
            for target, label, caption in titles:
                text = (caption or {}).get("text")
                self.chooser.addItem(f"{label}: {text}" if text else f"{label} (none yet)", target)
            # A chapter gone with the photos that made it: back to the photo.
            self.chooser.setCurrentIndex(max(PHOTO_ENTRY, self.chooser.findData(chosen)) if chosen else 0)
        with QSignalBlocker(self.tone):
            self.tone.setCurrentIndex(self.tone.findData(tone.value))
        if chosen is not None:  # the photo is the window's to bring up to date
            self._refresh()

    def choose(self, target: str) -> bool:
        """Show the text of `target`: the selected photo's, or a title. False if the panel has
        no such text (a photo that is not the selected one)."""
        index = PHOTO_ENTRY if self._photo and self._photo[0] == target else self.chooser.findData(target)
        if index < 0:
            return False
        self.chooser.setCurrentIndex(index)
        return True

    def show_history(self, events: list[dict[str, Any]]) -> None:
        self.history.clear()
        for event in events:
            self.history.addItem(f"{event['at'][:19]}  {event['action']}: {event['text'] or ''}")

    def show_streaming(self, text: str) -> None:
        self.streaming.setText(f"writing: {text}")

    # Showing one text.

    def _refresh(self) -> None:
        if self.chooser.currentIndex() == PHOTO_ENTRY:
            self._show(*(self._photo or (None, "", None)))
        else:
            self._show(*self._titles[self.chooser.currentData()])

    def _show(self, target: str | None, label: str, caption: Caption | None) -> None:
        if target != self.target and self.target is not None:
            self.leaving.emit()
        # Text the user is typing is theirs: a refresh of the same caption leaves it alone.
        keep_typing = target is not None and target == self.target and self.editor.document().isModified()
        self.target = target
        enabled = target is not None
        for widget in (self.editor, self.save_button, self.suggest_button, self.locked):
            widget.setEnabled(enabled)
        self.editor.setToolTip(label)
        caption = caption or {}
        # The same text set again would move the cursor of someone still typing to the start; the
        # text saved is the one typed with its spaces tidied, so compare it so.
        shown = " ".join(self.editor.toPlainText().split())
        if not keep_typing and shown != (caption.get("text") or ""):
            self.editor.setPlainText(caption.get("text") or "")
            self.editor.document().setModified(False)
        source = SOURCES.get(str(caption.get("source")), "Nothing yet: Suggest again writes one")
        if caption.get("source") != "user" and caption.get("tone"):
            source += f", in the {caption['tone']} tone"
        self.source.setText(source if enabled else "")
        self.locked.setChecked(bool(caption.get("locked")))
        self.streaming.clear()
        self.alternatives.clear()
        current = caption.get("text")
        for text in dict.fromkeys([caption.get("suggested"), *(caption.get("alternatives") or [])]):
            if text and text != current:
                self.alternatives.addItem(text)
        self.history.clear()
        if target is not None:
            self.historyRequested.emit(target)

    # The user's commands.

    def _save(self) -> None:
        text = " ".join(self.editor.toPlainText().split())
        if self.target and text:
            if text != self.editor.toPlainText():
                self.editor.setPlainText(text)  # kept on a click, not while typing: shown as saved
            self.editor.document().setModified(False)
            self.saveRequested.emit(self.target, text)

    def _suggest(self) -> None:
        if self.target:
            self.streaming.setText("writing...")
            self.suggestRequested.emit(self.target)

    def _pick(self, item: QListWidgetItem) -> None:
        if self.target:
            self.pickRequested.emit(self.target, item.text())
