"""tests/vectors/window.json and verify.json: one reading of a message (docs/protocol.md,
"Reading", "Counter", "Verification order"). Written by make_vectors.py; checked by
tests/test_protocol_vectors.py, tests/gateway/test_verify_vectors.py (the gateway's batch and
ack) and, for what the node builds (window.json: every message there is a reading the node's
encoder must produce byte for byte), inside the MicroPython VM (tests/firmware_vm/test_proto.py).
verify.json holds the messages no correct node sends (repeated keys, null and empty fields,
two faults at once); it is too big to parse in a 100 KB heap, and the node never verifies
readings.

Every case is verified for topic node ``topic`` against a registry (``known``, ``unknown``,
``revoked``: node ang-0001 holds key 1 = SECRET) and a replay window (``high`` and the
counters ``seen`` in it), at ``now``. ``outcome`` is ``accepted``, ``duplicate`` or the refusal
reason; ``told`` says whether the node's ack names the counter (in ``ok`` for accepted and
duplicates, in ``no`` for a refusal of a reading whose MAC was valid). Hostile cases are signed
with the node's real secret: a node can use its own credentials.
"""

from __future__ import annotations

from typing import Any

from protocol.codec import encode_reading, sign
from protocol.verify import REPLAY_WINDOW

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(100, 132))
NODE = "ang-0001"
NOW = 1764259300
T = 1764259200
H = 5000  # the window cases' highest accepted counter
MALFORMED = "malformed"

# the fields of a reading in protocol order, as raw JSON texts, so a case can repeat, drop,
# null or empty any of them byte for byte
BASE: list[tuple[str, str]] = [
    ("y", '"r"'),
    ("n", '"ang-0001"'),
    ("k", "1"),
    ("c", "9"),
    ("t", str(T)),
    ("fw", '"0.1.0"'),
    ("bat", "3.71"),
    ("m", '{"temp_c":21.43,"rh_pct":55.2}'),
]


def body_of(fields: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f'"{k}":{v}' for k, v in fields) + "}"


def _with(**values: str | None) -> list[tuple[str, str]]:
    """BASE with fields replaced (None drops the field)."""
    out = []
    for k, v in BASE:
        new = values.get(k, v)
        if new is not None:
            out.append((k, new))
    return out


def _case(name: str, body: str, outcome: str, *, told: bool, secret: bytes = SECRET,
          registry: str = "known", topic: str = NODE, high: int = 0,
          seen: tuple[int, ...] = (), counter: int | None = None,
          reading: dict[str, Any] | None = None) -> dict[str, Any]:
    case: dict[str, Any] = {
        "name": name,
        "topic": topic,
        "registry": registry,
        "window": {"high": high, "seen": list(seen)},
        "message": sign(secret, body.encode()).decode(),
        "outcome": outcome,
        "told": told,
        "counter": counter,
    }
    if reading is not None:  # what the node's encoder is given to build these exact bytes
        case["input"] = reading
    return case


def _valid(name: str, c: int, outcome: str, *, high: int = H,
           seen: tuple[int, ...] = (H,), fw: str = "0.1.0") -> dict[str, Any]:
    """A well-formed reading with counter c, verified against window (high, seen)."""
    measures = [("temp_c", 21.43), ("rh_pct", 55.2)]
    body = encode_reading(NODE, 1, c, T, fw, measures, 3.71).decode()
    reading = {"node": NODE, "kid": 1, "counter": c, "t": T, "fw": fw,
               "measures": [list(kv) for kv in measures], "bat": 3.71}
    told = outcome in ("accepted", "duplicate", "replayed_counter")
    return _case(name, body, outcome, told=told, high=high, seen=seen, counter=c,
                 reading=reading)


def window_cases() -> list[dict[str, Any]]:
    stored = (H, H - 1, H - 1023, H - 1024)
    return [
        _valid("window_below_h_minus_1024_is_replayed", H - 1025, "replayed_counter"),
        _valid("window_h_minus_1024_unused_is_accepted", H - 1024, "accepted"),
        _valid("window_h_minus_1024_stored_is_duplicate", H - 1024, "duplicate", seen=stored),
        _valid("window_h_minus_1023_unused_is_accepted", H - 1023, "accepted"),
        _valid("window_h_minus_1023_stored_is_duplicate", H - 1023, "duplicate", seen=stored),
        _valid("window_h_minus_1_stored_is_duplicate", H - 1, "duplicate", seen=stored),
        _valid("window_h_is_duplicate", H, "duplicate"),
        _valid("window_h_plus_1_is_accepted", H + 1, "accepted"),
        _valid("window_jump_far_ahead_is_accepted", H + 1_000_000, "accepted"),
        _valid("window_first_reading_of_a_node", 1, "accepted", high=0, seen=()),
        _valid("counter_max_is_accepted", 2**53 - 1, "accepted"),
        # a ':' inside a string is not a member: the duplicate-key check must not count it
        _valid("colon_in_a_string", H + 2, "accepted", fw="0.1.0:a"),
    ]


