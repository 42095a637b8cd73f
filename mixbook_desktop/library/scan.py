"""Turn the paths a user gives into the files to import, without ever looping or crashing."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# Files that travel with photos but are not photos. In a folder walk they are passed over
# quietly (a photo library holds thousands of these); named explicitly they are still tried.
SKIPPED_EXTENSIONS = frozenset(
    {".aae", ".thm", ".xmp", ".lrv", ".lrf", ".json", ".txt", ".md", ".tsv", ".csv"}  # sidecars, notes
    | {".html", ".htm", ".pdf", ".db", ".ini", ".log", ".zip"}  # documents
    | {".mov", ".mp4", ".m4v", ".avi", ".mkv", ".mts", ".m2ts", ".3gp"}  # video
    | {".wav", ".mp3", ".m4a"}  # audio
    # A book kept beside its photos, with SQLite's files next to it while it is open.
    | {".mbook", ".mbook-wal", ".mbook-shm", ".mbook-journal"}
)
_JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})


@dataclass(frozen=True)
class Found:
    """A file to import, or a path that could not be read (`error` set)."""

    path: str
    error: str | None = None


@dataclass
class ScanStats:
    skipped: int = 0  # sidecars, videos and hidden files met in folder walks
    folders: list[str] = field(default_factory=list)  # folders whose listing was read


def _walk(folder: str, seen_dirs: set[tuple[int, int]], stats: ScanStats) -> Iterator[Found]:
    try:
        st = os.stat(folder)
    except OSError as exc:
        yield Found(folder, f"cannot open folder: {exc.strerror or exc}")
        return
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs:
        return  # a symlink loop, or a folder reached twice
    seen_dirs.add(key)
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        yield Found(folder, f"cannot read folder: {exc.strerror or exc}")
        return
    stats.folders.append(folder)
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name.lower() in _JUNK_NAMES:
            stats.skipped += 1
            continue
        path = os.path.join(folder, name)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
            is_file = not is_dir and entry.is_file(follow_symlinks=True)
        except OSError as exc:
            yield Found(path, f"unreadable: {exc.strerror or exc}")
            continue
        if is_dir:
            yield from _walk(path, seen_dirs, stats)
        elif is_file:
            if os.path.splitext(name)[1].lower() in SKIPPED_EXTENSIONS:
                stats.skipped += 1
            else:
                yield Found(os.path.realpath(path))
        elif entry.is_symlink():
            yield Found(path, "broken symbolic link")


def _storable(found: Found) -> Found:
    """A path that is not valid UTF-8 (a name from an old archive or another system) cannot be
    kept in the project, whose text is UTF-8: it is reported under a readable form instead."""
    try:
        found.path.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(found.path).decode("utf-8", "backslashreplace")
        return Found(shown, found.error or "the file name is not valid UTF-8; rename the file to import it")
    return found


def find_files(paths: Iterable[str], stats: ScanStats | None = None) -> Iterator[Found]:
    """Files under `paths` (recursively, sorted by name), each real path once."""
    stats = stats if stats is not None else ScanStats()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for given in paths:
        path = os.path.abspath(os.path.expanduser(given))
        if os.path.isdir(path):
            found: Iterable[Found] = _walk(path, seen_dirs, stats)
        elif os.path.lexists(path):
            found = [Found(os.path.realpath(path))]
        else:
            found = [Found(path, "no such file or folder")]
        for item in found:
            if item.path not in seen_files:
                seen_files.add(item.path)
                yield _storable(item)
