"""The node's state message: its health fields are checked by the decoder, so whatever a node
(authentic, but perhaps with a firmware bug) puts in a state, what the gateway forwards is a
health item the fleet takes. A field the fleet refused would make it refuse the whole batch,
and the other nodes' aggregates in it would be set aside with it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.models import HealthItem
from gateway.ingest import Batch
from gateway.node_health import NodeHealth
from protocol.codec import Reject, State, decode_state

HEADER = {"y": "s", "n": "ang-0001", "k": 1, "t": 1764259200, "st": "online", "boot": 12}

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=64),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=3),
    max_leaves=6,
)
_fields = st.dictionaries(
    st.sampled_from(["fw", "slot", "up", "heap", "peak", "buf", "ev", "rc", "rssi", "hw", "x"]),
    _json | st.integers(-300, 2**54) | st.sampled_from(["a", "b", "0.1.0"]),
    max_size=8,
)


def _decode(**fields: Any) -> State | Reject:
    return decode_state({**HEADER, **fields})


def test_the_firmwares_state_is_accepted_with_its_fields() -> None:
    fields = {"fw": "0.1.0", "slot": "a", "up": 42, "heap": 61234, "peak": 38120, "buf": 3,
              "ev": 0, "rc": 1, "rssi": -67, "hw": "esp32"}
    state = _decode(**fields)
    assert isinstance(state, State)
    assert state.extra == fields


def test_fields_out_of_bounds_are_refused_with_the_field_named() -> None:
    for field, value in (("slot", "a" * 20), ("slot", 1), ("slot", ["a"]), ("slot", {}),
                         ("fw", ""), ("fw", "v" * 33), ("buf", -1), ("up", 2**40),
                         ("rc", True), ("rssi", -300), ("heap", 1.5)):
        out = _decode(**{field: value})
        assert isinstance(out, Reject), (field, value)
        assert out.reason == "malformed"
        assert field in out.detail or (field == "fw" and "firmware" in out.detail)


def test_fields_a_newer_firmware_adds_are_left_out_not_refused() -> None:
    state = _decode(fw="0.3.0", die_temp=41, colour={"a": 1})
    assert isinstance(state, State)
    assert state.extra == {"fw": "0.3.0"}


def test_hardware_is_kept_and_a_bad_one_refused() -> None:
    for hw in ("esp32", "emu-x64", "esp32s3"):  # a board added later is still forwarded
        state = _decode(hw=hw)
        assert isinstance(state, State), hw
        assert state.extra == {"hw": hw}
    for bad in ("", "ESP32", "-x", "e" * 17, 32, None, ["esp32"], "esp32\n"):
        out = _decode(hw=bad)
        assert isinstance(out, Reject), bad
        assert out.detail == "bad hw"


@settings(max_examples=400, deadline=None)
@given(_fields, st.integers(-5, 2**54))
def test_whatever_a_state_says_the_fleet_takes_the_health_item_the_gateway_makes(
    fields: dict[str, Any], boot: int,
) -> None:
    state = decode_state({**HEADER, **fields, "boot": boot})
    if isinstance(state, Reject):
        assert state.reason == "malformed"
        return
    batch = Batch()
    batch.states.append(state)
    health = NodeHealth()
    health.record(batch, {"ang-0001"}, now=1764259201.0)
    (item,) = health.changed_items(now=1764259202.0)
    HealthItem.model_validate(item)
