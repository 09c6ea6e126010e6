"""A saturated people count (the node's table of distinct devices filled: ``people_sat``)
through a real Mosquitto and gateway: accepted, acknowledged, its count stored and aggregated as
a lower bound, the flag counted for operators and stored nowhere it could be published."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import orjson

from gateway.aggregate import Aggregator, AggregatorSettings
from protocol.codec import Reading, decode_reading, encode_reading, parse_body, sign, split_signed
from protocol.topics import node_topic
from tests.gateway.harness import make_settings, node_client, running_gateway, secret_of

NODES = [("ang-0001", "centre-ville")]


async def test_saturated_people_count_is_acknowledged_stored_and_counted(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    t = int(time.time())
    body = encode_reading("ang-0001", 1, 1, t, "0.1.0", [("people_n", 128)], 3.5, ["people_sat"])
    assert b'"m":{"people_n":128,"people_sat":1}' in body
    async with running_gateway(s, NODES) as gw, node_client(s, "ang-0001") as node:
        await node.publish(node_topic("ang-0001", "reading"), sign(secret_of("ang-0001"), body), 1)
        async for msg in node.messages:
            parts = split_signed(bytes(msg.payload))  # type: ignore[arg-type]
            assert isinstance(parts, tuple)
            ack = parse_body(parts[0])
            assert isinstance(ack, dict)
            if ack["ok"] or ack["no"]:
                break
        assert (ack["ok"], ack["no"]) == ([1], [])
        assert (gw.metrics.accepted, gw.metrics.people_saturated) == (1, 1)
        # the count is stored as a measurement; the flag is not a metric of the reading
        (_, _, _, zone, m), = gw.store.readings_since(t)
        assert zone == "centre-ville"
        assert orjson.loads(m) == {"m": {"people_n": 128.0}, "bat": 3.5}
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                text = (await http.get(f"http://127.0.0.1:{s.http.port}/metrics")).text
                if "readings_people_saturated_total 1" in text:
                    break
                await asyncio.sleep(0.05)
        assert "territoire_gateway_readings_people_saturated_total 1" in text


def test_a_saturated_count_aggregates_as_its_capacity_and_the_flag_makes_no_cell() -> None:
    body = encode_reading("ang-0001", 1, 1, 600, "0.1.0", [("people_n", 128)], None, ["people_sat"])
    obj = parse_body(body)
    assert isinstance(obj, dict)
    r = decode_reading(obj)
    assert isinstance(r, Reading)
    assert r.flags == frozenset({"people_sat"})
    other = Reading("ang-0002", 1, 1, 610, "0.1.0", {"people_n": 40.0})
    agg = Aggregator(AggregatorSettings(window_s=300, grace_s=0))
    agg.add(r, "centre-ville")
    agg.add(other, "centre-ville")
    cells = agg.close(10_000)
    assert [(c.metric, c.peak_sum) for c in cells] == [("people_n", 168)]  # a lower bound
    assert agg.counters["unknown_metric"] == 0
