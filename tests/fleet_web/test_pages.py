"""Dashboard and public pages through the app's routes, on SQLite and PostgreSQL: login,
roles, CSRF on every form, languages, and what each page shows."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.fleet.gwsim import API
from tests.fleet_web.conftest import CSRF_FIELD, Browser, login_form
from tests.fleet_web.seed import Territory

Browse = Callable[[str], Browser]
DASHBOARD_PAGES = (
    "/dashboard",
    "/dashboard/devices",
    "/dashboard/gateways",
    "/dashboard/alerts",
)


def test_public_pages_need_no_login(territory: Territory, client: TestClient) -> None:
    for path in ("/register", "/open-data", "/open-data/aggregates.jsonld"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text)


def test_the_public_home_is_the_map_and_leads_to_every_public_page(
    territory: Territory, client: TestClient
) -> None:
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 200
    assert '<div id="map"' in home.text
    assert 'id="map-table"' in home.text
    assert '<section class="home-more"' in home.text
    for path in ("/indices", "/register", "/open-data", "/privacy-report", "/releases"):
        assert f'<li><a href="{path}">' in home.text, path
    assert "Aussi sur ce site" in home.text
    english = client.get("/?lang=en").text
    assert "Also on this site" in english
    assert "Map of the territory" in english
    # the map's own address stays the map, without the home's welcome
    assert 'class="home-more"' not in client.get("/map").text


def test_register_page_shows_the_json_registers_entries_and_nothing_identifying(
    territory: Territory, client: TestClient
) -> None:
    html = client.get("/register").text
    api = client.get(f"{API}/public/register").json()["data"]
    assert len(api) == 12
    for entry in api:
        assert f"<code>{entry['id']}</code>" in html
    for text in (
        "Finalité",
        "Base légale",
        "Données personnelles",
        "Conservation",
        "Installé en (mois)",
        'href="mailto:capteurs@angersloiremetropole.fr"',
        "Compteur de passages",
        "Identifiants Wi-Fi/BLE hachés",
        "Belle-Beille",
        "Particules PM2,5",
    ):
        assert text in html, text
    assert "ang-00" not in html
    assert "gw-a" not in html
    assert "gw-b" not in html


def test_register_marks_sensor_states_in_words(territory: Territory, client: TestClient) -> None:
    node = territory.online[0]
    r = client.post(f"{API}/nodes/{node}/revoke", headers=territory.admin)
    assert r.status_code == 200
    html = client.get("/register").text
    assert html.count('data-state="reg_removed"') == 1
    assert html.count('data-state="reg_inactive"') == 4  # offline 2 + never seen 2
    assert 'data-state="reg_active"' in html


@pytest.mark.parametrize("path", [*DASHBOARD_PAGES, "/dashboard/audit", "/dashboard/events"])
def test_dashboard_pages_send_visitors_to_the_login_page(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/dashboard/login?next=")


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_page_renders_for_each_role(territory: Territory, browse: Browse, role: str) -> None:
    b = browse(role)
    node = territory.online[0]
    for path in (*DASHBOARD_PAGES, f"/dashboard/devices/{node}"):
        r = b.client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert b.email in r.text  # who is logged in, beside the log-out button
        assert CSRF_FIELD.search(r.text)  # the log-out form carries the token
    audit = b.client.get("/dashboard/audit")
    overview = b.client.get("/dashboard").text
    if role == "viewer":
        assert audit.status_code == 403
        assert 'href="/dashboard/audit"' not in overview
    else:
        assert audit.status_code == 200
        assert "node.revoke" not in audit.text
        assert "zone.create" in audit.text
        assert 'href="/dashboard/audit"' in overview


def test_viewer_sees_no_revoke_button_and_is_refused(
    territory: Territory, browse: Browse, client: TestClient
) -> None:
    b = browse("viewer")
    node = territory.online[0]
    page = b.client.get(f"/dashboard/devices/{node}").text
    assert "/revoke" not in page
    assert b.client.get(f"/dashboard/devices/{node}/revoke").status_code == 403
    r = b.client.post(
        f"/dashboard/devices/{node}/revoke", data={"csrf_token": b.csrf(), "confirm": node}
    )
    assert r.status_code == 403
    assert "Cette action demande le rôle « exploitant »." in r.text
    state = client.get(f"{API}/nodes/{node}", headers=territory.admin).json()["status"]
    assert state == "active"


def test_operator_revokes_a_node_after_typing_its_id(
    territory: Territory, browse: Browse, client: TestClient
) -> None:
    b = browse("operator")
    node = territory.online[0]
    assert (
        f'href="/dashboard/devices/{node}/revoke"'
        in b.client.get(f"/dashboard/devices/{node}").text
    )
    form = b.client.get(f"/dashboard/devices/{node}/revoke")
    assert form.status_code == 200
    assert "définitive" in form.text
    token = CSRF_FIELD.search(form.text)
    assert token
    wrong = b.client.post(
        f"/dashboard/devices/{node}/revoke",
        data={"csrf_token": token.group(1), "confirm": "ang-9999"},
    )
    assert wrong.status_code == 422
    assert 'aria-invalid="true"' in wrong.text
    assert client.get(f"{API}/nodes/{node}", headers=territory.admin).json()["status"] == "active"
    done = b.client.post(
        f"/dashboard/devices/{node}/revoke",
        data={"csrf_token": token.group(1), "confirm": node},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = b.client.get(done.headers["location"]).text
    assert f"Le capteur {node} est révoqué." in shown
    assert "/revoke" not in shown.split("</main>")[0].split("<main")[1]
    assert client.get(f"{API}/nodes/{node}", headers=territory.admin).json()["status"] == "revoked"
    audit = client.get(f"{API}/audit?entity_type=node&entity_id={node}", headers=territory.admin)
    [event] = [e for e in audit.json()["data"] if e["action"] == "node.revoke"]
    assert event["actor"].startswith("operator:")
    assert b.email in b.client.get(f"/dashboard/audit?entity_id={node}").text


def test_every_form_post_requires_the_csrf_token(
    territory: Territory, browse: Browse, client: TestClient
) -> None:
    b = browse("admin")
    node = territory.online[0]
    for data in ({"confirm": node}, {"confirm": node, "csrf_token": "x" * 64}):
        r = b.client.post(f"/dashboard/devices/{node}/revoke", data=data)
        assert r.status_code == 403
        assert "formulaire a expiré" in r.text
    assert client.get(f"{API}/nodes/{node}", headers=territory.admin).json()["status"] == "active"
    assert b.client.post("/dashboard/logout", data={}).status_code == 403
    assert b.client.get("/dashboard").status_code == 200  # still logged in
    r = b.client.post("/dashboard/logout", data={"csrf_token": b.csrf()}, follow_redirects=False)
    assert r.status_code == 303
    assert b.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_login_form_needs_its_own_token(app: FastAPI, browse: Browse) -> None:
    b = browse("viewer")  # creates the account
    with TestClient(app, base_url="https://testserver") as fresh:
        r = fresh.post(
            "/dashboard/login", data={"email": b.email, "password": "correct horse battery staple"}
        )
        assert r.status_code == 403
        assert "territoire_session" not in fresh.cookies
        login_form(fresh, b.email)
        assert fresh.get("/dashboard").status_code == 200


def test_wrong_password_is_refused_with_a_message(app: FastAPI, browse: Browse) -> None:
    b = browse("viewer")
    with TestClient(app, base_url="https://testserver") as fresh:
        page = fresh.get("/dashboard/login").text
        token = CSRF_FIELD.search(page)
        assert token
        r = fresh.post(
            "/dashboard/login",
            data={"email": b.email, "password": "wrong password!", "csrf_token": token.group(1)},
        )
        assert r.status_code == 401
        assert "Adresse ou mot de passe incorrect" in r.text
        assert 'value="' + b.email + '"' in r.text


def test_login_never_redirects_to_another_site(app: FastAPI, browse: Browse) -> None:
    b = browse("viewer")
    with TestClient(app, base_url="https://testserver") as fresh:
        page = fresh.get("/dashboard/login?next=https://evil.example/x").text
        assert 'name="next" value="/dashboard"' in page
        token = CSRF_FIELD.search(page)
        assert token
        r = fresh.post(
            "/dashboard/login",
            data={
                "email": b.email,
                "password": "correct horse battery staple",
                "csrf_token": token.group(1),
                "next": "//evil.example/x",
            },
            follow_redirects=False,
        )
        assert r.headers["location"] == "/dashboard"


def test_pages_are_french_by_default_and_english_on_request(app: FastAPI) -> None:
    client = TestClient(app, base_url="https://testserver")  # the cookie is Secure
    fr = client.get("/register")
    assert '<html lang="fr">' in fr.text
    assert "Registre public des capteurs" in fr.text
    en = client.get("/register", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert '<html lang="en">' in en.text
    assert "Public sensor register" in en.text
    weighted = client.get("/register", headers={"Accept-Language": "de, en;q=0.4, fr;q=0.8"})
    assert '<html lang="fr">' in weighted.text
    switched = client.get("/open-data?lang=en")
    assert '<html lang="en">' in switched.text
    assert "territoire_lang=en" in switched.headers["set-cookie"]
    # the cookie is remembered and beats the browser's preference
    later = client.get("/register", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in later.text
    back = client.get("/register?lang=fr")
    assert '<html lang="fr">' in back.text
    # the switch links keep the page and its query
    assert 'href="/register?lang=en"' in back.text


def test_dashboard_speaks_english_too(territory: Territory, browse: Browse) -> None:
    b = browse("operator")
    r = b.client.get("/dashboard/alerts?lang=en")
    assert "Low batteries" in r.text
    assert "Offline devices" in r.text
    assert "Batterie" not in r.text
    assert "Fleet overview" in b.client.get("/dashboard").text


def test_pages_carry_security_headers(client: TestClient) -> None:
    r = client.get("/register")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert not re.search(r"<script>|style=\"|onclick=", r.text)


def test_unknown_device_is_a_404_page_in_the_visitors_language(browse: Browse) -> None:
    b = browse("viewer")
    r = b.client.get("/dashboard/devices/ang-9999")
    assert r.status_code == 404
    assert "Ce capteur n&#39;existe pas." in r.text
    r = b.client.get("/dashboard/devices/ang-9999?lang=en")
    assert "This device does not exist." in r.text


def test_the_device_page_shows_the_nodes_interval_or_that_it_is_not_known(
    territory: Territory, browse: Browse, client: TestClient
) -> None:
    b = browse("viewer")
    node = territory.online[0]
    assert (
        "inconnu (la passerelle applique son intervalle par défaut)"
        in b.client.get(f"/dashboard/devices/{node}").text
    )
    r = client.patch(f"{API}/nodes/{node}", json={"interval_s": 300}, headers=territory.admin)
    assert r.status_code == 200, r.text
    page = b.client.get(f"/dashboard/devices/{node}").text
    assert re.search(r"<dt>Intervalle de mesure</dt><dd>300 s</dd>", page)
