"""`node monitor`'s core: each message of a node, verified with the protocol's own code."""

from __future__ import annotations

from protocol.codec import encode_ack, encode_reading, encode_state, sign
from protocol.verify import CounterWindow, NodeCredentials
from tools.node.monitor import describe

SECRET = bytes(range(32))
CREDS = NodeCredentials("ang-0007", {1: SECRET})
NOW = 1_795_000_000


def _reading(counter: int, secret: bytes = SECRET) -> bytes:
    body = encode_reading("ang-0007", 1, counter, NOW - 5, "0.1.0", [("temp_c", 19.5)], 3.9)
    return sign(secret, body)


def test_authentic_reading_is_shown_with_its_values_then_as_duplicate() -> None:
    event, window = describe("reading", _reading(41), CREDS, CounterWindow(), NOW)
    assert (event.verdict, event.counter) == ("valid", 41)
    assert event.values == {"temp_c": 19.5, "bat_v": 3.9}
    again, window2 = describe("reading", _reading(41), CREDS, window, NOW)
    assert again.verdict == "duplicate"
    assert window2 == window


def test_forged_or_malformed_readings_show_the_gateways_reason() -> None:
    forged, _ = describe("reading", _reading(42, secret=bytes(32)), CREDS, CounterWindow(), NOW)
    assert forged.verdict == "bad_mac"
    assert not forged.values
    junk, _ = describe("reading", b"not a message", CREDS, CounterWindow(), NOW)
    assert junk.verdict == "malformed"


def test_acks_and_states_are_verified_with_the_nodes_key() -> None:
    ack = sign(SECRET, encode_ack("ang-0007", 1, NOW, [41, 42], [(43, "out_of_range")]))
    event, _ = describe("ack", ack, CREDS, CounterWindow(), NOW)
    assert event.verdict == "valid"
    assert event.detail == "gateway stored 41,42; gateway refused 43: out_of_range"
    state = sign(SECRET, encode_state("ang-0007", 1, NOW, "online", 3, {"fw": "0.1.0"}))
    event, _ = describe("state", state, CREDS, CounterWindow(), NOW)
    assert event.detail == "online boot 3 fw=0.1.0"
    forged = sign(bytes(32), encode_ack("ang-0007", 1, NOW, [41]))
    assert describe("ack", forged, CREDS, CounterWindow(), NOW)[0].verdict == "bad_mac"
