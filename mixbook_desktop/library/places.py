"""GPS position to a human place name, offline, from the GeoNames data reverse_geocoder ships."""

from __future__ import annotations

import math
import threading
from functools import cache

import pycountry

# Beyond this distance from the nearest town of 1,000+ people the nearest town's name would be
# a guess (open sea, deserts), so no name is better than a wrong one.
MAX_DISTANCE_KM = 60.0
_EARTH_RADIUS_KM = 6371.0


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@cache
def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


class PlaceNamer:
    """Names places; the city table (a 0.5 s load) is read on first use or by `preload`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def preload(self) -> None:
        """Load the city table on a background thread, while the caller does other work."""
        threading.Thread(target=self.names, args=([(0.0, 0.0)],), daemon=True).start()

    def name(self, lat: float, lon: float) -> str | None:
        return self.names([(lat, lon)])[0]

    def names(self, points: list[tuple[float, float]]) -> list[str | None]:
        if not points:
            return []
        with self._lock:
            # Imported here: reverse_geocoder pulls in scipy, which costs start-up time for
            # every command that never meets a GPS position.
            import reverse_geocoder

            hits = reverse_geocoder.search(points, mode=1, verbose=False)
        return [self._format(point, hit) for point, hit in zip(points, hits, strict=True)]

    @staticmethod
    def _format(point: tuple[float, float], hit: dict[str, str]) -> str | None:
        if _distance_km(point[0], point[1], float(hit["lat"]), float(hit["lon"])) > MAX_DISTANCE_KM:
            return None
        parts: list[str] = []
        for part in (hit.get("name"), hit.get("admin1"), country_name(hit.get("cc", ""))):
            if part and part not in parts:
                parts.append(part)
        return ", ".join(parts) or None
