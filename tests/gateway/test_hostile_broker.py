"""A hostile node using what its broker account allows, against the real Mosquitto the gateway
configures and the real gateway: it cannot take another client's connection, and a retained
message is refused by the broker and, were a broker to keep one, by the gateway
(docs/security.md, "Hostile node and gateway hardening")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from gateway.config import BrokerSettings, Settings
from gateway.service import Gateway
from gateway.store import NodeRecord
from protocol.credentials import mqtt_password
from protocol.topics import PREFIX, node_topic
from tests.gateway.harness import (
    make_settings,
    node_client,
    reading,
    running_gateway,
    secret_of,
    wait_for,
)
from tools.node.monitor import broker_login

NODES = [("ang-0001", "centre-ville"), ("ang-0002", "centre-ville")]


def _broker_log(gw: Gateway) -> str:
    assert gw.broker is not None
    return gw.broker.log_path.read_text()


def _figures(gw: Gateway) -> dict[str, Any]:
    """What the next publication is computed from: the aggregator's state."""
    return gw.publisher.agg.to_state()


async def _acked(node: aiomqtt.Client, node_id: str, counter: int) -> None:
    """``counter`` published by ``node_id`` and acknowledged end to end by the gateway."""
    await node.publish(node_topic(node_id, "reading"), reading(node_id, counter), qos=1)

    async def ack() -> None:
        async for msg in node.messages:
            if b'"ok":[%d]' % counter in bytes(msg.payload):  # type: ignore[arg-type]
                return

    await asyncio.wait_for(ack(), 10)


async def _hostile_connects(s: Settings, as_node: str, client_ids: list[str], times: int) -> int:
    """``as_node``'s account connecting ``times`` times with each of ``client_ids``; returns
    how many connections the broker accepted."""
    accepted = 0
    for _ in range(times):
        for cid in client_ids:
            async with aiomqtt.Client("127.0.0.1", s.mqtt.port, username=as_node,
                                      password=mqtt_password(secret_of(as_node)),
                                      identifier=cid):
                accepted += 1
                await asyncio.sleep(0.02)
    return accepted


async def test_a_node_taking_the_gateways_client_id_cannot_close_the_gateways_connection(
    tmp_path: Path,
) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw, node_client(s, "ang-0002") as honest:
        await _acked(honest, "ang-0002", 1)
        figures = _figures(gw)
        drops: list[bool] = []

        async def watch() -> None:
            while True:
                drops.append(not gw.connected)
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        # the gateway's configured client id, and its user name (what the broker makes it)
        accepted = await _hostile_connects(s, "ang-0001", [s.mqtt.client_id, s.mqtt.username], 10)
        watcher.cancel()
        # each connection was taken under the node's own name, never the gateway's
        assert accepted == 20
        log = _broker_log(gw)
        assert [line for line in log.splitlines() if "closing old connection" in line
                and "Client ang-0001 " not in line] == []
        assert log.count(f"as {s.mqtt.username} (") == 1  # the gateway connected once, only
        assert log.count("as ang-0001 (") == 20
        assert drops
        assert not any(drops)  # sampled every 10 ms: never disconnected
        assert gw.connected
        # and it still serves: a reading after the attack is stored and acknowledged
        await _acked(honest, "ang-0002", 2)
        assert gw.store.counters("ang-0001") == []
        assert _figures(gw) != figures  # the honest reading moved it, nothing else did
        assert sum(gw.metrics.rejected.values()) == 0


async def test_a_node_taking_another_nodes_client_id_cannot_close_its_connection(
    tmp_path: Path,
) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw, node_client(s, "ang-0002") as victim:
        await _acked(victim, "ang-0002", 1)
        figures = _figures(gw)
        accepted = await _hostile_connects(s, "ang-0001", ["ang-0002"], 10)
        assert accepted == 10
        log = _broker_log(gw)
        assert "Client ang-0002 already connected" not in log
        assert log.count("as ang-0002 (") == 1
        # the victim's connection is the one it had: its next reading is acknowledged on it
        await _acked(victim, "ang-0002", 2)
        assert gw.store.counters("ang-0002") == [1, 2]
        assert gw.store.counters("ang-0001") == []
        assert _figures(gw) != figures
        assert sum(gw.metrics.rejected.values()) == 0


