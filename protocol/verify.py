"""Verification of a node's reading: a pure function of the message bytes and per-node state.

Checks run cheapest-first and stop at the first failure; every failure is a :class:`Reject`
with a stable reason. Nothing here mutates state: the caller applies
:func:`CounterWindow.accept` only after the reading is durably stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from protocol.codec import (
    Reading,
    Reject,
    decode_reading,
    mac_matches,
    parse_body,
    split_signed,
)

__all__ = [
    "REPLAY_WINDOW",
    "Accepted",
    "CounterWindow",
    "Duplicate",
    "NodeCredentials",
    "RefusedMessage",
    "VerifyLimits",
    "verify_reading",
]

# How far behind the highest accepted counter a counter may still arrive (out of order after a
# broker crash). The node never has a reading in flight further than this behind its oldest
# unacknowledged one (docs/protocol.md, "Acknowledgement").
REPLAY_WINDOW = 1024


@dataclass(frozen=True, slots=True)
class NodeCredentials:
    """What the gateway knows of a node: its keys by key id, and whether it is revoked."""

    node_id: str
    keys: Mapping[int, bytes]
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class VerifyLimits:
    future_skew_s: int = 120
    max_age_s: int = 14 * 24 * 3600


@dataclass(frozen=True, slots=True)
class CounterWindow:
    """Highest accepted counter and a bitmap of the REPLAY_WINDOW counters below and at it.

    Bit i of ``seen`` set means counter ``high - i`` was accepted. The state is small enough to
    persist per node in the same transaction as the reading itself.
    """

    high: int = 0
    seen: int = 0

    def classify(self, counter: int) -> str:
        if counter > self.high:
            return "new"
        offset = self.high - counter
        if offset >= REPLAY_WINDOW:
            return "old"
        return "duplicate" if (self.seen >> offset) & 1 else "new"

    def accept(self, counter: int) -> CounterWindow:
        if counter > self.high:
            shift = counter - self.high
            seen = ((self.seen << shift) | 1) & ((1 << REPLAY_WINDOW) - 1)
            return CounterWindow(counter, seen)
        return CounterWindow(self.high, self.seen | (1 << (self.high - counter)))


@dataclass(frozen=True, slots=True)
class Accepted:
    reading: Reading


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An authentic reading already accepted: acknowledge it again, count it once."""

    reading: Reading


@dataclass(frozen=True, slots=True)
class RefusedMessage:
    """A message the verifier refused, with what it knows of it. ``authentic`` says the MAC was
    valid: the node itself sent it and may be told (by a refusal in its acknowledgement) to drop
    it; otherwise it is answered with silence."""

    reject: Reject
    node_id: str | None = None
    counter: int | None = None
    authentic: bool = False

    @property
    def reason(self) -> str:
        return self.reject.reason


def verify_reading(
    topic_node: str,
    message: bytes,
    creds: NodeCredentials | None,
    window: CounterWindow,
    now: float,
    limits: VerifyLimits,
) -> Accepted | Duplicate | RefusedMessage:
    """Verify one reading published on ``territoire/v1/node/<topic_node>/reading``."""
    parts = split_signed(message)
    if isinstance(parts, Reject):
        return RefusedMessage(parts, topic_node)
    body, mac = parts
    if creds is None:
        return RefusedMessage(Reject("unknown_node", topic_node), topic_node)
    if creds.revoked:
        return RefusedMessage(Reject("revoked_node", topic_node), topic_node)
    obj = parse_body(body)
    if isinstance(obj, Reject):
        return RefusedMessage(obj, topic_node)
    key_id = obj.get("k")
    secret = creds.keys.get(key_id) if isinstance(key_id, int) else None
    if secret is None:
        return RefusedMessage(Reject("unknown_key", f"key id {key_id!r}"), topic_node)
    if not mac_matches(secret, body, mac):
        return RefusedMessage(Reject("bad_mac"), topic_node)
    # From here the node itself sent the message (only it and we hold the secret).
    reading = decode_reading(obj)
    counter = obj.get("c") if isinstance(obj.get("c"), int) else None
    if isinstance(reading, Reject):
        return RefusedMessage(reading, topic_node, counter, authentic=counter is not None)
    if reading.node_id != topic_node:
        # The broker's ACL already stops this; checked again so the topic cannot lie.
        return RefusedMessage(Reject("topic_mismatch", reading.node_id), topic_node, None)
    status = window.classify(reading.counter)
    if status == "duplicate":
        return Duplicate(reading)
    if status == "old":
        return RefusedMessage(
            Reject("replayed_counter", f"{reading.counter} <= {window.high}"),
            topic_node,
            reading.counter,
            authentic=True,
        )
    if reading.t == 0:
        return RefusedMessage(
            Reject("untimed", "node did not know the time"),
            topic_node,
            reading.counter,
            authentic=True,
        )
    if reading.t > now + limits.future_skew_s:
        return RefusedMessage(
            Reject("clock_skew", f"t={reading.t} ahead of {int(now)}"),
            topic_node,
            reading.counter,
            authentic=True,
        )
    if reading.t < now - limits.max_age_s:
        return RefusedMessage(
            Reject("too_old", f"t={reading.t}"), topic_node, reading.counter, authentic=True
        )
    return Accepted(reading)
