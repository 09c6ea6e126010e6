"""A rollout in a real browser (Debian's Chromium, Playwright) against a real server: progress
per group and per node, the pause button, abort with its confirmation step (the page then says
aborted), and axe-core (WCAG 2.1 AA) on the update pages at desktop and phone widths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.fleet.gwsim import API, World
from tests.fleet.ota_helpers import NEW, OLD, item, ota_get, ota_status, published, report_health
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

GROUPS = [{"count": 2, "success": 1, "error": 0.5}, {"percent": 100, "success": 1, "error": 0.5}]


@pytest.fixture(scope="module")
def rollout(server: Server) -> Iterator[dict[str, Any]]:
    """Six nodes on gw-a; the two canaries confirmed (status and health), so group 2 is open
    and one of its nodes is switching into trial. Two more nodes in the target are ESP32
    boards: the release is for emu-x64, so they are not eligible."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        login = http.post(f"{API}/auth/login", json={"email": EMAIL, "password": PASSWORD})
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        token = http.post(f"{API}/tokens", json={"name": "seed"}, headers=csrf).json()["token"]
        http.cookies.clear()
        admin = {"Authorization": f"Bearer {token}"}
        world = World.build(http, admin)  # type: ignore[arg-type]
        nodes = [world.claim()["node_id"] for _ in range(6)]
        report_health(world, world.gw_a, dict.fromkeys(nodes, OLD))
        boards = sorted(world.claim()["node_id"] for _ in range(2))
        report_health(world, world.gw_a, dict.fromkeys(boards, OLD), hw="esp32")
        rel = published(http, admin)  # type: ignore[arg-type]
        body = {"name": "Printemps 1.4", "release_id": rel["id"], "groups": GROUPS}
        ro = http.post(f"{API}/rollouts", json=body, headers=admin).json()
        canaries = [n["node_id"] for n in ro["nodes"] if n["group"] == 0]
        second = [n["node_id"] for n in ro["nodes"] if n["group"] == 1]
        ota_status(http, world.gw_a, [item(n, "confirmed") for n in canaries])
        report_health(world, world.gw_a, dict.fromkeys(canaries, NEW))
        ota_status(http, world.gw_a, [item(second[0], "switching")])
        yield {
            "id": ro["id"],
            "canaries": canaries,
            "second": second,
            "boards": boards,
            "world": world,
            "http": http,
            "admin": admin,
        }


@pytest.fixture(scope="module")
def logged_in(browser: Browser, server: Server, rollout: dict[str, Any]) -> Any:
    context = browser.new_context(viewport=DESKTOP, locale=FRENCH)
    page = context.new_page()
    _login(page, server)
    state = context.storage_state()
    context.close()
    return state


