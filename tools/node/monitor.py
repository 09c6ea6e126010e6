"""``territoire node monitor``: one node's messages on the broker, decoded and verified live.

The core (:func:`describe`) is a function of the topic kind, the message bytes, the node's
credentials and the replay window seen so far; it uses the protocol's own verifier and codec,
so what the monitor calls valid is exactly what the gateway accepts. The shell subscribes with
the monitor's read-only broker account, which the gateway writes beside its own: the broker
binds client ids to user names, so a monitor logged in as the gateway would close the gateway's
connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.broker_config import MONITOR_USER
from gateway.config import Settings
from gateway.store import Store
from protocol import gateway_files
from protocol.codec import (
    Reject,
    decode_ack,
    decode_state,
    mac_matches,
    parse_body,
    split_signed,
)
from protocol.topics import node_topic
from protocol.verify import (
    Accepted,
    CounterWindow,
    Duplicate,
    NodeCredentials,
    VerifyLimits,
    verify_reading,
)

__all__ = [
    "Event",
    "MonitorError",
    "broker_login",
    "describe",
    "gateway_credentials",
    "monitor",
    "provisioning_credentials",
]


class MonitorError(Exception):
    """The broker or the node's credentials could not be reached."""


@dataclass(frozen=True)
class Event:
    kind: str  # reading, state, ack
    verdict: str  # "valid", "duplicate" or the rejection reason ("bad_mac", ...)
    counter: int | None = None
    t: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "verdict": self.verdict, "counter": self.counter,
                "t": self.t, "values": self.values, "detail": self.detail}


def _signed_body(payload: bytes, creds: NodeCredentials) -> dict[str, Any] | Reject:
    """The body of a message signed with one of the node's keys (states and acks)."""
    parts = split_signed(payload)
    if isinstance(parts, Reject):
        return parts
    body, mac = parts
    obj = parse_body(body)
    if isinstance(obj, Reject):
        return obj
    key_id = obj.get("k")
    secret = creds.keys.get(key_id) if isinstance(key_id, int) else None
    if secret is None:
        return Reject("unknown_key", f"key id {key_id!r}")
    if not mac_matches(secret, body, mac):
        return Reject("bad_mac")
    return obj


def describe(
    kind: str, payload: bytes, creds: NodeCredentials, window: CounterWindow, now: float
) -> tuple[Event, CounterWindow]:
    """What one message of the node says, and the replay window after it."""
    if kind == "reading":
        result = verify_reading(creds.node_id, payload, creds, window, now, VerifyLimits())
        if isinstance(result, Accepted | Duplicate):
            r = result.reading
            values = dict(r.measures)
            if r.bat is not None:
                values["bat_v"] = r.bat
            if isinstance(result, Duplicate):
                return Event("reading", "duplicate", r.counter, r.t, values, "sent again"), window
            return Event("reading", "valid", r.counter, r.t, values, f"fw {r.fw}"), window.accept(
                r.counter
            )
        return Event("reading", result.reason, result.counter, None, {},
                     result.reject.detail), window
    obj = _signed_body(payload, creds)
    if isinstance(obj, Reject):
        return Event(kind, obj.reason, detail=obj.detail), window
    if kind == "state":
        state = decode_state(obj)
        if isinstance(state, Reject):
            return Event(kind, state.reason, detail=state.detail), window
        extra = " ".join(f"{k}={v}" for k, v in state.extra.items())
        return Event(kind, "valid", None, state.t, {},
                     f"{state.status} boot {state.boot} {extra}".strip()), window
    ack = decode_ack(obj)
    if isinstance(ack, Reject):
        return Event(kind, ack.reason, detail=ack.detail), window
    parts = []
    if ack.ok:
        parts.append("gateway stored " + ",".join(map(str, ack.ok)))
    parts += [f"gateway refused {c}: {why}" for c, why in ack.no]
    return Event(kind, "valid", None, ack.t, {}, "; ".join(parts) or "time"), window


def broker_login(settings: Settings) -> tuple[str, int, str, str]:
    """(host, port, user, password) of the monitor's read-only broker account, which the
    gateway made in its data directory."""
    m = settings.mqtt
    try:
        password = gateway_files.monitor_password(settings.data_path).read_text().strip()
    except OSError as exc:
        raise MonitorError(
            f"no monitor password in {settings.data_path}: {exc.strerror} (run this on the "
            "gateway, as the gateway's user, once the gateway has run)"
        ) from None
    return m.host, m.port, MONITOR_USER, password


def gateway_credentials(settings: Settings, node_id: str) -> NodeCredentials:
    """The node's keys as the gateway holds them (its registry, synchronised from the fleet)."""
    db = gateway_files.database(settings.data_path)
    if not db.exists():
        raise MonitorError(f"no gateway registry at {db}: is this the gateway's configuration?")
    try:
        sealing = X25519PrivateKey.from_private_bytes(
            gateway_files.sealing_key(settings.data_path).read_bytes())
    except (OSError, ValueError) as exc:
        raise MonitorError(f"cannot read the gateway's sealing key in {settings.data_path}: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None
    store = Store(db, sealing)
    try:
        for rec in store.nodes():
            if rec.node_id == node_id:
                return NodeCredentials(node_id, rec.live_keys(time.time()), rec.revoked)
    finally:
        store.close()
    raise MonitorError(f"the gateway does not know node {node_id} (not synchronised yet?)")


async def monitor(
    login: tuple[str, int, str, str],
    creds: NodeCredentials,
    show: Callable[[Event], None],
    *,
    count: int | None,
    duration: float | None,
) -> int:
    """Show the node's messages until ``count`` readings or ``duration`` seconds; returns the
    number of readings seen."""
    host, port, user, password = login
    window = CounterWindow()
    readings = 0
    deadline = None if duration is None else time.monotonic() + duration
    try:
        async with aiomqtt.Client(host, port, username=user, password=password,
                                  identifier=f"territoire-monitor-{time.monotonic_ns()}") as c:
            for kind in ("reading", "state", "ack"):
                await c.subscribe(node_topic(creds.node_id, kind), qos=0)
            it = c.messages.__aiter__()
            while count is None or readings < count:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                try:
                    msg = await asyncio.wait_for(it.__anext__(), left)
                except TimeoutError:
                    break
                kind = str(msg.topic).rsplit("/", 1)[-1]
                payload = msg.payload if isinstance(msg.payload, bytes) else b""
                event, window = describe(kind, payload, creds, window, time.time())
                readings += kind == "reading"
                show(event)
    except aiomqtt.MqttError as exc:
        raise MonitorError(f"broker {host}:{port}: {exc}") from None
    return readings


def provisioning_credentials(doc: dict[str, Any]) -> NodeCredentials:
    node = doc["node"]
    return NodeCredentials(node["id"], {int(node["kid"]): bytes.fromhex(node["secret"])})

