"""Gateway ingest: health and aggregates, idempotent by batch id, bounded, scoped."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.fleet.gwsim import API, World


def health(node_id: str, last_seen: int | None = None, **over: Any) -> dict[str, Any]:
    item = {
        "node_id": node_id,
        "last_seen": last_seen or int(time.time()),
        "battery_v": 3.71,
        "rssi": -67,
        "fw": "0.1.0",
        "slot": "a",
        "boot": 3,
        "buffered": 0,
        "rejected": {"bad_mac": 2},
    }
    item.update(over)
    return item


def aggregate(zone: str, **over: Any) -> dict[str, Any]:
    item = {
        "zone": zone,
        "metric": "temp_c",
        "start": 1764259200,
        "period_s": 3600,
        "n": 12,
        "mean": 21.4,
        "min": None,
        "max": None,
        "p95": 22.8,
        "people": None,
        "suppressed": False,
        "suppressed_reason": None,
        "dp": None,
    }
    item.update(over)
    return item


def test_ingest_updates_node_health(world: World) -> None:
    node = world.claim()["node_id"]
    r = world.gw_a.ingest(world.client, {"batch_id": "b1", "health": [health(node)]})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "batch_id": "b1",
        "duplicate": False,
        "health_applied": 1,
        "aggregates_applied": 0,
        "ignored": 0,
        "refused": {},
        "details": {},
    }
    detail = world.client.get(f"{API}/nodes/{node}", headers=world.admin).json()
    assert detail["connectivity"] == "online"
    assert detail["health"]["fw"] == "0.1.0"
    assert detail["health"]["rejected"] == {"bad_mac": 2}
    assert detail["health"]["gateway_id"] == "gw-a"


def test_reported_hardware_is_stored_and_kept_by_a_report_without_it(world: World) -> None:
    node = world.claim()["node_id"]
    now = int(time.time())

    def hw() -> object:
        return world.client.get(f"{API}/nodes/{node}", headers=world.admin).json()["health"]["hw"]

    assert world.gw_a.ingest(world.client, {"batch_id": "h0", "health": [
        health(node, now - 20)]}).status_code == 200
    assert hw() is None  # never reported: unknown, not guessed
    assert world.gw_a.ingest(world.client, {"batch_id": "h1", "health": [
        health(node, now - 10, hw="esp32")]}).status_code == 200
    assert hw() == "esp32"
    # a reading's health (no state since) says nothing of the hardware: the known one stays
    assert world.gw_a.ingest(world.client, {"batch_id": "h2", "health": [
        health(node, now)]}).status_code == 200
    assert hw() == "esp32"
    r = world.gw_a.ingest(world.client, {"batch_id": "h3", "health": [
        health(node, now + 1, hw="ESP 32!")]})
    assert r.status_code == 422, r.text
    assert hw() == "esp32"


def test_repeated_batch_is_acknowledged_not_applied_twice(world: World) -> None:
    node = world.claim()["node_id"]
    now = int(time.time())
    batch = {"batch_id": "same", "health": [health(node, now - 10, boot=1)]}
    assert world.gw_a.ingest(world.client, batch).json()["duplicate"] is False
    newer = {"batch_id": "newer", "health": [health(node, now, boot=2)]}
    assert world.gw_a.ingest(world.client, newer).status_code == 200
    again = world.gw_a.ingest(world.client, batch)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["health_applied"] == 1
    detail = world.client.get(f"{API}/nodes/{node}", headers=world.admin).json()
    assert detail["health"]["boot"] == 2


def test_batch_ids_are_scoped_per_gateway(world: World) -> None:
    a = world.claim(gateway="gw-a")["node_id"]
    b = world.claim(gateway="gw-b")["node_id"]
    ra = world.gw_a.ingest(world.client, {"batch_id": "x", "health": [health(a)]})
    rb = world.gw_b.ingest(world.client, {"batch_id": "x", "health": [health(b)]})
    assert ra.json()["duplicate"] is False
    assert rb.json()["duplicate"] is False


def test_late_health_never_overwrites_newer_state(world: World) -> None:
    node = world.claim()["node_id"]
    now = int(time.time())
    world.gw_a.ingest(world.client, {"batch_id": "new", "health": [health(node, now, fw="2")]})
    world.gw_a.ingest(world.client, {"batch_id": "old", "health": [health(node, now - 60, fw="1")]})
    detail = world.client.get(f"{API}/nodes/{node}", headers=world.admin).json()
    assert detail["health"]["fw"] == "2"


def test_gateway_cannot_report_for_another_gateways_node(world: World) -> None:
    theirs = world.claim(gateway="gw-b")["node_id"]
    r = world.gw_a.ingest(world.client, {"batch_id": "spoof", "health": [health(theirs)]})
    assert r.status_code == 200
    assert r.json()["health_applied"] == 0
    assert r.json()["ignored"] == 1
    detail = world.client.get(f"{API}/nodes/{theirs}", headers=world.admin).json()
    assert detail["health"] is None


def test_aggregates_are_stored_and_published(world: World) -> None:
    world.claim(gateway="gw-a", zone=world.zone)
    batch = {
        "batch_id": "agg",
        "aggregates": [
            aggregate(world.zone),
            aggregate(
                world.zone,
                metric="people_n",
                n=None,
                mean=None,
                p95=None,
                suppressed=True,
                suppressed_reason="too_few_nodes",
            ),
            aggregate(world.zone_b),  # gw-a serves no node there
        ],
    }
    r = world.gw_a.ingest(world.client, batch)
    assert r.json()["aggregates_applied"] == 2
    assert r.json()["ignored"] == 1
    pub = world.client.get(f"{API}/public/aggregates").json()["data"]
    assert {(a["zone_id"], a["metric"]) for a in pub} == {
        (world.zone, "temp_c"),
        (world.zone, "people_n"),
    }
    temp = next(a for a in pub if a["metric"] == "temp_c")
    assert temp["unit"] == "°C"
    assert temp["mean"] == 21.4


def test_suppressed_cell_never_publishes_a_value(world: World) -> None:
    world.claim()
    leaky = aggregate(
        world.zone,
        metric="people_n",
        n=2,
        mean=2.0,
        suppressed=True,
        suppressed_reason="below_threshold",
    )
    world.gw_a.ingest(world.client, {"batch_id": "s", "aggregates": [leaky]})
    [cell] = world.client.get(f"{API}/public/aggregates").json()["data"]
    assert cell["suppressed"] is True
    assert (cell["n"], cell["mean"], cell["p95"], cell["people"]) == (None,) * 4
    assert "min" not in cell
    assert "max" not in cell


def test_aggregate_with_unknown_metric_is_refused(world: World) -> None:
    world.claim()
    r = world.gw_a.ingest(
        world.client, {"batch_id": "m", "aggregates": [aggregate(world.zone, metric="co2_ppm")]}
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "invalid request"


def test_ingest_body_over_limit_is_413(world: World, client: TestClient) -> None:
    limit = client.app.state.settings.max_ingest_body_bytes  # type: ignore[attr-defined]
    node = world.claim()["node_id"]
    many = [health(node) for _ in range(limit // 150 + 10)]
    r = world.gw_a.ingest(client, {"batch_id": "big", "health": many})
    assert r.status_code == 413
    assert r.json() == {"detail": "request body too large"}


def test_ingest_item_count_over_limit_is_413(world: World, client: TestClient) -> None:
    client.app.state.settings.max_ingest_health_items = 5  # type: ignore[attr-defined]
    node = world.claim()["node_id"]
    r = world.gw_a.ingest(client, {"batch_id": "n", "health": [health(node)] * 6})
    assert r.status_code == 413


def test_unsigned_ingest_is_refused_before_parsing(world: World) -> None:
    r = world.client.post(f"{API}/gateway/ingest", content=b"{not json")
    assert r.status_code == 401


def test_malformed_health_item_is_refused_whole(world: World) -> None:
    node = world.claim()["node_id"]
    bad = health(node, rssi="strong")
    r = world.gw_a.ingest(world.client, {"batch_id": "bad", "health": [health(node), bad]})
    assert r.status_code == 422
    assert world.client.get(f"{API}/nodes/{node}", headers=world.admin).json()["health"] is None
