"""Verification of a node's reading: a pure function of the message bytes and per-node state.

Checks run in the normative order of docs/protocol.md ("Verification order") and stop at the
first failure: the bytes alone (size, signature suffix, strict JSON, every field's shape), then
the registry (node, revocation, key id), the MAC, and only then what the content means (metric
registry, topic, counter window, time). Every failure is a :class:`Reject` with a stable reason.
Nothing here mutates state: the caller applies :func:`CounterWindow.accept` only after the
reading is durably stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from protocol.codec import (
    COUNTER_MAX,
    TEXT_MAX,
    Reading,
    Reject,
    decode_reading,
    mac_matches,
    parse_body,
    split_signed,
)
from protocol.metrics import BATTERY, FLAGS, METRICS

__all__ = [
    "REPLAY_WINDOW",
    "WINDOW_BITS",
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
# the window is the highest counter H and the REPLAY_WINDOW counters below it: H - 1024 .. H
WINDOW_BITS = REPLAY_WINDOW + 1


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
    """Highest accepted counter H and a bitmap of H and the REPLAY_WINDOW counters below it.

    Bit i of ``seen`` (0 <= i <= REPLAY_WINDOW) set means counter ``high - i`` was accepted:
    H - 1024 is still in the window, H - 1025 is not. The state is small enough to persist per
    node in the same transaction as the reading itself.
    """

    high: int = 0
    seen: int = 0

    def classify(self, counter: int) -> str:
        if counter > self.high:
            return "new"
        offset = self.high - counter
        if offset > REPLAY_WINDOW:
            return "old"
        return "duplicate" if (self.seen >> offset) & 1 else "new"

    def accept(self, counter: int) -> CounterWindow:
        if counter > self.high:
            shift = counter - self.high
            if shift >= WINDOW_BITS:  # a jump leaves every bit behind (and a shift by up to
                return CounterWindow(counter, 1)  # 2^53 would not fit in memory)
            seen = ((self.seen << shift) | 1) & ((1 << WINDOW_BITS) - 1)
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


def range_reject(reading: Reading) -> Reject | None:
    """What the metric registry says of a well-formed reading: ``unknown_metric`` or
    ``out_of_range`` (the first, in the body's order), or None."""
    for key, value in reading.measures.items():
        metric = METRICS.get(key)
        if metric is None:
            return Reject("unknown_metric", f"unknown metric {key[:TEXT_MAX]!r}")
        if not metric.lo <= value <= metric.hi:
            return Reject("out_of_range", f"{key}={value} outside [{metric.lo}, {metric.hi}]")
    for key, raw in reading.flag_values.items():
        flag = FLAGS[key]
        if not isinstance(raw, int | float) or not flag.lo <= raw <= flag.hi:
            return Reject("out_of_range", f"{key}={raw} outside [{flag.lo}, {flag.hi}]")
    bat = reading.bat
    if bat is not None and not BATTERY.lo <= bat <= BATTERY.hi:
        return Reject("out_of_range", f"bat={bat} outside [{BATTERY.lo}, {BATTERY.hi}]")
    return None


def _key_of(obj: dict[str, Any] | Reject, creds: NodeCredentials | None) -> bytes | None:
    if isinstance(obj, Reject) or creds is None or creds.revoked:
        return None
    key_id = obj.get("k")
    if not isinstance(key_id, int) or isinstance(key_id, bool):  # True would find key 1
        return None
    return creds.keys.get(key_id)


def _malformed(
    reject: Reject,
    topic_node: str,
    obj: dict[str, Any] | Reject,
    creds: NodeCredentials | None,
    body: bytes,
    mac: bytes,
) -> RefusedMessage:
    """A body refused for its shape. If it parsed, names a held key, carries a valid counter
    and its MAC is valid, the node itself sent it: it is told (``authentic``) so it stops
    resending a reading that can never be accepted. The reason stays ``malformed`` whatever
    the MAC: the verdict on the bytes never depends on a key."""
    secret = _key_of(obj, creds)
    c = obj.get("c") if isinstance(obj, dict) else None
    if (
        secret is None
        or not isinstance(c, int)
        or isinstance(c, bool)
        or not 1 <= c <= COUNTER_MAX
        or not mac_matches(secret, body, mac)
    ):
        return RefusedMessage(reject, topic_node)
    return RefusedMessage(reject, topic_node, c, authentic=True)


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
    # 1. the bytes alone: strict JSON and every field's shape (no key, no registry needed)
    obj = parse_body(body)
    if isinstance(obj, Reject):
        return RefusedMessage(obj, topic_node)
    reading = decode_reading(obj)
    if isinstance(reading, Reject):
        return _malformed(reading, topic_node, obj, creds, body, mac)
    # 2. who may have signed it, then whether they did
    if creds is None:
        return RefusedMessage(Reject("unknown_node", topic_node), topic_node)
    if creds.revoked:
        return RefusedMessage(Reject("revoked_node", topic_node), topic_node)
    secret = creds.keys.get(reading.key_id)
    if secret is None:
        return RefusedMessage(Reject("unknown_key", f"key id {reading.key_id}"), topic_node)
    if not mac_matches(secret, body, mac):
        return RefusedMessage(Reject("bad_mac"), topic_node)
    # 3. from here the node itself sent the message (only it and we hold the secret)
    counter = reading.counter
    meaning = range_reject(reading)
    if meaning is not None:
        return RefusedMessage(meaning, topic_node, counter, authentic=True)
    if reading.node_id != topic_node:
        # The broker's ACL already stops this; checked again so the topic cannot lie.
        return RefusedMessage(Reject("topic_mismatch", reading.node_id), topic_node, None)
    status = window.classify(counter)
    if status == "duplicate":
        return Duplicate(reading)
    if status == "old":
        return RefusedMessage(
            Reject("replayed_counter", f"{counter} < {window.high} - {REPLAY_WINDOW}"),
            topic_node,
            counter,
            authentic=True,
        )
    if reading.t == 0:
        return RefusedMessage(
            Reject("untimed", "node did not know the time"), topic_node, counter, authentic=True
        )
    if reading.t > now + limits.future_skew_s:
        return RefusedMessage(
            Reject("clock_skew", f"t={reading.t} ahead of {int(now)}"),
            topic_node,
            counter,
            authentic=True,
        )
    if reading.t < now - limits.max_age_s:
        return RefusedMessage(
            Reject("too_old", f"t={reading.t}"), topic_node, counter, authentic=True
        )
    return Accepted(reading)
