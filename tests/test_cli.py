"""The command line end to end, as users and scripts call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DEMO_PHOTOS, FIXTURE_PHOTOS, photos_json, run_cli

REQUIRED_KEYS = {
    "file",
    "sha256",
    "status",
    "error",
    "width",
    "height",
    "orientation",
    "taken_at",
    "gps",
    "place",
    "camera",
}


def test_import_then_photos_json(book: Path) -> None:
    done = run_cli("import", str(book), str(DEMO_PHOTOS))
    assert "16 new" in done.stdout
    rows = photos_json(book)
    assert len(rows) == 16
    for row in rows:
        assert row.keys() >= REQUIRED_KEYS
        assert Path(str(row["file"])).is_absolute()
        assert len(str(row["sha256"])) == 64
    madrid = next(r for r in rows if str(r["file"]).endswith("iphone_hdr_YES.jpg"))
    assert madrid["gps"] == {"lat": madrid["gps"]["lat"], "lon": madrid["gps"]["lon"], "alt": 639.611}
    assert madrid["camera"] == {"make": "Apple", "model": "iPhone 6"}
    assert madrid["taken_at"] == "2015-04-10T20:12:23.550"
    heic = next(r for r in rows if str(r["file"]).endswith(".heic"))
    assert heic["taken_at"] == "2022-02-16T12:55:41.762+01:00"
    assert heic["orientation"] == 6


def test_json_output_is_clean_even_on_a_terminal_like_stderr(book: Path) -> None:
    done = run_cli("import", str(book), str(FIXTURE_PHOTOS), "--json")
    rows = json.loads(done.stdout)  # nothing but JSON on stdout
    assert {r["change"] for r in rows} >= {"new", "error"}
    assert all(set(r) == {"file", "status", "change", "detail"} for r in rows)


def test_human_output_gives_one_line_per_problem(book: Path) -> None:
    done = run_cli("import", str(book), str(FIXTURE_PHOTOS))
    lines = done.stdout.splitlines()
    errors = [line for line in lines if line.startswith("error")]
    assert len(errors) == 9
    assert all(": " in line for line in errors)
    assert lines[-1].endswith("20 new, 0 already imported, 0 duplicate, 9 error")


def test_console_script_and_module_both_work() -> None:
    script = Path(sys.executable).parent / "mixbook-desktop"
    assert script.exists()
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("mixbook-desktop ")
    assert run_cli("--version").stdout == version.stdout


def test_demo_command_builds_the_demo_book(tmp_path: Path) -> None:
    book = tmp_path / "demo.mbook"
    env_has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    done = run_cli("demo", "--book", str(book), *(["--window", "no"] if env_has_display else []))
    assert "16 new" in done.stdout and (tmp_path / "demo.pdf").is_file()
    if not env_has_display:
        # Without a screen, the editor opens offscreen and saves its views.
        shots = sorted(p.name for p in (tmp_path / "screenshots").iterdir())
        assert shots == [
            "pdf-preview.png",
            "settings.png",
            "window-book-title.png",
            "window-cover.png",
            "window-page-1.png",
            "window-people.png",
            "window-spread-2-3.png",
        ]
    again = run_cli("demo", "--book", str(book), "--window", "no")
    assert "0 new, 16 already imported" in again.stdout
