"""The book in the project file: its pages and slots, and the user's choices of photos."""

from __future__ import annotations

from typing import Any

from mixbook_desktop.core.book import Fill, Page
from mixbook_desktop.core.geometry import Box
from mixbook_desktop.store.project import Project

PRODUCT_KEY = "book.product"
PAGES_KEY = "book.pages"
INCLUDE = "include"
EXCLUDE = "exclude"


def _fill(row: dict[str, Any]) -> Fill:
    crop = None
    if row["crop_x"] is not None:
        crop = Box(row["crop_x"], row["crop_y"], row["crop_w"], row["crop_h"])
    return Fill(
        photo_id=row["photo_id"],
        text=row["text_target"],
        crop=crop,
        crop_by_user=bool(row["crop_by_user"]),
        locked=bool(row["locked"]),
    )


class BookStore:
    def __init__(self, project: Project) -> None:
        self.db = project.db

    def pages(self) -> dict[int, Page]:
        """Every page by position; 0 is the cover. Empty before the first layout."""
        slots: dict[int, dict[int, Fill]] = {}
        for row in self.db.query("SELECT * FROM book_slots"):
            slots.setdefault(row["page_id"], {})[row["slot"]] = _fill(row)
        out: dict[int, Page] = {}
        for row in self.db.query("SELECT * FROM book_pages ORDER BY position"):
            held = slots.get(row["id"], {})
            fills = tuple(held.get(n, Fill()) for n in range(max(held, default=-1) + 1))
            out[row["position"]] = Page(row["template"], fills, row["chapter"], bool(row["locked"]))
        return out

    def save_pages(self, pages: dict[int, Page]) -> None:
        """Replace the whole book in one transaction: a kill leaves the old book or the new."""
        with self.db.atomic():
            self.db.execute("DELETE FROM book_pages")
            for position, page in sorted(pages.items()):
                page_id = (
                    self.db.table("book_pages")
                    .insert(
                        {
                            "position": position,
                            "template": page.template,
                            "chapter": page.chapter,
                            "locked": int(page.locked),
                        }
                    )
                    .last_pk
                )
                self.db.table("book_slots").insert_all(
                    [
                        {
                            "page_id": page_id,
                            "slot": n,
                            "photo_id": f.photo_id,
                            "text_target": f.text,
                            "crop_x": f.crop.x if f.crop else None,
                            "crop_y": f.crop.y if f.crop else None,
                            "crop_w": f.crop.w if f.crop else None,
                            "crop_h": f.crop.h if f.crop else None,
                            "crop_by_user": int(f.crop_by_user),
                            "locked": int(f.locked),
                        }
                        for n, f in enumerate(page.fills)
                    ]
                )

    def choices(self) -> dict[int, str]:
        """photo id -> 'include' (the user put it in) or 'exclude' (the user took it out)."""
        return {r["photo_id"]: r["choice"] for r in self.db.query("SELECT * FROM book_choices")}

    def set_choice(self, photo_id: int, choice: str | None) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM book_choices WHERE photo_id = ?", [photo_id])
            if choice is not None:
                self.db.table("book_choices").insert({"photo_id": photo_id, "choice": choice})
