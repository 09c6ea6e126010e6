"""The test oracle of the foundation HIL scenarios: a CPython subscriber that verifies every
reading with the protocol's verifier, records what it accepted, and acknowledges end to end.

It holds what it accepted in memory only, so it acknowledges as soon as a reading is recorded;
the gateway (gateway/) is the durable implementation of the same role.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt

from protocol.codec import Reading, encode_ack, sign
from protocol.topics import PREFIX, parse_node_topic
from protocol.verify import (
    Accepted,
    CounterWindow,
    Duplicate,
    NodeCredentials,
    VerifyLimits,
    verify_reading,
)


@dataclass
class Oracle:
    accepted: dict[str, list[Reading]] = field(default_factory=lambda: defaultdict(list))
    duplicates: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    states: dict[str, bytes] = field(default_factory=dict)


class Verifier:
    def __init__(self, port: int, creds: dict[str, NodeCredentials]) -> None:
        self.port = port
        self.creds = creds
        self.windows: dict[str, CounterWindow] = defaultdict(CounterWindow)
        self.seen = Oracle()
        self.lock = threading.Lock()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"verifier-{port}", clean_session=True
        )
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(0.05, 0.5)

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(f"{PREFIX}/+/reading", qos=1)
        client.subscribe(f"{PREFIX}/+/state", qos=1)

    def _on_message(self, client: mqtt.Client, _ud: object, msg: mqtt.MQTTMessage) -> None:
        parsed = parse_node_topic(msg.topic)
        if parsed is None:
            return
        node_id, kind = parsed
        if kind == "state":
            with self.lock:
                self.seen.states[node_id] = msg.payload
            creds0 = self.creds.get(node_id)
            if creds0 is not None and b'"st":"online"' in msg.payload:
                # the time, as the gateway sends it to a node coming online
                self._ack(client, creds0, node_id, [], [])
            return
        creds = self.creds.get(node_id)
        with self.lock:
            result = verify_reading(
                node_id, msg.payload, creds, self.windows[node_id], time.time(), VerifyLimits()
            )
            if isinstance(result, Accepted):
                self.windows[node_id] = self.windows[node_id].accept(result.reading.counter)
                self.seen.accepted[node_id].append(result.reading)
                ok, no = [result.reading.counter], []
            elif isinstance(result, Duplicate):
                self.seen.duplicates[node_id] += 1
                ok, no = [result.reading.counter], []
            else:
                self.seen.refused[result.reason] += 1
                if not (result.authentic and result.counter is not None):
                    return
                ok, no = [], [(result.counter, result.reason)]
        if creds is not None:
            self._ack(client, creds, node_id, ok, no)

    def _ack(self, client: mqtt.Client, creds: NodeCredentials, node_id: str, ok: list[int],
             no: list[tuple[int, str]]) -> None:
        key_id = max(creds.keys)
        body = encode_ack(node_id, key_id, int(time.time()), ok, no)
        client.publish(f"{PREFIX}/{node_id}/ack", sign(creds.keys[key_id], body), qos=1)

    def start(self) -> None:
        self.client.connect("127.0.0.1", self.port, keepalive=5)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def counters(self, node_id: str) -> list[int]:
        with self.lock:
            return [r.counter for r in self.seen.accepted[node_id]]

    def total(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.seen.accepted.values())
