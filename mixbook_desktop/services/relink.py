"""Find photos whose files moved, by content, and point the project at their new paths."""

from __future__ import annotations

import os
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


def _other_content(path: str, sha256: str, size: int, mtime_ns: int) -> bool | None:
    """Whether the file at `path` no longer holds `sha256`; None if it is gone."""
    try:
        st = os.stat(path)
        if st.st_size == size and st.st_mtime_ns == mtime_ns:
            return False  # as imported; not hashed again
        return hash_and_head(path)[0] != sha256
    except OSError:
        return None


def relink_missing(project: Project, folders: Iterable[str]) -> RelinkReport:
    """Search `folders` for the content of every photo whose file is gone or holds other
    content now."""
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
    relinked: list[tuple[str, str]] = []
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
            store.relink(old_path, found.path, st.st_size, st.st_mtime_ns)
            relinked.append((old_path, found.path))
    left = [path for path, _ in missing.values()]
    return RelinkReport(
        relinked,
        sorted(path for path in left if path not in changed),
        sorted(path for path in left if path in changed),
    )