async def test_the_monitor_account_reads_node_topics_without_touching_the_gateway(
    tmp_path: Path,
) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw, node_client(s, "ang-0001") as node:
        host, port, user, password = broker_login(s)
        async with aiomqtt.Client(host, port, username=user, password=password,
                                  identifier=s.mqtt.client_id) as monitor:
            await monitor.subscribe(node_topic("ang-0001", "reading"), qos=0)
            await _acked(node, "ang-0001", 1)
            msg = await asyncio.wait_for(anext(aiter(monitor.messages)), 10)
            assert bytes(msg.payload) == reading("ang-0001", 1)  # type: ignore[arg-type]
            # read-only: what it publishes never reaches the gateway
            await monitor.publish(node_topic("ang-0001", "reading"), reading("ang-0001", 2), 1)
            await asyncio.sleep(0.5)
        assert gw.connected
        assert _broker_log(gw).count(f"as {s.mqtt.username} (") == 1
        assert gw.store.counters("ang-0001") == [1]


async def test_a_retained_reading_is_refused_by_the_broker_and_never_replayed(
    tmp_path: Path,
) -> None:
    s = make_settings(tmp_path)
    async with running_gateway(s, NODES) as gw:
        figures = _figures(gw)
        topic = node_topic("ang-0001", "reading")
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", s.mqtt.port, username="ang-0001",
                                      password=mqtt_password(secret_of("ang-0001")),
                                      timeout=3) as hostile:
                # the broker closes the connection instead of acknowledging it
                await hostile.publish(topic, reading("ang-0001", 7), qos=1, retain=True)
        # a retained last will (the old firmware's) is refused at CONNECT
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(
                "127.0.0.1", s.mqtt.port, username="ang-0002",
                password=mqtt_password(secret_of("ang-0002")),
                will=aiomqtt.Will(node_topic("ang-0002", "state"), b"offline", 1, True),
            ):
                pass
        log = _broker_log(gw)
        # Mosquitto 2.0.11 logs the closing of a connection over a retained publish so
        assert "Bad socket read/write on client ang-0001" in log
        assert log.count("disconnected due to QoS too high or retain not supported") == 1
        # a new subscriber is given nothing retained
        host, port, user, password = broker_login(s)
        async with aiomqtt.Client(host, port, username=user, password=password) as late:
            await late.subscribe(f"{PREFIX}/+/reading", qos=1)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(aiter(late.messages)), 1.5)
        assert gw.store.counters("ang-0001") == []
        assert _figures(gw) == figures
        assert gw.connected


@contextlib.asynccontextmanager
async def _gateway_after(s: Settings, before: Any) -> AsyncIterator[tuple[Gateway, Any]]:
    """The gateway with its broker started, ``before(settings)`` awaited, then the gateway
    run (and connected): what a broker holds when the gateway (re)subscribes. Yields it and
    its figures before it ran."""
    gw = Gateway(s)
    for node_id, zone in NODES:
        gw.add_node(NodeRecord(node_id, zone, {1: secret_of(node_id)}, False))
    gw.start_private_broker()
    figures = _figures(gw)
    stop = asyncio.Event()
    try:
        await before(s)
        task = asyncio.create_task(gw.run(stop))
        try:
            await wait_for(lambda: gw.connected)
            yield gw, figures
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
    finally:
        if gw.broker is not None:
            gw.broker.stop()


async def test_the_gateway_refuses_a_signed_retained_reading_a_broker_kept(
    tmp_path: Path,
) -> None:
    # a broker that keeps retained messages (refuse_retained = false, while old firmware is
    # updated): the gateway's own check is what stands
    s = make_settings(tmp_path, broker=BrokerSettings(refuse_retained=False))

    async def plant(s: Settings) -> None:
        async with aiomqtt.Client("127.0.0.1", s.mqtt.port, username="ang-0001",
                                  password=mqtt_password(secret_of("ang-0001"))) as hostile:
            topic = node_topic("ang-0001", "reading")
            await hostile.publish(topic, reading("ang-0001", 7, temp=84.6), qos=1, retain=True)
            await hostile.publish(node_topic("ang-0001", "state"), b"junk", qos=1, retain=True)

    async with _gateway_after(s, plant) as (gw, figures):
        await wait_for(lambda: gw.metrics.rejected["retained"] >= 2)
        await asyncio.sleep(0.2)
        assert _figures(gw) == figures  # the 84.6 °C reading moved nothing
        # an honest reading after it is accepted: the gateway read past the retained ones
        async with node_client(s, "ang-0002") as honest:
            await _acked(honest, "ang-0002", 1)
        assert gw.metrics.rejected["retained"] == 2
        assert gw.store.rejection_counts()["retained"] == 2
        assert gw.store.counters("ang-0001") == []
        assert gw.metrics.accepted == 1
        assert gw.store.counters("ang-0002") == [1]
