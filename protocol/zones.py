"""Zones of a territory: the one reader of a zones file (GeoJSON), for every part.

A zones file is an RFC 7946 ``FeatureCollection``; each feature is one zone with
``properties.id`` (a slug), ``properties.name`` and a ``Polygon`` or ``MultiPolygon`` boundary
(WGS84). ``properties.centroid`` (``[lon, lat]``) says where open data locates the zone's
figures; without it the centroid of the boundary's largest ring is used. The demo's file is
``data/zones/angers-quartiers.geojson``; an operator's own file replaces it by configuration
(the gateway's ``publish.zones_file``, the demo's ``--zones``, ``territoire zones import``).

Pure functions of parsed JSON. Every bound is checked before anything is used, and a bad file is
one ``ValueError`` naming the feature and what is wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_VERTICES",
    "MAX_ZONES",
    "ZONE_ID",
    "Zone",
    "ZonesError",
    "load_zones_file",
    "parse_zones",
    "ring_centroid",
]

# bounds: a city's zones file is a few hundred kilobytes; these leave room for a metropolis
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_ZONES = 2000
MAX_VERTICES = 20_000  # per zone, all rings together
MAX_NAME = 200
# the fleet's zone id: a slug of 3 to 32 characters (fleet/models/registry.py uses the same)
ZONE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$")


class ZonesError(ValueError):
    """A zones file that cannot be used, and why (one line, naming the feature)."""


@dataclass(frozen=True, slots=True)
class Zone:
    id: str
    name: str
    lat: float  # the centroid: where published figures are located, never a node's position
    lon: float
    boundary: dict[str, Any]  # a GeoJSON Polygon or MultiPolygon geometry


def _position(p: Any, where: str) -> tuple[float, float]:
    if (not isinstance(p, list | tuple) or len(p) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)):
        raise ZonesError(f"{where}: a position is [lon, lat]")
    lon, lat = float(p[0]), float(p[1])
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ZonesError(f"{where}: position {p!r} is not WGS84 longitude, latitude")
    return lon, lat


def _rings(geometry: Any, where: str) -> list[list[tuple[float, float]]]:
    if not isinstance(geometry, Mapping):
        raise ZonesError(f"{where}: no geometry")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon" and isinstance(coords, list):
        polygons = coords
    else:
        raise ZonesError(f"{where}: the geometry must be a Polygon or MultiPolygon, not {kind!r}")
    rings: list[list[tuple[float, float]]] = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise ZonesError(f"{where}: a polygon is a list of rings")
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise ZonesError(f"{where}: a ring has at least 4 positions")
            points = [_position(p, where) for p in ring]
            if points[0] != points[-1]:
                raise ZonesError(f"{where}: a ring must end where it starts")
            rings.append(points)
    if sum(len(r) for r in rings) > MAX_VERTICES:
        raise ZonesError(f"{where}: more than {MAX_VERTICES} positions")
    return rings


def ring_centroid(ring: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Area centroid (lon, lat) of a closed ring (planar: zones are small); the mean of its
    vertices when the ring has no area."""
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in pairwise(ring):
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(a) < 1e-15:
        pts = ring[:-1] or ring
        return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    return cx / (3 * a), cy / (3 * a)


def _ring_area(ring: Sequence[tuple[float, float]]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring)))


def parse_zones(doc: Any) -> list[Zone]:
    """The zones of a parsed GeoJSON FeatureCollection, in file order."""
    if not isinstance(doc, Mapping) or doc.get("type") != "FeatureCollection":
        raise ZonesError("a zones file is a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise ZonesError("the FeatureCollection has no features")
    if len(features) > MAX_ZONES:
        raise ZonesError(f"more than {MAX_ZONES} zones")
    zones: list[Zone] = []
    seen: set[str] = set()
    for i, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        if not isinstance(props, Mapping):
            raise ZonesError(f"feature {i}: no properties")
        zid = props.get("id", feature.get("id"))
        where = f"feature {i} ({zid!r})"
        if not isinstance(zid, str) or not ZONE_ID.match(zid):
            raise ZonesError(f"{where}: properties.id must be a slug of 3 to 32 characters "
                             "(a-z, 0-9, -)")
        if zid in seen:
            raise ZonesError(f"{where}: zone id repeats")
        seen.add(zid)
        name = props.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise ZonesError(f"{where}: properties.name must be 1 to {MAX_NAME} characters")
        rings = _rings(feature.get("geometry"), where)
        if "centroid" in props:
            lon, lat = _position(props["centroid"], f"{where} centroid")
        else:
            lon, lat = ring_centroid(max(rings, key=_ring_area))
        zones.append(Zone(zid, name.strip(), round(lat, 6), round(lon, 6),
                          dict(feature["geometry"])))
    return zones


def load_zones_file(path: Path) -> list[Zone]:
    """Read and parse a zones file; every failure is a ZonesError naming the file."""
    try:
        size = path.stat().st_size
        raw = path.read_bytes() if size <= MAX_FILE_BYTES else b""
    except OSError as exc:
        raise ZonesError(f"zones file {path}: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise ZonesError(f"zones file {path}: larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        return parse_zones(json.loads(raw))
    except ValueError as exc:  # a ZonesError, or json.JSONDecodeError
        raise ZonesError(f"zones file {path}: {exc}") from None
