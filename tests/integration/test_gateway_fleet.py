"""The gateway and the fleet service as separate processes over HTTP, as in production:
enrollment, registry sync with secrets sealed to the gateway, revocation, and ingest."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from gateway.config import FleetSettings, UplinkSettings
from gateway.fleet_client import Identity, enroll
from protocol.codec import encode_reading, sign
from protocol.credentials import mqtt_password
from protocol.topics import node_topic
from tests.gateway.harness import make_settings, running_gateway, wait_for
from tools.demo.local_fleet import LocalFleet
from tools.fleet_client import FleetClient, claim

PROFILE = {
    "id": "weather", "name": "Weather station", "measures": ["temp_c", "rh_pct", "p_hpa"],
    "purpose": "Heat islands and weather in the quartiers",
    "legal_basis": "Public interest task (GDPR art. 6.1.e)",
    "operator_name": "Angers Loire Métropole", "contact": "capteurs@angers.example",
    "personal_data": False, "retention": "Raw readings 72 h on the gateway",
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    with LocalFleet(tmp_path_factory.mktemp("fleet")) as f:
        yield f


async def test_enrolled_gateway_syncs_nodes_verifies_them_and_reports_health(
    tmp_path: Path, fleet: LocalFleet
) -> None:
    admin = FleetClient(fleet.url, fleet.token)
    admin.ensure_zone("centre", "Centre-ville")
    admin.ensure_profile(PROFILE)
    token = admin.create_gateway("gw-centre", "Gateway centre")
    s = make_settings(tmp_path)
    s = replace(s, name="gw-centre",
                fleet=FleetSettings(url=fleet.url, gateway_id="gw-centre", sync_interval_s=0.3),
                uplink=UplinkSettings(interval_s=0.3))
    identity = Identity.load(Path(s.data_dir), "gw-centre")
    await enroll(fleet.url, identity, token)
    codes = admin.claim_codes(zone_id="centre", gateway_id="gw-centre", profile_id="weather",
                              count=2)
    a, b = (claim(fleet.url, c) for c in codes)
    async with running_gateway(s, []) as gw:
        await wait_for(lambda: a.node_id in gw.nodes and b.node_id in gw.nodes, 10)
        assert gw.nodes[a.node_id].creds.keys[a.key_id] == a.secret
        assert gw.nodes[a.node_id].zone == "centre"
        # the node logs in to the broker with the password derived from its secret
        import aiomqtt

        # the broker learns the new users on SIGHUP, moments after the sync: a node that is
        # refused tries again, as the firmware's session does
        for _ in range(50):
            try:
                async with aiomqtt.Client("127.0.0.1", s.mqtt.port, username=a.node_id,
                                          password=mqtt_password(a.secret)):
                    break
            except aiomqtt.MqttCodeError:  # not authorized (yet)
                await asyncio.sleep(0.1)
        async with aiomqtt.Client("127.0.0.1", s.mqtt.port, username=a.node_id,
                                  password=mqtt_password(a.secret)) as node:
            body = encode_reading(a.node_id, a.key_id, 1, int(time.time()), "0.1.0",
                                  [("temp_c", 19.5)], 3.9)
            await node.publish(node_topic(a.node_id, "reading"), sign(a.secret, body), qos=1)
            await wait_for(lambda: gw.metrics.accepted == 1, 10)
        # revoked in the fleet: gone from the gateway at the next sync, locked out of the broker
        admin.revoke_node(b.node_id)
        await wait_for(lambda: gw.nodes[b.node_id].creds.revoked, 10)
        assert gw.nodes[b.node_id].creds.keys == {}

        async def refused() -> bool:
            try:
                async with aiomqtt.Client("127.0.0.1", s.mqtt.port, username=b.node_id,
                                          password=mqtt_password(b.secret)):
                    return False
            except aiomqtt.MqttError:
                return True

        # the broker re-reads its users on SIGHUP, within moments of the sync
        for _ in range(50):
            if await refused():
                break
            await asyncio.sleep(0.1)
        assert await refused()
        # health reaches the fleet through the signed, idempotent uplink
        await gw._db(lambda: gw._snapshot_health(time.time()))
        await wait_for(lambda: gw.store.outbox_depth() == 0, 10)
        node = admin.node(a.node_id)
        assert node["health"]["fw"] == "0.1.0", node
        assert node["health"]["battery_v"] == pytest.approx(3.9), node
    admin.close()


async def test_gateway_with_a_wrong_enrollment_token_is_refused(
    tmp_path: Path, fleet: LocalFleet
) -> None:
    from gateway.fleet_client import FleetError

    identity = Identity.load(tmp_path, "gw-nobody")
    with pytest.raises(FleetError) as err:
        await enroll(fleet.url, identity, "not-a-token-not-a-token")
    assert err.value.status_code in (401, 403, 422)
    async with httpx.AsyncClient() as http:
        r = await http.get(fleet.url + "/api/v1/public/register")
    assert r.status_code == 200
    await asyncio.sleep(0)
