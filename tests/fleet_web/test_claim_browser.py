"""Claim codes in a real browser (Debian's Chromium, Playwright) against a real server: an
operator creates codes with the form in French, lands on the labels to print (QR and text),
cancels a code; the pages pass axe-core (WCAG 2.1 AA)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.fleet.gwsim import API, World
from tests.fleet_web.test_browser import (
    DESKTOP,
    EMAIL,
    FRENCH,
    PASSWORD,
    PHONE,
    SHOTS,
    Server,
    _axe_violations,
    _login,
    browser,
    server,
)

__all__ = ["browser", "server"]  # the fixtures, shared with the dashboard's browser tests


@pytest.fixture(scope="module")
def world(server: Server) -> Iterator[World]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        login = http.post(f"{API}/auth/login", json={"email": EMAIL, "password": PASSWORD})
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        token = http.post(f"{API}/tokens", json={"name": "seed"}, headers=csrf).json()["token"]
        http.cookies.clear()
        yield World.build(http, {"Authorization": f"Bearer {token}"})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def logged_in(browser: Browser, server: Server, world: World) -> Any:
    context = browser.new_context(viewport=DESKTOP, locale=FRENCH)
    page = context.new_page()
    _login(page, server)
    state = context.storage_state()
    context.close()
    return state


def test_operator_creates_codes_prints_labels_and_cancels_one(
    browser: Browser, server: Server, logged_in: Any, world: World
) -> None:
    context = browser.new_context(viewport=DESKTOP, storage_state=logged_in, locale=FRENCH)
    page = context.new_page()
    page.goto(server.url + "/dashboard")
    page.get_by_role("link", name="Codes d'installation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Codes d'installation")
    page.get_by_label("Passerelle").select_option("gw-b")
    page.get_by_label("Nombre de codes").fill("3")
    page.get_by_role("button", name="Créer et imprimer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Étiquettes à imprimer")
    labels = page.locator("li.label")
    expect(labels).to_have_count(3)
    codes = labels.locator("code.code").all_inner_texts()
    assert all(len(c) == 24 for c in codes), codes
    expect(labels.first.locator(".qr svg")).to_be_visible()
    box = labels.first.locator(".qr svg").bounding_box()
    assert box is not None
    assert 95 < box["width"] < 110, "the QR is 27 mm wide"
    r = httpx.post(f"{server.url}{API}/claim", json={"code": codes[2]})
    assert r.status_code == 201, r.text
    assert r.json()["gateway_id"] == "gw-b"
    page.get_by_role("link", name="Retour aux codes").click()
    rows = page.locator("tr[data-code]")
    expect(rows).to_have_count(2)
    page.get_by_role("button", name=f"Annuler le code n° {rows.first.get_attribute('data-code')}"
                     ).click()
    expect(page.get_by_role("status")).to_have_text("Code annulé.")
    expect(page.locator("tr[data-code]")).to_have_count(1)
    context.close()


@pytest.mark.parametrize("path", ["/dashboard/claim-codes", "/dashboard/claim-codes/labels"])
def test_claim_code_pages_pass_axe(
    browser: Browser, server: Server, logged_in: Any, world: World, path: str
) -> None:
    for viewport, lang in ((DESKTOP, "fr"), (PHONE, "en")):
        context: BrowserContext = browser.new_context(
            viewport=viewport, storage_state=logged_in, bypass_csp=True
        )
        page = context.new_page()
        page.goto(f"{server.url}{path}?lang={lang}")
        where = f"{path} ({lang}) at {viewport['width']} px"
        assert _axe_violations(page) == [], where
        SHOTS.mkdir(parents=True, exist_ok=True)
        name = path.rsplit("/", 1)[1]
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{viewport['width']}.png"),
                        full_page=True)
        context.close()
