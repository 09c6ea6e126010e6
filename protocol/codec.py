"""Encode and decode the signed messages of docs/protocol.md. Pure functions of bytes.

A message on the wire is ``BODY + b" " + MAC`` where BODY is a compact JSON object and MAC is
the unpadded base64url HMAC-SHA256 of BODY under the node's secret (43 characters).
Decoding never raises on input: it returns a value or a :class:`Reject` with a reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import orjson

from protocol.metrics import BATTERY, FLAGS, METRICS
from protocol.strict_json import DuplicateKey, loads_strict

__all__ = [
    "MAC_B64_LEN",
    "MAX_MESSAGE_BYTES",
    "Ack",
    "Reading",
    "Reject",
    "State",
    "compute_mac",
    "decode_ack",
    "decode_reading",
    "decode_state",
    "encode_ack",
    "encode_reading",
    "encode_state",
    "format_value",
    "mac_matches",
    "parse_body",
    "sign",
    "split_signed",
    "valid_node_id",
]

MAC_B64_LEN = 43
MAX_MESSAGE_BYTES = 1024
MAX_METRICS_PER_READING = 16
MAX_ACK_ITEMS = 64
COUNTER_MAX = 2**53 - 1
NODE_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
TEXT_MAX = 32


@dataclass(frozen=True, slots=True)
class Reject:
    """Why an input was refused: ``reason`` is a stable label for counters, ``detail`` for logs."""

    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Reading:
    node_id: str
    key_id: int
    counter: int
    t: int
    fw: str
    measures: dict[str, float]
    bat: float | None = None
    # flags set in "m" (protocol.metrics.FLAGS): they qualify measures, are never aggregated
    flags: frozenset[str] = frozenset()
    # their values as sent, for the registry's range check (each flag is 1 when set)
    flag_values: Mapping[str, object] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Ack:
    node_id: str
    key_id: int
    t: int
    ok: tuple[int, ...] = ()
    no: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class State:
    node_id: str
    key_id: int
    t: int
    status: str
    boot: int
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------- signing


def compute_mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()


def _b64url(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def sign(secret: bytes, body: bytes) -> bytes:
    return body + b" " + _b64url(compute_mac(secret, body))


def split_signed(message: bytes) -> tuple[bytes, bytes] | Reject:
    """Separate BODY and MAC without trusting either."""
    if len(message) > MAX_MESSAGE_BYTES:
        return Reject("oversized", f"{len(message)} bytes > {MAX_MESSAGE_BYTES}")
    if len(message) < MAC_B64_LEN + 3 or message[-MAC_B64_LEN - 1] != 0x20:
        return Reject("malformed", "no signature suffix")
    return message[: -MAC_B64_LEN - 1], message[-MAC_B64_LEN:]


def mac_matches(secret: bytes, body: bytes, mac_b64: bytes) -> bool:
    # constant-time: a timing difference would let an attacker guess the MAC byte by byte
    return hmac.compare_digest(_b64url(compute_mac(secret, body)), mac_b64)


# ---------------------------------------------------------------------------------- encoding


def format_value(decimals: int, value: float) -> str:
    """The one number format of the protocol (the firmware uses the same rule)."""
    if decimals == 0:
        return "%d" % round(value)
    return "%.*f" % (decimals, value)


def _json_str(text: str) -> str:
    return orjson.dumps(text).decode()


def encode_reading(
    node_id: str,
    key_id: int,
    counter: int,
    t: int,
    fw: str,
    measures: Sequence[tuple[str, float]] | Mapping[str, float],
    bat: float | None = None,
    flags: Sequence[str] = (),
) -> bytes:
    """Canonical body of a reading: fields in protocol order, numbers at their wire precision."""
    items = measures.items() if isinstance(measures, Mapping) else measures
    parts = [
        '{"y":"r","n":',
        _json_str(node_id),
        ',"k":%d,"c":%d,"t":%d,"fw":' % (key_id, counter, t),
        _json_str(fw),
    ]
    if bat is not None:
        parts.append(',"bat":' + format_value(BATTERY.decimals, bat))
    parts.append(',"m":{')
    parts.append(
        ",".join(
            [_json_str(key) + ":" + format_value(METRICS[key].decimals, value)
             for key, value in items]
            + [_json_str(FLAGS[key].key) + ":1" for key in flags]
        )
    )
    parts.append("}}")
    return "".join(parts).encode()


def _int_list(values: Sequence[int]) -> str:
    return ",".join("%d" % v for v in values)


def encode_ack(
    node_id: str, key_id: int, t: int, ok: Sequence[int], no: Sequence[tuple[int, str]] = ()
) -> bytes:
    no_items = ",".join("[%d,%s]" % (c, _json_str(r)) for c, r in no)
    return (
        '{"y":"a","n":%s,"k":%d,"t":%d,"ok":[%s],"no":[%s]}'
        % (_json_str(node_id), key_id, t, _int_list(ok), no_items)
    ).encode()


def encode_state(
    node_id: str, key_id: int, t: int, status: str, boot: int, extra: Mapping[str, Any]
) -> bytes:
    head = '{"y":"s","n":%s,"k":%d,"t":%d,"st":%s,"boot":%d' % (
        _json_str(node_id),
        key_id,
        t,
        _json_str(status),
        boot,
    )
    tail = "".join(",%s:%s" % (_json_str(k), orjson.dumps(v).decode()) for k, v in extra.items())
    return (head + tail + "}").encode()


# ---------------------------------------------------------------------------------- decoding


def parse_body(body: bytes) -> dict[str, Any] | Reject:
    """The JSON object of a body, strictly: a key repeated at any depth is refused, so no two
    parsers can read one signed body two ways (docs/security.md)."""
    try:
        obj = loads_strict(body)
    except orjson.JSONDecodeError as exc:
        return Reject("malformed", f"not JSON: {exc.msg}")
    except DuplicateKey:
        return Reject("malformed", "duplicate key")
    if not isinstance(obj, dict):
        return Reject("malformed", "body is not a JSON object")
    return obj


def _is_int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    return math.isfinite(v)


# NODE_ID_CHARS, 3 to TEXT_MAX long, not starting with "-" (a regex: checked twice per message)
_NODE_ID = re.compile(rf"[a-z0-9][a-z0-9-]{{2,{TEXT_MAX - 1}}}", re.ASCII)


def valid_node_id(v: object) -> bool:
    return isinstance(v, str) and _NODE_ID.fullmatch(v) is not None


def _header(obj: dict[str, Any], kind: str) -> Reject | None:
    if obj.get("y") != kind:
        return Reject("malformed", f"message type is not {kind!r}")
    if not valid_node_id(obj.get("n")):
        return Reject("malformed", "bad node id")
    k = obj.get("k")
    if not _is_int(k) or not 1 <= k <= 65535:
        return Reject("malformed", "bad key id")
    t = obj.get("t")
    if not _is_int(t) or not 0 <= t < 2**32:
        return Reject("malformed", "bad timestamp")
    return None


_READING_FIELDS = frozenset({"y", "n", "k", "c", "t", "fw", "bat", "m"})


def decode_reading(obj: dict[str, Any]) -> Reading | Reject:
    """The shape of a parsed reading body: every field's type and bounds, nothing that needs the
    metric registry (that is :func:`protocol.verify.range_reject`'s, after the MAC).

    Field rules (docs/protocol.md, "Reading"): every field but ``bat`` is required; no field may
    be ``null``; ``bat`` absent means mains-powered (``null`` is refused, not read as absent);
    ``fw`` is never empty; ``m`` holds 1 to 16 numbers; a field the protocol does not define is
    refused, so no reader can find in a signed reading something another reader ignored.
    """
    bad = _header(obj, "r")
    if bad is not None:
        return bad
    if not _READING_FIELDS.issuperset(obj):
        return Reject("malformed", "unknown field in a reading")
    c, fw, m = obj.get("c"), obj.get("fw"), obj.get("m")
    if not _is_int(c) or not 1 <= c <= COUNTER_MAX:
        return Reject("malformed", "bad counter")
    if not isinstance(fw, str) or not 1 <= len(fw) <= TEXT_MAX:
        return Reject("malformed", "bad firmware version")
    if not isinstance(m, dict) or not 1 <= len(m) <= MAX_METRICS_PER_READING:
        return Reject("malformed", "measurements must be an object of 1 to 16 entries")
    if not all(_is_number(v) for v in m.values()):
        return Reject("malformed", "a measurement is not a number")
    # a flag (protocol.metrics.FLAGS) qualifies a measure: alone it is no reading; its value
    # is the registry's to judge, after the MAC (protocol.verify.range_reject)
    measures = {key: float(value) for key, value in m.items() if key not in FLAGS}
    if not measures:
        return Reject("malformed", "flags without a measurement")
    bat = obj.get("bat")
    if "bat" in obj and not _is_number(bat):
        return Reject("malformed", "battery is not a number")
    return Reading(
        node_id=obj["n"],
        key_id=obj["k"],
        counter=c,
        t=obj["t"],
        fw=fw,
        measures=measures,
        bat=None if bat is None else float(bat),
        flags=frozenset(key for key in m if key in FLAGS),
        flag_values={key: m[key] for key in m if key in FLAGS},
    )


def decode_ack(obj: dict[str, Any]) -> Ack | Reject:
    bad = _header(obj, "a")
    if bad is not None:
        return bad
    ok, no = obj.get("ok"), obj.get("no")
    if not isinstance(ok, list) or not isinstance(no, list) or len(ok) + len(no) > MAX_ACK_ITEMS:
        return Reject("malformed", "bad ack lists")
    if not all(_is_int(c) for c in ok):
        return Reject("malformed", "bad acknowledged counter")
    pairs: list[tuple[int, str]] = []
    for item in no:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not _is_int(item[0])
            or not isinstance(item[1], str)
        ):
            return Reject("malformed", "bad refusal entry")
        pairs.append((item[0], item[1]))
    return Ack(obj["n"], obj["k"], obj["t"], tuple(ok), tuple(pairs))


# The state's optional health fields (docs/protocol.md) and their bounds. What a gateway
# forwards to the fleet comes from here, so a field out of these bounds would make the fleet
# refuse the whole batch (other nodes' aggregates with it): it is refused here instead.
_STATE_INTS: dict[str, tuple[int, int]] = {
    "up": (0, 2**32 - 1), "heap": (0, 2**32 - 1), "peak": (0, 2**32 - 1),
    "buf": (0, 2**32 - 1), "ev": (0, COUNTER_MAX), "rc": (0, 255), "rssi": (-127, 20),
}
_STATE_SLOTS = ("a", "b")  # a tuple: compared by ==, so an unhashable value is just refused
# the node's hardware (node.json "hw"): a short name, not only today's ones (protocol.manifest
# HARDWARE), so a gateway keeps forwarding the state of a board added later
HW_PATTERN = r"^[a-z0-9][a-z0-9-]{0,15}$"
_STATE_HW = re.compile(HW_PATTERN[:-1] + r"\Z", re.ASCII)
_STATE_HEADER = frozenset({"y", "n", "k", "t", "st", "boot"})


def _state_extra(obj: dict[str, Any]) -> dict[str, Any] | Reject:
    """The known health fields, checked; fields this gateway does not know (a newer firmware's)
    are left out rather than refused."""
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        if key in _STATE_HEADER:
            continue
        if key == "fw":
            if not isinstance(value, str) or not 1 <= len(value) <= TEXT_MAX:
                return Reject("malformed", "bad firmware version")
        elif key == "slot":
            if value not in _STATE_SLOTS:
                return Reject("malformed", "bad slot")
        elif key == "hw":
            if not isinstance(value, str) or _STATE_HW.match(value) is None:
                return Reject("malformed", "bad hw")
        elif key in _STATE_INTS:
            lo, hi = _STATE_INTS[key]
            if not _is_int(value) or not lo <= value <= hi:
                return Reject("malformed", f"bad {key}")
        else:
            continue
        extra[key] = value
    return extra


def decode_state(obj: dict[str, Any]) -> State | Reject:
    bad = _header(obj, "s")
    if bad is not None:
        return bad
    status, boot = obj.get("st"), obj.get("boot")
    if status not in ("online", "offline"):
        return Reject("malformed", "bad status")
    if not _is_int(boot) or not 0 <= boot <= COUNTER_MAX:
        return Reject("malformed", "bad boot count")
    extra = _state_extra(obj)
    if isinstance(extra, Reject):
        return extra
    return State(obj["n"], obj["k"], obj["t"], status, boot, extra)
