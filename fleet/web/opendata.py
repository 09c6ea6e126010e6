"""NGSI-LD entities (FIWARE Smart Data Models) from the fleet's published aggregate rows.

The same shapes as the gateway's open data (docs/privacy.md), built here from the fleet's own
rows: the fleet never imports the gateway. One entity per zone, window and model:
``AirQualityObserved`` (PM2.5, PM10), ``NoiseLevelObserved`` (LAeq mean, LAmax maximum),
``WeatherObserved`` (temperature, relative humidity as a FRACTION 0..1, pressure) and
``CrowdFlowObserved`` (people count). The count of readings and the statistics ride as
NGSI-LD sub-properties of each measured property. Suppressed cells carry no value and are
left out, as are metrics without a model (bin fill, soil moisture: CSV only) and zones
without a centroid (the models need a location, and a node's own is never published).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any, Protocol

__all__ = ["FIELDS", "MODELS", "AggregateRow", "ZoneCentroid", "cell_entities", "ngsi_entities"]

_CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
_SDM = "https://raw.githubusercontent.com/smart-data-models/"
CONTEXTS = {
    "AirQualityObserved": _SDM + "dataModel.Environment/master/context.jsonld",
    "NoiseLevelObserved": _SDM + "dataModel.Environment/master/context.jsonld",
    "WeatherObserved": _SDM + "dataModel.Weather/master/context.jsonld",
    "CrowdFlowObserved": _SDM + "dataModel.Transportation/master/context.jsonld",
}
MODELS = tuple(CONTEXTS)


@dataclass(frozen=True, slots=True)
class Field:
    model: str
    attr: str
    unit_code: str  # UN/CEFACT common code, as the Smart Data Models use
    factor: float = 1.0  # published value = our value * factor
    use_max: bool = False  # publish the window's maximum (LAmax), not its mean


FIELDS: dict[str, Field] = {
    "pm25_ugm3": Field("AirQualityObserved", "pm25", "GQ"),
    "pm10_ugm3": Field("AirQualityObserved", "pm10", "GQ"),
    "laeq_db": Field("NoiseLevelObserved", "LAeq", "2N"),
    "lamax_db": Field("NoiseLevelObserved", "LAmax", "2N", use_max=True),
    "temp_c": Field("WeatherObserved", "temperature", "CEL"),
    "rh_pct": Field("WeatherObserved", "relativeHumidity", "C62", factor=0.01),
    "p_hpa": Field("WeatherObserved", "atmosphericPressure", "A97"),
    "people_n": Field("CrowdFlowObserved", "peopleCount", "IE"),
}
_INTERVAL_DATED = frozenset({"NoiseLevelObserved", "CrowdFlowObserved"})


class AggregateRow(Protocol):
    """What is read of a published cell (``fleet.models.Aggregate`` has these)."""

    @property
    def zone_id(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def period_s(self) -> int: ...
    @property
    def n(self) -> int | None: ...
    @property
    def mean(self) -> float | None: ...
    @property
    def min(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...
    @property
    def p95(self) -> float | None: ...
    @property
    def people(self) -> int | None: ...
    @property
    def suppressed(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ZoneCentroid:
    id: str
    name: str
    lat: float
    lon: float


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def _scaled(x: float | None, factor: float) -> float | None:
    return None if x is None else round(x * factor, 6)


def _measured(row: AggregateRow, f: Field) -> dict[str, Any]:
    observed = {"observedAt": _iso(row.start + row.period_s), "unitCode": f.unit_code}
    count = _prop(row.n)
    if row.people is not None:
        return _prop(row.people, **observed, observationCount=count)
    value = row.max if f.use_max else row.mean
    prop = _prop(_scaled(value, f.factor), **observed, observationCount=count)
    if not f.use_max:
        prop["minOverTime"] = _prop(_scaled(row.min, f.factor))
        prop["maxOverTime"] = _prop(_scaled(row.max, f.factor))
        if row.p95 is not None:
            prop["percentile95"] = _prop(_scaled(row.p95, f.factor))
    return prop


def _publishable(row: AggregateRow) -> bool:
    f = FIELDS.get(row.metric)
    if f is None or row.suppressed:
        return False
    if f.model == "CrowdFlowObserved":
        return row.people is not None
    return (row.max if f.use_max else row.mean) is not None


def cell_entities(
    rows: Iterable[AggregateRow],
    zone: ZoneCentroid,
    *,
    city: str,
    data_provider: str,
    source: str,
) -> list[dict[str, Any]]:
    """The entities of one zone and window (``rows`` share zone, start and period)."""
    by_model: dict[str, list[AggregateRow]] = {}
    for row in rows:
        if _publishable(row):
            by_model.setdefault(FIELDS[row.metric].model, []).append(row)
    out = []
    for model in sorted(by_model):
        group = sorted(by_model[model], key=lambda r: r.metric)
        start, end = group[0].start, group[0].start + group[0].period_s
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
        for row in group:
            entity[FIELDS[row.metric].attr] = _measured(row, FIELDS[row.metric])
        entity["@context"] = [CONTEXTS[model], _CORE_CONTEXT]
        out.append(entity)
    return out


def ngsi_entities(
    rows: Iterable[AggregateRow],
    zones: Mapping[str, ZoneCentroid],
    *,
    city: str,
    data_provider: str,
    source: str,
) -> Iterator[dict[str, Any]]:
    """Entities for rows ordered by (start, zone, period): each cell's rows must be adjacent.
    Rows of a zone without a centroid are skipped."""
    for (start, zone_id, period), cell in groupby(
        rows, key=lambda r: (r.start, r.zone_id, r.period_s)
    ):
        del start, period
        zone = zones.get(zone_id)
        if zone is None:
            continue
        yield from cell_entities(cell, zone, city=city, data_provider=data_provider, source=source)
