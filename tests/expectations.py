"""Turning manifest rows into what `photos --json` must say."""

from __future__ import annotations

import re
from typing import Any

GPS_TOLERANCE_DEG = 1e-4
# Rows whose manifest value is a fact about the file that the app deliberately refuses.
FUTURE_DATE_ROWS = {"pillow__exif_gps.jpg"}  # DateTimeOriginal in 2099: null with a warning


def expected_orientation(row: dict[str, str]) -> int | None:
    match = re.match(r"(\d+)", row["orientation"])
    if match is None:
        return None
    value = int(match.group(1))
    return value if 1 <= value <= 8 else None  # 0 is not a valid Orientation


def check_against_manifest(row: dict[str, str], got: dict[str, Any]) -> list[str]:
    """Differences between a manifest row and a photo's JSON object, as readable lines."""
    problems: list[str] = []
    name = row["filename"]
    if row["upright_size"]:
        w, h = (int(v) for v in row["upright_size"].split("x"))
        if (got["width"], got["height"]) != (w, h):
            problems.append(f"{name}: size {got['width']}x{got['height']} != {w}x{h}")
    if row["datetime_original"] and name not in FUTURE_DATE_ROWS:
        want = row["datetime_original"].replace(":", "-", 2).replace(" ", "T")
        if not str(got["taken_at"] or "").startswith(want):
            problems.append(f"{name}: taken_at {got['taken_at']} != {want}")
    if row["gps_lat"]:
        gps = got["gps"]
        if gps is None:
            problems.append(f"{name}: no gps, expected {row['gps_lat']},{row['gps_lon']}")
        else:
            if abs(gps["lat"] - float(row["gps_lat"])) > GPS_TOLERANCE_DEG:
                problems.append(f"{name}: lat {gps['lat']} != {row['gps_lat']}")
            if abs(gps["lon"] - float(row["gps_lon"])) > GPS_TOLERANCE_DEG:
                problems.append(f"{name}: lon {gps['lon']} != {row['gps_lon']}")
            if row["gps_alt_m"] and (gps["alt"] is None or abs(gps["alt"] - float(row["gps_alt_m"])) > 0.5):
                problems.append(f"{name}: alt {gps['alt']} != {row['gps_alt_m']}")
    if row["make"] or row["model"]:
        camera = got["camera"] or {}
        if (camera.get("make"), camera.get("model")) != (row["make"] or None, row["model"] or None):
            problems.append(f"{name}: camera {camera} != {row['make']!r} {row['model']!r}")
    if row["orientation"] and got["orientation"] != expected_orientation(row):
        problems.append(f"{name}: orientation {got['orientation']} != {row['orientation']}")
    return problems


def expects_error(row: dict[str, str]) -> bool:
    """The manifest says Pillow cannot open or fully load this file."""
    return row["load_result"] != "ok"
