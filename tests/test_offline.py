"""Local mode opens no network socket: every process of an import runs under a guard."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import DEMO_PHOTOS, FIXTURE_PHOTOS, ROOT, demo_subset

GUARD = Path(__file__).parent / "support" / "no_network"


def _guarded(args: list[str], log: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(GUARD), "MIXBOOK_NETWORK_LOG": str(log)}
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_import_with_places_opens_no_network_socket(tmp_path: Path) -> None:
    log = tmp_path / "network.log"
    book = tmp_path / "offline.mbook"
    done = _guarded(
        [sys.executable, "-m", "mixbook_desktop", "import", str(book), str(DEMO_PHOTOS), str(FIXTURE_PHOTOS)],
        log,
    )
    assert done.returncode == 0, done.stderr
    assert "new" in done.stdout
    assert not log.exists(), log.read_text()
    # Place names were found (the geocoder ran) with the guard in force.
    listing = _guarded([sys.executable, "-m", "mixbook_desktop", "photos", str(book), "--json"], log)
    assert "Helsinki, Uusimaa, Finland" in listing.stdout
    assert not log.exists()


def test_the_guard_catches_a_connection(tmp_path: Path) -> None:
    log = tmp_path / "network.log"
    probe = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9))\nexcept OSError:\n    pass\n"
    done = _guarded([sys.executable, "-c", probe], log)
    assert done.returncode == 0
    assert "socket" in log.read_text()


def test_photos_to_pdf_in_one_command_opens_no_network_socket(tmp_path: Path) -> None:
    """`make`: import, analysis, layout, captions by the bundled model, and the PDF."""
    photos = demo_subset(
        tmp_path / "photos", "maxpose__Pilots.jpg", "maxinception__dog.jpg", "exifpy__HMD_Nokia_8.3_5G.jpg"
    )
    log = tmp_path / "network.log"
    pdf = tmp_path / "out" / "trip.pdf"
    pdf.parent.mkdir()
    done = _guarded([sys.executable, "-m", "mixbook_desktop", "make", str(photos), str(pdf)], log)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not log.exists(), log.read_text()
    assert pdf.read_bytes().startswith(b"%PDF") and (tmp_path / "out" / "trip.mbook").is_file()
    made = re.search(r"(\d+) texts suggested \((\d+) by the model", done.stdout)
    assert made and int(made[1]) >= 4 and int(made[2]) >= 1, done.stdout  # the title and 3 photos
    assert re.search(r"trip\.pdf: 21 pages \(Square 8 x 8 in\)", done.stdout), done.stdout
