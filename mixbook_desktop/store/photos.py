"""Reading and writing photos, the files they came from, and their thumbnails."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from mixbook_desktop.core.photo import FileProbe, FileStatus
from mixbook_desktop.store.project import Project


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class KnownFile:
    id: int
    path: str
    status: FileStatus
    size: int
    mtime_ns: int
    sha256: str | None
    photo_id: int | None
    error: str | None


@dataclass(frozen=True)
class KnownPhoto:
    id: int
    path: str | None  # the file it was imported from (status ok), None if that row is gone


class PhotoStore:
    """All SQL about photos lives here; every write is one short transaction."""

    def __init__(self, project: Project) -> None:
        self.db = project.db

    def file_at(self, path: str) -> KnownFile | None:
        rows = list(self.db.query("SELECT * FROM files WHERE path = ?", [path]))
        if not rows:
            return None
        r = rows[0]
        return KnownFile(
            r["id"],
            r["path"],
            FileStatus(r["status"]),
            r["size"],
            r["mtime_ns"],
            r["sha256"],
            r["photo_id"],
            r["error"],
        )

    def photo_with_sha(self, sha256: str) -> KnownPhoto | None:
        rows = list(
            self.db.query(
                "SELECT p.id, f.path FROM photos p "
                "LEFT JOIN files f ON f.photo_id = p.id AND f.status = 'ok' "
                "WHERE p.sha256 = ?",
                [sha256],
            )
        )
        return KnownPhoto(rows[0]["id"], rows[0]["path"]) if rows else None

    def _put_file(self, probe: FileProbe, status: FileStatus, photo_id: int | None) -> None:
        self.db.table("files").upsert(
            {
                "path": probe.path,
                "status": status.value,
                "photo_id": photo_id,
                "sha256": probe.sha256,
                "size": probe.size,
                "mtime_ns": probe.mtime_ns,
                "error": probe.error,
                "imported_at": _now(),
            },
            pk="path",
        )

    def add_photo(self, probe: FileProbe, place: str | None) -> int:
        """Store a newly seen photo, its thumbnail and its file, all or nothing."""
        photo = probe.photo
        if photo is None or probe.sha256 is None:
            raise ValueError("add_photo needs a decoded probe")
        exif = photo.exif
        with self.db.atomic():
            photos = self.db.table("photos")
            photos.insert(
                {
                    "sha256": probe.sha256,
                    "format": photo.format,
                    "width": photo.width,
                    "height": photo.height,
                    "orientation": exif.orientation,
                    "taken_at": exif.taken_at,
                    "gps_lat": exif.gps.lat if exif.gps else None,
                    "gps_lon": exif.gps.lon if exif.gps else None,
                    "gps_alt": exif.gps.alt if exif.gps else None,
                    "place": place,
                    "camera_make": exif.camera.make if exif.camera else None,
                    "camera_model": exif.camera.model if exif.camera else None,
                    "warnings": json.dumps(list(exif.warnings + photo.warnings)),
                    "imported_at": _now(),
                }
            )
            photo_id = photos.last_pk
            if not isinstance(photo_id, int):
                raise RuntimeError("the photos table gave no row id")
            self.db.table("thumbnails").upsert(
                {
                    "sha256": probe.sha256,
                    "width": photo.thumbnail_width,
                    "height": photo.thumbnail_height,
                    "jpeg": photo.thumbnail,
                },
                pk="sha256",
            )
            self._put_file(probe, FileStatus.OK, photo_id)
        return photo_id

    def add_duplicate(self, probe: FileProbe, photo_id: int) -> None:
        with self.db.atomic():
            self._put_file(probe, FileStatus.DUPLICATE, photo_id)

    def add_error(self, probe: FileProbe) -> None:
        with self.db.atomic():
            self._put_file(probe, FileStatus.ERROR, None)

    def attach(self, probe: FileProbe, photo_id: int) -> None:
        """Make the probed file the original of a photo that no file stands for any more (its
        file was replaced by other content and imported as such); whatever was recorded at
        that path before is replaced."""
        with self.db.atomic():
            self._put_file(probe, FileStatus.OK, photo_id)

    def relink(self, old_path: str, new_path: str, size: int, mtime_ns: int) -> None:
        """The photo at `old_path` was moved to `new_path` (same content)."""
        with self.db.atomic():
            if new_path != old_path:
                # Whatever was recorded at the new path, even another photo's original (a file
                # renamed over another one), is gone: that file holds this photo now.
                self.db.execute("DELETE FROM files WHERE path = ?", [new_path])
            self.db.execute(
                "UPDATE files SET path = ?, size = ?, mtime_ns = ? WHERE path = ?",
                [new_path, size, mtime_ns, old_path],
            )

    def relink_many(self, moves: list[tuple[str, str, int, int]]) -> list[str]:
        """Photos whose files moved, as (old path, new path, size, mtime_ns), all in one
        transaction: files that traded places (a.jpg and b.jpg swapped) each end up with their
        own photo. Returns the paths whose photo lost its file: another photo's file now sits
        there, and its own content is nowhere."""
        with self.db.atomic():
            ids = {
                old: row[0]
                for old, *_ in moves
                if (row := self.db.execute("SELECT id FROM files WHERE path = ?", [old]).fetchone())
            }
            moving = set(ids.values())
            lost: list[str] = []
            for _old, new, _size, _mtime in moves:
                for file_id, status in self.db.execute("SELECT id, status FROM files WHERE path = ?", [new]):
                    if file_id not in moving:
                        if status == "ok":
                            lost.append(new)
                        self.db.execute("DELETE FROM files WHERE id = ?", [file_id])
            # Paths are unique: every moving row leaves its path before any takes a new one.
            for file_id in moving:
                self.db.execute("UPDATE files SET path = ? WHERE id = ?", [f"\0moving {file_id}", file_id])
            for old, new, size, mtime_ns in moves:
                if old in ids:
                    self.db.execute(
                        "UPDATE files SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                        [new, size, mtime_ns, ids[old]],
                    )
        return lost

    def forget_errors(self, paths: list[str]) -> None:
        """Drop the error rows of these paths (folders read successfully since)."""
        with self.db.atomic():
            self.db.conn.executemany(
                "DELETE FROM files WHERE path = ? AND status = 'error'", [(p,) for p in paths]
            )

    def originals(self) -> list[tuple[str, str, int, int]]:
        """(path, sha256, size, mtime_ns) of the file each photo was imported from."""
        return [
            (r["path"], r["sha256"], r["size"], r["mtime_ns"])
            for r in self.db.query("SELECT path, sha256, size, mtime_ns FROM files WHERE status = 'ok'")
        ]

    def thumbnail(self, sha256: str) -> bytes | None:
        rows = list(self.db.query("SELECT jpeg FROM thumbnails WHERE sha256 = ?", [sha256]))
        return bytes(rows[0]["jpeg"]) if rows else None

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in FileStatus}
        for row in self.db.query("SELECT status, count(*) AS n FROM files GROUP BY status"):
            counts[row["status"]] = row["n"]
        return counts

    def listing(self) -> list[dict[str, Any]]:
        """One JSON-ready object per imported file, in import order."""
        rows = self.db.query(
            """
            SELECT f.path, f.status, f.error, f.sha256, p.format, p.width, p.height,
                   p.orientation, p.taken_at, p.gps_lat, p.gps_lon, p.gps_alt, p.place,
                   p.camera_make, p.camera_model, p.warnings,
                   (SELECT o.path FROM files o WHERE o.photo_id = f.photo_id AND o.status = 'ok')
                       AS original
            FROM files f LEFT JOIN photos p ON p.id = f.photo_id
            ORDER BY f.id
            """
        )
        out: list[dict[str, Any]] = []
        for r in rows:
            has_gps = r["gps_lat"] is not None
            has_camera = r["camera_make"] is not None or r["camera_model"] is not None
            out.append(
                {
                    "file": r["path"],
                    "sha256": r["sha256"],
                    "status": r["status"],
                    "error": r["error"],
                    "duplicate_of": r["original"] if r["status"] == "duplicate" else None,
                    "format": r["format"],
                    "width": r["width"],
                    "height": r["height"],
                    "orientation": r["orientation"],
                    "taken_at": r["taken_at"],
                    "gps": {"lat": r["gps_lat"], "lon": r["gps_lon"], "alt": r["gps_alt"]}
                    if has_gps
                    else None,
                    "place": r["place"],
                    "camera": {"make": r["camera_make"], "model": r["camera_model"]} if has_camera else None,
                    "warnings": json.loads(r["warnings"]) if r["warnings"] else [],
                }
            )
        return out
