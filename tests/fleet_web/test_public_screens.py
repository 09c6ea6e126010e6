"""Every public page in Debian's Chromium (Playwright) against a real fleet server fed through
its API, at desktop width and at 390 px: axe-core finds no WCAG 2.1 AA violation, nothing
scrolls sideways on a phone, and a full-page screenshot of each is saved at both widths in
``TERRITOIRE_SCREENSHOTS`` (default /tmp/territoire-screenshots), with its first screen alone
(``-top``; the README's, in docs/img/, come from those).

The territory has the quartiers' outlines, the index pages' whole days of cells, a published
release and a day of the privacy report, so every page shows what a resident would see.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from tests.fleet.gwsim import API
from tests.fleet_web.index_seed import IndexTerritory, day_start, seed_indices
from tests.fleet_web.map_seed import outline_zones
from tests.fleet_web.seed import ZONES, Territory
from tests.fleet_web.test_browser import (  # the same real server, browser and territory
    DESKTOP,
    PHONE,
    SHOTS,
    Server,
    _axe_violations,
    browser,
    server,
    territory,
)
from tests.fleet_web.test_trust_browser import bundle, privacy_day

__all__ = ["browser", "bundle", "privacy_day", "server", "territory"]  # module fixtures

# (name of the screenshot, address); "{entry}" is a register entry's pseudonym of today,
# "{day}" a time in the index territory's whole day of cells (a figure per zone)
PAGES = [
    ("home", "/"),
    ("map", "/map?metric=pm25_ugm3&period=day&at={day}"),
    ("zone-charts", "/map/zones/centre?metric=pm25_ugm3"),
    ("indices", "/indices"),
    ("index-particles", "/indices/particles"),
    ("index-noise", "/indices/noise"),
    ("index-heat", "/indices/heat"),
    ("index-bins", "/indices/bins"),
    ("index-soil", "/indices/soil"),
    ("register", "/register"),
    ("register-entry", "/register/{entry}"),
    ("open-data", "/open-data"),
    ("privacy-report", "/privacy-report?zone={zone}"),
    ("releases", "/releases"),
]
# on a phone, the first screen shot starts at the map or the first chart
PHONE_FIRST = {"home": "map-heading", "map": "map-heading", "zone-charts": "range-24h"}
WIDTHS: tuple[tuple[ViewportSize, str], ...] = ((DESKTOP, "desktop"), (PHONE, "390"))


@pytest.fixture(scope="module")
def public_territory(
    server: Server, territory: Territory, bundle: bytes, privacy_day: str
) -> IndexTerritory:
    outline_zones(territory)
    return seed_indices(territory)


@pytest.fixture(scope="module")
def entry(public_territory: IndexTerritory, territory: Territory) -> str:
    """A pseudonym of today of a sensor in the register."""
    r = territory.client.get(f"{API}/public/register")
    assert r.status_code == 200, r.text
    return str(r.json()["data"][0]["id"])


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_public_page_passes_axe_at_both_widths_and_is_captured(
    browser: Browser, server: Server, public_territory: IndexTerritory, entry: str,
    name: str, path: str,
) -> None:  # fmt: skip
    SHOTS.mkdir(parents=True, exist_ok=True)
    day = day_start(public_territory.yesterday) + 12 * 3600
    url = server.url + path.format(entry=entry, zone=ZONES[0][0], day=day)
    for viewport, width in WIDTHS:
        # bypass_csp: the page's policy would refuse the test's injected axe script
        context = browser.new_context(viewport=viewport, bypass_csp=True)
        page = context.new_page()
        page.goto(f"{url}{'&' if '?' in url else '?'}lang=fr")
        where = f"{name} at {viewport['width']} px"
        if name in ("home", "map"):  # the map drawn, every quartier in its colour
            expect(page.locator("path.zone-shape")).to_have_count(len(ZONES))
        if name == "register-entry":
            expect(page.get_by_label("Votre message")).to_be_visible()
        violations: list[dict[str, Any]] = _axe_violations(page)
        assert violations == [], where
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{where} scrolls sideways: {widths}"
        page.screenshot(path=str(SHOTS / f"public-{name}-{width}.png"), full_page=True)
        # what the first screen shows, smaller: the README's are chosen from these; on a
        # phone, the first screen of the map itself
        if name in PHONE_FIRST and viewport is PHONE:
            page.locator(f"#{PHONE_FIRST[name]}").evaluate("e => e.scrollIntoView()")
        page.screenshot(path=str(SHOTS / f"public-{name}-{width}-top.png"))
        context.close()
