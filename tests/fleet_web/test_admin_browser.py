"""The registry and administration pages in a real browser (Debian's Chromium, Playwright)
against a real server, in French, on a desktop and on a 390 px phone: an admin uploads a
GeoJSON file (checked, then imported), creates a sensor profile, creates a gateway and reads
its enrollment token (which then enrolls a gateway), creates an API token (which then works)
and revokes it. Every page on the way passes axe-core (WCAG 2.1 AA) and, on the phone, does
not scroll sideways."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.fleet.gwsim import API, GatewaySim
from tests.fleet_web.test_browser import (
    DESKTOP,
    FRENCH,
    PHONE,
    SHOTS,
    Server,
    _axe_violations,
    _login,
    browser,
    server,
)

__all__ = ["browser", "server"]  # the fixtures, shared with the dashboard's browser tests

ZONES_FILE = Path(__file__).resolve().parents[2] / "data" / "zones" / "angers-quartiers.geojson"


def _check(page: Page, viewport: ViewportSize, name: str) -> None:
    where = f"{page.url} at {viewport['width']} px"
    assert _axe_violations(page) == [], where
    if viewport is PHONE:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"admin-{name}-390.png"), full_page=True)
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{where} scrolls sideways: {widths}"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_admin_imports_zones_creates_a_profile_a_gateway_and_a_token(
    browser: Browser, server: Server, viewport: ViewportSize
) -> None:
    tag = str(viewport["width"])
    # bypass_csp: the page's policy would refuse the injected axe script (the test's own)
    context = browser.new_context(viewport=viewport, locale=FRENCH, bypass_csp=True)
    page = context.new_page()
    _login(page, server)

    # zones: check the file (nothing imported), then import it
    page.goto(server.url + "/dashboard/zones")
    expect(page.get_by_role("heading", level=1)).to_have_text("Zones")
    page.get_by_label("Fichier GeoJSON").set_input_files(ZONES_FILE)
    page.get_by_role("button", name="Vérifier sans importer").click()
    expect(page.get_by_role("heading", level=2).first).to_have_text(
        "Aperçu : rien n'est encore importé"
    )
    outcome = page.locator("#zones-outcome td[data-action]")
    expect(outcome).to_have_count(10)
    _check(page, viewport, "zones-preview")
    page.get_by_label("Fichier GeoJSON").set_input_files(ZONES_FILE)
    page.get_by_role("button", name="Importer", exact=True).click()
    expect(page.get_by_role("heading", level=2).first).to_have_text("Import terminé")
    expect(page.locator("#zone-table tbody tr[data-zone]")).to_have_count(10)
    expect(page.locator('tr[data-zone="belle-beille"] td[data-outline]')).to_have_text(
        "1 polygone(s)"
    )

    # a sensor profile: a refused field first, then saved
    page.get_by_role("link", name="Profils", exact=True).click()
    page.get_by_role("link", name="Nouveau profil").click()
    profile = f"bruit-{tag}"
    page.get_by_label("Identifiant").fill(profile)
    page.get_by_label("Nom").fill("Niveau sonore en façade")
    page.get_by_label("Niveau sonore équivalent").check()
    page.get_by_label("Base légale").fill("Mission d'intérêt public")
    page.get_by_label("Exploitant").fill("Ville d'Angers")
    page.get_by_label("Contact").fill("bruit@angers.example")
    page.get_by_label("Durée de conservation").fill("13 mois")
    page.get_by_role("button", name="Enregistrer le profil").click()
    expect(page.locator("#pf-purpose-error")).to_have_text("Obligatoire.")
    _check(page, viewport, "profile-form-error")
    page.get_by_label("Finalité").fill("Suivre le bruit des terrasses")
    page.get_by_role("button", name="Enregistrer le profil").click()
    expect(page.get_by_role("status")).to_have_text(f"Profil {profile} enregistré.")
    expect(page.locator(f'tr[data-profile="{profile}"]')).to_contain_text(
        "Niveau sonore équivalent"
    )
    _check(page, viewport, "profiles")

    # a gateway: its one-time token, and the command that enrolls it
    page.get_by_role("link", name="Passerelles", exact=True).click()
    gateway = f"gw-{tag}"
    page.get_by_label("Identifiant").fill(gateway)
    page.get_by_label("Nom").fill(f"Toit de la mairie ({tag})")
    page.get_by_role("button", name="Créer la passerelle").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Jeton d'enrôlement de {gateway}")
    command = page.locator("#enroll-command").inner_text()
    found = re.fullmatch(
        r"territoire gateway enroll --config /etc/territoire/gateway\.toml --token (\S+)", command
    )
    assert found, command
    assert page.locator("#enroll-token").inner_text() == found.group(1)
    _check(page, viewport, "gateway-token")
    with httpx.Client(base_url=server.url) as http:
        assert GatewaySim(gateway).enroll(http, found.group(1)).status_code == 200
    page.get_by_role("link", name="Retour aux passerelles").click()
    expect(page.locator(f'tr[data-gateway="{gateway}"] .status')).to_have_text("Active")
    _check(page, viewport, "gateways")

    # an API token: shown once, works, then revoked
    page.get_by_role("link", name="Jetons d'API").click()
    page.get_by_label("Nom").fill(f"script {tag}")
    page.get_by_label("Rôle").select_option("viewer")
    page.get_by_role("button", name="Créer le jeton").click()
    token = page.locator("#api-token").inner_text()
    assert token.startswith("tfa_")
    _check(page, viewport, "token-created")
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}{API}/zones", headers=bearer).status_code == 200
    page.get_by_role("link", name="Retour aux jetons").click()
    row = page.locator("tr[data-token]").filter(has_text=f"script {tag}")
    token_id = row.get_attribute("data-token")
    page.get_by_role("button", name=f"Révoquer le jeton n° {token_id}").click()
    expect(page.get_by_role("status")).to_have_text("Jeton révoqué.")
    expect(page.locator(f'tr[data-token="{token_id}"] td[data-state]')).to_have_attribute(
        "data-state", "revoked"
    )
    _check(page, viewport, "tokens")
    assert httpx.get(f"{server.url}{API}/zones", headers=bearer).status_code == 401
    context.close()
