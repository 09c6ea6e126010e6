"""The intake valve bounds what waits in the gateway, whatever the broker sends (real Mosquitto)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import aiomqtt

from gateway.broker import MosquittoProcess
from gateway.mqtt_intake import IntakeValve

BACKLOG = 20_000


def _client(port: int) -> aiomqtt.Client:
    c = aiomqtt.Client("127.0.0.1", port, identifier="intake", clean_session=False)
    c._client.manual_ack_set(True)
    return c


def _queue_backlog(port: int) -> None:
    """Subscribe once (a persistent session), then publish a backlog while away."""

    async def subscribe() -> None:
        async with _client(port) as c:
            await c.subscribe("t/#", qos=1)

    asyncio.run(subscribe())
    subprocess.run(
        ["mosquitto_pub", "-p", str(port), "-q", "1", "-M", "1000", "-l", "-t", "t/x"],
        input=(b"x" * 150 + b"\n") * BACKLOG,
        check=True,
        timeout=120,
    )


async def _drain(port: int, *, valve_high: int | None) -> tuple[int, int]:
    """Come back and consume slowly, acking each message after taking it, as the gateway
    does. Returns (largest queue seen, messages received)."""
    c = _client(port)
    valve = IntakeValve(c, valve_high, valve_high // 2) if valve_high else None
    largest = received = 0
    async with c:
        await c.subscribe("t/#", qos=1)
        if valve:
            valve.arm()
        async for m in c.messages:
            if valve:
                valve.taken()
            largest = max(largest, c._queue.qsize())
            received += 1
            c._client.ack(m.mid, m.qos)
            if received % 100 == 0:
                await asyncio.sleep(0.005)  # a consumer slower than the socket
            if received == BACKLOG:
                break
        if valve:
            valve.disarm()
    return largest, received


def test_valve_keeps_the_queue_at_its_bound_and_loses_nothing(tmp_path: Path) -> None:
    conf = "max_inflight_messages 256\nmax_queued_messages 1000000\n"
    with MosquittoProcess(tmp_path / "b", extra_conf=conf) as broker:
        _queue_backlog(broker.port)
        largest, received = asyncio.run(_drain(broker.port, valve_high=512))
    assert received == BACKLOG
    # one socket read may bring a few more messages after the valve closes
    assert largest <= 512 + 64, largest


def test_without_the_valve_mosquitto_inflight_limit_does_not_bound_the_queue(
    tmp_path: Path,
) -> None:
    """Why the valve exists: with acknowledgements flowing, Mosquitto 2.0 sent far more than its
    max_inflight_messages. If this starts failing, the broker honours the limit: good news,
    and docs/gateway.md should say so."""
    conf = "max_inflight_messages 256\nmax_queued_messages 1000000\n"
    with MosquittoProcess(tmp_path / "b", extra_conf=conf) as broker:
        _queue_backlog(broker.port)
        largest, received = asyncio.run(_drain(broker.port, valve_high=None))
    assert received == BACKLOG
    assert largest > 4 * 256, largest
