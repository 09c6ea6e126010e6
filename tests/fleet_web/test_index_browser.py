"""The index pages in Debian's Chromium (Playwright) against a real fleet server fed through
its API: readable at 390 px without sideways scrolling, French by default and English from
the switch, and no axe-core violation on any index page or on the map and zone pages that now
say how sure their figures are, at desktop and phone width."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.fleet_web.index_seed import IndexTerritory, seed_indices
from tests.fleet_web.seed import Territory
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

PAGES = [
    "/indices",
    "/indices/particles",
    "/indices/noise",
    "/indices/heat",
    "/indices/bins",
    "/indices/soil",
    "/map?metric=pm25_ugm3&period=day",
    "/map/zones/centre?metric=pm25_ugm3",
]


@pytest.fixture(scope="module")
def indexed(server: Server, territory: Territory) -> IndexTerritory:
    return seed_indices(territory)


def _no_sideways_scroll(page: Any, what: str) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{what} scrolls sideways: {widths}"


def test_index_pages_read_at_390px_in_french_then_english(
    browser: Browser, server: Server, indexed: IndexTerritory
) -> None:
    context = browser.new_context(viewport=PHONE, locale=FRENCH)
    page = context.new_page()
    page.goto(f"{server.url}/map")
    page.get_by_role("link", name="Indices", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Indices en clair")
    page.get_by_role("link", name="Chaleur (seuils canicule)").click()
    expect(page).to_have_url(f"{server.url}/indices/heat")
    centre = page.locator('#index-heat tr[data-zone="centre"]')
    expect(centre).to_have_attribute("data-reached", "yes")
    expect(centre).to_contain_text("Seuils canicule atteints")
    _no_sideways_scroll(page, "/indices/heat")
    page.goto(f"{server.url}/indices/particles")
    expect(page.locator("#atmo-bands tbody tr")).to_have_count(6)
    expect(page.locator(".q-calibration").first).to_have_text(
        "non enregistrée : le registre ne garde pas de date d'étalonnage par capteur."
    )
    _no_sideways_scroll(page, "/indices/particles")
    page.screenshot(path=str(SHOTS / "indices-particles-fr-390.png"), full_page=True)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fine particles (ATMO index, WHO)")
    expect(page.locator("#atmo-bands tbody tr").last).to_contain_text("Extremely poor")
    page.goto(f"{server.url}/indices/noise")  # the choice is remembered
    expect(page.get_by_role("heading", level=1)).to_have_text("Noise (Lden, Lnight, WHO)")
    expect(page.locator('#index-noise tr[data-zone="centre"] .lden')).to_contain_text("65.0")
    _no_sideways_scroll(page, "/indices/noise")
    context.close()


@pytest.mark.parametrize("path", PAGES)
def test_index_and_map_pages_pass_axe_at_desktop_and_phone_width(
    browser: Browser, server: Server, indexed: IndexTerritory, path: str
) -> None:
    for viewport, lang in ((DESKTOP, "fr"), (PHONE, "en")):
        # bypass_csp: the page's policy would refuse the test's injected axe script
        context = browser.new_context(viewport=viewport, bypass_csp=True)
        page = context.new_page()
        sep = "&" if "?" in path else "?"
        page.goto(f"{server.url}{path}{sep}lang={lang}")
        violations: list[dict[str, Any]] = _axe_violations(page)
        assert violations == [], f"{path} ({lang}) at {viewport['width']} px"
        _no_sideways_scroll(page, f"{path} ({lang}) at {viewport['width']} px")
        context.close()
