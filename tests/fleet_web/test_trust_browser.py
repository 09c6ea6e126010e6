"""The public records of trust and the question form in Debian's Chromium (Playwright) against
a real fleet server: the release log's hashes match the bundle's, the privacy report reads in
plain words, a resident's question is answered once an operator publishes it, the register is
reached from the map; French and English, axe-core at desktop and 390 px, no sideways scroll."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlmodel import Session

from fleet.core.db import make_engine
from fleet.models import ZonePrivacyDay
from protocol.manifest import sign_body
from protocol.release_bundle import pack
from tests.fleet.ota_helpers import body_of, publish, register_key, release_key
from tests.fleet_web.seed import ZONES, Territory
from tests.fleet_web.test_browser import (  # the same real server, browser and territory
    DESKTOP,
    FRENCH,
    PHONE,
    SHOTS,
    Server,
    _axe_violations,
    browser,
    logged_in_state,
    server,
    territory,
)

__all__ = ["browser", "logged_in_state", "server", "territory"]  # module fixtures, by name

NOTES = "Mesure du bruit corrigée.\nLes capteurs redémarrent plus vite."


@pytest.fixture(scope="module")
def bundle(territory: Territory) -> bytes:
    register_key(territory.client, territory.admin, release_key())  # type: ignore[arg-type]
    body, files = body_of("3.1.0")
    data = pack(files=files, manifest=sign_body(body, release_key()), notes=NOTES)
    r = publish(territory.client, territory.admin, data)  # type: ignore[arg-type]
    assert r.status_code == 201, r.text
    return data


@pytest.fixture(scope="module")
def privacy_day(server: Server, territory: Territory) -> str:
    engine = make_engine(server.db)
    with Session(engine) as s:
        s.add(ZonePrivacyDay(zone_id=ZONES[0][0], day="2026-11-02", epsilon_spent=2.0,
                             cells_published=12, suppressed_below_threshold=4))  # fmt: skip
        s.commit()
    engine.dispose()
    return ZONES[0][0]


def _check(browser: Browser, url: str, name: str, state: Any = None) -> None:
    """axe in French at desktop width and in English at 390 px; no sideways scroll."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    sizes: tuple[tuple[ViewportSize, str], ...] = ((DESKTOP, "fr"), (PHONE, "en"), (PHONE, "fr"))
    for viewport, lang in sizes:
        context = browser.new_context(viewport=viewport, bypass_csp=True, storage_state=state)
        page = context.new_page()
        page.goto(f"{url}{'&' if '?' in url else '?'}lang={lang}")
        assert page.evaluate("document.documentElement.lang") == lang
        where = f"{name} ({lang}) at {viewport['width']} px"
        assert _axe_violations(page) == [], where
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{where} scrolls sideways: {widths}"
        if viewport is PHONE:
            page.screenshot(path=str(SHOTS / f"{name}-{lang}-390.png"), full_page=True)
        context.close()


def test_release_log_hashes_match_the_bundle_on_a_phone(
    browser: Browser, server: Server, bundle: bytes
) -> None:
    context = browser.new_context(viewport=PHONE, locale=FRENCH)
    page = context.new_page()
    page.goto(server.url + "/")
    page.get_by_role("link", name="Logiciel des capteurs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal des versions du logiciel")
    release = page.locator("article.release").first
    expect(release.get_by_role("heading", level=2)).to_have_text("Version 3.1.0 (emu-x64)")
    expect(release.locator("[data-notes]")).to_have_text(NOTES)
    expect(release.locator('[data-hash="bundle"]')).to_have_text(hashlib.sha256(bundle).hexdigest())
    release.locator("summary").click()
    _, files = body_of("3.1.0")
    for path, data in files.items():
        cell = release.locator(f'[data-file="{path}"]')
        expect(cell).to_be_visible()
        expect(cell).to_have_text(hashlib.sha256(data).hexdigest())
    context.close()
    _check(browser, server.url + "/releases", "releases")


def test_privacy_report_reads_in_plain_words(
    browser: Browser, server: Server, privacy_day: str
) -> None:
    context = browser.new_context(viewport=PHONE, locale=FRENCH)
    page = context.new_page()
    page.goto(server.url + "/privacy-report")
    page.get_by_label("Quartier").select_option(privacy_day)
    page.get_by_label("Jour").fill("2026-11-02")
    page.get_by_role("button", name="Afficher").click()
    day = page.locator("article").first
    expect(day).to_contain_text("Budget dépensé : 2,00 sur 8,00 (25 %).")
    expect(day).to_contain_text("4 parce que le comptage était trop petit")
    context.close()
    _check(browser, f"{server.url}/privacy-report?zone={privacy_day}", "privacy-report")


def test_a_question_is_answered_once_an_operator_publishes_it(
    browser: Browser, server: Server, territory: Territory, logged_in_state: Any
) -> None:
    resident = browser.new_context(viewport=PHONE, locale=FRENCH).new_page()
    resident.goto(f"{server.url}/register")
    resident.get_by_role("link", name="Fiche, questions et réponses").first.click()
    entry_url = resident.url
    _check(browser, entry_url, "register-entry")
    resident.get_by_label("d'un problème à signaler").check()
    resident.get_by_label("Votre message").fill("Le capteur fait du bruit la nuit ?")
    resident.get_by_label("Nom (facultatif)").fill("Camille")
    resident.get_by_role("button", name="Envoyer").click()
    expect(resident.get_by_role("status")).to_contain_text("votre message est enregistré")

    operator = browser.new_context(
        viewport=PHONE, storage_state=logged_in_state, locale=FRENCH
    ).new_page()
    operator.goto(f"{server.url}/dashboard/questions")
    item = operator.locator("li[data-question]").filter(has_text="fait du bruit la nuit")
    expect(item).to_contain_text("Camille")
    item.get_by_label("Réponse (publique si publiée)").fill("Non : il mesure sans micro.")
    item.get_by_role("button", name="Publier la question et la réponse").click()
    expect(operator.get_by_role("status")).to_have_text("Question et réponse publiées.")
    _check(browser, f"{server.url}/dashboard/questions?status=published", "questions",
           state=logged_in_state)  # fmt: skip

    resident.goto(entry_url + "?lang=en")
    answer = resident.locator("li[data-answer]").first
    expect(answer).to_contain_text("Le capteur fait du bruit la nuit ?")
    expect(answer).to_contain_text("Non : il mesure sans micro.")
    expect(resident.locator("main")).not_to_contain_text("Camille")


def test_the_register_of_a_zone_is_reached_from_the_map(browser: Browser, server: Server,
                                                        territory: Territory) -> None:  # fmt: skip
    page: Page = browser.new_context(viewport=PHONE, locale=FRENCH).new_page()
    zone_id, zone_name = ZONES[1][0], ZONES[1][1]
    page.goto(f"{server.url}/map")
    page.get_by_role("link", name=f"Capteurs de {zone_name} au registre").click()
    expect(page).to_have_url(f"{server.url}/register?zone={zone_id}")
    expect(page.locator("article.sensor").first).to_contain_text(zone_name)
