"""Attacks on the territory-wide privacy guarantees, through the real ingest API (signed
requests from two enrolled gateways) and the public API, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from fleet.web.alerts import AlertRules, refused_cell_alerts
from tests.fleet.gwsim import API, World
from tests.fleet.test_ingest import aggregate
from tests.fleet_web.conftest import browse

__all__ = ["browse", "people_cell"]

PARIS = ZoneInfo("Europe/Paris")
DAY = "2026-11-28"
DAY_START = int(datetime(2026, 11, 28, tzinfo=PARIS).timestamp())  # 23:00 UTC the day before
BUDGET = 8.0


def people_cell(zone: str, start: int, eps: float, people: int, **over: Any) -> dict[str, Any]:
    """An hourly people count as the gateway publishes it: its own epsilon, scale (Δ=2) and
    a 90 % interval of the discrete Laplace noise."""
    scale = 2 / eps
    half = math.ceil(scale * math.log(10))  # P(|noise| > half) <= 0.1
    cell = aggregate(
        zone,
        metric="people_n",
        start=start,
        n=60,
        mean=None,
        p95=None,
        people=people,
        dp={
            "mechanism": "discrete_laplace",
            "epsilon": eps,
            "scale": scale,
            "ci90": [people - half, people + half],
        },
    )
    cell.update(over)
    return cell


def _two_gateways_in_one_zone(world: World) -> None:
    world.claim(gateway="gw-a", zone=world.zone)
    world.claim(gateway="gw-b", zone=world.zone)


def _share(world: World, sim: Any) -> float:
    page = sim.sync(world.client).json()
    return float(page["privacy"]["zone_epsilon"][world.zone])


def _published(world: World, **params: Any) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    r = world.client.get(f"{API}/public/aggregates?limit=500&{query}")
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def _day(world: World) -> list[dict[str, Any]]:
    return _published(world, zone=world.zone, since=DAY_START, until=DAY_START + 86400)


def test_two_gateways_one_zone_a_full_paris_day_spends_at_most_the_zone_budget(
    world: World,
) -> None:
    _two_gateways_in_one_zone(world)
    shares = {sim.gateway_id: _share(world, sim) for sim in (world.gw_a, world.gw_b)}
    assert shares == {"gw-a": BUDGET / 2, "gw-b": BUDGET / 2}  # the zone's budget, shared
    for sim in (world.gw_a, world.gw_b):
        per_window = shares[sim.gateway_id] / 24
        for hour in range(24):  # one batch per closed hourly window, as the gateway sends
            cell = people_cell(world.zone, DAY_START + hour * 3600, per_window, 40 + hour)
            r = sim.ingest(world.client, {"batch_id": f"h{hour}", "aggregates": [cell]})
            assert r.status_code == 200, r.text
            assert r.json()["aggregates_applied"] == 1, r.json()
    cells = _day(world)
    assert len(cells) == 48
    assert len({c["source"] for c in cells}) == 2  # two releases, told apart, gateway unnamed
    assert "gw-" not in str(cells)
    spent = sum(c["dp_epsilon"] for c in cells)  # counted from what the fleet publishes
    assert spent <= BUDGET * (1 + 1e-9)
    assert spent > BUDGET - 1e-6  # the cooperative shares use the whole budget, no more
    for c in cells:
        assert c["dp_mechanism"] == "discrete_laplace"
        assert c["dp_ci90_low"] <= c["people"] <= c["dp_ci90_high"]
        assert c["dp_scale"] == 2 / c["dp_epsilon"]


def test_a_greedy_gateway_ignoring_its_share_is_refused_beyond_the_zone_budget_and_alerted(
    world: World, engine: Engine
) -> None:
    _two_gateways_in_one_zone(world)
    fair = _share(world, world.gw_a) / 24
    for hour in range(24):
        cell = people_cell(world.zone, DAY_START + hour * 3600, fair, 30)
        world.gw_a.ingest(world.client, {"batch_id": f"a{hour}", "aggregates": [cell]})
    greedy = BUDGET / 24  # the whole zone's budget for itself
    cells = [people_cell(world.zone, DAY_START + h * 3600, greedy, 31) for h in range(24)]
    r = world.gw_b.ingest(world.client, {"batch_id": "greedy", "aggregates": cells})
    assert r.status_code == 200, r.text
    assert r.json()["aggregates_applied"] == 12  # what was left of the zone's day: 4 of 8
    assert r.json()["refused"] == {"budget_exceeded": 12}
    again = world.gw_b.ingest(world.client, {"batch_id": "greedy", "aggregates": cells})
    assert again.json()["duplicate"] is True
    assert again.json()["refused"] == {"budget_exceeded": 12}  # told again, not applied again
    published = _day(world)
    assert len(published) == 36
    assert sum(c["dp_epsilon"] for c in published) <= BUDGET * (1 + 1e-9)
    with Session(engine) as session:
        rules = AlertRules.from_settings(world.client.app.state.settings)  # type: ignore[attr-defined]
        [alert] = refused_cell_alerts(session, rules=rules, now=int(time.time()))
    assert (alert.gateway_id, alert.zone_id, alert.reason, alert.count) == (
        "gw-b",
        world.zone,
        "budget_exceeded",
        12,
    )
    assert alert.day == DAY


def test_the_fleet_refuses_a_second_value_for_a_published_cell_and_polling_gives_one_value(
    world: World, browse: Any
) -> None:
    _two_gateways_in_one_zone(world)
    start = DAY_START + 10 * 3600
    first = people_cell(world.zone, start, 1 / 6, 41)
    r = world.gw_a.ingest(world.client, {"batch_id": "one", "aggregates": [first]})
    assert r.json()["aggregates_applied"] == 1
    # a retried cell in another batch: acknowledged, charged once, nothing changes
    r = world.gw_a.ingest(world.client, {"batch_id": "retry", "aggregates": [first]})
    assert (r.json()["aggregates_applied"], r.json()["refused"]) == (1, {})
    # the same window with fresh noise (a gateway restored from a backup): refused
    for i, people in enumerate((57, 38)):
        redraw = people_cell(world.zone, start, 1 / 6, people)
        r = world.gw_a.ingest(world.client, {"batch_id": f"redraw{i}", "aggregates": [redraw]})
        assert r.status_code == 200
        assert (r.json()["aggregates_applied"], r.json()["refused"]) == (
            0,
            {"conflicting_cell": 1},
        )
    # the same cell key from the other gateway is its own release, not a replacement
    other = people_cell(world.zone, start, 1 / 6, 20)
    assert (
        world.gw_b.ingest(world.client, {"batch_id": "b", "aggregates": [other]}).json()[
            "aggregates_applied"
        ]
        == 1
    )
    seen: dict[tuple[str, int, int], set[int]] = {}
    for _ in range(100):
        for c in _published(world, zone=world.zone):
            seen.setdefault((c["source"], c["start"], c["period_s"]), set()).add(c["people"])
    assert len(seen) == 2
    assert sorted(v for values in seen.values() for v in values) == [20, 41]
    report = world.client.get(f"{API}/public/privacy-report?zone={world.zone}").json()
    [day] = report["data"]
    assert day["cells_refused"] == {"budget_exceeded": 0, "conflicting_cell": 2}
    assert day["epsilon_spent"] == 2 / 6  # the retry and the refused redraws cost nothing
    page = browse("viewer").client.get("/dashboard/alerts")
    assert page.status_code == 200
    assert 'data-reason="conflicting_cell"' in page.text
    assert "gw-a" in page.text


def test_privacy_report_figures_equal_what_the_gateways_sent(world: World) -> None:
    _two_gateways_in_one_zone(world)
    eps = 4 / 24
    sent_a = [people_cell(world.zone, DAY_START + h * 3600, eps, 25) for h in range(20)]
    sent_a += [
        aggregate(
            world.zone,
            metric="people_n",
            start=DAY_START + h * 3600,
            n=None,
            mean=None,
            p95=None,
            suppressed=True,
            suppressed_reason=reason,
            dp=dp,
        )
        for h, reason, dp in (
            (20, "too_few_nodes", None),
            (21, "below_threshold", {"mechanism": "discrete_laplace", "epsilon": eps,
                                     "scale": 2 / eps, "ci90": [0, 30]}),
            (22, "budget_exhausted", None),
            (23, "budget_exhausted", None),
        )
    ]  # fmt: skip
    sent_a.append(aggregate(world.zone, start=DAY_START))  # temperature: no noise, no epsilon
    assert (
        world.gw_a.ingest(world.client, {"batch_id": "a", "aggregates": sent_a}).json()[
            "aggregates_applied"
        ]
        == 25
    )
    sent_b = [people_cell(world.zone, DAY_START + h * 3600, eps, 12) for h in range(3)]
    world.gw_b.ingest(world.client, {"batch_id": "b", "aggregates": sent_b})
    r = world.client.get(f"{API}/public/privacy-report?zone={world.zone}&since={DAY}&until={DAY}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "Europe/Paris"
    assert "epsilon" in body["explanation"]
    assert body["documentation"].startswith("docs/privacy")
    [day] = body["data"]
    assert day["zone_id"] == world.zone
    assert day["day"] == DAY
    assert day["epsilon_budget"] == BUDGET
    assert math.isclose(day["epsilon_spent"], eps * (20 + 1 + 3), rel_tol=1e-12)
    assert day["cells_published"] == 20 + 1 + 3
    assert day["cells_suppressed"] == {
        "too_few_nodes": 1,
        "below_threshold": 1,
        "budget_exhausted": 2,
    }
    assert day["cells_refused"] == {"budget_exceeded": 0, "conflicting_cell": 0}
    published = [c for c in _day(world) if not c["suppressed"]]
    assert len(published) == day["cells_published"]
    assert math.isclose(sum(c["dp_epsilon"] or 0 for c in _day(world)), day["epsilon_spent"])


def test_an_old_gateway_cell_shape_is_refused_clearly(world: World) -> None:
    world.claim()
    old = aggregate(world.zone, min=19.0, max=23.1)
    del old["suppressed_reason"]
    r = world.gw_a.ingest(world.client, {"batch_id": "old", "aggregates": [old]})
    assert r.status_code == 422
    assert "upgrade the gateway" in r.json()["detail"]
    bad = people_cell(world.zone, DAY_START, 0.1, 40)
    del bad["dp"]["ci90"]
    r = world.gw_a.ingest(world.client, {"batch_id": "old2", "aggregates": [bad]})
    assert r.status_code == 422
    assert "upgrade the gateway" in r.json()["detail"]
    undisclosed = people_cell(world.zone, DAY_START, 0.1, 40, dp=None)  # a raw people count
    r = world.gw_a.ingest(world.client, {"batch_id": "raw", "aggregates": [undisclosed]})
    assert r.status_code == 422
    assert world.client.get(f"{API}/public/aggregates").json()["data"] == []


def test_shares_follow_the_gateways_serving_the_zone_and_its_own_budget(world: World) -> None:
    world.claim(gateway="gw-a", zone=world.zone)
    assert _share(world, world.gw_a) == BUDGET  # alone in the zone
    first = world.gw_a.sync(world.client)
    cursor, etag = first.json()["cursor"], first.headers["etag"]
    world.claim(gateway="gw-b", zone=world.zone)
    # gw-a's own nodes did not change, but its share did: it gets a new page
    changed = world.gw_a.sync(world.client, cursor=cursor, etag=etag)
    assert changed.status_code == 200
    assert changed.json()["privacy"]["zone_epsilon"] == {world.zone: BUDGET / 2}
    world.client.app.state.settings.privacy_zone_epsilon = {world.zone: 3.0}  # type: ignore[attr-defined]
    assert _share(world, world.gw_b) == 1.5
    r = world.client.post(f"{API}/gateways/gw-b/revoke", headers=world.admin)
    assert r.status_code == 200, r.text
    assert _share(world, world.gw_a) == 3.0
