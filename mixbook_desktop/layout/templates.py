"""Page templates, read from resources/layouts/ and checked before any page uses them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mixbook_desktop.core.book import PageTemplate, Slot, SlotKind
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.core.paths import resources_dir

LAYOUTS_DIR = resources_dir() / "layouts"
_EPSILON = 1e-6


class TemplateError(ValueError):
    """A template file that cannot be used; names the file and the template."""


def _template(raw: dict[str, Any], where: str) -> PageTemplate:
    name = f"{where}: template {raw.get('id', '?')!r}"
    try:
        slots = tuple(Slot(SlotKind(s["kind"]), Box(*(float(v) for v in s["box"]))) for s in raw["slots"])
        template = PageTemplate(str(raw["id"]), slots, bool(raw.get("cover", False)))
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(f"{name}: {exc}") from None
    for slot in slots:
        b = slot.box
        if b.w <= 0 or b.h <= 0 or b.x < -_EPSILON or b.y < -_EPSILON:
            raise TemplateError(f"{name}: a box must have a size and start on the page")
        if b.x + b.w > 1 + _EPSILON or b.y + b.h > 1 + _EPSILON:
            raise TemplateError(f"{name}: a box reaches past the page")
    for n, first in enumerate(slots):
        for second in slots[n + 1 :]:
            # Shared edges are fine (full-bleed halves meet); a real overlap hides a photo.
            shrunk = Box(
                first.box.x + _EPSILON,
                first.box.y + _EPSILON,
                first.box.w - 2 * _EPSILON,
                first.box.h - 2 * _EPSILON,
            )
            if shrunk.overlaps(second.box):
                raise TemplateError(f"{name}: two slots overlap")
    if not template.photo_slots:
        raise TemplateError(f"{name}: no photo slot")
    return template


def load_templates(folder: Path = LAYOUTS_DIR) -> dict[str, PageTemplate]:
    """Every template in `folder`'s JSON files, by id."""
    found: dict[str, PageTemplate] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TemplateError(f"{path.name}: cannot be read: {exc}") from None
        for raw in data.get("templates", []):
            template = _template(raw, path.name)
            if template.id in found:
                raise TemplateError(f"{path.name}: template id {template.id!r} is used twice")
            found[template.id] = template
    return found
