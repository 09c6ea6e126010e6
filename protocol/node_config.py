"""The node's configuration file, ``node.json``: every key, its type, default and bounds, once
on the CPython side (docs/firmware.md, "Configuration").

The firmware holds the same table in ``firmware/nodecfg.py``; both are checked against the
shared vectors in ``tests/vectors/node_configs.json``, so provisioning, the bundle, the
emulator and the firmware agree by test. :func:`validate` is pure: a dict in, the normalised
configuration (every default filled in) out, or :class:`NodeConfigError` naming the key.

Unknown keys are refused on both sides: a misspelt ``"intervall_s"`` would otherwise be
silently ignored and the node would measure every 60 s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from protocol.codec import valid_node_id
from protocol.manifest import HARDWARE, RSA_BITS

__all__ = [
    "FIELDS",
    "HARDWARE",
    "INTERVAL_S_MAX",
    "INTERVAL_S_MIN",
    "MAX_RELEASE_KEYS",
    "MAX_SENSORS",
    "MQTT_FIELDS",
    "SENSOR_KINDS",
    "WIFI_FIELDS",
    "Field",
    "NodeConfigError",
    "defaults",
    "release_key_entry",
    "validate",
    "validate_keys",
]

# what firmware/sensors/build.py knows how to drive
SENSOR_KINDS = ("bme280", "pms5003", "sds011", "mic", "people", "bin", "soil", "battery")
MAX_SENSORS = 8
# the fleet serves its newest active keys up to this many: each is 768 hex digits in the
# node's RAM while its configuration is loaded
MAX_RELEASE_KEYS = 8
RELEASE_KEY_E = 65537
_KEY_HEX = RSA_BITS // 4
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_N = re.compile(rf"[89a-f][0-9a-f]{{{_KEY_HEX - 1}}}")  # 3072 bits exactly, lowercase


class NodeConfigError(ValueError):
    """A configuration the node would not run with; ``key`` names the offending key
    (``mqtt.port``, ``sensors.2.kind``...). The message is ``"<key>: <why>"``."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"{key}: {why}")
        self.key = key


@dataclass(frozen=True, slots=True)
class Field:
    """One key: ``kind`` is int, num (int or float), bool, str, hex64, node_id, hw, obj,
    sensors or keys; ``lo``/``hi`` bound a number's value or a text's or list's length.
    ``required`` keys have no default; ``None`` as a default means the key may be null."""

    kind: str
    default: Any = None
    lo: float = 0
    hi: float = 0
    required: bool = False
    fields: tuple[tuple[str, Field], ...] = ()  # of an obj
    doc: str = ""  # what it is for (the table of docs/firmware.md is checked against these)


