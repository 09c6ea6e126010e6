"""The dashboard and public pages in a real browser (Debian's Chromium, driven by Playwright)
against a real uvicorn server on a free port, with a SQLite database seeded through the API.

Also: axe-core (WCAG 2.1 A and AA) on every main page, each page at 390 px wide without
sideways scrolling, keyboard use, and the whole revoke flow with JavaScript turned off.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from fleet.admin import create_admin
from fleet.migrations import upgrade
from tests.fleet.gwsim import API
from tests.fleet_web.seed import Territory, health, seed

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOT = ROOT / "docs" / "img" / "dashboard.png"
# phone screenshots of every checked page, to look at (not committed)
SHOTS = Path(os.environ.get("TERRITOIRE_SCREENSHOTS", "/tmp/territoire-screenshots"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
EMAIL, PASSWORD = "exploitation@angers.example", "correct horse battery staple"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
FRENCH = "fr-FR"  # the browser asks for French (Accept-Language); pages follow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = f"sqlite:///{tmp / 'fleet.db'}"
        self.env = {
            **os.environ,
            "TERRITOIRE_FLEET_ENVIRONMENT": "test",
            "TERRITOIRE_FLEET_DATABASE_URL": self.db,
            "TERRITOIRE_FLEET_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "TERRITOIRE_FLEET_COOKIE_SECURE": "false",  # plain HTTP on loopback
            "TERRITOIRE_FLEET_MIGRATE_ON_START": "false",
            # one history bucket per second, so a few seconds of seeding draw a chart
            "TERRITOIRE_FLEET_HEALTH_HISTORY_BUCKET_S": "1",
            "TERRITOIRE_FLEET_HEALTH_HISTORY_SPAN_S": "3600",
            "TERRITOIRE_FLEET_DASHBOARD_STATS_CACHE_S": "0",
            "TERRITOIRE_FLEET_DASHBOARD_LIVE_INTERVAL_S": "0.5",
            # shorter pages (the audit log's first page holds every change of the seeding):
            # axe's time grows with the page
            "TERRITOIRE_FLEET_PAGE_DEFAULT": "20",
        }
        self.log = (tmp / "server.log").open("wb")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        upgrade(self.db)
        create_admin(database_url=self.db, email=EMAIL, password=PASSWORD)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "fleet.main:app_from_environment", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--timeout-graceful-shutdown", "2"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}{API}/utils/health-check").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the fleet service did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("browser"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def territory(server: Server) -> Iterator[Territory]:
    """Seeded through the API: an admin token made from a cookie login, then everything."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        login = http.post(f"{API}/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        token = http.post(f"{API}/tokens", json={"name": "seed"}, headers=csrf).json()["token"]
        http.cookies.clear()
        yield seed(http, {"Authorization": f"Bearer {token}"}, rounds=5, pause_s=1.05)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _login(page: Page, server: Server, next_path: str = "/dashboard") -> None:
    page.goto(server.url + next_path)
    expect(page).to_have_url(f"{server.url}/dashboard/login?next={next_path.replace('/', '%2F')}")
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(server.url + next_path)


@pytest.fixture(scope="module")
def logged_in_state(browser: Browser, server: Server, territory: Territory) -> Any:
    context = browser.new_context(viewport=DESKTOP, locale=FRENCH)
    page = context.new_page()
    _login(page, server)
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def operator_page(browser: Browser, logged_in_state: Any, server: Server) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, storage_state=logged_in_state, locale=FRENCH)
    page = context.new_page()
    yield page
    context.close()


