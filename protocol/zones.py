"""Zones of a territory: their boundaries and the one reader of a zones file, for every part.

A zones file is an RFC 7946 ``FeatureCollection``; each feature is one zone with
``properties.id`` (or the feature's ``id``: a slug), ``properties.name``, an optional
``properties.description``, and a ``Polygon`` or ``MultiPolygon`` boundary (WGS84). The centroid
(where open data locates the zone's figures, never a node's position) is ``properties.centroid``
(``[lon, lat]``) or ``centroid_lat``/``centroid_lon``, else the area centroid of the boundary.
The demo's file is ``data/zones/angers-quartiers.geojson``; an operator's own replaces it by
configuration (the gateway's ``publish.zones_file``, the demo's ``--zones``,
``territoire zones import``, which the fleet stores as each zone's ``boundary``).

Pure functions of parsed JSON. Every bound is checked before anything is used; a bad file is one
:class:`ZonesError` naming the feature and what is wrong (never echoing the input).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

__all__ = [
    "BOUNDARY_MAX_POLYGONS",
    "BOUNDARY_MAX_RINGS",
    "BOUNDARY_MAX_VERTICES",
    "MAX_FILE_BYTES",
    "MAX_ZONES",
    "ZONE_ID",
    "BoundaryError",
    "Zone",
    "ZonesError",
    "centroid",
    "check_boundary",
    "load_zones_file",
    "parse_zones",
]

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_ZONES = 500  # a metropolis has a few hundred IRIS; a city a few dozen quartiers
MAX_NAME = 200
MAX_DESCRIPTION = 2000
# the fleet's zone id: a slug of 3 to 32 characters (fleet/models/registry.py uses the same)
ZONE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$")


class ZonesError(ValueError):
    """A zones file or boundary that cannot be used, and why (one line)."""


# a district's outline, generalised: a few hundred vertices is plenty. The bound keeps every
# zone row (and the public zone list that carries it) small, and a zone's JSON (~23 bytes a
# position at 6 decimals) under the API's 64 KiB request body limit
BOUNDARY_MAX_VERTICES = 2000
BOUNDARY_MAX_POLYGONS = 100
BOUNDARY_MAX_RINGS = 50  # per polygon: the outer ring and its holes


class BoundaryError(ZonesError):
    """The geometry is not a bounded, closed WGS84 Polygon or MultiPolygon."""


def _position(p: Any, where: str) -> list[float]:
    if not isinstance(p, list | tuple) or len(p) not in (2, 3):
        raise BoundaryError(f"{where}: a position is [longitude, latitude]")
    lon, lat = p[0], p[1]
    for v in (lon, lat):
        # a float may be inf or nan; an int may be too large for a float (math.isfinite of
        # 10**400 raises OverflowError): the range check below refuses any large int
        if isinstance(v, bool) or not isinstance(v, int | float) or (
            isinstance(v, float) and not math.isfinite(v)
        ):
            raise BoundaryError(f"{where}: coordinates must be finite numbers")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        # the value is not echoed (the API's errors never echo input)
        raise BoundaryError(f"{where}: a position is outside WGS84 [longitude, latitude] "
                            "(longitude first)")
    # 6 decimals is ~0.1 m: more is noise for a district; the altitude, if any, is dropped
    return [round(float(lon), 6), round(float(lat), 6)]


def _ring(r: Any, where: str) -> list[list[float]]:
    if not isinstance(r, list | tuple) or len(r) < 4:
        raise BoundaryError(f"{where}: a ring has at least 4 positions")
    ring = [_position(p, where) for p in r]
    if ring[0] != ring[-1]:
        raise BoundaryError(f"{where}: a ring must be closed (last position = first)")
    if abs(_signed_area(ring)) == 0:
        raise BoundaryError(f"{where}: a ring encloses no area")
    return ring


def _polygon(rings: Any, where: str) -> list[list[list[float]]]:
    if not isinstance(rings, list | tuple) or not rings:
        raise BoundaryError(f"{where}: a polygon is a list of rings")
    if len(rings) > BOUNDARY_MAX_RINGS:
        raise BoundaryError(f"{where}: more than {BOUNDARY_MAX_RINGS} rings")
    return [_ring(r, f"{where}, ring {i + 1}") for i, r in enumerate(rings)]


def check_boundary(geometry: Any, where: str = "boundary") -> dict[str, Any]:
    """The geometry, normalised (floats, no altitude, only ``type`` and ``coordinates``), or
    :class:`BoundaryError` saying what is wrong."""
    if not isinstance(geometry, dict):
        raise BoundaryError(f"{where}: a GeoJSON geometry object is needed")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [_polygon(coords, where)]
    elif kind == "MultiPolygon":
        if not isinstance(coords, list | tuple) or not coords:
            raise BoundaryError(f"{where}: a MultiPolygon is a list of polygons")
        if len(coords) > BOUNDARY_MAX_POLYGONS:
            raise BoundaryError(f"{where}: more than {BOUNDARY_MAX_POLYGONS} polygons")
        polygons = [_polygon(p, f"{where}, polygon {i + 1}") for i, p in enumerate(coords)]
    else:
        raise BoundaryError(f"{where}: the geometry must be a Polygon or a MultiPolygon, "
                            f"not {str(kind)[:40]!r}")
    vertices = sum(len(r) for p in polygons for r in p)
    if vertices > BOUNDARY_MAX_VERTICES:
        raise BoundaryError(f"{where}: {vertices} positions, more than {BOUNDARY_MAX_VERTICES} "
                            "(simplify the outline)")
    if kind == "Polygon":
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring)) / 2


def _ring_moments(ring: list[list[float]]) -> tuple[float, float, float]:
    """Area and first moments (shoelace) of a ring, relative to its first vertex (precision)."""
    ox, oy = ring[0]
    pts = [(x - ox, y - oy) for x, y in ring]
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in pairwise(pts):
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    a /= 2
    if a == 0:
        return 0.0, 0.0, 0.0
    # moments about the origin: area * (local centroid + offset)
    return abs(a), abs(a) * (cx / (6 * a) + ox), abs(a) * (cy / (6 * a) + oy)


def centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    """(lat, lon) of the area-weighted centroid of a checked boundary, holes subtracted.

    Planar on longitude/latitude: exact enough for a district (the centroid only locates the
    zone's published aggregates on a map).
    """
    polygons = ([geometry["coordinates"]] if geometry["type"] == "Polygon"
                else geometry["coordinates"])
    area = mx = my = 0.0
    for rings in polygons:
        for i, ring in enumerate(rings):
            a, x, y = _ring_moments(ring)
            sign = 1.0 if i == 0 else -1.0  # rings after the first are holes
            area += sign * a
            mx += sign * x
            my += sign * y
    if area <= 0:
        raise BoundaryError("boundary: the polygons enclose no area")
    return round(my / area, 6), round(mx / area, 6)


@dataclass(frozen=True, slots=True)
class Zone:
    id: str
    name: str
    lat: float  # the centroid
    lon: float
    boundary: dict[str, Any]  # checked and normalised by check_boundary
    description: str = ""


def _centroid_of(props: dict[str, Any], boundary: dict[str, Any], where: str) -> tuple[float,
                                                                                         float]:
    """(lat, lon) given in the properties, or the boundary's own."""
    if "centroid" in props:
        lon, lat = _position(props["centroid"], f"{where}: centroid")
        return lat, lon
    given_lat, given_lon = props.get("centroid_lat"), props.get("centroid_lon")
    if (given_lat is None) != (given_lon is None):
        raise ZonesError(f"{where}: give both centroid_lat and centroid_lon, or neither")
    if given_lat is None:
        return centroid(boundary)
    lon, lat = _position([given_lon, given_lat], f"{where}: centroid")
    return lat, lon


def _zone(feature: Any, n: int) -> Zone:
    where = f"feature {n}"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ZonesError(f"{where}: not a GeoJSON Feature")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise ZonesError(f"{where}: properties must be an object")
    zid = props.get("id", feature.get("id"))
    if not isinstance(zid, str) or not ZONE_ID.match(zid):
        raise ZonesError(f"{where}: properties.id must be a slug of 3 to 32 characters "
                         "(a-z, 0-9, -), e.g. \"centre-ville\"")
    where = f"feature {n} ({zid})"
    name, description = props.get("name"), props.get("description", "")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ZonesError(f"{where}: properties.name must be 1 to {MAX_NAME} characters")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ZonesError(f"{where}: properties.description must be at most {MAX_DESCRIPTION} "
                         "characters")
    try:
        boundary = check_boundary(feature.get("geometry"), "geometry")
    except BoundaryError as exc:
        raise ZonesError(f"{where}: {exc}") from None
    lat, lon = _centroid_of(props, boundary, where)
    return Zone(zid, name.strip(), lat, lon, boundary, description)


def parse_zones(doc: Any) -> list[Zone]:
    """The zones of a parsed GeoJSON FeatureCollection, in file order."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ZonesError("not a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise ZonesError("the FeatureCollection has no features")
    if len(features) > MAX_ZONES:
        raise ZonesError(f"{len(features)} features, more than {MAX_ZONES}")
    zones = [_zone(f, n) for n, f in enumerate(features, start=1)]
    ids = [z.id for z in zones]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ZonesError(f"zone ids repeat: {', '.join(repeated)}")
    return zones


def load_zones_file(path: Path) -> list[Zone]:
    """Read and parse a zones file; every failure is a ZonesError naming the file."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ZonesError(f"zones file {path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ZonesError(f"zones file {path}: larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ZonesError(f"zones file {path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ZonesError(f"zones file {path}: not JSON ({exc})") from None
    try:
        return parse_zones(doc)
    except ZonesError as exc:
        raise ZonesError(f"zones file {path}: {exc}") from None
