"""The open-data page and its downloads: NGSI-LD entities validate against the official Smart
Data Models schemas (offline), the CSV is the API's, and nothing unpublishable leaks."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from fleet.web.opendata import MODELS, ZoneCentroid, cell_entities, ngsi_entities
from tests.fleet.gwsim import API
from tests.fleet_web.seed import Territory

SCHEMAS = Path(__file__).resolve().parents[2] / "data" / "smart-data-models"
REF_FILES = {
    "https://smart-data-models.github.io/data-models/common-schema.json": "common-schema.json",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/"
    "Environment-schema.json": "Environment-schema.json",
    "https://smart-data-models.github.io/dataModel.Environment/Environment-schema.json": (
        "Environment-schema.json"
    ),
    "https://smart-data-models.github.io/dataModel.Weather/weather-schema.json": (
        "weather-schema.json"
    ),
}
formats = FormatChecker()


@formats.checks("date-time", raises=ValueError)
def _is_rfc3339(value: object) -> bool:
    # the models' date-time: RFC 3339 with a zone (jsonschema skips formats without this)
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def _load(name: str) -> Any:
    return json.loads((SCHEMAS / name).read_text("utf-8"))


def validator(model: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resources(
        (url, Resource.from_contents(_load(f), default_specification=DRAFT202012))
        for url, f in REF_FILES.items()
    )
    return Draft202012Validator(
        _load(f"{model}.schema.json"), registry=registry, format_checker=formats
    )


def key_values(entity: dict[str, Any]) -> dict[str, Any]:
    """The keyValues form the schemas describe: each Property or GeoProperty by its value."""
    return {
        k: v["value"] if isinstance(v, dict) and v.get("type") in ("Property", "GeoProperty")
        else v
        for k, v in entity.items()
    }  # fmt: skip


def _download(client: TestClient, query: str = "") -> list[dict[str, Any]]:
    r = client.get(f"/open-data/aggregates.jsonld{query}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/ld+json"
    assert "attachment" in r.headers["content-disposition"]
    out: list[dict[str, Any]] = json.loads(r.content)
    return out


def test_every_downloaded_entity_validates_against_its_official_schema(
    territory: Territory, client: TestClient
) -> None:
    entities = _download(client)
    assert sorted({e["type"] for e in entities}) == sorted(MODELS)
    assert len(entities) == 4 * 4 * 3  # models x zones x hourly windows
    for e in entities:
        errors = [err.message for err in validator(e["type"]).iter_errors(key_values(e))]
        assert errors == [], (e["id"], errors)
        assert e["@context"][-1].startswith("https://uri.etsi.org/ngsi-ld/")


def test_entities_carry_the_published_values_in_standard_units(
    territory: Territory, client: TestClient
) -> None:
    entities = _download(client, "?zone=belle-beille")
    weather = next(e for e in entities if e["type"] == "WeatherObserved")
    assert weather["relativeHumidity"]["value"] == pytest.approx(0.645)  # a fraction, not %
    assert weather["relativeHumidity"]["unitCode"] == "C62"
    assert weather["temperature"]["observationCount"]["value"] == 57
    assert weather["location"]["value"] == {"type": "Point", "coordinates": [-0.6, 47.478]}
    assert weather["address"]["value"]["district"] == "Belle-Beille"
    crowd = next(e for e in entities if e["type"] == "CrowdFlowObserved")
    assert crowd["peopleCount"]["value"] == 137
    noise = next(e for e in entities if e["type"] == "NoiseLevelObserved")
    assert noise["LAeq"]["value"] == 61.2
    # the mean of the readings' LAmax: a window's maximum is one node's raw reading, never given
    assert noise["LAmax"]["value"] == 70.0
    assert "maxOverTime" not in noise["LAeq"]
    assert "minOverTime" not in json.dumps(entities)
    assert "maxOverTime" not in json.dumps(entities)
    text = json.dumps(entities)
    for absent in ("soilMoisture", "fill", "ang-0", "gw-a", "gw-b"):
        assert absent not in text  # CSV-only metrics, suppressed cells, node and gateway ids


def test_filters_select_the_extract(territory: Territory, client: TestClient) -> None:
    only = _download(client, "?zone=monplaisir&metric=people_n")
    assert [e["type"] for e in only] == ["CrowdFlowObserved"] * 3
    assert {e["areaServed"]["value"] for e in only} == {"Monplaisir"}
    starts = sorted(e["dateObservedFrom"]["value"] for e in only)
    since = int(datetime.fromisoformat(starts[1]).timestamp())
    assert len(_download(client, f"?zone=monplaisir&metric=people_n&since={since}")) == 2
    assert client.get("/open-data/aggregates.jsonld?metric=DROP").status_code == 400


def test_download_form_redirects_to_the_chosen_format(client: TestClient) -> None:
    r = client.get(
        "/open-data/download?format=csv&zone=centre&metric=temp_c&from=2026-11-01&to=2026-11-02",
        follow_redirects=False,
    )
    assert r.status_code == 303
    since = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
    until = int(datetime(2026, 11, 3, tzinfo=UTC).timestamp())  # "to" is inclusive
    assert r.headers["location"] == (
        f"{API}/public/aggregates.csv?zone=centre&metric=temp_c&since={since}&until={until}"
    )
    r = client.get("/open-data/download?format=ngsi-ld", follow_redirects=False)
    assert r.headers["location"] == "/open-data/aggregates.jsonld"
    assert client.get("/open-data/download?from=yesterday").status_code == 400


def test_csv_download_lists_suppressed_cells_without_values(
    territory: Territory, client: TestClient
) -> None:
    page = client.get("/open-data").text
    assert f'href="{API}/public/aggregates.csv"' in page
    rows = list(csv.DictReader(io.StringIO(client.get(f"{API}/public/aggregates.csv").text)))
    suppressed = [r for r in rows if r["suppressed"] == "True"]
    assert len(suppressed) == 4 * 3
    assert all(r["mean"] == r["n"] == r["people"] == "" for r in suppressed)


def test_open_data_page_states_the_privacy_guarantees(
    territory: Territory, client: TestClient
) -> None:
    fr = client.get("/open-data").text
    for text in ("au moins 3", "à partir de 11", "ε = 8", "72 heures", "Rien de personnel"):
        assert text in fr, text
    en = client.get("/open-data?lang=en").text
    for text in ("at least 3", "from 11 upward", "ε = 8", "72 hours", "Nothing personal"):
        assert text in en, text


class Row:
    """A published cell as the fleet stores it (fleet.models.Aggregate has these fields)."""

    def __init__(self, metric: str, **kw: Any) -> None:
        self.zone_id, self.metric, self.start, self.period_s = "z1", metric, 1_750_003_200, 3600
        self.n, self.mean, self.min, self.max, self.p95 = 40, 10.0, 5.0, 15.0, None
        self.people: int | None = None
        self.suppressed = False
        self.gateway_id = "gw-1"
        self.__dict__.update(kw)


ZONE = ZoneCentroid("z1", "Zone 1", 47.47, -0.55)
OPTS = {"city": "Angers", "data_provider": "Territoire", "source": "https://x.example/open-data"}


def test_cells_of_a_zone_without_centroid_are_left_out() -> None:
    rows = [Row("temp_c"), Row("temp_c", zone_id="z2")]
    entities = list(ngsi_entities(rows, {"z1": ZONE}, label=str.upper, **OPTS))
    assert [e["areaServed"]["value"] for e in entities] == ["Zone 1"]


def test_a_suppressed_or_empty_cell_makes_no_entity() -> None:
    assert cell_entities([Row("pm25_ugm3", suppressed=True)], ZONE, **OPTS) == []
    assert cell_entities([Row("people_n", people=None, mean=None)], ZONE, **OPTS) == []
    [air] = cell_entities([Row("pm25_ugm3"), Row("pm10_ugm3", suppressed=True)], ZONE, **OPTS)
    assert "pm25" in air
    assert "pm10" not in air
    assert validator("AirQualityObserved").is_valid(key_values(air))
