"""Near duplicates and bursts, grouped, with the best shot of each group chosen."""

from __future__ import annotations

import datetime as dt

from mixbook_desktop.analysis.quality import hamming
from mixbook_desktop.store.analysis import AnalysisStore
from mixbook_desktop.store.project import Project

# Hamming distances between 64-bit perceptual hashes. Re-encodes, resizes and small edits of
# one photo stay within 6 bits; shots of a burst differ more (people move) but are seconds
# apart, so within BURST_SECONDS a looser match counts.
SAME_IMAGE_BITS = 6
BURST_BITS = 16
BURST_SECONDS = 20.0


def _seconds(taken_at: str | None) -> float | None:
    if not taken_at:
        return None
    try:
        stamp = dt.datetime.fromisoformat(taken_at)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)  # only differences matter, within one camera
    return stamp.timestamp()


def regroup(project: Project) -> dict[int, tuple[int, bool]]:
    """Recompute every group; returns photo id -> (group id, is best) for grouped photos."""
    store = AnalysisStore(project)
    photos = store.phashes()
    faces = store.faces()
    smiles: dict[int, list[float]] = {}
    for face in faces:
        smiles.setdefault(face.photo_id, []).append((face.emotions or {}).get("HAPPY", 0.0))
    parent = list(range(len(photos)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    times = [_seconds(taken) for _, _, taken, _ in photos]
    for i in range(len(photos)):
        for j in range(i + 1, len(photos)):
            bits = hamming(photos[i][1], photos[j][1])
            ti, tj = times[i], times[j]
            close = ti is not None and tj is not None and abs(ti - tj) <= BURST_SECONDS
            if bits <= SAME_IMAGE_BITS or (close and bits <= BURST_BITS):
                parent[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for i in range(len(photos)):
        members.setdefault(root(i), []).append(i)
    groups: dict[int, tuple[int, bool]] = {}
    for rows in members.values():
        if len(rows) < 2:
            continue
        group_id = min(photos[i][0] for i in rows)

        def merit(i: int) -> tuple[float, int]:
            photo_id, _, _, quality = photos[i]
            happy = smiles.get(photo_id, [])
            # Sharp and well exposed first, then smiling faces; eyes need not be open.
            smile = sum(happy) / len(happy) if happy else 0.0
            return (quality + 0.3 * smile + 0.05 * len(happy), -photo_id)

        best = max(rows, key=merit)
        for i in rows:
            groups[photos[i][0]] = (group_id, i == best)
    store.set_duplicates(groups)
    return groups