WIFI_FIELDS: tuple[tuple[str, Field], ...] = (
    ("ssid", Field("str", lo=1, hi=32, required=True, doc="network the node joins")),
    ("key", Field("str", "", 0, 63, doc="its key (empty: open network)")),
)
MQTT_FIELDS: tuple[tuple[str, Field], ...] = (
    ("host", Field("str", lo=1, hi=253, required=True, doc="the gateway's broker")),
    ("port", Field("int", 1883, 1, 65535, doc="its port")),
    ("user", Field("str", None, 1, 64, doc="the node's broker account (its id)")),
    ("password", Field("str", None, 0, 128, doc="derived from the secret (one-way)")),
    ("keepalive", Field("int", 30, 5, 3600, doc="MQTT keepalive, seconds")),
)
FIELDS: tuple[tuple[str, Field], ...] = (
    ("id", Field("node_id", required=True, doc="node id (3 to 32 of a-z, 0-9, -)")),
    ("kid", Field("int", lo=1, hi=65535, required=True, doc="id of the node's key")),
    ("secret", Field("hex64", required=True, doc="the node's 32-byte secret, hex")),
    # never guessed: a wrong one refuses every release
    ("hw", Field("hw", required=True, doc="hardware it accepts releases for: "
                 + ", ".join(f"`{h}`" for h in HARDWARE))),
    ("zone", Field("str", "", 0, 32, doc="zone, shown by the self-test")),
    ("wifi", Field("obj", None, fields=WIFI_FIELDS, doc="Wi-Fi station (null: none)")),
    ("mqtt", Field("obj", required=True, fields=MQTT_FIELDS, doc="the gateway's broker")),
    ("sensors", Field("sensors", lo=0, hi=MAX_SENSORS, required=True,
                      doc="sensor specs (`firmware/sensors/build.py`), `kind` among "
                      + ", ".join(SENSOR_KINDS))),
    ("interval_s", Field("num", 60, 0.1, 86400, doc="seconds between readings")),
    ("status_s", Field("num", 300, 1, 86400, doc="seconds between state messages")),
    ("ack_timeout_s", Field("num", 10, 0.5, 600, doc="a reading not acknowledged by then "
                            "is sent again")),
    ("wdt_s", Field("int", 0, 0, 3600, doc="watchdog, seconds (0: none outside a trial "
                    "boot, which has 60)")),
    ("battery", Field("bool", False, doc="measure, send, deep sleep `interval_s`")),
    ("awake_s", Field("num", 20, 1, 3600, doc="a battery node's time awake to send")),
    ("outbox_segments", Field("int", 256, 4, 1024, doc="flash outbox size, segments of "
                              "64 readings")),
    ("debug", Field("bool", False, doc="print send failures")),
    ("trial_s", Field("num", 300, 1, 86400, doc="a trial boot's time to get 2 readings "
                      "acknowledged, 1 on battery (`docs/ota.md`)")),
    ("release_keys", Field("keys", (), 0, MAX_RELEASE_KEYS,
                           doc='RSA-3072 release keys it trusts: `{"n": hex, "e": 65537}`')),
)

_INTERVAL = dict(FIELDS)["interval_s"]
# ``interval_s`` as the fleet keeps it and syncs it to the node's gateway (its per-node rate
# cap, docs/gateway.md): whole seconds within the node's own bounds
INTERVAL_S_MIN = max(1, math.ceil(_INTERVAL.lo))
INTERVAL_S_MAX = int(_INTERVAL.hi)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(key: str, v: object, f: Field, whole: bool) -> int | float:
    ok = _is_int(v) or (not whole and isinstance(v, float) and math.isfinite(v))
    if not ok:
        raise NodeConfigError(key, "must be a whole number" if whole else "must be a number")
    n: int | float = v  # type: ignore[assignment]
    if not f.lo <= n <= f.hi:
        raise NodeConfigError(key, f"must be {f.lo:g} to {f.hi:g}")
    return n


def _text(key: str, v: object, f: Field) -> str:
    if not isinstance(v, str) or not f.lo <= len(v) <= f.hi:
        raise NodeConfigError(key, f"must be text of {f.lo:g} to {f.hi:g} characters")
    return v


def _sensors(key: str, v: object, f: Field) -> list[dict[str, Any]]:
    if not isinstance(v, list) or not f.lo <= len(v) <= f.hi:
        raise NodeConfigError(key, f"must be a list of at most {f.hi:g} sensors")
    out = []
    for i, s in enumerate(v):
        if not isinstance(s, dict):
            raise NodeConfigError(f"{key}.{i}", "must be an object")
        if s.get("kind") not in SENSOR_KINDS:
            raise NodeConfigError(f"{key}.{i}.kind", "must be one of " + ", ".join(SENSOR_KINDS))
        for k, x in s.items():
            if not isinstance(x, int | float | str | bool):
                raise NodeConfigError(f"{key}.{i}.{k}", "must be a number, text or true/false")
        out.append(dict(s))
    return out


