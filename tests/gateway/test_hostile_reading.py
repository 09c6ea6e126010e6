"""One reading of a message, against a real Mosquitto and the real gateway: a hostile node
signs with its own valid secret bodies that two parsers could read two ways, and counters at
the edges of the replay window (docs/protocol.md, "Counter", "Verification order")."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiomqtt
import httpx

from protocol.codec import parse_body, sign, split_signed
from protocol.topics import node_topic
from tests.gateway.harness import (
    make_settings,
    node_client,
    reading,
    running_gateway,
    secret_of,
    wait_for,
)

NODE = "ang-0001"
H = 5000


async def _ack(client: aiomqtt.Client, within: float = 5.0) -> tuple[list[int], list[list[object]]]:
    async def first() -> tuple[list[int], list[list[object]]]:
        async for msg in client.messages:
            parts = split_signed(bytes(msg.payload))  # type: ignore[arg-type]
            assert isinstance(parts, tuple)
            obj = parse_body(parts[0])
            assert isinstance(obj, dict)
            if obj["ok"] or obj["no"]:
                return obj["ok"], obj["no"]
        raise AssertionError("no ack")

    return await asyncio.wait_for(first(), within)


def _signed(body: str) -> bytes:
    """A body the node itself signs: its credentials are valid, its intent is not."""
    return sign(secret_of(NODE), body.encode())


async def test_window_edges_and_repeated_keys_through_mosquitto_and_the_gateway(
    tmp_path: Path,
) -> None:
    s = make_settings(tmp_path)
    topic = node_topic(NODE, "reading")
    now = int(time.time())
    head = f'"y":"r","n":"{NODE}","k":1'
    async with running_gateway(s, [(NODE, "centre-ville")]) as gw, node_client(s, NODE) as node:
        await node.publish(topic, reading(NODE, H), qos=1)
        assert await _ack(node) == ([H], [])
        # H - 1024 is inside the window: accepted, stored, then acknowledged again as a duplicate
        await node.publish(topic, reading(NODE, H - 1024), qos=1)
        assert await _ack(node) == ([H - 1024], [])
        await node.publish(topic, reading(NODE, H - 1024), qos=1)
        assert await _ack(node) == ([H - 1024], [])
        # H - 1025 is below it: refused, and the node told so it stops resending
        await node.publish(topic, reading(NODE, H - 1025), qos=1)
        assert await _ack(node) == ([], [[H - 1025, "replayed_counter"]])
        # "c" twice: orjson alone would store the last; refused, no counter to tell
        await node.publish(
            topic,
            _signed(
                "{" + head + f',"c":{H + 1},"t":{now},"fw":"0.1.0","m":{{"temp_c":8.0}},'
                f'"c":{H + 500001}}}'
            ),
            qos=1,
        )
        # a metric twice inside "m": the zone's figure would depend on the parser
        await node.publish(
            topic,
            _signed(
                "{" + head + f',"c":{H + 2},"t":{now},"fw":"0.1.0",'
                '"m":{"temp_c":8.0,"temp_c":84.6}}'
            ),
            qos=1,
        )
        await wait_for(lambda: gw.metrics.rejected["malformed"] == 2)
        # "bat": null is not "no battery": refused, and told (its counter is readable)
        await node.publish(
            topic,
            _signed(
                "{" + head + f',"c":{H + 3},"t":{now},"fw":"0.1.0","bat":null,'
                '"m":{"temp_c":8.0}}'
            ),
            qos=1,
        )
        assert await _ack(node) == ([], [[H + 3, "malformed"]])
        # the refused ones moved nothing: H + 1 and H + 2 are still new
        await node.publish(topic, reading(NODE, H + 1), qos=1)
        assert await _ack(node) == ([H + 1], [])
        await node.publish(topic, reading(NODE, H + 2), qos=1)
        assert await _ack(node) == ([H + 2], [])

        assert gw.store.counters(NODE) == [H - 1024, H, H + 1, H + 2]
        assert gw.metrics.accepted == 4
        assert gw.metrics.duplicates == 1
        assert dict(gw.metrics.rejected) == {"replayed_counter": 1, "malformed": 3}
        quarantined = [q[2] for q in gw.store.quarantined()]
        assert sorted(quarantined) == ["malformed"] * 3 + ["replayed_counter"]
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{s.http.port}/metrics")).text
        assert 'territoire_gateway_readings_rejected_total{reason="malformed"} 3' in text
        assert 'territoire_gateway_readings_rejected_total{reason="replayed_counter"} 1' in text
        assert "territoire_gateway_readings_accepted_total 4" in text
        assert "territoire_gateway_readings_duplicate_total 1" in text
