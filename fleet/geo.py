"""Zone boundaries: GeoJSON Polygon / MultiPolygon geometries, checked and bounded, and their
centroid. Pure functions of values (the fleet's models and the operator's CLI share them)."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

__all__ = [
    "BOUNDARY_MAX_POLYGONS",
    "BOUNDARY_MAX_RINGS",
    "BOUNDARY_MAX_VERTICES",
    "BoundaryError",
    "centroid",
    "check_boundary",
]

# a district's outline, generalised: a few hundred vertices is plenty. The bound keeps every
# zone row (and the public zone list that carries it) small, and a zone's JSON (~23 bytes a
# position at 6 decimals) under the API's 64 KiB request body limit
BOUNDARY_MAX_VERTICES = 2000
BOUNDARY_MAX_POLYGONS = 100
BOUNDARY_MAX_RINGS = 50  # per polygon: the outer ring and its holes


class BoundaryError(ValueError):
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
