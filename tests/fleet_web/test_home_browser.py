"""The public home (the map) in Debian's Chromium (Playwright) against a real fleet server:
its whole compressed transfer under 300 KB (docs/performance.md), usable by keyboard with a
visible focus, and the home and a zone's charts saying their figures with JavaScript off."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.fleet_web.map_seed import outline_zones, publish_pm25
from tests.fleet_web.seed import ZONES, Territory
from tests.fleet_web.test_browser import (  # the same real server, browser and territory
    DESKTOP,
    FRENCH,
    PHONE,
    Server,
    browser,
    server,
    territory,
)

__all__ = ["browser", "server", "territory"]  # module fixtures, shared by name

HOME_BUDGET = 300 * 1024


@pytest.fixture(scope="module")
def pm25_hour(server: Server, territory: Territory) -> int:
    outline_zones(territory)
    return publish_pm25(territory)


def test_the_home_page_loads_in_under_300_kb_of_compressed_transfer(
    browser: Browser, server: Server, pm25_hour: int
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale=FRENCH)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    encodings: dict[str, str] = {}

    def response(e: dict[str, Any]) -> None:
        urls[e["requestId"]] = e["response"]["url"]
        headers = {k.lower(): v for k, v in e["response"]["headers"].items()}
        encodings[e["requestId"]] = headers.get("content-encoding", "")

    cdp.on("Network.responseReceived", response)
    cdp.on("Network.loadingFinished",
           lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(f"{server.url}/", wait_until="networkidle")
    expect(page.locator("path.zone-shape")).to_have_count(len(ZONES))
    total = sum(sizes.values())
    by_url = sorted(((sizes[r], urls.get(r, "?")) for r in sizes), reverse=True)
    print(f"home page: {len(sizes)} requests, {total} bytes on the wire: {by_url}")
    home = next(r for r, u in urls.items() if u == f"{server.url}/")
    assert encodings[home] == "gzip", "the home page is sent compressed"
    assert all(u.startswith(server.url + "/") for u in urls.values()), "one origin only"
    assert len(sizes) >= 4  # the page, its CSS, the map script, Leaflet: all counted
    assert total < HOME_BUDGET, by_url
    context.close()


def _focused(page: Any) -> dict[str, str]:
    return dict(page.evaluate("""() => {
        const el = document.activeElement;
        const s = getComputedStyle(el);
        return {tag: el.tagName, id: el.id || "", href: el.getAttribute("href") || "",
                hreflang: el.getAttribute("hreflang") || "",
                outline: s.outlineStyle + " " + s.outlineWidth};
    }"""))


def test_the_home_page_is_usable_by_keyboard_with_a_visible_focus(
    browser: Browser, server: Server, pm25_hour: int
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale=FRENCH)
    page = context.new_page()
    page.goto(f"{server.url}/")
    expect(page.locator("#map-table tbody tr")).to_have_count(len(ZONES))
    # no header word is broken across lines ("Valeu r"): each word's box is one rectangle
    broken = page.evaluate("""() => [...document.querySelectorAll('#map-table thead th')]
        .flatMap(th => {
            const text = th.firstChild, out = [];
            if (!text || text.nodeType !== 3) return out;
            let at = 0;
            for (const word of text.data.split(/\\s+/).filter(Boolean)) {
                const i = text.data.indexOf(word, at), r = document.createRange();
                r.setStart(text, i); r.setEnd(text, i + word.length); at = i + word.length;
                if (r.getClientRects().length > 1) out.push(word);
            }
            return out;
        })""")
    assert broken == []
    reached: dict[str, dict[str, str]] = {}
    for _ in range(80):
        page.keyboard.press("Tab")
        f = _focused(page)
        if f["id"] in ("m-metric", "m-period"):
            reached.setdefault(f["id"], f)
        elif f["href"].startswith("/map/zones/"):
            reached.setdefault("zone link", f)
        elif f["hreflang"] == "en":
            reached.setdefault("language switch", f)
        if len(reached) == 4:
            break
    assert set(reached) == {"m-metric", "m-period", "zone link", "language switch"}, reached
    for what, f in reached.items():
        assert f["outline"] == "solid 3px", (what, f)  # :focus-visible's outline
    # and Enter on the zone link opens its charts
    page.locator('#map-table a[href^="/map/zones/"]').first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("svg.chart-svg").first).to_be_visible()
    context.close()


def test_the_home_and_a_zones_charts_say_their_figures_without_javascript(
    browser: Browser, server: Server, pm25_hour: int
) -> None:
    context = browser.new_context(viewport=PHONE, locale=FRENCH, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server.url}/?metric=pm25_ugm3&at={pm25_hour}")
    expect(page.locator("#map-table tbody tr")).to_have_count(len(ZONES))
    expect(page.locator('#map-table tr[data-zone="centre"] td').first).to_have_text("8,0 µg/m³")
    page.goto(f"{server.url}/map/zones/centre?metric=pm25_ugm3")
    section = page.locator("#range-24h")
    expect(section.locator("svg.chart-svg[role='img']")).to_have_count(1)
    expect(section.locator(".chart-summary")).to_contain_text("8,0")
    section.get_by_text("Les valeurs du graphique").click()  # <details>: no script needed
    expect(section.locator("table.chart-table tbody tr").first).to_be_visible()
    context.close()
