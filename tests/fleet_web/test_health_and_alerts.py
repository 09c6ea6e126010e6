"""Health history (bounded per node, fed by ingest) and the alerts computed from health."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from fastapi import FastAPI
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from fleet.crud.health_history import HistoryBounds, node_samples
from fleet.crud.ingest import apply_batch
from fleet.models import IngestRequest, Node, NodeHealth, NodeHealthSample
from fleet.web.alerts import (
    AlertRules,
    NodeState,
    compute_alerts,
    node_alerts,
    rejected_increase,
)
from fleet.web.stats import fleet_stats
from tests.fleet_web.conftest import Browser
from tests.fleet_web.seed import Territory, health

RULES = AlertRules(
    offline_after_s=900,
    low_battery_v=3.4,
    rejected_spike=20,
    rejected_window_s=3600,
    bucket_s=1800,
    list_max=200,
)
T0 = 1_790_000_000


def _ingest(
    terr: Territory, engine: Engine, node_id: str, *, at: int, bounds: HistoryBounds, **kw: object
) -> None:
    item = health(node_id, last_seen=at, **kw)  # type: ignore[arg-type]
    batch = IngestRequest.model_validate({"batch_id": f"b{at}", "health": [item]})
    gateway = terr.nodes[node_id]["gateway_id"]
    with Session(engine) as session:
        result = apply_batch(session, gateway_id=gateway, batch=batch, now=at, history=bounds)
        assert result.health_applied == 1
        session.commit()


def test_history_keeps_one_sample_per_bucket_and_at_most_span_over_bucket(
    territory: Territory, engine: Engine
) -> None:
    node = territory.never_seen[0]  # no sample yet
    bounds = HistoryBounds.covering(bucket_s=600, span_s=3600)
    assert bounds.slots == 6
    for i in range(30):  # 5 hours of reports every 10 minutes, then a late one
        _ingest(
            territory,
            engine,
            node,
            at=T0 + 600 * i,
            bounds=bounds,
            battery_v=round(4.0 - i / 100, 2),
        )
    _ingest(territory, engine, node, at=T0 + 600 * 29 + 300, bounds=bounds, battery_v=3.5)
    with Session(engine) as session:
        count = session.exec(select(func.count()).where(NodeHealthSample.node_id == node)).one()
        assert count == 6
        kept = node_samples(session, node_id=node, since=0)
    assert [s.at for s in kept] == [T0 + 600 * i for i in range(24, 30)]
    assert kept[-1].battery_v == 3.71  # the first report of its bucket, not the late one


def test_deleting_a_node_deletes_its_history(territory: Territory, engine: Engine) -> None:
    node = territory.never_seen[0]
    _ingest(territory, engine, node, at=T0, bounds=HistoryBounds.covering(bucket_s=60, span_s=600))
    with Session(engine) as session:
        session.delete(session.get(NodeHealth, node))
        session.delete(session.get(Node, node))
        session.commit()
        assert node_samples(session, node_id=node, since=0) == []


def test_rejected_increase_counts_across_gateway_restarts() -> None:
    assert rejected_increase([5, 9, 30], baseline=5) == 25
    assert rejected_increase([5, 9, 30], baseline=None) == 30
    assert rejected_increase([40, 3, 10], baseline=35) == 5 + 10  # restart after 40
    assert rejected_increase([], baseline=7) == 0


def _node(status: str = "active") -> Node:
    return Node(
        id="ang-0001",
        zone_id="centre",
        profile_id="p",
        installed_on=date(2026, 1, 1),
        status=status,  # type: ignore[arg-type]
    )


def _health(last_seen: int, battery_v: float | None = 3.9, rejected: int = 0) -> NodeHealth:
    return NodeHealth(
        node_id="ang-0001",
        gateway_id="gw-a",
        last_seen=last_seen,
        battery_v=battery_v,
        fw="0.2.0",
        slot="a",
        boot=1,
        buffered=0,
        rejected={"bad_mac": rejected} if rejected else {},
        received_at=last_seen,
    )


def _state(health: NodeHealth | None, status: str = "active") -> NodeState:
    return NodeState.of(_node(status), health)


def test_node_alerts_follow_the_rules() -> None:
    now = T0 + 10_000

    def alerts(health: NodeHealth | None, status: str = "active") -> list[tuple[str, float]]:
        found = node_alerts(_state(health, status), samples=(), rules=RULES, now=now)
        return [(a.kind, a.value) for a in found]

    assert alerts(_health(now - 60)) == []
    assert alerts(_health(now - 901)) == [("offline", 901)]
    assert alerts(_health(now, battery_v=3.39)) == [("low_battery", 3.39)]
    assert alerts(_health(0), "revoked") == []
    assert alerts(None) == []


def test_a_spike_of_rejections_within_the_window_alerts_and_an_old_one_does_not() -> None:
    now = T0 + 100_000

    def spikes(samples: list[tuple[int, int]], total: int, received: int) -> list[float]:
        h = _health(received, rejected=total)
        found = node_alerts(_state(h), samples=samples, rules=RULES, now=now)
        return [a.value for a in found if a.kind == "rejected_spike"]

    # 100 rejections long ago, then 30 more within the hour (the threshold is 20); the
    # latest health is the newest point, after the samples (first report of each bucket)
    assert spikes([(now - 7200, 100), (now - 1700, 110)], 130, now - 30) == [30]
    assert spikes([(now - 7200, 100)], 125, now - 30) == [25]
    assert spikes([(now - 7200, 100), (now - 1700, 105)], 110, now - 30) == []
    assert spikes([(now - 7200, 100)], 100, now - 7200) == []  # silent since
    assert spikes([], 40, now - 30) == [40]  # a new node: counted from zero


def test_alerts_of_the_seeded_territory(territory: Territory, engine: Engine, app: FastAPI) -> None:
    settings = app.state.settings
    rules = AlertRules.from_settings(settings)
    now = int(time.time())
    with Session(engine) as session:
        stats = fleet_stats(
            session,
            now=now,
            offline_after_s=settings.node_offline_after_s,
            low_battery_v=settings.alert_low_battery_v,
        )
        assert (stats.totals.offline, stats.low_battery) == (2, 1)
        report = compute_alerts(
            session, rules=rules, now=now, offline=stats.totals.offline, low_battery=1
        )
    assert [a.node_id for a in report.offline.items] == territory.offline
    assert [a.node_id for a in report.low_battery.items] == territory.low_battery
    assert [a.node_id for a in report.rejected_spike.items] == territory.spiking
    assert report.total == 4


def test_alerts_page_lists_them_with_the_rules(
    territory: Territory, browse: Callable[[str], Browser]
) -> None:
    b = browse("viewer")
    page = b.client.get("/dashboard/alerts").text
    assert "sous 3,40\u00a0V" in page
    assert "au moins 20 messages rejetés en 60 minutes" in page
    for node in territory.offline + territory.low_battery + territory.spiking:
        assert f'href="/dashboard/devices/{node}"' in page
    assert "35 rejets récents" in page
    overview = b.client.get("/dashboard").text
    assert overview.count('class="alert"') == 4
    assert '<span class="badge" data-live="alerts-total">4</span>' in overview


def test_readings_a_gateway_held_back_raise_a_suspect_alert_naming_the_node(
    territory: Territory, engine: Engine, browse: Callable[[str], Browser], app: FastAPI
) -> None:
    # what a gateway reports of a node flooding 100x its rate with plausible-but-high values
    # (issue #13): its readings held back by reason, in the node health upload
    node = territory.never_seen[0]
    now = int(time.time())
    item = {**health(node, last_seen=now), "suspect": {"rate_limited": 9000, "suspect_rate": 3}}
    batch = IngestRequest.model_validate({"batch_id": f"s{now}", "health": [item]})
    with Session(engine) as session:
        apply_batch(session, gateway_id=territory.nodes[node]["gateway_id"], batch=batch, now=now)
        session.commit()
        assert session.get(NodeHealth, node).suspect == item["suspect"]  # type: ignore[union-attr]
        report = compute_alerts(session, rules=AlertRules.from_settings(app.state.settings),
                                now=now, offline=0, low_battery=0)
    assert [(a.node_id, a.value) for a in report.suspect.items] == [(node, 9003)]
    page = browse("viewer").client.get("/dashboard/alerts").text
    assert "Mesures suspectes (capteur défaillant ou manipulé)" in page
    assert f'href="/dashboard/devices/{node}"' in page
    assert "9003 mesures écartées" in page
    # an old episode, outside the window, no longer alerts
    later = now + 2 * 3600
    with Session(engine) as session:
        report = compute_alerts(session, rules=AlertRules.from_settings(app.state.settings),
                                now=later, offline=0, low_battery=0)
    assert report.suspect.items == []
