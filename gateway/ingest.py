"""Turn a batch of MQTT messages into what to store and what to acknowledge.

Pure core: :func:`verify_batch` takes messages, node credentials, replay windows and the time,
and returns a :class:`Batch` value; nothing is stored, acknowledged or counted until the service
commits that batch (store first, acknowledgements after).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from protocol.codec import (
    MAX_ACK_ITEMS,
    Reading,
    Reject,
    State,
    decode_state,
    encode_ack,
    mac_matches,
    parse_body,
    sign,
    split_signed,
)
from protocol.topics import node_topic, parse_node_topic
from protocol.verify import (
    Accepted,
    CounterWindow,
    Duplicate,
    NodeCredentials,
    RefusedMessage,
    VerifyLimits,
    verify_reading,
)

__all__ = ["Batch", "NodeEntry", "ack_messages", "quarantine_entry", "verify_batch"]

DETAIL_MAX = 200


@dataclass(frozen=True, slots=True)
class NodeEntry:
    creds: NodeCredentials
    zone: str
    interval_s: int | None = None  # as the fleet synced it (the node's rate cap)


@dataclass
class Batch:
    accepted: list[tuple[Reading, str, float]] = field(default_factory=list)
    duplicates: int = 0
    windows: dict[str, CounterWindow] = field(default_factory=dict)
    rejections: Counter[str] = field(default_factory=Counter)
    # (at, node id, reason, detail, size): what explains a refusal, never the payload
    quarantine: list[tuple[float, str | None, str, str, int]] = field(default_factory=list)
    acks: dict[str, tuple[list[int], list[tuple[int, str]]]] = field(default_factory=dict)
    states: list[State] = field(default_factory=list)
    # nodes that came online: they get a time-only ack so they can stamp their readings
    time_requests: set[str] = field(default_factory=set)

    def _ack(self, node_id: str) -> tuple[list[int], list[tuple[int, str]]]:
        return self.acks.setdefault(node_id, ([], []))


def quarantine_entry(
    now: float, node_id: str | None, reject: Reject, payload: bytes
) -> tuple[float, str | None, str, str, int]:
    """What the quarantine keeps of a refused message: node id, time, reason, size, and the
    detail cut before any value (``pm10_ugm3=812`` -> ``pm10_ugm3``): a refused message may
    be a genuine signed reading, and its measurements must not outlive the raw retention."""
    return (now, node_id, reject.reason, reject.detail.split("=", 1)[0][:DETAIL_MAX],
            len(payload))


def _refuse(batch: Batch, now: float, node_id: str | None, reject: Reject, payload: bytes) -> None:
    batch.rejections[reject.reason] += 1
    batch.quarantine.append(quarantine_entry(now, node_id, reject, payload))


def _verify_state(
    batch: Batch, node_id: str, payload: bytes, entry: NodeEntry | None, now: float
) -> None:
    """A state, checked in the order of a reading (docs/protocol.md, "Verification order")."""
    parts = split_signed(payload)
    if isinstance(parts, Reject):
        _refuse(batch, now, node_id, parts, payload)
        return
    body, mac = parts
    obj = parse_body(body)
    state = obj if isinstance(obj, Reject) else decode_state(obj)
    if isinstance(state, Reject):
        _refuse(batch, now, node_id, state, payload)
        return
    if entry is None or entry.creds.revoked:
        reason = "unknown_node" if entry is None else "revoked_node"
        _refuse(batch, now, node_id, Reject(reason, "state message"), payload)
        return
    secret = entry.creds.keys.get(state.key_id)
    if secret is None or not mac_matches(secret, body, mac):
        reason = "unknown_key" if secret is None else "bad_mac"
        _refuse(batch, now, node_id, Reject(reason, "state message"), payload)
        return
    if state.node_id != node_id:
        _refuse(batch, now, node_id, Reject("topic_mismatch", state.node_id), payload)
        return
    batch.states.append(state)
    if state.status == "online":
        batch.time_requests.add(node_id)


def verify_batch(
    messages: Sequence[tuple[str, bytes]],
    nodes: Mapping[str, NodeEntry],
    windows: Mapping[str, CounterWindow],
    now: float,
    limits: VerifyLimits,
    max_message_bytes: int,
) -> Batch:
    batch = Batch()
    for topic, payload in messages:
        parsed = parse_node_topic(topic)
        if parsed is None:
            _refuse(batch, now, None, Reject("malformed", f"topic {topic[:80]!r}"), payload)
            continue
        node_id, kind = parsed
        if len(payload) > max_message_bytes:
            reject = Reject("oversized", f"{len(payload)} bytes")
            _refuse(batch, now, node_id, reject, payload[:256])
            continue
        entry = nodes.get(node_id)
        if kind == "state":
            _verify_state(batch, node_id, payload, entry, now)
            continue
        if kind != "reading":
            _refuse(batch, now, node_id, Reject("malformed", f"{kind} from a node"), payload)
            continue
        window = batch.windows.get(node_id) or windows.get(node_id) or CounterWindow()
        creds = entry.creds if entry is not None else None
        result = verify_reading(node_id, payload, creds, window, now, limits)
        if isinstance(result, Accepted) and entry is not None:
            batch.windows[node_id] = window.accept(result.reading.counter)
            batch.accepted.append((result.reading, entry.zone, now))
            batch._ack(node_id)[0].append(result.reading.counter)
        elif isinstance(result, Duplicate):
            batch.duplicates += 1
            batch._ack(node_id)[0].append(result.reading.counter)
        elif isinstance(result, RefusedMessage):
            _refuse_reading(batch, now, node_id, result, payload)
    return batch


def _refuse_reading(
    batch: Batch, now: float, node_id: str, result: RefusedMessage, payload: bytes
) -> None:
    _refuse(batch, now, node_id, result.reject, payload)
    if result.authentic and result.counter is not None:
        batch._ack(node_id)[1].append((result.counter, result.reason))


def ack_messages(
    batch: Batch, nodes: Mapping[str, NodeEntry], now: float
) -> list[tuple[str, bytes]]:
    """(topic, signed payload) of every acknowledgement the batch calls for."""
    out: list[tuple[str, bytes]] = []
    pending = dict(batch.acks)
    for node_id in batch.time_requests:
        pending.setdefault(node_id, ([], []))
    for node_id, (ok, no) in pending.items():
        entry = nodes.get(node_id)
        if entry is None or not entry.creds.keys:
            continue
        key_id = max(entry.creds.keys)
        secret = entry.creds.keys[key_id]
        topic = node_topic(node_id, "ack")
        items: list[tuple[list[int], list[tuple[int, str]]]] = []
        for i in range(0, max(len(ok), 1), MAX_ACK_ITEMS):
            items.append((ok[i : i + MAX_ACK_ITEMS], []))
        for i in range(0, len(no), MAX_ACK_ITEMS):
            items.append(([], no[i : i + MAX_ACK_ITEMS]))
        for ok_part, no_part in items:
            body = encode_ack(node_id, key_id, int(now), ok_part, no_part)
            out.append((topic, sign(secret, body)))
    return out