def test_operator_logs_in_sees_the_overview_and_filters_devices(
    browser: Browser, server: Server, territory: Territory
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale=FRENCH)
    page = context.new_page()
    _login(page, server)
    expect(page.get_by_role("heading", level=1)).to_have_text("Vue d'ensemble du parc")
    expect(page.locator('[data-live="total:offline"]')).to_have_text(str(len(territory.offline)))
    expect(page.locator('[data-live="total:never_seen"]')).to_have_text("2")
    expect(page.locator(".alert")).not_to_have_count(0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_role("link", name="Capteurs", exact=True).click()
    page.get_by_label("État").select_option("offline")
    page.get_by_role("button", name="Filtrer").click()
    rows = page.locator("#device-table tbody tr th a")
    expect(rows).to_have_text(territory.offline)
    page.get_by_label("Rechercher").fill(territory.offline[1])
    page.get_by_role("button", name="Filtrer").click()
    expect(rows).to_have_text([territory.offline[1]])
    page.get_by_role("link", name="Effacer les filtres").click()
    page.get_by_label("Quartier").select_option(label="Belle-Beille")
    page.get_by_label("Micrologiciel").select_option("0.2.0")
    page.get_by_role("button", name="Filtrer").click()
    expect(rows).not_to_have_count(0)
    for cell in page.locator("#device-table tbody td[data-label='Quartier']").all_inner_texts():
        assert cell == "Belle-Beille"
    context.close()


def test_device_detail_draws_the_health_history(operator_page: Page, server: Server,
                                                territory: Territory) -> None:  # fmt: skip
    node = territory.low_battery[0]
    operator_page.goto(f"{server.url}/dashboard/devices/{node}")
    charts = operator_page.locator("svg.chart-svg[role='img']")
    expect(charts).to_have_count(3)
    expect(charts.first.locator("circle")).to_have_count(5)  # five reports, a second apart
    expect(operator_page.locator(".alert[data-kind='low_battery']")).to_have_count(1)
    assert charts.first.get_attribute("aria-labelledby") == "chart-battery_v-t chart-battery_v-d"
    title = operator_page.locator("#chart-battery_v-t").text_content() or ""
    assert title.startswith("Tension de la batterie")
    spiking = territory.spiking[0]
    operator_page.goto(f"{server.url}/dashboard/devices/{spiking}")
    expect(operator_page.locator(".alert[data-kind='rejected_spike']")).to_have_count(1)


def test_live_updates_reach_the_open_overview(operator_page: Page, server: Server,
                                              territory: Territory) -> None:  # fmt: skip
    operator_page.goto(f"{server.url}/dashboard")
    expect(operator_page.locator("#live-status")).to_contain_text("Mise à jour en direct active")
    online = operator_page.locator('[data-live="total:online"]')
    before = int(online.inner_text())
    node = territory.never_seen[0]
    gateway = territory.nodes[node]["gateway_id"]
    with httpx.Client(base_url=server.url) as http:
        r = territory.gateways[gateway].ingest(
            http, {"batch_id": f"live-{time.time_ns()}",
                   "health": [health(node, last_seen=int(time.time()))]},
        )  # fmt: skip
        assert r.status_code == 200, r.text
    expect(online).to_have_text(str(before + 1), timeout=10_000)  # no reload: server-sent event
    territory.never_seen.remove(node)
    territory.online.append(node)


def test_operator_revokes_a_node_without_javascript(
    browser: Browser, logged_in_state: Any, server: Server, territory: Territory
) -> None:
    context = browser.new_context(
        viewport=DESKTOP, storage_state=logged_in_state, java_script_enabled=False, locale=FRENCH
    )
    page = context.new_page()
    node = territory.online[-1]
    page.goto(f"{server.url}/dashboard/devices/{node}")
    page.get_by_role("link", name="Révoquer ce capteur").click()
    page.get_by_label(f"Pour confirmer, saisissez l'identifiant du capteur ({node})").fill(node)
    page.get_by_role("button", name="Révoquer ce capteur").click()
    expect(page.locator(".flash")).to_have_text(f"Le capteur {node} est révoqué.")
    expect(page.locator("h1 .status")).to_have_text("Révoqué")
    context.close()
    page2 = browser.new_page(locale=FRENCH)
    page2.goto(f"{server.url}/register")
    expect(page2.locator('[data-state="reg_removed"]')).to_have_count(1)
    page2.close()
    territory.online.remove(node)


def test_citizen_reads_the_register_and_downloads_open_data(
    browser: Browser, server: Server, territory: Territory
) -> None:
    context = browser.new_context(viewport=PHONE, accept_downloads=True, locale=FRENCH)
    page = context.new_page()
    page.goto(f"{server.url}/register")
    expect(page.locator("article.sensor")).to_have_count(len(territory.nodes))
    expect(page.locator("body")).not_to_contain_text("ang-0")
    # today's pseudonyms, in today's order (by pseudonym), dates to the month only
    ids = page.locator("article.sensor dl code").all_text_contents()
    assert all(re.fullmatch(r"p-[0-9a-f]{20}", i) for i in ids)
    assert ids == sorted(ids)
    expect(page.locator("article.sensor").first).to_contain_text("Installé en (mois)")
    page.get_by_role("link", name="Données ouvertes").first.click()
    expect(page.get_by_role("heading", name="Ce que nous garantissons")).to_be_visible()
    expect(page.locator(".guarantees")).to_contain_text("ε = 8")

    with page.expect_download() as csv_dl:
        page.get_by_role("link", name="Toutes les données (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(csv_dl.value.path()).read_text("utf-8"))))
    assert {r["zone_id"] for r in rows} == {"centre", "doutre", "belle-beille", "monplaisir"}
    assert any(r["suppressed"] == "True" and r["mean"] == "" for r in rows)

    with page.expect_download() as ngsi_dl:
        page.get_by_role("link", name="Toutes les données (NGSI-LD)").click()
    entities = json.loads(Path(ngsi_dl.value.path()).read_text("utf-8"))
    assert {e["type"] for e in entities} == {
        "AirQualityObserved", "NoiseLevelObserved", "WeatherObserved", "CrowdFlowObserved",
    }  # fmt: skip
    assert len(entities) == 4 * 4 * 3  # models x zones x hours

    page.get_by_label("Quartier").select_option(label="Monplaisir")
    page.get_by_label("Mesure").select_option("rh_pct")
    page.get_by_label("NGSI-LD").check()
    with page.expect_download() as part_dl:
        page.get_by_role("button", name="Télécharger").click()
    part = json.loads(Path(part_dl.value.path()).read_text("utf-8"))
    assert [e["areaServed"]["value"] for e in part] == ["Monplaisir"] * 3
    assert all(0 <= e["relativeHumidity"]["value"] <= 1 for e in part)
    context.close()


def test_keyboard_reaches_the_skip_link_and_the_content(browser: Browser, server: Server,
                                                        territory: Territory) -> None:  # fmt: skip
    page = browser.new_page()
    page.goto(f"{server.url}/register")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    page.keyboard.press("Tab")
    in_main = "document.getElementById('main').contains(document.activeElement)"
    assert page.evaluate(in_main)
    page.close()


PAGES = [
    ("register", "/register", False),
    ("open-data", "/open-data", False),
    ("overview", "/dashboard", True),
    ("devices", "/dashboard/devices", True),
    ("device", "/dashboard/devices/{node}", True),
    ("alerts", "/dashboard/alerts", True),
    ("audit", "/dashboard/audit", True),
]


def _axe_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


@pytest.mark.parametrize(("name", "path", "login"), PAGES, ids=[p[0] for p in PAGES])
def test_page_passes_axe_and_fits_a_phone(
    browser: Browser,
    logged_in_state: Any,
    server: Server,
    territory: Territory,
    tmp_path: Path,
    name: str,
    path: str,
    login: bool,
) -> None:
    """axe in French on a desktop and in English on a phone; no sideways scroll at 390 px in
    either language (French words are longer)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = server.url + path.format(node=territory.low_battery[0])
    for viewport, lang, run_axe in (
        (DESKTOP, "fr", True),
        (PHONE, "en", True),
        (PHONE, "fr", False),
    ):
        # bypass_csp: the page's policy (scripts of this origin only) would refuse the
        # injected axe script; it is the test's, not the page's
        context: BrowserContext = browser.new_context(
            viewport=viewport, storage_state=logged_in_state if login else None, bypass_csp=True
        )
        page = context.new_page()
        page.goto(f"{url}?lang={lang}")
        assert page.evaluate("document.documentElement.lang") == lang
        where = f"{name} ({lang}) at {viewport['width']} px"
        if run_axe:
            assert _axe_violations(page) == [], where
        if viewport is PHONE:
            page.screenshot(path=str(SHOTS / f"{name}-{lang}-390.png"))
            widths = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert widths[0] <= widths[1], f"{where} scrolls sideways: {widths}"
        context.close()
