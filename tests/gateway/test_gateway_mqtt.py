"""The gateway against a real Mosquitto: what it accepts, acknowledges, refuses and counts."""

from __future__ import annotations

import asyncio
import platform
import time
from pathlib import Path

import aiomqtt
import httpx
import orjson
import pytest

from protocol.codec import encode_state, parse_body, sign, split_signed
from protocol.topics import node_topic
from tests.gateway.harness import (
    make_settings,
    node_client,
    reading,
    running_gateway,
    secret_of,
    wait_for,
)

NODES = [("ang-0001", "centre-ville"), ("ang-0002", "doutre")]


async def _next_ack(client: aiomqtt.Client, within: float = 5.0) -> dict[str, object]:
    async def first() -> dict[str, object]:
        async for msg in client.messages:
            parts = split_signed(bytes(msg.payload))  # type: ignore[arg-type]
            assert isinstance(parts, tuple)
            obj = parse_body(parts[0])
            assert isinstance(obj, dict)
            if obj["ok"] or obj["no"]:
                return obj
        raise AssertionError("no ack")

    return await asyncio.wait_for(first(), within)


async def test_valid_reading_is_stored_then_acknowledged(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw, node_client(s, "ang-0001") as node:
        await node.publish(node_topic("ang-0001", "reading"), reading("ang-0001", 1), qos=1)
        ack = await _next_ack(node)
        assert ack["ok"] == [1]
        assert gw.store.counters("ang-0001") == [1]
        assert gw.metrics.accepted == 1


async def test_redelivered_reading_is_acknowledged_again_and_counted_once(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw, node_client(s, "ang-0001") as node:
        msg = reading("ang-0001", 5)
        for _ in range(3):
            await node.publish(node_topic("ang-0001", "reading"), msg, qos=1)
            assert (await _next_ack(node))["ok"] == [5]
        assert gw.metrics.accepted == 1
        assert gw.metrics.duplicates == 2
        assert gw.store.counters("ang-0001") == [5]


async def test_attacks_are_refused_counted_and_change_nothing(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw, node_client(s, "ang-0001") as node:
        topic = node_topic("ang-0001", "reading")
        await node.publish(topic, reading("ang-0001", 10), qos=1)
        await _next_ack(node)
        forged = reading("ang-0001", 11, secret=b"not the node's secret".ljust(32))
        await node.publish(topic, forged, qos=1)
        # an old counter outside the replay window is refused
        await node.publish(topic, reading("ang-0001", 3000), qos=1)
        await _next_ack(node)
        await node.publish(topic, reading("ang-0001", 1), qos=1)
        await node.publish(topic, b"{not json at all", qos=1)
        await node.publish(topic, b"x" * 2000, qos=1)  # over our 1024, under the broker's cap
        await node.publish(topic, reading("ang-0001", 3001, t=1), qos=1)  # 1970: too old
        await wait_for(lambda: sum(gw.metrics.rejected.values()) >= 5)
        assert gw.metrics.rejected["oversized"] == 1
        assert gw.metrics.rejected["bad_mac"] == 1
        assert gw.metrics.rejected["replayed_counter"] == 1
        assert gw.metrics.rejected["malformed"] == 1
        assert gw.metrics.rejected["too_old"] == 1
        assert gw.store.counters("ang-0001") == [10, 3000]
        quarantined = {q[2] for q in gw.store.quarantined()}
        assert {"bad_mac", "replayed_counter", "malformed", "too_old"} <= quarantined


async def test_state_with_a_health_field_out_of_bounds_is_refused_and_changes_no_health(
    tmp_path: Path,
) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw, node_client(s, "ang-0001") as node:
        topic = node_topic("ang-0001", "state")
        now = int(time.time())

        def state(**extra: object) -> bytes:
            body = encode_state("ang-0001", 1, now, "online", 3, extra)
            return sign(secret_of("ang-0001"), body)

        # signed by the node itself, so only the decoder's bounds stand between this slot and
        # the fleet (which would refuse the gateway's whole batch for it)
        await node.publish(topic, state(fw="0.1.0", slot="a" * 40), qos=1)
        await wait_for(lambda: gw.metrics.rejected["malformed"] == 1)
        assert "ang-0001" not in gw.health.health
        await node.publish(topic, state(fw="0.1.0", slot="b", buf=2), qos=1)
        await wait_for(lambda: "ang-0001" in gw.health.health)
        assert gw.health.health["ang-0001"]["slot"] == "b"
        assert gw.health.rejections["ang-0001"] == {"malformed": 1}


async def test_oversized_message_is_refused_by_the_broker_or_the_gateway(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw:
        # the broker's max_packet_size drops the client: the gateway never sees the payload
        with pytest.raises(aiomqtt.MqttError):  # noqa: PT012 - connect and publish are one step
            async with node_client(s, "ang-0001") as node:
                await node.publish(node_topic("ang-0001", "reading"), b"x" * 9000, qos=1)
                await asyncio.sleep(0.5)
                await node.publish(node_topic("ang-0001", "reading"), b"y", qos=1)
        assert gw.store.reading_count() == 0


async def test_node_cannot_publish_on_another_nodes_topic(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw, node_client(s, "ang-0001") as node:
        # signed with ang-0002's key even, to show the ACL alone stops it
        forged = reading("ang-0002", 1, secret=secret_of("ang-0002"))
        await node.publish(node_topic("ang-0002", "reading"), forged, qos=1)
        await node.publish(node_topic("ang-0001", "reading"), reading("ang-0001", 1), qos=1)
        await _next_ack(node)
        await asyncio.sleep(0.3)
        assert gw.store.counters("ang-0002") == []
        assert gw.store.counters("ang-0001") == [1]


async def test_node_cannot_read_another_nodes_acks(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES), node_client(s, "ang-0001") as spy:
        await spy.subscribe(node_topic("ang-0002", "ack"), qos=1)
        async with node_client(s, "ang-0002") as victim:
            await victim.publish(node_topic("ang-0002", "reading"), reading("ang-0002", 1), qos=1)
            assert (await _next_ack(victim))["ok"] == [1]
        with pytest.raises(TimeoutError):
            await _next_ack(spy, within=1.0)


async def test_wrong_broker_password_is_refused(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES):
        with pytest.raises(aiomqtt.MqttError):
            async with node_client(s, "ang-0001", password="guess"):
                pass


async def test_unknown_node_cannot_connect_and_revoked_node_is_locked_out(tmp_path: Path) -> None:
    from gateway.store import NodeRecord

    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw:
        with pytest.raises(aiomqtt.MqttError):
            async with node_client(s, "ang-0099"):
                pass
        gw.add_node(NodeRecord("ang-0002", "doutre", {1: secret_of("ang-0002")}, True))
        await asyncio.sleep(0.3)  # SIGHUP reload
        with pytest.raises(aiomqtt.MqttError):
            async with node_client(s, "ang-0002"):
                pass


async def test_metrics_and_health_endpoints(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES), node_client(s, "ang-0001") as node:
        await node.publish(node_topic("ang-0001", "reading"), reading("ang-0001", 1), qos=1)
        await _next_ack(node)
        await node.publish(
            node_topic("ang-0001", "reading"), reading("ang-0001", 2, secret=b"z" * 32), qos=1
        )
        base = f"http://127.0.0.1:{s.http.port}"
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                text = (await http.get(base + "/metrics")).text
                if 'reason="bad_mac"' in text:
                    break
                await asyncio.sleep(0.05)
            health = await http.get(base + "/health")
            missing = await http.get(base + "/nope")
        assert "territoire_gateway_readings_accepted_total 1" in text
        assert 'territoire_gateway_readings_rejected_total{reason="bad_mac"} 1' in text
        assert "territoire_gateway_outbox_depth" in text
        assert "territoire_gateway_uplink_lag_seconds" in text
        assert 'territoire_gateway_node_last_seen_age_seconds{node="ang-0001"}' in text
        # the forged reading counts for no node
        assert 'territoire_gateway_node_readings_accepted_total{node="ang-0001"} 1' in text
        assert health.status_code == 200
        assert orjson.loads(health.content)["mqtt_connected"] is True
        # what it runs on: "aarch64" on a Pi (hil_tests/test_gateway_qemu.py), the host here
        assert orjson.loads(health.content)["machine"] == platform.machine()
        assert missing.status_code == 404