def _keys(key: str, v: object, f: Field) -> list[dict[str, Any]]:
    if not isinstance(v, list) or not f.lo <= len(v) <= f.hi:
        raise NodeConfigError(key, f"must be a list of at most {f.hi:g} keys")
    out = []
    for i, k in enumerate(v):
        if not isinstance(k, dict) or set(k) - {"n", "e"}:
            raise NodeConfigError(f"{key}.{i}", 'must be {"n": hex, "e": 65537}')
        n, e = k.get("n"), k.get("e", RELEASE_KEY_E)
        if not isinstance(n, str) or _KEY_N.fullmatch(n) is None:
            raise NodeConfigError(f"{key}.{i}.n", f"must be the {RSA_BITS}-bit modulus in hex")
        if not _is_int(e) or e != RELEASE_KEY_E:
            raise NodeConfigError(f"{key}.{i}.e", f"must be {RELEASE_KEY_E}")
        out.append({"n": n, "e": e})
    return out


def _value(key: str, v: object, f: Field) -> Any:
    if v is None and f.default is None and not f.required:
        return None
    kind = f.kind
    checks: dict[str, Callable[[], Any]] = {
        "int": lambda: _num(key, v, f, whole=True),
        "num": lambda: _num(key, v, f, whole=False),
        "str": lambda: _text(key, v, f),
        "sensors": lambda: _sensors(key, v, f),
        "keys": lambda: _keys(key, v, f),
        "obj": lambda: _object(key + ".", v, f.fields),
    }
    if kind in checks:
        return checks[kind]()
    if kind == "bool" and isinstance(v, bool):
        return v
    if kind == "hex64" and isinstance(v, str) and _HEX64.fullmatch(v):
        return v
    if kind == "node_id" and valid_node_id(v):
        return v
    if kind == "hw" and v in HARDWARE:
        return v
    why = {"bool": "must be true or false", "hex64": "must be 64 lowercase hex digits",
           "node_id": "must be a node id (3 to 32 of a-z, 0-9, -)",
           "hw": "must be one of " + ", ".join(HARDWARE)}
    raise NodeConfigError(key, why[kind])


def _default(f: Field) -> Any:
    return list(f.default) if isinstance(f.default, tuple) else f.default


def _object(prefix: str, obj: object, fields: Sequence[tuple[str, Field]]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise NodeConfigError(prefix.rstrip(".") or "node.json", "must be an object")
    known = {name for name, _ in fields}
    for k in obj:
        if k not in known:
            raise NodeConfigError(f"{prefix}{k}", "unknown key")
    out: dict[str, Any] = {}
    for name, f in fields:
        if name in obj:
            out[name] = _value(prefix + name, obj[name], f)
        elif f.required:
            raise NodeConfigError(prefix + name, "missing")
        else:
            out[name] = _default(f)
    return out


def validate(cfg: Mapping[str, Any] | object) -> dict[str, Any]:
    """The normalised configuration: every key of the contract, defaults filled in (nested
    ones too), in the contract's order. Raises NodeConfigError naming the first bad key."""
    out = _object("", dict(cfg) if isinstance(cfg, Mapping) else cfg, FIELDS)
    mqtt = out["mqtt"]
    if mqtt["password"] is not None and mqtt["user"] is None:
        raise NodeConfigError("mqtt.user", "needed with a password")  # MQTT 3.1.1, 3.1.2.9
    return out


def defaults() -> dict[str, Any]:
    """Every optional key with its default (nested objects by their dotted key)."""
    out: dict[str, Any] = {}
    for prefix, fields in (("", FIELDS), ("wifi.", WIFI_FIELDS), ("mqtt.", MQTT_FIELDS)):
        for name, f in fields:
            if not f.required and f.kind != "obj":
                out[prefix + name] = _default(f)
    return out


def validate_keys(raw: object) -> list[dict[str, Any]]:
    """A ``release_keys`` list checked alone (what a fleet's claim answer carries)."""
    return _keys("release_keys", raw, dict(FIELDS)["release_keys"])


def release_key_entry(n: int, e: int = RELEASE_KEY_E) -> dict[str, Any]:
    """A release public key (n, e) as node.json's ``release_keys`` holds it."""
    return {"n": format(n, "x"), "e": e}
