"""Aggregation, anonymisation, uplink and retention through the real gateway service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateway.config import (
    AggregationSettings,
    FleetSettings,
    PrivacySettings,
    PublishSettings,
    StorageSettings,
    UplinkSettings,
)
from gateway.service import Gateway
from protocol.topics import node_topic
from tests.fake_fleet import FakeFleet
from tests.gateway.harness import (
    make_settings,
    node_client,
    reading,
    running_gateway,
    wait_for,
)

ZONES = str(Path(__file__).resolve().parents[2] / "data" / "zones" / "angers-quartiers.geojson")


@pytest.fixture
def fleet() -> Iterator[FakeFleet]:
    f = FakeFleet()
    yield f
    f.close()


def _settings(tmp_path: Path, fleet_url: str = "", **privacy: Any) -> Any:
    return make_settings(
        tmp_path,
        aggregation=AggregationSettings(window_s=2, grace_s=1),
        publish=PublishSettings(interval_s=0.5, zones_file=ZONES),
        fleet=FleetSettings(url=fleet_url, sync_interval_s=3600),
        uplink=UplinkSettings(interval_s=0.2, backoff_cap_s=0.5),
        privacy=PrivacySettings(**{"k_nodes": 1, "k_people": 1, "epsilon_per_zone_day": 100.0,
                                    **privacy}),
    )


NODES = [("ang-0001", "centre"), ("ang-0002", "centre"), ("ang-0003", "doutre")]


async def _publish_readings(
    s: Any, n: int, start: int = 1, nodes: list[tuple[str, str]] = NODES
) -> None:
    for node_id, _zone in nodes:
        async with node_client(s, node_id) as node:
            for c in range(start, start + n):
                await node.publish(node_topic(node_id, "reading"), reading(node_id, c), qos=1)


async def test_uplink_outage_then_recovery_delivers_every_record_exactly_once(
    tmp_path: Path, fleet: FakeFleet
) -> None:
    s = _settings(tmp_path, fleet.url)
    fleet.fail_next = 5
    fleet.lose_response_next = 1
    async with running_gateway(s, NODES) as gw:
        fleet.public_key = gw.identity.signing.public_key()
        await _publish_readings(s, 5)
        await wait_for(lambda: gw.metrics.accepted == 15)
        await wait_for(lambda: gw.metrics.aggregates_published > 0, 15)
        await wait_for(lambda: gw.store.outbox_depth() == 0 and fleet.fail_next == 0, 20)
        await gw.publish_once(time.time() + 10)  # close the last windows
        await wait_for(lambda: gw.store.outbox_depth() == 0, 10)
        assert gw.metrics.uplink_failures >= 5
    cells = fleet.items("aggregates")
    keys = [(c["zone"], c["metric"], c["start"]) for c in cells]
    assert len(keys) == len(set(keys)), "a cell was applied twice"
    # suppressed cells reach the fleet too (to be counted), the metric counts the published
    assert gw.metrics.aggregates_published == len([c for c in cells if not c["suppressed"]])
    # the lost response made the gateway resend one batch id: applied once
    assert fleet.requests > len(fleet.applied)
    temp = [c for c in cells if c["metric"] == "temp_c" and not c["suppressed"]]
    assert temp
    assert all(c["mean"] == pytest.approx(20.5, abs=0.01) for c in temp)
    assert {c["zone"] for c in cells} == {"centre", "doutre"}


async def test_exhausted_privacy_budget_stops_the_zone_until_the_next_day(
    tmp_path: Path,
) -> None:
    # a budget so small that the first window of the day exhausts it
    s = _settings(tmp_path, epsilon_per_zone_day=0.01)
    async with running_gateway(s, NODES[:1]) as gw:
        await _publish_readings(s, 3, nodes=NODES[:1])
        await wait_for(lambda: gw.metrics.accepted >= 3)
        now = time.time() + 10
        published = await gw.publish_once(now)
        outcomes = dict(gw.publisher.outcomes)
        assert published == 0
        assert outcomes.get("budget_exhausted", 0) >= 1
        # what an operator sees: the reason, counted
        assert gw.metrics.aggregates_suppressed["budget_exhausted"] == outcomes["budget_exhausted"]
        # later windows of the same day: still nothing for that zone
        async with node_client(s, "ang-0001") as node:
            await node.publish(node_topic("ang-0001", "reading"),
                               reading("ang-0001", 10, t=int(now)), qos=1)
        await wait_for(lambda: gw.metrics.accepted >= 4)
        assert await gw.publish_once(now + 10) == 0
        day = gw.publisher.ledger
        assert day.to_dict()  # the ledger is persisted state, not a cache
    stored = Gateway(s).store.kv_get("privacy_ledger")
    assert stored is not None
    assert b"centre" in stored


async def test_aggregates_survive_a_crash_without_double_counting(tmp_path: Path) -> None:
    s = replace(_settings(tmp_path), aggregation=AggregationSettings(window_s=3600, grace_s=60),
                publish=PublishSettings(interval_s=3600, zones_file=ZONES))
    async with running_gateway(s, NODES) as gw:
        await _publish_readings(s, 4)
        await wait_for(lambda: gw.metrics.accepted == 12)
        await gw.publish_once(time.time())  # a checkpoint: nothing closes, the state is saved
        await _publish_readings(s, 2, start=5)
        await wait_for(lambda: gw.metrics.accepted == 18)
        before = gw.publisher.agg.to_state()
    # the 6 readings stored after the checkpoint are replayed, the 12 before it are not
    gw2 = Gateway(s)
    assert gw2.replayed == 6
    assert gw2.publisher.agg.to_state()["cells"] == before["cells"]
    assert sum(c["n"] for c in before["cells"] if c["metric"] == "temp_c") == 18
    gw2.store.close()


async def test_retention_purge_deletes_old_raw_readings(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    s = replace(s, storage=StorageSettings(retention_h=1.0, purge_interval_s=0.2))
    async with running_gateway(s, NODES[:1]) as gw:
        async with node_client(s, "ang-0001") as node:
            old = int(time.time()) - 2 * 3600
            await node.publish(node_topic("ang-0001", "reading"),
                               reading("ang-0001", 1, t=old), qos=1)
            await node.publish(node_topic("ang-0001", "reading"), reading("ang-0001", 2), qos=1)
        await wait_for(lambda: gw.metrics.accepted == 2)
        await wait_for(lambda: gw.metrics.purged == 1, 5)
        assert gw.store.counters("ang-0001") == [2]


async def test_gateway_serves_open_data_as_ngsi_ld_and_csv(tmp_path: Path) -> None:
    import httpx

    s = _settings(tmp_path)
    async with running_gateway(s, NODES) as gw:
        await _publish_readings(s, 3)
        await wait_for(lambda: gw.metrics.accepted == 9)
        await gw.publish_once(time.time() + 10)
        base = f"http://127.0.0.1:{s.opendata.port}"  # the public listener
        async with httpx.AsyncClient() as http:
            csv = await http.get(base + "/opendata/aggregates.csv")
            ngsi = await http.get(base + "/opendata/aggregates.jsonld")
    assert csv.status_code == 200
    assert csv.text.splitlines()[0].startswith("zone")
    assert "centre" in csv.text
    assert "ang-0001" not in csv.text
    entities = ngsi.json()
    assert {e["type"] for e in entities} >= {"WeatherObserved"}
    assert "ang-000" not in ngsi.text  # no node identifier in anything published
