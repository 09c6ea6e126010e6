"""The public map and zone charts in Debian's Chromium (Playwright) against a real fleet server
seeded through its API: every zone drawn in its figure's colour at 390 px, nothing fetched
from another origin, a click opens the zone's charts, axe-core finds nothing, French by
default and English from the switch, and the figures still there with JavaScript off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from fleet.zone_figures import PALETTE
from tests.fleet.gwsim import API
from tests.fleet_web.map_seed import PM25, outline_zones, publish_pm25
from tests.fleet_web.seed import ZONES, Territory
from tests.fleet_web.test_browser import (  # the same real server, browser and territory
    DESKTOP,
    FRENCH,
    PHONE,
    SHOTS,
    Server,
    _axe_violations,
    browser,
    server,
    territory,
)

__all__ = ["browser", "server", "territory"]  # module fixtures, shared by name


@pytest.fixture(scope="module")
def pm25_hour(server: Server, territory: Territory) -> int:
    outline_zones(territory)
    return publish_pm25(territory)


def _fills(page: Page) -> dict[str, str]:
    shapes = page.locator("path.zone-shape")
    expect(shapes).to_have_count(len(ZONES))
    return {str(s.get_attribute("data-zone")): str(s.get_attribute("fill")) for s in shapes.all()}


def _table_colours(page: Page) -> dict[str, str]:
    rows = page.locator("#map-table tbody tr")
    return {str(r.get_attribute("data-zone")): str(r.get_attribute("data-colour"))
            for r in rows.all()}  # fmt: skip


@pytest.fixture
def phone(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context(viewport=PHONE, locale=FRENCH)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    yield page, requested
    context.close()


def test_map_draws_every_zone_in_its_colour_at_390px_from_this_origin_only(
    phone: tuple[Page, list[str]], server: Server, pm25_hour: int
) -> None:
    page, requested = phone
    page.goto(f"{server.url}/map?metric=pm25_ugm3&at={pm25_hour}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Carte du territoire")
    fills = _fills(page)
    api = httpx.get(f"{server.url}{API}/public/map",
                    params={"metric": "pm25_ugm3", "at": pm25_hour}).json()  # fmt: skip
    assert fills == {z["zone_id"]: z["colour"] for z in api["zones"]}
    assert fills == _table_colours(page)
    assert fills["centre"] == PALETTE[0]
    assert fills["monplaisir"] == PALETTE[-1]
    assert len(set(fills.values())) == len(PM25)
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the map page scrolls sideways: {widths}"
    page.screenshot(path=str(SHOTS / "map-fr-390.png"), full_page=True)

    # another indicator and period: the same value everywhere, the middle colour
    page.get_by_label("Mesure", exact=True).select_option("temp_c")
    page.get_by_label("Période", exact=True).select_option("day")
    page.get_by_label("Quand", exact=True).select_option("")
    page.get_by_role("button", name="Afficher").click()
    expect(page).to_have_url(f"{server.url}/map?metric=temp_c&period=day&at=")
    assert set(_fills(page).values()) == {PALETTE[len(PALETTE) // 2]}

    page.locator('path[data-zone="doutre"]').dispatch_event("click")
    expect(page).to_have_url(f"{server.url}/map/zones/doutre?metric=temp_c")
    expect(page.locator("svg.chart-svg")).to_have_count(3)
    assert requested, "the pages were loaded"
    foreign = [u for u in requested if not u.startswith(server.url + "/")]
    assert foreign == []
    assert any(u.endswith("/static/vendor/leaflet/leaflet.js") for u in requested)


def test_zone_page_shows_its_charts_summary_and_table(
    phone: tuple[Page, list[str]], server: Server, pm25_hour: int
) -> None:
    page, requested = phone
    page.goto(f"{server.url}/map/zones/centre?metric=people_n")
    section = page.locator("#range-24h")
    expect(section.locator("svg.chart-svg[role='img']")).to_have_count(1)
    expect(section.locator("path.chart-line")).to_have_count(1)
    expect(section.locator("path.chart-compare")).to_have_count(1)
    # people counts carry their published 90 % interval: drawn as a band around the line
    expect(section.locator("polygon.chart-band")).to_have_count(1)
    expect(section.locator(".chart-summary")).to_contain_text("tendance : en hausse")
    table = section.locator("table.chart-table")
    expect(table).to_be_hidden()
    section.get_by_text("Les valeurs du graphique").click()
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").first.locator("td").first).to_have_text("139")
    foreign = [u for u in requested if not u.startswith(server.url + "/")]
    assert foreign == []


def test_map_speaks_english_from_the_language_switch(
    browser: Browser, server: Server, pm25_hour: int
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale=FRENCH)
    page = context.new_page()
    page.goto(f"{server.url}/map?metric=pm25_ugm3&at={pm25_hour}")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    french = _fills(page)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Map of the territory")
    expect(page.locator(".leaflet-control-zoom-in")).to_have_attribute("title", "Zoom in")
    assert _fills(page) == french
    page.goto(f"{server.url}/map/zones/centre?metric=temp_c")  # the choice is remembered
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Centre-ville - La Fayette - Éblé: charts"
    )
    context.close()


def test_map_figures_are_all_there_without_javascript(
    browser: Browser, server: Server, pm25_hour: int
) -> None:
    context = browser.new_context(viewport=PHONE, locale=FRENCH, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server.url}/map?metric=pm25_ugm3&at={pm25_hour}")
    expect(page.locator("#map")).to_be_hidden()
    expect(page.locator("#map-table tbody tr")).to_have_count(len(ZONES))
    expect(page.locator('#map-table tr[data-zone="centre"] td').first).to_have_text("8,0 µg/m³")
    context.close()


@pytest.mark.parametrize("path", ["/map?metric=pm25_ugm3", "/map/zones/centre?metric=people_n"])
def test_map_pages_pass_axe_at_desktop_and_phone_width(
    browser: Browser, server: Server, pm25_hour: int, path: str
) -> None:
    for viewport, lang in ((DESKTOP, "fr"), (PHONE, "en")):
        # bypass_csp: the page's policy would refuse the test's injected axe script
        context = browser.new_context(viewport=viewport, bypass_csp=True)
        page = context.new_page()
        page.goto(f"{server.url}{path}&lang={lang}")
        if path.startswith("/map?"):
            expect(page.locator("path.zone-shape")).to_have_count(len(ZONES))
        violations: list[dict[str, Any]] = _axe_violations(page)
        assert violations == [], f"{path} ({lang}) at {viewport['width']} px"
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{path} ({lang}) scrolls sideways: {widths}"
        context.close()
