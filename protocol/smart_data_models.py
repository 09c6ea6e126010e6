"""The FIWARE Smart Data Models mapping of our metrics, shared by the gateway's and the fleet's
open data (they may not import each other). Pure functions of values.

One NGSI-LD entity per zone, window and model: ``AirQualityObserved`` (PM2.5, PM10),
``NoiseLevelObserved`` (LAeq energy mean, LAmax mean over the readings: a window's maximum is one
node's raw reading, never published), ``WeatherObserved`` (temperature, relative
humidity as a FRACTION 0..1, pressure) and ``CrowdFlowObserved`` (people count). The count of
readings, the p95 and, for a noisy count, its epsilon, mechanism, noise scale and 90 % interval
ride as NGSI-LD sub-properties of each measured property; min and max never do. Metrics
without a model (bin fill, soil moisture) are in the CSV only. A location is always a zone's
centroid, never a node's position (privacy rule 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = [
    "CONTEXTS", "FIELDS", "MODELS", "CellValues", "Field", "dp_subproperties", "entity", "iso",
    "measured",
]  # fmt: skip

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
_SDM = "https://raw.githubusercontent.com/smart-data-models/"
CONTEXTS = {
    "AirQualityObserved": _SDM + "dataModel.Environment/master/context.jsonld",
    "NoiseLevelObserved": _SDM + "dataModel.Environment/master/context.jsonld",
    "WeatherObserved": _SDM + "dataModel.Weather/master/context.jsonld",
    "CrowdFlowObserved": _SDM + "dataModel.Transportation/master/context.jsonld",
}
MODELS = tuple(CONTEXTS)
# models whose dateObserved is the window as an ISO 8601 interval, not its end
_INTERVAL_DATED = frozenset({"NoiseLevelObserved", "CrowdFlowObserved"})


@dataclass(frozen=True, slots=True)
class Field:
    model: str
    attr: str
    unit_code: str  # UN/CEFACT common code, as the Smart Data Models use
    factor: float = 1.0  # published value = our value * factor


FIELDS: dict[str, Field] = {
    "pm25_ugm3": Field("AirQualityObserved", "pm25", "GQ"),
    "pm10_ugm3": Field("AirQualityObserved", "pm10", "GQ"),
    "laeq_db": Field("NoiseLevelObserved", "LAeq", "2N"),
    "lamax_db": Field("NoiseLevelObserved", "LAmax", "2N"),
    "temp_c": Field("WeatherObserved", "temperature", "CEL"),
    "rh_pct": Field("WeatherObserved", "relativeHumidity", "C62", factor=0.01),
    "p_hpa": Field("WeatherObserved", "atmosphericPressure", "A97"),
    "people_n": Field("CrowdFlowObserved", "peopleCount", "IE"),
}


class CellValues(Protocol):
    """The statistics of one published cell (zone, window, metric)."""

    @property
    def n(self) -> int | None: ...
    @property
    def mean(self) -> float | None: ...
    @property
    def p95(self) -> float | None: ...
    @property
    def people(self) -> int | None: ...


def iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def _scaled(x: float | None, factor: float) -> float | None:
    return None if x is None else round(x * factor, 6)


def dp_subproperties(dp: Mapping[str, Any] | None) -> dict[str, Any]:
    """The noise of a published count as sub-properties (``dp`` as in
    protocol/published_cells.py), so a reuser can compute an error bar."""
    if dp is None:
        return {}
    out = {
        "dpMechanism": _prop(dp["mechanism"]),
        "dpEpsilon": _prop(dp["epsilon"]),
        "dpNoiseScale": _prop(dp["scale"]),
    }
    if dp.get("ci90") is not None:
        out["confidenceInterval90"] = _prop(list(dp["ci90"]))
    return out


def measured(
    cell: CellValues, f: Field, end: int, dp: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The NGSI-LD property of one metric of a cell that ends at ``end``."""
    observed = {"observedAt": iso(end), "unitCode": f.unit_code}
    count = _prop(cell.n)
    if cell.people is not None:
        return _prop(cell.people, **observed, observationCount=count, **dp_subproperties(dp))
    prop = _prop(_scaled(cell.mean, f.factor), **observed, observationCount=count)
    if cell.p95 is not None:
        prop["percentile95"] = _prop(_scaled(cell.p95, f.factor))
    return prop


def entity(
    model: str,
    zone: tuple[str, str, float, float],
    start: int,
    end: int,
    properties: Mapping[str, dict[str, Any]],
    *,
    city: str,
    data_provider: str,
    source: str,
) -> dict[str, Any]:
    """One normalized entity: ``zone`` is (id, name, lat, lon), ``properties`` by attribute."""
    zone_id, zone_name, lat, lon = zone
    span = f"{iso(start)}/{iso(end)}"
    out: dict[str, Any] = {
        "id": f"urn:ngsi-ld:{model}:territoire:{zone_id}:{iso(start)}:{end - start}s",
        "type": model,
        "dateObserved": _prop(span if model in _INTERVAL_DATED else iso(end)),
        "dateObservedFrom": _prop(iso(start)),
        "dateObservedTo": _prop(iso(end)),
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
        "address": _prop({"addressLocality": city, "addressCountry": "FR", "district": zone_name}),
        "areaServed": _prop(zone_name),
        "dataProvider": _prop(data_provider),
        "source": _prop(source),
    }
    out.update(properties)
    out["@context"] = [CONTEXTS[model], CORE_CONTEXT]
    return out
