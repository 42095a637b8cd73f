from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mixbook_desktop.store.project import Project

# Qt tests run without a screen here and in CI; a developer with one can set it to "xcb".
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The editor's fixtures (a window on the demo book), for the GUI test modules.
pytest_plugins = ["tests.gui_support", "tests.cloud_support"]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
FIXTURE_PHOTOS = DATA / "photos"
DEMO_PHOTOS = ROOT / "resources" / "demo"
SHARED_PHOTOS = ROOT.parent / "shared" / "photos"


def read_manifest(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """The whole photo corpus; CI has it beside the checkout, a user's fresh clone does not."""
    if not (SHARED_PHOTOS / "MANIFEST.tsv").is_file():
        pytest.skip(f"whole-corpus test: {SHARED_PHOTOS} is not here (fixture tests still ran)")
    return SHARED_PHOTOS


def local_rows() -> list[tuple[Path, dict[str, str]]]:
    """Manifest rows for the photos committed to the repository (fixtures and demo)."""
    rows = []
    for row in read_manifest(DATA / "MANIFEST.tsv"):
        for folder in (FIXTURE_PHOTOS, DEMO_PHOTOS):
            if (folder / row["filename"]).is_file():
                rows.append((folder / row["filename"], row))
    return rows


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo photos imported and analysed through the CLI, once per session.
    Tests that change it work on a copy (tests.analysis_support.copy_book)."""
    from tests.analysis_support import analysed_demo

    return analysed_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "test.mbook"
    yield path
    if path.exists():
        with Project.open(path) as project:
            assert project.integrity_ok()


def demo_subset(folder: Path, *names: str) -> Path:
    """A folder of its own holding copies of these demo photos, for books a test may change."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(DEMO_PHOTOS / name, folder)
    return folder


def run_cli(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real command line, in its own process, as a user runs it."""
    env = {**os.environ, "PYTHONWARNINGS": "error::ResourceWarning"}
    done = subprocess.run(
        [sys.executable, "-m", "mixbook_desktop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}\nstdout:{done.stdout}\nstderr:{done.stderr}")
    return done


def photos_json(book: Path) -> list[dict[str, Any]]:
    rows = json.loads(run_cli("photos", str(book), "--json").stdout)
    assert isinstance(rows, list)
    return rows
