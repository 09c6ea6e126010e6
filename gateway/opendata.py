"""Open-data shapes for anonymised cells: NGSI-LD entities (FIWARE Smart Data Models) and CSV.

Input is only :class:`gateway.anonymize.PublishedCell` (zone-level, noisy counts, suppression
applied): this module adds no personal data and cannot bypass the anonymisation. A location is
the zone's centroid (privacy rule 4: never a node's position).

One entity per zone, window and model: ``AirQualityObserved`` (PM2.5, PM10),
``NoiseLevelObserved`` (LAeq = energy mean of LAeq, LAmax = maximum of LAmax),
``WeatherObserved`` (temperature, relative humidity as a FRACTION 0..1, pressure) and
``CrowdFlowObserved`` (people count). The count of readings and the statistics ride as
NGSI-LD sub-properties of each measured property, which the keyValues form drops.
Bin fill and soil moisture have no model here: they are in the CSV only.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.anonymize import PublishedCell
from protocol.metrics import METRICS

__all__ = ["CSV_COLUMNS", "Zone", "csv_text", "key_values", "load_zones", "ngsi_entities"]

_CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
_SDM = "https://raw.githubusercontent.com/smart-data-models/"
_CONTEXT = {
    "AirQualityObserved": _SDM + "dataModel.Environment/master/context.jsonld",
    "NoiseLevelObserved": _SDM + "dataModel.Environment/master/context.jsonld",
    "WeatherObserved": _SDM + "dataModel.Weather/master/context.jsonld",
    "CrowdFlowObserved": _SDM + "dataModel.Transportation/master/context.jsonld",
}


@dataclass(frozen=True, slots=True)
class _Field:
    model: str
    attr: str
    unit_code: str  # UN/CEFACT common code, as the Smart Data Models use
    factor: float = 1.0  # published value = our value * factor
    use_max: bool = False  # publish the window's maximum (LAmax), not its mean


_FIELDS: dict[str, _Field] = {
    "pm25_ugm3": _Field("AirQualityObserved", "pm25", "GQ"),
    "pm10_ugm3": _Field("AirQualityObserved", "pm10", "GQ"),
    "laeq_db": _Field("NoiseLevelObserved", "LAeq", "2N"),
    "lamax_db": _Field("NoiseLevelObserved", "LAmax", "2N", use_max=True),
    "temp_c": _Field("WeatherObserved", "temperature", "CEL"),
    "rh_pct": _Field("WeatherObserved", "relativeHumidity", "C62", factor=0.01),
    "p_hpa": _Field("WeatherObserved", "atmosphericPressure", "A97"),
    "people_n": _Field("CrowdFlowObserved", "peopleCount", "IE"),
}
_INTERVAL_DATED = frozenset({"NoiseLevelObserved", "CrowdFlowObserved"})


@dataclass(frozen=True, slots=True)
class Zone:
    id: str
    name: str
    lat: float
    lon: float


def load_zones(doc: Mapping[str, Any]) -> dict[str, Zone]:
    """Zones from the quartiers document (shared/data/angers_quartiers.json, already parsed)."""
    try:
        return {
            str(q["id"]): Zone(str(q["id"]), str(q["name"]), float(q["lat"]), float(q["lon"]))
            for q in doc["quartiers"]
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed zones document: {exc!r}") from exc


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def _scaled(x: float | None, factor: float) -> float | None:
    return None if x is None else round(x * factor, 6)


def _measured(cell: PublishedCell, f: _Field) -> dict[str, Any]:
    observed = {"observedAt": _iso(cell.end), "unitCode": f.unit_code}
    count = _prop(cell.n)
    if cell.people is not None:
        return _prop(cell.people, **observed, observationCount=count)
    value = cell.max if f.use_max else cell.mean
    prop = _prop(_scaled(value, f.factor), **observed, observationCount=count)
    if not f.use_max:
        prop["minOverTime"] = _prop(_scaled(cell.min, f.factor))
        prop["maxOverTime"] = _prop(_scaled(cell.max, f.factor))
        if cell.p95 is not None:
            prop["percentile95"] = _prop(_scaled(cell.p95, f.factor))
    return prop


def ngsi_entities(
    cells: Iterable[PublishedCell],
    zones: Mapping[str, Zone],
    *,
    city: str = "Angers",
    data_provider: str = "Territoire",
    source: str = "https://territoire.example/open-data",
) -> list[dict[str, Any]]:
    """NGSI-LD entities (normalized form) for the cells whose metric has a model; cells of an
    unknown zone are a ValueError (their centroid is unknown, and guessing one is not an option)."""
    groups: dict[tuple[str, str, int, int], list[PublishedCell]] = defaultdict(list)
    for c in cells:
        f = _FIELDS.get(c.metric)
        if f is not None:
            groups[(f.model, c.zone, c.start, c.end)].append(c)
    out = []
    for (model, zone_id, start, end), group in sorted(groups.items()):
        zone = zones.get(zone_id)
        if zone is None:
            raise ValueError(f"unknown zone {zone_id!r}")
        span = f"{_iso(start)}/{_iso(end)}"
        entity: dict[str, Any] = {
            "id": f"urn:ngsi-ld:{model}:territoire:{zone.id}:{_iso(start)}:{end - start}s",
            "type": model,
            "dateObserved": _prop(span if model in _INTERVAL_DATED else _iso(end)),
            "dateObservedFrom": _prop(_iso(start)),
            "dateObservedTo": _prop(_iso(end)),
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [zone.lon, zone.lat]},
            },
            "address": _prop(
                {"addressLocality": city, "addressCountry": "FR", "district": zone.name}
            ),
            "areaServed": _prop(zone.name),
            "dataProvider": _prop(data_provider),
            "source": _prop(source),
        }
        for c in sorted(group, key=lambda c: c.metric):
            entity[_FIELDS[c.metric].attr] = _measured(c, _FIELDS[c.metric])
        entity["@context"] = [_CONTEXT[model], _CORE_CONTEXT]
        out.append(entity)
    return out


def key_values(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The keyValues (simplified) form of a normalized entity: each Property or GeoProperty
    becomes its value, each Relationship its object; sub-properties are dropped."""
    out: dict[str, Any] = {}
    for name, attr in entity.items():
        if isinstance(attr, dict) and attr.get("type") in ("Property", "GeoProperty"):
            out[name] = attr["value"]
        elif isinstance(attr, dict) and attr.get("type") == "Relationship":
            out[name] = attr["object"]
        else:
            out[name] = attr
    return out


CSV_COLUMNS = (
    "zone",
    "zone_name",
    "metric",
    "unit",
    "period_start",
    "period_end",
    "n",
    "mean",
    "min",
    "max",
    "p95",
    "people",
)


def csv_text(cells: Iterable[PublishedCell], zones: Mapping[str, Zone]) -> str:
    """RFC 4180 CSV, one row per published cell, UTC ISO 8601 times, empty where not given;
    a cell of an unknown zone is a ValueError, as in :func:`ngsi_entities`."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for c in sorted(cells, key=lambda c: (c.start, c.zone, c.metric)):
        zone = zones.get(c.zone)
        if zone is None:
            raise ValueError(f"unknown zone {c.zone!r}")
        row: list[object] = [c.zone, zone.name, c.metric, METRICS[c.metric].unit]
        row += [_iso(c.start), _iso(c.end), c.n]
        row += ["" if v is None else v for v in (c.mean, c.min, c.max, c.p95, c.people)]
        w.writerow(row)
    return buf.getvalue()