# counters sent one after another from an empty window, with what each must get: the window
# moves with every accepted counter (a jump leaves the old ones behind)
def sequence() -> list[dict[str, Any]]:
    steps = [
        (H, "accepted"),
        (H - 1024, "accepted"),
        (H - 1024, "duplicate"),
        (H - 1025, "replayed_counter"),
        (H - 1023, "accepted"),
        (H, "duplicate"),
        (H + 1, "accepted"),  # the window is now H - 1023 .. H + 1
        (H - 1024, "replayed_counter"),
        (H - 1023, "duplicate"),
        (H - 1022, "accepted"),
        (H + 2000, "accepted"),  # a jump: the window is now H + 976 .. H + 2000
        (H + 1, "replayed_counter"),
        (H + 976, "accepted"),
        (H + 976, "duplicate"),
        (H + 2000, "duplicate"),
    ]
    out = []
    for c, outcome in steps:
        body = encode_reading(NODE, 1, c, T, "0.1.0", [("temp_c", 21.43)]).decode()
        reading = {"node": NODE, "kid": 1, "counter": c, "t": T, "fw": "0.1.0",
                   "measures": [["temp_c", 21.43]], "bat": None}
        out.append({"counter": c, "message": sign(SECRET, body.encode()).decode(),
                    "outcome": outcome, "input": reading})
    return out


def duplicate_key_cases() -> list[dict[str, Any]]:
    """Every field repeated, first and last, with another value and with the same one, and
    repeated inside ``m``: all refused as malformed, and the node is not told (its counter has
    no one reading)."""
    out = []
    other = {"y": '"s"', "n": '"ang-0002"', "k": "2", "c": "500009", "t": str(T - 60),
             "fw": '"9.9.9"', "bat": "0.10", "m": '{"temp_c":-39.99}'}
    for key, value in BASE:
        for where in ("first", "last"):
            for which, dup in (("other", other[key]), ("same", value)):
                fields = list(BASE)
                fields.insert(0 if where == "first" else len(fields), (key, dup))
                out.append(_case(f"duplicate_{key}_{where}_{which}_value", body_of(fields),
                                 "malformed", told=False))
    nested = {
        "duplicate_metric_first": '{"temp_c":21.43,"temp_c":84.6,"rh_pct":55.2}',
        "duplicate_metric_last": '{"rh_pct":55.2,"temp_c":21.43,"temp_c":84.6}',
        "duplicate_metric_same_value": '{"temp_c":21.43,"temp_c":21.43}',
        "duplicate_metric_escaped": '{"temp_c":21.43,"temp\\u005fc":84.6}',
    }
    for name, m in nested.items():
        out.append(_case(name, body_of(_with(m=m)), "malformed", told=False))
    out.append(_case("colon_after_escapes_in_a_string", body_of(_with(fw=r'"1:2\\\":3"')),
                     "accepted", told=True, counter=9))
    escaped = body_of([*BASE, ("\\u0063", "500009")])  # "\u0063" is "c" once decoded
    out.append(_case("duplicate_counter_spelt_with_an_escape", escaped, "malformed", told=False))
    return out


def field_cases() -> list[dict[str, Any]]:
    """null, empty, missing and unexpected values of every field of a reading."""
    m = "malformed"
    rows: list[tuple[str, list[tuple[str, str]], str, bool]] = []
    for key, _ in BASE:
        # the node is told when the key id and the counter are readable and the MAC valid
        told = key not in ("k", "c")
        rows.append((f"{key}_null", _with(**{key: "null"}), m, told))
        if key != "bat":
            rows.append((f"{key}_missing", _with(**{key: None}), m, told))
    rows += [
        ("y_empty", _with(y='""'), m, True),
        ("n_empty", _with(n='""'), m, True),
        ("k_string", _with(k='"1"'), m, False),
        ("k_float", _with(k="1.0"), m, False),
        ("k_boolean", _with(k="true"), m, False),
        ("c_zero", _with(c="0"), m, False),
        ("c_empty", _with(c='""'), m, False),
        ("c_float", _with(c="9.0"), m, False),
        ("c_above_2_53_minus_1", _with(c=str(2**53)), m, False),
        ("t_empty", _with(t='""'), m, True),
        ("t_negative", _with(t="-1"), m, True),
        ("fw_empty", _with(fw='""'), m, True),
        ("fw_33_characters", _with(fw='"' + "1" * 33 + '"'), m, True),
        ("fw_number", _with(fw="1"), m, True),
        ("bat_empty", _with(bat='""'), m, True),
        ("bat_boolean", _with(bat="false"), m, True),
        ("m_empty", _with(m="{}"), m, True),
        ("m_list", _with(m="[]"), m, True),
        ("m_17_entries", _with(m='{"temp_c":1' + "".join(f',"x{i}":1' for i in range(16))
                               + "}"), m, True),
        ("m_value_null", _with(m='{"temp_c":null}'), m, True),
        ("m_value_empty", _with(m='{"temp_c":""}'), m, True),
        ("m_value_nested", _with(m='{"temp_c":{"v":1}}'), m, True),
        ("m_key_empty", _with(m='{"":1}'), "unknown_metric", True),
        ("unexpected_field", [*BASE, ("x", "1")], m, True),
        ("unexpected_field_null", [*BASE, ("x", "null")], m, True),
        ("t_zero_is_untimed", _with(t="0"), "untimed", True),
    ]
    return [_case(name, body_of(fields), outcome, told=told, counter=9 if told else None)
            for name, fields, outcome, told in rows]


