"""A book's settings together, as the editor's settings dialog shows them: read at once, and
checked all together before any is saved, so that a change with one bad value saves nothing.
Each setting stays owned, checked and saved by its own service, as the command line uses it
(the cloud mode's by cloud.config, which imports no AWS library and opens no connection)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixbook_desktop.analysis.manifest import ModelError, spec
from mixbook_desktop.captions.llama_backend import DEFAULT_MODEL
from mixbook_desktop.cloud import config as cloud_config
from mixbook_desktop.cloud.config import CloudError, CloudSettings
from mixbook_desktop.core.book import product_named
from mixbook_desktop.core.captions import Tone
from mixbook_desktop.services import analysis, captions, people
from mixbook_desktop.services import book as book_service
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.book import PRODUCT_KEY
from mixbook_desktop.store.project import Project

# The face descriptors, each with a threshold of its own (people.book_faces names them).
DLIB, ARCFACE, REKOGNITION = "dlib", "arcface", people.REKOGNITION_PREFIX


@dataclass(frozen=True)
class BookSettings:
    product: str  # a preset's key or a custom size, as `layout --product` takes it
    tone: Tone
    style_hint: str  # '' for none
    words: tuple[int, int]
    caption_model: str  # a GGUF file; '' for the bundled model
    face_pack: str  # an InsightFace pack folder; '' for the bundled face models
    threshold: float
    faces: str  # DLIB, ARCFACE or REKOGNITION: whose threshold `threshold` is
    cloud: CloudSettings  # where analysis and captions run; credentials are never part of it


def read(project: Project) -> BookSettings:
    options = captions.load_options(project)
    pack = analysis.face_pack_of(project)
    faces = people.book_faces(project)
    try:
        product = book_service.product_of(project).key
    except book_service.BookError:
        # Shown as saved, so that the user sees it and can put a good one in its place.
        product = str(AnalysisStore(project).get_setting(PRODUCT_KEY))
    return BookSettings(
        product=product,
        tone=options.tone,
        style_hint=options.style_hint or "",
        words=(options.min_words, options.max_words),
        caption_model=options.model or "",
        face_pack=str(pack) if pack is not None else "",
        threshold=people.threshold(project, faces),
        faces=faces,
        cloud=cloud_config.load(project),
    )


def _same_path(a: str, b: str) -> bool:
    return a == b or (
        bool(a) and bool(b) and Path(a).expanduser().absolute() == Path(b).expanduser().absolute()
    )


def caption_changes(old: BookSettings, new: BookSettings) -> dict[str, Any]:
    """The caption options that changed, as captions.save_options takes them."""
    changes: dict[str, Any] = {}
    if old.tone != new.tone:
        changes["tone"] = new.tone
    if old.style_hint != new.style_hint:
        changes["style_hint"] = new.style_hint
    if old.words != new.words:
        changes["words"] = new.words
    if not _same_path(old.caption_model, new.caption_model):
        changes["model"] = new.caption_model
    return changes


def face_pack_changed(old: BookSettings, new: BookSettings) -> bool:
    return not _same_path(old.face_pack, new.face_pack)


def product_changed(old: BookSettings, new: BookSettings) -> bool:
    return old.product != new.product


def threshold_changed(old: BookSettings, new: BookSettings) -> bool:
    return round(old.threshold, 3) != round(new.threshold, 3)


def cloud_changed(old: BookSettings, new: BookSettings) -> bool:
    return old.cloud != new.cloud


def check(old: BookSettings, new: BookSettings) -> str | None:
    """The first problem with what changed from `old` to `new`, in one line, or None."""
    try:
        if product_changed(old, new):
            product_named(new.product)
        changed = caption_changes(old, new)
        if changed:
            captions.check_options(changed.get("style_hint"), changed.get("words"), changed.get("model"))
        if face_pack_changed(old, new) and new.face_pack:
            analysis.check_face_pack(new.face_pack)
        if threshold_changed(old, new):
            people.check_threshold(new.threshold, new.faces)
        if cloud_changed(old, new):
            cloud_config.check(new.cloud)
    except ValueError as exc:  # an unknown product or a size out of range
        return str(exc)
    except (captions.CaptionError, people.PeopleError, ModelError, CloudError) as exc:
        return str(exc)
    return None


def save_choices(project: Project, old: BookSettings, new: BookSettings) -> None:
    """The caption options, the face pack and the cloud mode: settings only, used by the next
    caption or analysis run (suggestions made with other caption options are then made again;
    a new analysis backend keeps the photos, people and captions, and starts nothing)."""
    with project.db.atomic():
        changed = caption_changes(old, new)
        if changed:
            captions.save_options(project, **changed)
        if face_pack_changed(old, new):
            analysis.set_face_pack(project, new.face_pack)
        if cloud_changed(old, new):
            # All of them, checked again here: what is saved is what the dialog showed.
            cloud_config.save(project, **new.cloud.as_json())


def change_product(project: Project, product: str) -> book_service.LayoutReport:
    """A new format changes every page's shape: the book is laid out again for it (keeping
    what the user locked, placed and cropped, as Auto-fill does), and the product is saved
    with the new pages."""
    return book_service.layout_book(project, product=product)


def change_threshold(project: Project, threshold: float, faces: str) -> int:
    """Save the threshold and group the faces again with it, keeping the user's names,
    merges, splits and hides; returns how many faces were placed."""
    with project.db.atomic():
        people.set_threshold(project, threshold, faces)
        return people.recluster(project)


def bundled_caption_model() -> str:
    """What the bundled caption model is, for the dialog (the manifest only: the file is
    checked when captions are made)."""
    try:
        model = spec(DEFAULT_MODEL)
    except ModelError as exc:
        return f"unavailable: {exc}"
    return f"{Path(model.file).name} (package {model.package})" if model.package else Path(model.file).name
