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


def relink_missing(project: Project, folders: Iterable[str]) -> RelinkReport:
    """Search `folders` for the content of every photo whose file is gone."""
    store = PhotoStore(project)
    missing = {sha: (path, size) for path, sha, size in store.originals() if not os.path.exists(path)}
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
    return RelinkReport(relinked, sorted(path for path, _ in missing.values()))
