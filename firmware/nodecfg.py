# node.json, the node's configuration: every key, its default and bounds, in one place. The
# same contract as protocol/node_config.py on the CPython side; both are checked against
# tests/vectors/node_configs.json. load() returns the configuration with every default filled
# in (nested ones too) or raises ValueError("<key>: <why>"); the rest of the firmware reads
# cfg[key] and keeps no default of its own. Unknown keys are refused (a misspelt key would be
# ignored silently otherwise).
# RAM (unix VM, heapsize 100K): 9.5 KB while imported as .mpy (8.4 KB from source), 12.6 KB
# with a configuration loaded. node.py and selftest.py import it to load node.json and drop it
# from sys.modules at once: what stays is the configuration and about 2 KB of interned names
# (qstrs are never freed), never the tables and checks beside the sensors and MQTT buffers.
import json

_KINDS = ("bme280", "pms5003", "sds011", "mic", "people", "bin", "soil", "battery")
_HW = ("esp32", "emu-x64")
_HEX = "0123456789abcdef"
_REQ = "!"  # the default of a required key
# (key, type, default, lo, hi). Types: i whole number, n number, b true/false, s text (lo..hi
# characters), x 64 hex digits, d node id, h hardware, w/m the wifi/mqtt object, S sensors,
# K release keys (lo..hi entries)
_WIFI = (("ssid", "s", _REQ, 1, 32), ("key", "s", "", 0, 63))
_MQTT = (
    ("host", "s", _REQ, 1, 253),
    ("port", "i", 1883, 1, 65535),
    ("user", "s", None, 1, 64),
    ("password", "s", None, 0, 128),
    ("keepalive", "i", 30, 5, 3600),
)
_FIELDS = (
    ("id", "d", _REQ, 3, 32),
    ("kid", "i", _REQ, 1, 65535),
    ("secret", "x", _REQ, 64, 64),
    ("hw", "h", _REQ, 0, 0),
    ("zone", "s", "", 0, 32),
    ("wifi", "w", None, 0, 0),
    ("mqtt", "m", _REQ, 0, 0),
    ("sensors", "S", _REQ, 0, 8),
    ("interval_s", "n", 60, 0.1, 86400),
    ("status_s", "n", 300, 1, 86400),
    ("ack_timeout_s", "n", 10, 0.5, 600),
    ("wdt_s", "i", 0, 0, 3600),
    ("battery", "b", False, 0, 0),
    ("awake_s", "n", 20, 1, 3600),
    ("outbox_segments", "i", 256, 4, 1024),
    ("debug", "b", False, 0, 0),
    ("trial_s", "n", 300, 1, 86400),
    ("release_keys", "K", (), 0, 8),
)


def _bad(key, why):
    raise ValueError("%s: %s" % (key, why))


def _hex(v, n, first=_HEX):
    if not isinstance(v, str) or len(v) != n or v[0] not in first:
        return False
    for c in v:
        if c not in _HEX:
            return False
    return True


def _node_id(v):
    if not isinstance(v, str) or not 3 <= len(v) <= 32 or v[0] == "-":
        return False
    for c in v:
        if not ("a" <= c <= "z" or "0" <= c <= "9" or c == "-"):
            return False
    return True


def _list(key, v, lo, hi, what):
    if not isinstance(v, list) or not lo <= len(v) <= hi:
        _bad(key, "must be a list of at most %d %s" % (hi, what))


def _sensors(key, v, lo, hi):
    _list(key, v, lo, hi, "sensors")
    for i, s in enumerate(v):
        k = "%s.%d" % (key, i)
        if not isinstance(s, dict):
            _bad(k, "must be an object")
        if s.get("kind") not in _KINDS:
            _bad(k + ".kind", "must be one of " + ", ".join(_KINDS))
        for name, x in s.items():
            if not isinstance(x, (int, float, str, bool)):
                _bad(k + "." + name, "must be a number, text or true/false")
    return v


def _keys(key, v, lo, hi):
    _list(key, v, lo, hi, "keys")
    out = []
    for i, k in enumerate(v):
        p = "%s.%d" % (key, i)
        if not isinstance(k, dict) or len([x for x in k if x not in ("n", "e")]):
            _bad(p, 'must be {"n": hex, "e": 65537}')
        if not _hex(k.get("n"), 768, "89abcdef"):
            _bad(p + ".n", "must be the 3072-bit modulus in hex")
        e = k.get("e", 65537)
        if isinstance(e, bool) or not isinstance(e, int) or e != 65537:
            _bad(p + ".e", "must be 65537")
        out.append({"n": k["n"], "e": e})
    return out


def _value(key, v, t, d, lo, hi):
    if v is None and d is None:
        return None
    if t == "i" or t == "n":
        if isinstance(v, bool) or not (isinstance(v, int) or (t == "n" and isinstance(v, float))):
            _bad(key, "must be a whole number" if t == "i" else "must be a number")
        if not lo <= v <= hi:  # also false for nan
            _bad(key, "must be %g to %g" % (lo, hi))
        return v
    if t == "s":
        if not isinstance(v, str) or not lo <= len(v) <= hi:
            _bad(key, "must be text of %d to %d characters" % (lo, hi))
        return v
    if t == "b":
        if not isinstance(v, bool):
            _bad(key, "must be true or false")
        return v
    if t == "x":
        if not _hex(v, 64):
            _bad(key, "must be 64 lowercase hex digits")
        return v
    if t == "d":
        if not _node_id(v):
            _bad(key, "must be a node id (3 to 32 of a-z, 0-9, -)")
        return v
    if t == "h":
        if v not in _HW:
            _bad(key, "must be one of " + ", ".join(_HW))
        return v
    if t == "S":
        return _sensors(key, v, lo, hi)
    if t == "K":
        return _keys(key, v, lo, hi)
    return _object(key + ".", v, _WIFI if t == "w" else _MQTT)


def _object(prefix, obj, fields):
    if not isinstance(obj, dict):
        _bad(prefix[:-1] or "node.json", "must be an object")
    for k in obj:
        for f in fields:
            if f[0] == k:
                break
        else:
            _bad(prefix + k, "unknown key")
    out = {}
    for name, t, d, lo, hi in fields:
        if name in obj:
            out[name] = _value(prefix + name, obj[name], t, d, lo, hi)
        elif d == _REQ:
            _bad(prefix + name, "missing")
        else:
            out[name] = list(d) if isinstance(d, tuple) else d
    return out


def check(cfg):
    """The normalised configuration of a decoded node.json, or ValueError naming the key."""
    out = _object("", cfg, _FIELDS)
    m = out["mqtt"]
    if m["password"] is not None and m["user"] is None:
        _bad("mqtt.user", "needed with a password")  # MQTT 3.1.1, 3.1.2.9
    return out


def load(path="node.json"):
    with open(path) as f:
        cfg = json.load(f)
    return check(cfg)


def defaults():
    """Every optional key with its default (nested ones by their dotted key), for the test
    that compares this table with protocol/node_config.py."""
    out = {}
    for p, fields in (("", _FIELDS), ("wifi.", _WIFI), ("mqtt.", _MQTT)):
        for name, t, d, lo, hi in fields:
            if d != _REQ and t not in "wm":
                out[p + name] = list(d) if isinstance(d, tuple) else d
    return out
