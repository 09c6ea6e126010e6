"""The public index pages through the real fleet (SQLite and PostgreSQL), fed through the
ingest API: each zone's index from its published cells, the sources cited, and beside every
figure how sure it is (sensor models, sensors, humid hours, readings left out)."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from fastapi.testclient import TestClient

from tests.fleet.gwsim import API
from tests.fleet_web.index_seed import (
    HUMID_HOURS,
    PM25_BANDS,
    IndexTerritory,
    day_start,
    hours_of,
    index_territory,
)


@pytest.fixture
def indexed(client: TestClient, admin: dict[str, str]) -> IndexTerritory:
    return index_territory(client, admin)


def _row(html: str, table: str, zone: str) -> str:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    found = re.search(rf'<tr data-zone="{zone}".*?</tr>', body, re.S)
    assert found, f"no row for {zone} in {table}"
    return htmllib.unescape(found.group(0))


def _map_row(html: str, zone: str) -> str:
    found = re.search(rf'<tr data-zone="{zone}" data-colour=.*?</tr>', html, re.S)
    assert found, f"no map row for {zone}"
    return htmllib.unescape(found.group(0))


def test_indices_overview_links_every_index_in_french_by_default(client: TestClient) -> None:
    r = client.get("/indices")
    assert r.status_code == 200
    assert '<html lang="fr">' in r.text
    for key in ("particles", "noise", "heat", "bins", "soil"):
        assert f'href="/indices/{key}"' in r.text
    assert 'href="/indices" aria-current="page"' in r.text


def test_particles_page_bands_each_zone_compares_with_who_and_flags_humid_hours(
    client: TestClient, indexed: IndexTerritory
) -> None:
    r = client.get("/indices/particles")
    assert r.status_code == 200, r.text
    html = r.text
    hours = len(hours_of(indexed.yesterday))
    for zone, band in PM25_BANDS.items():
        assert f'data-band="{band}"' in _row(html, "index-pm25_ugm3", zone)
    centre = _row(html, "index-pm25_ugm3", "centre")
    assert "8,0\u00a0µg/m³" in centre
    assert "en dessous" in centre
    assert f"({hours} h publiées)" in centre
    assert "7 écartées comme invraisemblables" in centre  # 5 out of range + 2 too sudden
    assert "1 en service sur 1" in centre
    monplaisir = _row(html, "index-pm25_ugm3", "monplaisir")
    assert "au-dessus (4,0 fois la valeur)" in monplaisir  # 60 against 15
    assert f"{HUMID_HOURS} h sur {hours} à 75 % d'humidité ou plus" in monplaisir
    assert "0 écartées" in monplaisir
    assert "probablement surestimé" not in _row(html, "index-pm25_ugm3", "doutre")
    pm10 = _row(html, "index-pm10_ugm3", "belle-beille")
    assert 'data-band="degraded"' in pm10  # 45: 40 < c ≤ 50
    assert "en dessous" in pm10  # 45 is the WHO value itself, not above it
    # the sources and how sure the figures are
    assert "https://www.legifrance.gouv.fr/loda/id/JORFTEXT000042164835/" in html
    assert "https://www.who.int/publications/i/item/9789240034228" in html
    assert "Plantower PMS5003" in html
    assert "Nova Fitness SDS011" in html
    assert "doi:10.5194/amt-11-4883-2018" in html
    assert "non enregistrée" in html  # no calibration date is invented


def test_noise_page_computes_lden_and_lnight_from_a_whole_day_only(
    client: TestClient, indexed: IndexTerritory
) -> None:
    html = client.get("/indices/noise").text
    centre = _row(html, "index-noise", "centre")
    # day 65, evening 60 (+5), night 55 (+10): Lden 65 dB; Lnight 55 dB
    assert "65,0\u00a0dB — au-dessus de 12,0 dB" in centre
    assert "55,0\u00a0dB — au-dessus de 10,0 dB" in centre
    doutre = _row(html, "index-noise", "doutre")  # half the hours: no Lden
    assert "pas de jour complet" in doutre
    assert "Lden" not in doutre.split("pas de jour complet", 1)[1].split("</td>", 1)[0]
    assert "Aucune valeur publiée" in _row(html, "index-noise", "monplaisir")
    assert "https://www.who.int/europe/publications/i/item/9789289053563" in html
    assert "INMP441" in html


def test_heat_page_reads_three_days_of_lows_and_highs_against_the_thresholds(
    client: TestClient, indexed: IndexTerritory
) -> None:
    html = client.get("/indices/heat").text
    centre = _row(html, "index-heat", "centre")
    assert 'data-reached="yes"' in centre
    assert "19,0\u00a0°C" in centre
    assert "36,0\u00a0°C" in centre
    doutre = _row(html, "index-heat", "doutre")
    assert 'data-reached="no"' in doutre
    assert "Seuils non atteints" in doutre
    assert "IBMn 18 °C et IBMx 34 °C" in html
    assert "https://vigilance.meteofrance.fr/" in html


@pytest.mark.parametrize(("key", "yes"), [("bins", "À vider"), ("soil", "À arroser")])
def test_bins_and_soil_pages_compare_the_latest_figure_with_the_profiles_threshold(
    client: TestClient, indexed: IndexTerritory, key: str, yes: str
) -> None:
    html = client.get(f"/indices/{key}").text
    centre = _row(html, f"index-{key}", "centre")
    assert 'data-needed="yes"' in centre
    assert yes in centre
    assert ("80\u00a0%" if key == "bins" else "20,0\u00a0%") in centre
    assert 'data-needed="no"' in _row(html, f"index-{key}", "doutre")
    assert "Aucune valeur publiée" in _row(html, f"index-{key}", "belle-beille")


def test_index_pages_speak_english_and_refuse_an_unknown_index(
    client: TestClient, indexed: IndexTerritory
) -> None:
    r = client.get("/indices/particles", params={"lang": "en"})
    assert "<h1>Fine particles (ATMO index, WHO)</h1>" in r.text
    assert "Very poor" in _row(r.text, "index-pm25_ugm3", "monplaisir")
    assert "above (4.0 times the value)" in r.text
    assert "likely over-estimated" in r.text
    assert "not recorded" in r.text
    missing = client.get("/indices/pollen", params={"lang": "en"})
    assert missing.status_code == 404
    assert "This index does not exist." in missing.text


def test_profile_thresholds_are_optional_bounded_and_kept(
    client: TestClient, admin: dict[str, str], indexed: IndexTerritory
) -> None:
    assert client.get(f"{API}/profiles/bins", headers=admin).json()["fill_alert_pct"] == 80.0
    assert client.get(f"{API}/profiles/noise", headers=admin).json()["fill_alert_pct"] is None
    r = client.patch(f"{API}/profiles/bins", json={"fill_alert_pct": 150}, headers=admin)
    assert r.status_code == 422
    r = client.patch(f"{API}/profiles/soil", json={"soil_alert_pct": 10}, headers=admin)
    assert r.status_code == 200
    html = client.get("/indices/soil").text
    assert 'data-needed="no"' in _row(html, "index-soil", "centre")  # 15 % > 10 %


def test_map_shows_a_days_atmo_band_and_humid_hours_beside_the_particles_figure(
    client: TestClient, indexed: IndexTerritory
) -> None:
    at = day_start(indexed.yesterday) + 3600
    r = client.get("/map", params={"metric": "pm25_ugm3", "period": "day", "at": at})
    assert r.status_code == 200, r.text
    rows = {z: _map_row(r.text, z) for z in PM25_BANDS}
    for zone, band in PM25_BANDS.items():
        assert f'data-band="{band}"' in rows[zone]
    assert "6 h d'air humide : probablement surestimé" in rows["monplaisir"]
    assert "air humide" not in rows["centre"]
    # held back readings were reported today, not in the day shown
    assert "0 écartées comme invraisemblables" in rows["centre"]
    assert 'href="/indices/particles"' in r.text
    assert "Plantower PMS5003" in r.text
    hour = client.get("/map", params={"metric": "pm25_ugm3", "period": "hour", "at": at}).text
    assert "data-band=" not in hour  # the ATMO sub-index is defined on a day's mean only


def test_zone_page_says_its_sensors_and_the_readings_left_out_this_week(
    client: TestClient, indexed: IndexTerritory
) -> None:
    html = htmllib.unescape(client.get("/map/zones/centre", params={"metric": "pm25_ugm3"}).text)
    assert "Capteurs\u00a0: 1 en service sur 1" in html
    assert "7 écartées comme invraisemblables" in html
    assert 'href="/indices/particles"' in html
    assert "non enregistrée" in html
    other = htmllib.unescape(client.get("/map/zones/doutre", params={"metric": "pm25_ugm3"}).text)
    assert "0 écartées comme invraisemblables" in other
    noise = htmllib.unescape(client.get("/map/zones/centre", params={"metric": "laeq_db"}).text)
    assert "0 écartées" in noise  # the held-back readings were an air sensor's
    assert "INMP441" in noise
