"""Open data: NGSI-LD entities validate against the official Smart Data Models schemas (offline),
and the CSV carries exactly the published cells."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from gateway.anonymize import DpNote, PublishedCell
from gateway.opendata import CSV_COLUMNS, csv_text, key_values, load_zones, ngsi_entities

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "data" / "smart-data-models"
REF_FILES = {
    "https://smart-data-models.github.io/data-models/common-schema.json": "common-schema.json",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/"
    "Environment-schema.json": "Environment-schema.json",
    "https://smart-data-models.github.io/dataModel.Environment/Environment-schema.json":
        "Environment-schema.json",
    "https://smart-data-models.github.io/dataModel.Weather/weather-schema.json":
        "weather-schema.json",
}  # fmt: skip
MODELS = ("AirQualityObserved", "NoiseLevelObserved", "WeatherObserved", "CrowdFlowObserved")
T0 = 1_750_003_200  # 2025-06-15T16:00:00Z
ZONES = load_zones(REPO / "data" / "zones" / "angers-quartiers.geojson")

# the schemas say "format": "date-time"; check it for real (jsonschema skips it without an
# optional package), with the RFC 3339 profile the models use: a UTC 'Z' timestamp
formats = FormatChecker()


@formats.checks("date-time", raises=ValueError)
def _is_rfc3339(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def _load(name: str) -> Any:
    return json.loads((SCHEMAS / name).read_text("utf-8"))


def validator(model: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resources(
        (url, Resource.from_contents(_load(f), default_specification=DRAFT202012))
        for url, f in REF_FILES.items()
    )
    schema = _load(f"{model}.schema.json")
    return Draft202012Validator(schema, registry=registry, format_checker=formats)


def published(zone: str = "centre") -> list[PublishedCell]:
    def env(
        metric: str, mean: float, lo: float, hi: float, p95: float | None = None
    ) -> PublishedCell:
        # lo, hi: the window's extremes the aggregator saw, which publication never carries
        return PublishedCell(zone, metric, T0, T0 + 3600, 57, mean, p95, None)

    return [
        env("pm25_ugm3", 12.34, 8.1, 20.5, 19.0),
        env("pm10_ugm3", 20.12, 15.0, 31.2),
        env("laeq_db", 61.23, 48.2, 75.0, 70.1),
        env("lamax_db", 70.0, 55.0, 91.3),
        env("temp_c", 21.456, 19.5, 23.25, 23.0),
        env("rh_pct", 64.55, 60.1, 70.0),
        env("p_hpa", 1013.25, 1012.8, 1013.9),
        env("soil_pct", 31.0, 30.0, 32.0),
        PublishedCell(zone, "people_n", T0, T0 + 3600, 41, None, None, 137, None,
                      DpNote(0.333333, 6.000006, (123, 151))),
        # suppressed: sent to the fleet, never in open data
        PublishedCell(zone, "fill_pct", T0, T0 + 3600, None, None, None, None, "too_few_nodes"),
    ]


def test_every_entity_validates_against_its_official_schema() -> None:
    entities = ngsi_entities(published("centre") + published("doutre"), ZONES)
    assert sorted({e["type"] for e in entities}) == sorted(MODELS)
    assert len(entities) == 8
    validators = {m: validator(m) for m in MODELS}
    for entity in entities:
        errors = list(validators[entity["type"]].iter_errors(key_values(entity)))
        assert errors == [], (entity["id"], [e.message for e in errors])


def test_schema_check_is_not_vacuous() -> None:
    (weather,) = [e for e in ngsi_entities(published(), ZONES) if e["type"] == "WeatherObserved"]
    kv = key_values(weather)
    v = validator("WeatherObserved")
    assert v.is_valid(kv)
    assert not v.is_valid({**kv, "relativeHumidity": 64.55})  # a percentage, not a fraction
    assert not v.is_valid({**kv, "dateObserved": "15/06/2025 17:00"})
    assert not v.is_valid({k: x for k, x in kv.items() if k != "location"})
    crowd = key_values(next(e for e in ngsi_entities(published(), ZONES) if "peopleCount" in e))
    assert not validator("CrowdFlowObserved").is_valid({**crowd, "peopleCount": 13.5})


def test_values_units_and_location_are_the_published_zone_level_ones() -> None:
    by_type = {e["type"]: e for e in ngsi_entities(published(), ZONES)}
    weather = by_type["WeatherObserved"]
    assert weather["relativeHumidity"]["value"] == pytest.approx(0.6455)
    assert "maxOverTime" not in weather["relativeHumidity"]
    assert "minOverTime" not in weather["relativeHumidity"]
    assert weather["temperature"]["unitCode"] == "CEL"
    noise = by_type["NoiseLevelObserved"]
    # LAmax: the mean of the readings' LAmax, never the window's maximum (one raw reading)
    assert (noise["LAeq"]["value"], noise["LAmax"]["value"]) == (61.23, 70.0)
    crowd = by_type["CrowdFlowObserved"]
    assert crowd["peopleCount"]["value"] == 137
    assert crowd["peopleCount"]["observationCount"]["value"] == 41
    assert crowd["dateObserved"]["value"] == "2025-06-15T16:00:00Z/2025-06-15T17:00:00Z"
    centre = ZONES["centre"]
    for e in by_type.values():
        assert e["location"]["value"] == {"type": "Point", "coordinates": [centre.lon, centre.lat]}
        assert e["address"]["value"]["district"] == centre.name


def test_entity_ids_are_unique_per_zone_window_and_model() -> None:
    later = [PublishedCell(c.zone, c.metric, c.start + 3600, c.end + 3600, c.n, c.mean, c.p95,
                           c.people, c.reason, c.dp) for c in published()]  # fmt: skip
    ids = [e["id"] for e in ngsi_entities(published() + later + published("doutre"), ZONES)]
    assert len(ids) == len(set(ids)) == 12


def test_unknown_zone_is_refused_rather_than_placed_anywhere() -> None:
    with pytest.raises(ValueError, match="unknown zone"):
        ngsi_entities(published("atlantis"), ZONES)
    with pytest.raises(ValueError, match="unknown zone"):
        csv_text(published("atlantis"), ZONES)


def test_csv_has_one_row_per_published_cell_and_empty_cells_for_what_is_withheld() -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(published(), ZONES))))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == len(published()) - 1  # the suppressed cell is not open data
    by_metric = {r["metric"]: r for r in rows}
    assert "fill_pct" not in by_metric
    assert by_metric["people_n"]["people"] == "137"
    assert by_metric["people_n"]["mean"] == by_metric["people_n"]["p95"] == ""
    assert not {"min", "max"} & set(CSV_COLUMNS)
    assert by_metric["rh_pct"]["mean"] == "64.55"
    assert by_metric["rh_pct"]["unit"] == "%"
    assert by_metric["soil_pct"]["zone_name"] == ZONES["centre"].name
    assert by_metric["temp_c"]["period_start"] == "2025-06-15T16:00:00Z"
