"""The public map and zone charts through the real fleet (SQLite and PostgreSQL): its JSON,
its pages in French and English, sensors counted per zone, bad parameters refused."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from fleet.app import create_app
from fleet.core.config import Settings
from fleet.zone_figures import NO_DATA_COLOUR, PALETTE, bucket_start
from tests.fleet.gwsim import API
from tests.fleet_web.map_seed import PM25, outline_zones, publish_pm25
from tests.fleet_web.seed import HOUR, ZONES, Territory

MAP = f"{API}/public/map"
TZ = ZoneInfo("Europe/Paris")
ROW = re.compile(r'<tr data-zone="([a-z0-9-]+)" data-colour="(#[0-9a-f]{6})">')


def _zones(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {z["zone_id"]: z for z in body["zones"]}


def test_map_json_colours_each_zone_by_its_figure_for_the_chosen_hour(
    client: TestClient, territory: Territory
) -> None:
    start = publish_pm25(territory)
    r = client.get(MAP, params={"metric": "pm25_ugm3", "period": "hour", "at": start + 1800})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["start"], body["end"], body["unit"]) == (start, start + HOUR, "µg/m³")
    zones = _zones(body)
    assert {z: zones[z]["value"] for z in PM25} == PM25
    assert zones["centre"]["colour"] == PALETTE[0]  # the lowest
    assert zones["monplaisir"]["colour"] == PALETTE[-1]  # the highest
    assert [b["colour"] for b in body["bands"]] == list(PALETTE)
    assert body["bands"][0]["low"] == 8.0
    assert body["bands"][-1]["high"] == 32.0
    # by default: the newest hour with published cells, and the hours on offer newest first
    latest = client.get(MAP, params={"metric": "pm25_ugm3"}).json()
    assert latest["start"] == max(latest["periods"]) == latest["periods"][0]
    assert start in latest["periods"]
    assert {z["value"] for z in latest["zones"]} == {12.3}


def test_map_json_adds_a_days_people_counts_and_averages_its_measures(
    client: TestClient, territory: Territory
) -> None:
    hours = client.get(MAP, params={"metric": "people_n"}).json()["periods"]
    assert len(hours) == 3
    day = bucket_start(hours[0], "day", TZ)
    same_day = [h for h in hours if bucket_start(h, "day", TZ) == day]
    body = client.get(MAP, params={"metric": "people_n", "period": "day", "at": hours[0]}).json()
    assert body["start"] == day
    # the seed publishes 137, 138, 139 people in its three hours (oldest first)
    oldest = min(hours)
    expected = sum(137 + (h - oldest) // HOUR for h in same_day)
    assert {z["value"] for z in body["zones"]} == {expected}
    assert {z["cells"] for z in body["zones"]} == {len(same_day)}
    temp = client.get(MAP, params={"metric": "temp_c", "period": "day", "at": hours[0]}).json()
    # 21.5 + h, n-weighted (every cell has n = 57): the mean of the day's hours
    means = [21.5 + (h - oldest) // HOUR for h in same_day]
    assert {round(z["value"], 6) for z in temp["zones"]} == {round(sum(means) / len(means), 6)}


def test_map_json_counts_sensors_per_zone_as_the_register_lists_them(
    client: TestClient, territory: Territory
) -> None:
    body = client.get(MAP, params={"metric": "temp_c"}).json()
    register = client.get(f"{API}/public/register", params={"limit": 500}).json()["data"]
    listed = Counter((e["zone_id"], e["type"], e["status"]) for e in register)
    counted = Counter(
        {
            (z["zone_id"], s["kind"], s["status"]): s["count"]
            for z in body["zones"]
            for s in z["sensors"]
        }
    )
    assert counted == listed
    assert sum(counted.values()) == len(territory.nodes)
    text = client.get(MAP, params={"metric": "temp_c"}).text
    for node_id in territory.nodes:  # counts only: no sensor named, nowhere located
        assert node_id not in text
    assert "lat" not in text
    assert "lon" not in text


def test_map_json_refuses_bad_parameters_with_422(client: TestClient) -> None:
    for params in (
        {},
        {"metric": "nope"},
        {"metric": "temp_c", "period": "week"},
        {"metric": "temp_c", "at": "-1"},
        {"metric": "temp_c", "at": str(2**41)},
        {"metric": "temp_c", "at": "soon"},
        {"metric": "temp_c" * 20},
    ):
        r = client.get(MAP, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["detail"] == "invalid request"


def test_map_json_without_data_gives_every_zone_no_figure(
    client: TestClient, territory: Territory
) -> None:
    body = client.get(MAP, params={"metric": "fill_pct"}).json()  # suppressed cells only
    assert body["start"] is None
    assert body["periods"] == []
    assert body["bands"] == []
    assert {z["colour"] for z in body["zones"]} == {NO_DATA_COLOUR}
    assert {z["value"] for z in body["zones"]} == {None}


def test_map_page_says_every_figure_in_french_then_english(
    client: TestClient, territory: Territory
) -> None:
    outline_zones(territory)
    start = publish_pm25(territory)
    r = client.get("/map", params={"metric": "pm25_ugm3", "at": start})
    assert r.status_code == 200, r.text
    html = r.text
    assert '<html lang="fr">' in html
    assert "<h1>Carte du territoire</h1>" in html
    assert '<a href="/map" aria-current="page">Carte</a>' in html
    colours = dict(ROW.findall(html))
    api = _zones(client.get(MAP, params={"metric": "pm25_ugm3", "at": start}).json())
    assert colours == {z: api[z]["colour"] for z in api}
    assert "8,0\u00a0µg/m³" in html  # French decimals
    assert 'src="/static/vendor/leaflet/leaflet.js"' in html
    assert not re.search(r"https?://", html), "the page names no other origin"
    for zone_id, *_ in ZONES:
        assert f'"id": "{zone_id}"' in html  # drawn by map.js from the page's own data
    assert "Station qualité de l&#39;air — " in html
    assert "En service" in html
    en = client.get("/map", params={"metric": "pm25_ugm3", "at": start, "lang": "en"}).text
    assert '<html lang="en">' in en
    assert "<h1>Map of the territory</h1>" in en
    assert "8.0\u00a0µg/m³" in en
    assert "In service" in en
    bad = client.get("/map", params={"metric": "nope"})
    assert bad.status_code == 400
    assert "Requête invalide" in bad.text
    assert client.get("/map", params={"period": "week"}).status_code == 400
    assert client.get("/map", params={"at": "x"}).status_code == 400


def test_zone_page_draws_three_ranges_against_the_other_zones(
    client: TestClient, territory: Territory
) -> None:
    r = client.get("/map/zones/centre", params={"metric": "temp_c"})
    assert r.status_code == 200, r.text
    html = r.text
    assert "<h1>Centre-ville - La Fayette - Éblé : courbes</h1>" in html
    for key in ("24h", "7d", "30d"):
        assert f'id="range-{key}"' in html
    assert html.count('class="chart-svg"') == 3
    assert html.count('class="chart-compare"') == 3  # the median of the other zones
    assert html.count('class="chart-band"') == 0  # a measure: no interval
    assert "De 21,5\u00a0°C à 23,5\u00a0°C" in html
    assert "tendance : en hausse" in html
    assert html.count('<table class="stack chart-table">') == 3
    assert not re.search(r"https?://", html)
    en = client.get("/map/zones/centre", params={"metric": "temp_c", "lang": "en"}).text
    assert "From 21.5\u00a0°C to 23.5\u00a0°C" in en
    assert "trend: rising" in en
    assert client.get("/map/zones/nowhere").status_code == 404
    assert client.get("/map/zones/NOT_A_SLUG").status_code == 404
    assert client.get("/map/zones/centre", params={"metric": "nope"}).status_code == 400


def test_a_configured_tile_server_is_allowed_by_the_page_policy(
    settings: Settings, territory: Territory
) -> None:
    tiled = settings.model_copy(
        update={
            "public_map_tile_url": "https://tiles.example.org/{z}/{x}/{y}.png",
            "public_map_tile_attribution": "<b>© OpenStreetMap</b>",
        }
    )
    app = create_app(tiled)
    try:
        with TestClient(app) as c:
            r = c.get("/map")
        policy = r.headers["content-security-policy"]
        assert "img-src 'self' data: https://tiles.example.org;" in policy
        assert "https://tiles.example.org/{z}/{x}/{y}.png" in r.text
        assert "&amp;lt;b&amp;gt;" in r.text or "\\u0026lt;b\\u0026gt;" in r.text
    finally:
        app.state.engine.dispose()
