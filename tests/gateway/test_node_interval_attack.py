"""Issue #13's flood through the real parts, with each node's own interval: two nodes claimed
from a real fleet (its own process) with the interval the technician's CLI sends, synced to a
real gateway beside a real Mosquitto. The gateway's fallback interval is left at its default
(1 s), so a node configured at 60 s is cut at its own cap only if its synced interval is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import aiomqtt
import httpx
import pytest

from gateway.config import (
    AggregationSettings,
    FleetSettings,
    NodeRateSettings,
    PublishSettings,
    Settings,
    UplinkSettings,
)
from gateway.fleet_client import Identity, enroll
from gateway.node_rate import window_cap
from gateway.service import Gateway
from protocol.credentials import mqtt_password
from protocol.topics import node_topic
from tests.gateway.harness import make_settings, reading, wait_for
from tools.demo.local_fleet import LocalFleet
from tools.demo.territory import profile_for
from tools.fleet_client import ClaimedNode, FleetClient, claim

GATEWAY = "gw-interval"
WINDOW_S = 120
SLOW_S, FAST_S = 60, 1  # the nodes' configured intervals, as `node provision --interval` sends


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    with LocalFleet(tmp_path_factory.mktemp("fleet")) as f:
        yield f


def _claim_two(fleet: LocalFleet) -> tuple[str, ClaimedNode, ClaimedNode]:
    with FleetClient(fleet.url, fleet.token) as admin:
        admin.ensure_zone("centre", "Centre-ville")
        admin.ensure_profile(profile_for("weather"))
        token = admin.create_gateway(GATEWAY, "Gateway of the interval test")
        slow_code, fast_code = admin.claim_codes(
            zone_id="centre", gateway_id=GATEWAY, profile_id="weather", count=2
        )
    return token, claim(fleet.url, slow_code, SLOW_S), claim(fleet.url, fast_code, FAST_S)


@contextlib.asynccontextmanager
async def _gateway(s: Settings, fleet: LocalFleet, token: str) -> AsyncIterator[Gateway]:
    await enroll(fleet.url, Identity.load(Path(s.data_dir), GATEWAY), token)
    gw = Gateway(s)
    # the registry from the fleet before the broker starts, as the demo does
    async with httpx.AsyncClient(base_url=fleet.url, timeout=20) as client:
        await gw.sync_fleet_once(client)
    gw.start_private_broker()
    stop = asyncio.Event()
    task = asyncio.create_task(gw.run(stop))
    try:
        await wait_for(lambda: gw.connected, 10)
        yield gw
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        if gw.broker is not None:
            gw.broker.stop()


async def test_a_node_configured_at_60s_flooding_is_cut_at_its_own_cap_a_1s_node_is_not(
    tmp_path: Path, fleet: LocalFleet
) -> None:
    token, slow, fast = _claim_two(fleet)
    s = make_settings(tmp_path)
    s = replace(
        s,
        name=GATEWAY,
        fleet=FleetSettings(url=fleet.url, gateway_id=GATEWAY, sync_interval_s=3600),
        aggregation=AggregationSettings(window_s=WINDOW_S, grace_s=1),
        publish=PublishSettings(interval_s=3600),  # a checkpoint when the test asks
        uplink=UplinkSettings(interval_s=3600, health_interval_s=3600),
    )
    assert s.node_rate == NodeRateSettings()  # the fallback left at its default: 1 s
    slow_cap = window_cap(WINDOW_S, SLOW_S, s.node_rate.margin)
    assert slow_cap == 4
    fallback_cap = window_cap(WINDOW_S, s.node_rate.interval_s, s.node_rate.margin)
    flood = 100 * WINDOW_S // SLOW_S  # 100x its rate, all stamped in one window
    assert slow_cap < flood < fallback_cap  # under the fallback's cap it would all count
    now = int(time.time())
    start = now - now % WINDOW_S - WINDOW_S  # the previous window: still open (no close yet)
    async with _gateway(s, fleet, token) as gw:
        assert gw.nodes[slow.node_id].interval_s == SLOW_S  # claimed, kept, synced
        assert gw.nodes[fast.node_id].interval_s == FAST_S
        for node, n, t_of in (
            (fast, WINDOW_S, lambda i: start + i),  # one a second, as configured
            (slow, flood, lambda i: start + i % WINDOW_S),
        ):
            async with aiomqtt.Client(
                "127.0.0.1",
                s.mqtt.port,
                username=node.node_id,
                password=mqtt_password(node.secret),
                identifier=node.node_id,
            ) as client:
                for i in range(n):
                    await client.publish(
                        node_topic(node.node_id, "reading"),
                        reading(
                            node.node_id,
                            i + 1,
                            t=t_of(i),
                            temp=8.0 + (i % 5) / 10,
                            secret=node.secret,
                        ),
                        qos=1,
                    )
        await wait_for(lambda: gw.metrics.accepted == WINDOW_S + flood, 60)
        await gw.publish_once(start + WINDOW_S + 2)  # closes the window, writes the marks
        # every reading stored and acknowledged; the 60 s node's excess over ITS cap held back
        assert gw.store.reading_count() == WINDOW_S + flood
        assert gw.metrics.held_back == {(slow.node_id, "rate_limited"): flood - slow_cap}
        marked = gw.store.db.execute(
            "SELECT node_id, COUNT(*) FROM held_back WHERE reason='rate_limited' GROUP BY node_id"
        ).fetchall()
        assert marked == [(slow.node_id, flood - slow_cap)]
        assert gw.publisher.agg.counters["readings_added"] == WINDOW_S + slow_cap