def order_cases() -> list[dict[str, Any]]:
    """Two faults at once: the one earlier in docs/protocol.md's order is the reason."""
    good = _with()
    bad_c = _with(c='"9"')
    other_node = [("n", '"ang-0002"') if k == "n" else (k, v) for k, v in good]
    big = body_of(_with(fw='"' + "x" * 32 + '"', m="{" + ",".join(
        f'"temp_c":{i}' for i in range(80)) + "}"))
    return [
        _case("oversized_and_duplicate_keys", big, "oversized", told=False),
        _case("malformed_and_bad_mac", body_of(bad_c), MALFORMED, told=False, secret=OTHER_SECRET),
        _case("malformed_and_unknown_node", body_of(bad_c), MALFORMED, told=False,
              registry="unknown", topic="ang-0009"),
        _case("malformed_and_revoked_node", body_of(bad_c), MALFORMED, told=False,
              registry="revoked"),
        _case("key_id_missing", body_of(_with(k=None)), MALFORMED, told=False, secret=OTHER_SECRET),
        _case("key_id_zero", body_of(_with(k="0")), MALFORMED, told=False),
        _case("key_id_above_65535", body_of(_with(k="65536")), MALFORMED, told=False),
        _case("key_id_not_held", body_of(_with(k="7")), "unknown_key", told=False),
        _case("unknown_node", body_of(good), "unknown_node", told=False, registry="unknown"),
        _case("revoked_node_with_a_valid_mac", body_of(good), "revoked_node", told=False,
              registry="revoked"),
        _case("unknown_key_and_bad_mac", body_of(_with(k="7")), "unknown_key", told=False,
              secret=OTHER_SECRET),
        _case("bad_mac_and_unknown_metric", body_of(_with(m='{"co2_ppm":400}')), "bad_mac",
              told=False, secret=OTHER_SECRET),
        _case("bad_mac_and_replayed", body_of(good), "bad_mac", told=False,
              secret=OTHER_SECRET, high=H, seen=(H,)),
        _case("unknown_metric_and_out_of_range", body_of(_with(
            m='{"co2_ppm":400,"temp_c":99.5}')), "unknown_metric", told=True, counter=9),
        _case("not_a_number_before_unknown_metric", body_of(_with(m='{"co2_ppm":true}')), MALFORMED,
              told=True, counter=9),
        _case("out_of_range_battery", body_of(_with(bat="5.01")), "out_of_range", told=True,
              counter=9),
        _case("out_of_range_and_topic_mismatch", body_of(
            [("m", '{"temp_c":99.5}') if k == "m" else (k, v) for k, v in other_node]),
            "out_of_range", told=True, counter=9),
        _case("topic_mismatch_and_replayed", body_of(other_node), "topic_mismatch",
              told=False, high=H, seen=(H,)),
        _case("replayed_and_untimed", body_of(_with(t="0")), "replayed_counter", told=True,
              counter=9, high=H, seen=(H,)),
        _case("duplicate_and_too_old", body_of(_with(t=str(NOW - 15 * 86400))), "duplicate",
              told=True, counter=9, high=100, seen=(100, 9)),
        _case("too_old", body_of(_with(t=str(NOW - 15 * 86400))), "too_old", told=True,
              counter=9),
        _case("clock_skew", body_of(_with(t=str(NOW + 121))), "clock_skew", told=True,
              counter=9),
    ]


def window() -> dict[str, Any]:
    return {
        "node": NODE, "key_id": 1, "secret_hex": SECRET.hex(), "now": NOW,
        "replay_window": REPLAY_WINDOW, "cases": window_cases(), "sequence": sequence(),
    }


def verify() -> dict[str, Any]:
    return {
        "node": NODE, "key_id": 1, "secret_hex": SECRET.hex(), "now": NOW,
        "cases": duplicate_key_cases() + field_cases() + order_cases(),
    }
