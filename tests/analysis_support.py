"""Shared set-up for the analysis tests: a demo book analysed once per session."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.conftest import DEMO_PHOTOS, photos_json, run_cli


def analysed_demo(folder: Path) -> Path:
    book = folder / "demo.mbook"
    run_cli("import", str(book), str(DEMO_PHOTOS))
    run_cli("analyze", str(book))
    return book


def copy_book(book: Path, folder: Path) -> Path:
    target = folder / book.name
    shutil.copy(book, target)
    return target


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {Path(str(r["file"])).name: r for r in rows}


def demo_rows(book: Path) -> dict[str, dict[str, Any]]:
    return by_name(photos_json(book))
