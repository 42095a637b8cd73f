"""Find photos whose files moved, by content, and point the project at their new paths."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from mixbook_desktop.library.decode import hash_and_head
from mixbook_desktop.library.scan import find_files
from mixbook_desktop.store.photos import PhotoStore
from mixbook_desktop.store.project import Project


@dataclass(frozen=True)
class RelinkReport:
    relinked: list[tuple[str, str]]  # (old path, new path)
    still_missing: list[str]
    # Paths that hold other content now (a file saved over, or another put in its place),
    # whose photo's own content was not found elsewhere either.
    changed: list[str]
    # Paths now holding another photo's file (renamed over them): the photo imported from
    # there has no file any more.
    replaced: list[str]


def _other_content(path: str, sha256: str, size: int, mtime_ns: int) -> bool | None:
    """Whether the file at `path` no longer holds `sha256`; None if it is gone."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return True  # a folder or a pipe where the photo was (and never opened)
        if st.st_size != size:
            return True
        if st.st_mtime_ns == mtime_ns:
            return False  # as imported; not hashed again
        return hash_and_head(path)[0] != sha256
    except OSError:
        return None


def relink_missing(project: Project, folders: Iterable[str]) -> RelinkReport:
    """Search `folders` for the content of every photo whose file is gone or holds other
    content now. A file touched since the import (same size, newer time) is hashed again."""
    store = PhotoStore(project)
    missing: dict[str, tuple[str, int]] = {}
    changed: set[str] = set()
    for path, sha, size, mtime_ns in store.originals():
        other = _other_content(path, sha, size, mtime_ns)
        if other is None or other:
            missing[sha] = (path, size)
        if other:
            changed.add(path)
    sizes = {size for _, size in missing.values()}
    moves: list[tuple[str, str, int, int]] = []
    for found in find_files(folders):
        if not missing:
            break
        if found.error is not None:
            continue
        try:
            st = os.stat(found.path)
            # Only files of a missing photo's exact size are worth hashing.
            if st.st_size not in sizes:
                continue
            sha, _ = hash_and_head(found.path)
        except OSError:
            continue
        if sha in missing:
            old_path, _ = missing.pop(sha)
            moves.append((old_path, found.path, st.st_size, st.st_mtime_ns))
    replaced = store.relink_many(moves)
    left = [path for path, _ in missing.values() if path not in replaced]
    return RelinkReport(
        [(old, new) for old, new, *_ in moves],
        sorted(path for path in left if path not in changed),
        sorted(path for path in left if path in changed),
        sorted(replaced),
    )
