"""Zones from a GeoJSON FeatureCollection, checked whole before the fleet hears of any.

Each feature: ``properties.id`` (or the feature's ``id``) and ``properties.name``, optional
``description`` and centroid ``centroid_lat``/``centroid_lon`` (or ``lat``/``lon``), and a
Polygon or MultiPolygon geometry. The centroid, when not given, is the polygon's. The fleet's
own model (``fleet.models.ZoneCreate``) checks every zone here, so what passes is what the
fleet accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fleet.geo import BoundaryError, centroid, check_boundary
from fleet.models import ZoneCreate

__all__ = ["MAX_FEATURES", "MAX_FILE_BYTES", "ZoneFileError", "parse_zones", "read_zones"]

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_FEATURES = 500


class ZoneFileError(ValueError):
    """What is wrong with the file, in one line."""


def _first_error(exc: ValidationError) -> str:
    e = exc.errors()[0]
    loc = ".".join(str(p) for p in e.get("loc", ())) or "value"
    return f"{loc}: {e.get('msg', 'invalid')}"


def _zone(feature: Any, n: int) -> ZoneCreate:
    where = f"feature {n}"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ZoneFileError(f"{where}: not a GeoJSON Feature")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise ZoneFileError(f"{where}: properties must be an object")
    zone_id = props.get("id", feature.get("id"))
    if not isinstance(zone_id, str):
        raise ZoneFileError(f"{where}: no zone id (properties.id, e.g. \"centre-ville\")")
    where = f"feature {n} ({zone_id[:32]})"
    if not isinstance(props.get("name"), str):
        raise ZoneFileError(f"{where}: no zone name (properties.name)")
    try:
        boundary = check_boundary(feature.get("geometry"), "geometry")
        lat = props.get("centroid_lat", props.get("lat"))
        lon = props.get("centroid_lon", props.get("lon"))
        if (lat is None) != (lon is None):
            raise ZoneFileError(f"{where}: give both centroid_lat and centroid_lon, or neither")
        if lat is None:
            lat, lon = centroid(boundary)
        return ZoneCreate.model_validate({
            "id": zone_id, "name": props["name"], "description": props.get("description", ""),
            "lat": lat, "lon": lon, "boundary": boundary,
        })
    except BoundaryError as exc:
        raise ZoneFileError(f"{where}: {exc}") from None
    except ValidationError as exc:
        raise ZoneFileError(f"{where}: {_first_error(exc)}") from None


def parse_zones(text: str) -> list[ZoneCreate]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ZoneFileError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ZoneFileError("not a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise ZoneFileError("the FeatureCollection has no features")
    if len(features) > MAX_FEATURES:
        raise ZoneFileError(f"{len(features)} features, more than {MAX_FEATURES}")
    zones = [_zone(f, n) for n, f in enumerate(features, start=1)]
    ids = [z.id for z in zones]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ZoneFileError(f"zone ids repeat: {', '.join(repeated)}")
    return zones


def read_zones(path: Path) -> list[ZoneCreate]:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ZoneFileError(f"cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ZoneFileError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        return parse_zones(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ZoneFileError("not UTF-8 text") from None
