"""Edit > Settings: the book's settings and the app's, in one dialog that is not modal.

The book's settings (its product, caption options and model, face models, people threshold
and cloud mode) are saved in the project file through the services: they shape what is in the
book, the command line reads them from there, they travel with the file to another machine,
and each change is a step to undo. The app's settings (how many worker processes this computer
gives an import or an analysis, where GGUF files were last picked from) belong to the computer,
not to a book, and live in QSettings. The cloud mode's keys and passwords belong to neither: the
dialog never asks for one; they come from the AWS chain or the OS keyring (`cloud-login`).

Nothing is read from or written to the book on the GUI thread: the dialog asks the window for
a task to read the settings, and applies them as edits in tasks (a re-layout for a product,
a regrouping of people for a threshold, in the long-jobs lane since it can take a while).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mixbook_desktop.cloud import config as cloud_config
from mixbook_desktop.cloud.config import CloudSettings
from mixbook_desktop.core.book import PRODUCTS
from mixbook_desktop.core.captions import Tone
from mixbook_desktop.services import settings as book_settings
from mixbook_desktop.services.settings import BookSettings
from mixbook_desktop.store.project import Project
from mixbook_desktop.store.snapshots import BOOK, PEOPLE, Part, Scope
from mixbook_desktop.ui.tasks import Control, Task

if TYPE_CHECKING:
    from mixbook_desktop.ui.main_window import MainWindow

# App-wide, in QSettings.
JOBS_KEY = "analysis/jobs"  # 0: one worker process per core
MODEL_FOLDER_KEY = "captions/model_folder"

# What each kind of change may alter, for its undo: the caption options, the face pack and the
# cloud mode are settings rows only; a new threshold also moves faces between people.
CHOICES = Scope(
    "settings",
    (
        Part(
            "settings",
            where="key LIKE 'captions.%' OR key = 'analysis.face_pack' OR key = ?",
            params=(cloud_config.SETTINGS_KEY,),
        ),
    ),
)
GROUPING = Scope("people", (*PEOPLE.parts, Part("settings", where="key LIKE 'people.threshold.%'")))

READING = "Reading the settings"
WORDS_RANGE = (1, 40)  # as captions.check_options allows
THRESHOLD_STEP = 0.05
ERROR_STYLE = "color: #b3261e;"
DIALOG_WIDTH = 680  # of the left column: room for a path, and for each note on a line or two

# The choices' texts, with what cloud.config saves for each.
ANALYSIS_BACKENDS = (("On this computer", "local"), ("Amazon Rekognition", "cloud"))
CAPTION_BACKENDS = (
    ("On this computer", "local"),
    ("OpenAI-compatible endpoint", "openai"),
    ("Amazon Bedrock", "bedrock"),
)


def worker_count(settings: QSettings) -> int | None:
    """The worker processes an import or an analysis may use here; None: one per core."""
    try:
        jobs = int(str(settings.value(JOBS_KEY, 0)))  # an INI file gives it back as text
    except ValueError:
        return None
    return jobs if jobs > 0 else None


def _cores() -> int:
    return max(1, os.cpu_count() or 1)


class SettingsDialog(QDialog):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.main_window = window
        self.current: BookSettings | None = None  # as last read from the book
        self._reading = 0  # reads of the book's settings not over yet
        # Why a change of the last apply failed; filled in its worker, read once it is over.
        self._failures: list[str] = []
        self.setWindowTitle("Settings - mixbook-desktop")
        self._build()

    # Layout.

    def _build(self) -> None:
        # Two columns, the cloud mode on the right: one column would be taller than a laptop's
        # screen, and a scroll area would hide the notes that say what a change does.
        outer = QVBoxLayout(self)
        columns = QHBoxLayout()
        outer.addLayout(columns)
        column = QVBoxLayout()
        columns.addLayout(column, 3)
        self.book_group = QGroupBox("This book (saved in the book file; Edit > Undo takes a change back)")
        form = QFormLayout(self.book_group)

        self.product = QComboBox()
        self.product.setEditable(True)
        self.product.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for key, product in PRODUCTS.items():
            self.product.addItem(f"{key}  ({product.name})", key)
        self.product.setToolTip("A preset, or a size of your own such as 9.5x8in, 210x280mm or 21x28cm")
        form.addRow("Product", self.product)
        form.addRow(
            _note("A new product lays the book out again; your locked pages, photos and crops are kept.")
        )

        self.tone = QComboBox()
        for tone in Tone:
            self.tone.addItem(tone.value.capitalize(), tone.value)
        form.addRow("Caption tone", self.tone)
        words = QHBoxLayout()
        self.min_words = QSpinBox()
        self.max_words = QSpinBox()
        for box in (self.min_words, self.max_words):
            box.setRange(*WORDS_RANGE)
        words.addWidget(self.min_words)
        words.addWidget(QLabel("to"))
        words.addWidget(self.max_words)
        words.addWidget(QLabel("words"))
        words.addStretch(1)
        form.addRow("Caption length", words)
        self.style_hint = QLineEdit()
        self.style_hint.setPlaceholderText("none (a few words on a style, e.g. dry and understated)")
        form.addRow("Style hint", self.style_hint)
        self.caption_model = QLineEdit()
        self.caption_model.setPlaceholderText(f"the bundled model: {book_settings.bundled_caption_model()}")
        choose_model = QPushButton("Choose...")
        choose_model.clicked.connect(self._choose_model)
        bundled_model = QPushButton("Bundled")
        bundled_model.clicked.connect(self.caption_model.clear)
        form.addRow("Caption model", _row(self.caption_model, choose_model, bundled_model))
        form.addRow(
            _note("New caption settings make new suggestions on the next Suggest Captions; yours stay.")
        )

        self.face_pack = QLineEdit()
        self.face_pack.setPlaceholderText("the bundled face models (BlazeFace and dlib)")
        choose_pack = QPushButton("Choose...")
        choose_pack.clicked.connect(self._choose_pack)
        bundled_pack = QPushButton("Bundled")
        bundled_pack.clicked.connect(self.face_pack.clear)
        form.addRow("Face models", _row(self.face_pack, choose_pack, bundled_pack))
        self.face_pack.setToolTip("An InsightFace pack folder (SCRFD and ArcFace ONNX models)")
        form.addRow(_note("With other face models, the next Analyse Photos finds every face again."))
        self.threshold = QDoubleSpinBox()
        # The widget allows the edges; the people service refuses them, with its reason.
        self.threshold.setRange(0.0, 4.0)
        self.threshold.setDecimals(2)
        self.threshold.setSingleStep(THRESHOLD_STEP)
        self.threshold_label = QLabel("People threshold")
        form.addRow(self.threshold_label, self.threshold)
        self.threshold.setToolTip("Faces closer than this distance are one person; smaller is stricter")
        form.addRow(_note("A new threshold groups the faces again; your names, merges and splits are kept."))
        column.addWidget(self.book_group)

        app_group = QGroupBox("This computer (all books)")
        app_form = QFormLayout(app_group)
        self.jobs = QSpinBox()
        self.jobs.setRange(0, _cores())
        self.jobs.setSpecialValueText(f"One per core ({_cores()})")
        app_form.addRow("Worker processes", self.jobs)
        app_form.addRow(_note("For importing and analysing photos; fewer leaves the computer more room."))
        column.addWidget(app_group)

        column.addStretch(1)
        self._build_cloud()
        columns.addWidget(self.cloud_group, 2)

        self.message = QLabel()
        self.message.setWordWrap(True)
        outer.addWidget(self.message)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        apply_button.clicked.connect(self.apply)
        outer.addWidget(self.buttons)
        self.book_group.setMinimumWidth(DIALOG_WIDTH)
        self._enable(False)

    def _build_cloud(self) -> None:
        self.cloud_group = QGroupBox("Cloud mode (this book)")
        box = QVBoxLayout(self.cloud_group)
        form = self.cloud_form = QFormLayout()
        box.addLayout(form)

        self.analysis_backend = _choices(ANALYSIS_BACKENDS)
        form.addRow("Analyse photos", self.analysis_backend)
        form.addRow(_note("The next Analyse Photos runs there; photos, people and captions are kept."))
        # The bucket and endpoints stay open with local analysis too: upload and compare use them.
        self.bucket = _line("none yet (needed for Rekognition and uploads)")
        form.addRow("S3 bucket", self.bucket)
        self.prefix = _line("none")
        form.addRow("Key prefix", self.prefix)
        self.region = _line("an AWS region, e.g. eu-west-1")
        form.addRow("Region", self.region)
        self.s3_endpoint = _line("optional: AWS itself, or an S3-compatible server")
        form.addRow("S3 endpoint URL", self.s3_endpoint)
        self.rekognition_endpoint = _line("optional: AWS itself")
        form.addRow("Rekognition endpoint", self.rekognition_endpoint)

        self.caption_backend = _choices(CAPTION_BACKENDS)
        form.addRow("Captions", self.caption_backend)
        self.local_captions_note = _note("Made here, by the caption model on the left.")
        form.addRow(self.local_captions_note)
        self.openai_url = _line("e.g. http://localhost:8080/v1")
        form.addRow("Endpoint URL", self.openai_url)
        self.openai_model = _line("the endpoint's default")
        form.addRow("Model name", self.openai_model)
        self.bedrock_model = _line("e.g. meta.llama3-2-3b-instruct-v1:0")
        form.addRow("Bedrock model id", self.bedrock_model)
        self.bedrock_endpoint = _line("optional: AWS itself")
        form.addRow("Bedrock endpoint", self.bedrock_endpoint)
        self.caption_backend.currentIndexChanged.connect(self._show_caption_fields)

        self.postgres_url = _line("optional: postgresql://user@host/db")
        form.addRow("Caption mirror", self.postgres_url)
        self.postgres_url.setToolTip(
            "A PostgreSQL database that `sync` copies the captions and their history to"
        )

        credentials = QLabel(
            "Keys and passwords are never kept in the book, nor asked for here. AWS keys come from "
            "the AWS chain (aws configure, the environment); an API key or a database password "
            "from the OS keyring, put there by:\n"
            # On a line of its own: a wrapped line would break the command at its hyphen.
            "mixbook-desktop cloud-login"
        )
        credentials.setWordWrap(True)  # in a box layout, unlike a form's row, it gets its height
        credentials.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        credentials.setStyleSheet("color: palette(mid);")
        box.addWidget(credentials)
        box.addStretch(1)
        self._show_caption_fields()

    def _show_caption_fields(self) -> None:
        """Only the chosen caption backend's fields; the others keep what they hold, so that
        a choice taken back loses nothing."""
        chosen = self.caption_backend.currentData()
        self.cloud_form.setRowVisible(self.local_captions_note, chosen == "local")
        for widget in (self.openai_url, self.openai_model):
            self.cloud_form.setRowVisible(widget, chosen == "openai")
        for widget in (self.bedrock_model, self.bedrock_endpoint):
            self.cloud_form.setRowVisible(widget, chosen == "bedrock")

    def _enable(self, on: bool) -> None:
        self.book_group.setEnabled(on)
        self.cloud_group.setEnabled(on)
        for button in (QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Apply):
            self.buttons.button(button).setEnabled(on)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setText(text)

    # Reading.

    @property
    def ready(self) -> bool:
        return self.current is not None and self._reading == 0

    def reload(self) -> Task:
        """Read the book's settings (in a task) and the app's, and show them."""
        self.current = None
        self._enable(False)
        self._say("Reading the book's settings...")
        self.jobs.setValue(worker_count(self.main_window.settings) or 0)
        self._reading += 1
        return self.main_window.run_task(READING, _read, self._read_done)

    def _read_done(self, values: BookSettings | str) -> None:
        """A read is over (the last of those after an apply, or the only one)."""
        self._reading = max(0, self._reading - 1)
        if isinstance(values, str):
            self._say(values, error=True)
            return
        if self._reading > 0:
            return  # a change still running in the other lane: shown when it is saved
        self.show_values(values)
        failures, self._failures = self._failures, []
        if failures:
            self._say("Not saved: " + "; ".join(failures), error=True)

    def show_values(self, values: BookSettings) -> None:
        self.current = values
        keys = [self.product.itemData(n) for n in range(self.product.count())]
        if values.product in keys:
            self.product.setCurrentIndex(keys.index(values.product))
        else:
            self.product.setCurrentIndex(-1)
            self.product.setEditText(values.product)
        self.tone.setCurrentIndex(self.tone.findData(values.tone.value))
        self.min_words.setValue(values.words[0])
        self.max_words.setValue(values.words[1])
        self.style_hint.setText(values.style_hint)
        self.caption_model.setText(values.caption_model)
        self.face_pack.setText(values.face_pack)
        self.threshold.setValue(values.threshold)
        faces = {book_settings.ARCFACE: "ArcFace", book_settings.REKOGNITION: "Rekognition"}.get(
            values.faces, "dlib"
        )
        self.threshold_label.setText(f"People threshold ({faces} faces)")
        self._show_cloud(values.cloud)
        self._enable(True)
        self._say("")

    def _show_cloud(self, cloud: CloudSettings) -> None:
        self.analysis_backend.setCurrentIndex(self.analysis_backend.findData(cloud.analysis))
        self.caption_backend.setCurrentIndex(self.caption_backend.findData(cloud.captions))
        for edit, value in (
            (self.bucket, cloud.bucket),
            (self.prefix, cloud.prefix),
            (self.region, cloud.region),
            (self.s3_endpoint, cloud.s3_endpoint),
            (self.rekognition_endpoint, cloud.rekognition_endpoint),
            (self.openai_url, cloud.openai_url),
            (self.openai_model, cloud.openai_model),
            (self.bedrock_model, cloud.bedrock_model),
            (self.bedrock_endpoint, cloud.bedrock_endpoint),
            (self.postgres_url, cloud.postgres_url),
        ):
            edit.setText(value or "")

    def wanted_cloud(self) -> CloudSettings:
        """The cloud settings as shown ('' is none), for cloud.config to check."""
        return CloudSettings(
            analysis=self.analysis_backend.currentData(),
            bucket=_text(self.bucket),
            prefix=self.prefix.text().strip(),
            region=self.region.text().strip(),
            s3_endpoint=_text(self.s3_endpoint),
            rekognition_endpoint=_text(self.rekognition_endpoint),
            captions=self.caption_backend.currentData(),
            openai_url=_text(self.openai_url),
            openai_model=_text(self.openai_model),
            bedrock_model=_text(self.bedrock_model),
            bedrock_endpoint=_text(self.bedrock_endpoint),
            postgres_url=_text(self.postgres_url),
        )

    # Choosing files.

    def _choose_model(self) -> None:
        start = str(self.main_window.settings.value(MODEL_FOLDER_KEY, "") or Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "A caption model", start, "GGUF models (*.gguf)")
        if path:
            self.main_window.settings.setValue(MODEL_FOLDER_KEY, str(Path(path).parent))
            self.caption_model.setText(path)

    def _choose_pack(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "An InsightFace model pack", self.face_pack.text())
        if folder:
            self.face_pack.setText(folder)

    # Applying.

    def wanted(self) -> BookSettings | None:
        """The book's settings as the dialog shows them now (None until they are read)."""
        if self.current is None:
            return None
        text = self.product.currentText().strip()
        index = self.product.findText(text)
        product = str(self.product.itemData(index)) if index >= 0 else text
        shown = round(self.threshold.value(), self.threshold.decimals())
        # The box shows two decimals: a saved 0.123 left alone stays 0.123.
        untouched = shown == round(self.current.threshold, self.threshold.decimals())
        threshold = self.current.threshold if untouched else shown
        return replace(
            self.current,
            product=product,
            tone=Tone(self.tone.currentData()),
            style_hint=self.style_hint.text().strip(),
            words=(self.min_words.value(), self.max_words.value()),
            caption_model=self.caption_model.text().strip(),
            face_pack=self.face_pack.text().strip(),
            threshold=threshold,
            cloud=self.wanted_cloud(),
        )

    def apply(self) -> bool:
        """Check everything shown; if all is well, save the app's settings and start the
        edits for the book's that changed. False, with the reason shown, saves nothing."""
        old, new = self.current, self.wanted()
        if old is None or new is None:
            self._say("The book's settings are still being read.", error=True)
            return False
        problem = book_settings.check(old, new)
        if problem is not None:
            self._say(problem, error=True)
            return False
        self.main_window.settings.setValue(JOBS_KEY, self.jobs.value())
        edits: list[tuple[str, Callable[[Project, Control], Any], Scope, bool]] = []
        choices = book_settings.caption_changes(old, new) or book_settings.face_pack_changed(old, new)
        cloud = book_settings.cloud_changed(old, new)
        if choices or cloud:
            # One edit, one step to undo: they are all rows of the settings table.
            edits.append(
                (
                    _choices_name(bool(choices), cloud),
                    lambda project, _control: book_settings.save_choices(project, old, new),
                    CHOICES,
                    False,
                )
            )
        if book_settings.product_changed(old, new):
            edits.append(
                (
                    f"Product {new.product}",
                    lambda project, _control: book_settings.change_product(project, new.product),
                    BOOK,
                    False,
                )
            )
        if book_settings.threshold_changed(old, new):
            edits.append(
                (
                    f"People threshold {new.threshold:g}",
                    lambda project, _control: book_settings.change_threshold(
                        project, new.threshold, new.faces
                    ),
                    GROUPING,
                    True,
                )
            )
        if not edits:
            self._say("Saved.")
            return True
        self._enable(False)
        self._say("Saving..." if len(edits) == 1 else f"Saving {len(edits)} changes...")
        self._failures = []
        for name, work, scope, long in edits:
            self.main_window.edit(name, self._noting(name, work), scope, long=long)
        # What was saved is read back once it is, so that the dialog shows the book as it now
        # is: a read queued behind the changes in each lane they went to runs after them.
        long_ones = any(long for *_, long in edits)
        short_ones = not all(long for *_, long in edits)
        self._reading += int(long_ones) + int(short_ones)
        if short_ones:
            self.main_window.run_task(READING, _read, self._read_done)
        if long_ones:
            self.main_window.job(READING, _read, self._read_done)
        return True

    def _noting(
        self, name: str, work: Callable[[Project, Control], Any]
    ) -> Callable[[Project, Control], Any]:
        """`work`, with its failure kept for the dialog to show (the status bar says it too)."""

        def run(project: Project, control: Control) -> Any:
            try:
                return work(project, control)
            except Exception as exc:
                self._failures.append(f"{name}: {exc}")
                raise

        return run

    def _ok(self) -> None:
        if self.apply():
            self.accept()


def _read(project: Project, _control: Control) -> BookSettings | str:
    # A failure comes back as the result, not as the task's failure: the dialog waits for a
    # result, and a task's outcome is only delivered to what was connected before it ended.
    try:
        return book_settings.read(project)
    except Exception as exc:
        return f"The book's settings could not be read: {exc}"


def _choices_name(choices: bool, cloud: bool) -> str:
    if choices and cloud:
        return "Caption, face and cloud settings"
    return "Cloud mode settings" if cloud else "Caption and face settings"


def _text(edit: QLineEdit) -> str | None:
    return edit.text().strip() or None


def _line(placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setPlaceholderText(placeholder)
    return edit


def _choices(choices: tuple[tuple[str, str], ...]) -> QComboBox:
    box = QComboBox()
    for text, value in choices:
        box.addItem(text, value)
    box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return box


def _note(text: str) -> QLabel:
    # One line each: QFormLayout does not give a wrapped label the height it needs.
    label = QLabel(text)
    label.setStyleSheet("color: palette(mid);")
    return label


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    line = QHBoxLayout(row)
    line.setContentsMargins(0, 0, 0, 0)
    for n, widget in enumerate(widgets):
        line.addWidget(widget, 1 if n == 0 else 0)
    return row
