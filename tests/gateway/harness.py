"""A real gateway with its private Mosquitto, and signed-reading helpers, for gateway tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiomqtt

from gateway.broker import free_port
from gateway.config import HttpSettings, MqttSettings, OpenDataSettings, Settings
from gateway.service import Gateway
from gateway.store import NodeRecord
from protocol.codec import encode_reading, sign
from protocol.credentials import mqtt_password
from protocol.topics import node_topic


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    s = Settings(
        name="gw-test",
        data_dir=str(tmp_path / "gw"),
        mqtt=MqttSettings(port=free_port(), client_id=f"gw-{os.getpid()}-{time.monotonic_ns()}"),
        http=HttpSettings(port=free_port()),
        opendata=OpenDataSettings(port=free_port()),
    )
    return replace(s, **overrides)  # type: ignore[arg-type]


def secret_of(node_id: str) -> bytes:
    return node_id.encode().ljust(32, b"#")


def reading(node_id: str, counter: int, t: int | None = None, temp: float = 20.5,
            secret: bytes | None = None) -> bytes:
    body = encode_reading(node_id, 1, counter, int(time.time()) if t is None else t, "0.1.0",
                          [("temp_c", temp), ("people_n", 7)])
    return sign(secret if secret is not None else secret_of(node_id), body)


@contextlib.asynccontextmanager
async def running_gateway(settings: Settings, nodes: list[tuple[str, str]],
                          uplink: object = None) -> AsyncIterator[Gateway]:
    gw = Gateway(settings, uplink=uplink)  # type: ignore[arg-type]
    for node_id, zone in nodes:
        gw.add_node(NodeRecord(node_id, zone, {1: secret_of(node_id)}, False))
    gw.start_private_broker()
    stop = asyncio.Event()
    task = asyncio.create_task(gw.run(stop))
    try:
        for _ in range(200):
            if gw.connected:
                break
            await asyncio.sleep(0.02)
        yield gw
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        if gw.broker is not None:
            gw.broker.stop()


@contextlib.asynccontextmanager
async def node_client(settings: Settings, node_id: str,
                      password: str | None = None) -> AsyncIterator[aiomqtt.Client]:
    pw = password if password is not None else mqtt_password(secret_of(node_id))
    async with aiomqtt.Client("127.0.0.1", settings.mqtt.port, username=node_id, password=pw,
                              identifier=f"{node_id}-{time.monotonic_ns()}") as client:
        await client.subscribe(node_topic(node_id, "ack"), qos=1)
        yield client


async def wait_for(predicate: object, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")