def test_operator_follows_a_rollout_per_group_and_per_node_and_pauses_it(
    browser: Browser, server: Server, logged_in: Any, rollout: dict[str, Any]
) -> None:
    context = browser.new_context(viewport=DESKTOP, storage_state=logged_in, locale=FRENCH)
    page: Page = context.new_page()
    page.goto(server.url + "/dashboard")
    page.get_by_role("link", name="Mises à jour").click()
    page.get_by_role("link", name=f"#{rollout['id']} Printemps 1.4").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("En cours")
    groups = page.locator("#groups")
    g1, g2 = groups.locator('tr[data-group="1"]'), groups.locator('tr[data-group="2"]')
    expect(g1.locator("td").nth(0)).to_have_text("ouvert")
    expect(g1.locator("td").nth(2)).to_contain_text("2")
    expect(g2.locator("td").nth(0)).to_have_text("ouvert")
    expect(g2.locator("td").nth(4)).to_have_text("1")  # one node of group 2 is switching
    nodes = page.locator("#nodes")
    for n in rollout["canaries"]:
        row = nodes.locator(f'tr[data-node="{n}"]')
        expect(row.locator("td").nth(1)).to_have_text("Confirmé")
        expect(row.locator("td").nth(2)).to_contain_text(NEW)
    switching = nodes.locator(f'tr[data-node="{rollout["second"][0]}"]')
    expect(switching.locator("td").nth(1)).to_have_text("En cours")
    expect(switching.locator("td").nth(2)).to_contain_text(OLD)  # reported, never the wish
    before = ota_get(rollout["http"], rollout["world"].gw_a).json()["targets"]
    assert len(before) == 4, "group 2 is offered while the rollout runs"

    # live: a node of group 2 confirms; the open page shows it without a reload
    expect(page.locator("#live-status")).to_have_attribute("data-connected", "true")
    late = rollout["second"][1]
    ota_status(rollout["http"], rollout["world"].gw_a, [item(late, "confirmed")])
    report_health(rollout["world"], rollout["world"].gw_a, {late: NEW})
    row = nodes.locator(f'tr[data-node="{late}"]')
    expect(row.locator("td").nth(1)).to_have_text("Confirmé", timeout=15_000)
    expect(row.locator("td").nth(2)).to_contain_text(NEW)
    expect(g2.locator("td").nth(2)).to_contain_text("1")

    page.get_by_role("button", name="Mettre en pause").click()
    expect(page.locator(".flash")).to_have_text("Déploiement mis en pause.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("En pause")
    expect(page.get_by_role("button", name="Reprendre")).to_be_visible()
    expect(page.get_by_role("button", name="Mettre en pause")).to_have_count(0)
    api = rollout["http"].get(f"{API}/rollouts/{rollout['id']}", headers=rollout["admin"]).json()
    assert (api["status"], api["paused_reason"]) == ("paused", "operator")
    assert ota_get(rollout["http"], rollout["world"].gw_a).json()["targets"] == []
    context.close()


def test_nodes_of_another_hardware_are_shown_not_eligible_not_failed(
    browser: Browser, server: Server, logged_in: Any, rollout: dict[str, Any]
) -> None:
    context = browser.new_context(viewport=DESKTOP, storage_state=logged_in, locale=FRENCH)
    page: Page = context.new_page()
    page.goto(f"{server.url}/dashboard/rollouts/{rollout['id']}?lang=fr")
    expect(page.get_by_test_id("not-eligible-count")).to_have_text("2")
    expect(page.get_by_role("heading", name="Non éligibles")).to_be_visible()
    table = page.locator("#not-eligible-nodes")
    for n in rollout["boards"]:
        row = table.locator(f'tr[data-node="{n}"]')
        expect(row.locator("td").nth(0)).to_have_text("esp32")
        expect(row.locator("td").nth(1)).to_have_text("matériel esp32, version pour emu-x64")
        expect(page.locator(f'#nodes tr[data-node="{n}"]')).to_have_count(0)
    page.goto(f"{server.url}/dashboard/rollouts/{rollout['id']}?lang=en")
    expect(page.get_by_role("heading", name="Not eligible")).to_be_visible()
    expect(page.locator("#not-eligible-nodes tr[data-node] td").nth(1)).to_have_text(
        "hardware esp32, release for emu-x64")
    targets = ota_get(rollout["http"], rollout["world"].gw_a).json()["targets"]
    assert not {t["node_id"] for t in targets} & set(rollout["boards"])
    context.close()


@pytest.mark.parametrize("which", ["list", "detail"])
def test_update_pages_pass_axe_and_fit_a_phone(
    browser: Browser, server: Server, logged_in: Any, rollout: dict[str, Any], which: str
) -> None:
    path = "/dashboard/rollouts" + (f"/{rollout['id']}" if which == "detail" else "")
    for viewport, lang in ((DESKTOP, "fr"), (PHONE, "en"), (PHONE, "fr")):
        context: BrowserContext = browser.new_context(
            viewport=viewport, storage_state=logged_in, bypass_csp=True
        )
        page = context.new_page()
        page.goto(f"{server.url}{path}?lang={lang}")
        where = f"{which} ({lang}) at {viewport['width']} px"
        assert _axe_violations(page) == [], where
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SHOTS / f"rollout-{which}-{lang}-{viewport['width']}.png"), full_page=True
        )
        if viewport is PHONE:
            widths = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert widths[0] <= widths[1], f"{where} scrolls sideways: {widths}"
        context.close()


def _fits_a_phone(page: Page) -> bool:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return bool(widths[0] <= widths[1])


def test_abort_asks_for_confirmation_and_the_page_then_says_aborted(
    browser: Browser, server: Server, logged_in: Any, rollout: dict[str, Any]
) -> None:
    """Runs last: it ends the module's rollout."""
    api = f"{API}/rollouts/{rollout['id']}"

    def status() -> str:
        got: str = rollout["http"].get(api, headers=rollout["admin"]).json()["status"]
        return got

    before = status()
    assert before in {"running", "paused"}
    context = browser.new_context(
        viewport=DESKTOP, storage_state=logged_in, locale=FRENCH, bypass_csp=True
    )
    page: Page = context.new_page()
    page.goto(f"{server.url}/dashboard/rollouts/{rollout['id']}")
    page.get_by_role("button", name="Abandonner…").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"Abandonner le déploiement n° {rollout['id']} ?")
    expect(page.get_by_role("note")).to_contain_text("ne pourra pas être repris")
    assert _axe_violations(page) == []
    page.get_by_role("link", name="Annuler").click()  # changed one's mind: nothing happens
    expect(heading).to_contain_text("En pause" if before == "paused" else "En cours")
    assert status() == before

    page.get_by_role("button", name="Abandonner…").click()
    page.get_by_role("button", name="Abandonner définitivement").focus()  # by keyboard
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_have_text("Déploiement abandonné.")
    expect(heading).to_contain_text("Abandonné")
    expect(page.locator("#aborted-note")).to_contain_text("Ce déploiement est abandonné")
    expect(page.get_by_test_id("aborted-at")).to_contain_text(EMAIL)
    expect(page.get_by_role("button", name="Abandonner…")).to_have_count(0)
    expect(page.get_by_role("button", name="Reprendre")).to_have_count(0)
    expect(page.get_by_test_id("paused-reason")).to_have_count(0)  # no longer paused
    assert status() == "aborted"
    assert ota_get(rollout["http"], rollout["world"].gw_a).json()["targets"] == []
    assert _axe_violations(page) == []
    context.close()

    context = browser.new_context(viewport=PHONE, storage_state=logged_in, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{server.url}/dashboard/rollouts/{rollout['id']}?lang=en")
    expect(page.locator("#aborted-note")).to_contain_text("This rollout is aborted")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Aborted")
    assert _axe_violations(page) == []
    assert _fits_a_phone(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "rollout-aborted-en-390.png"), full_page=True)
    context.close()
