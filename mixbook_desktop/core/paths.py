"""Where the app finds its bundled resources and keeps per-user files."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "mixbook-desktop"
PROJECT_SUFFIX = ".mbook"


def resources_dir() -> Path:
    # The package sits beside resources/ in a checkout; a bundle puts them side by side too.
    return Path(__file__).resolve().parents[2] / "resources"


def demo_photos_dir() -> Path:
    return resources_dir() / "demo"


def user_data_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def default_demo_book() -> Path:
    return user_data_dir() / "demo" / f"demo{PROJECT_SUFFIX}"
