"""The CPython codec and verifier agree with the protocol's test vectors (tests/vectors/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol.codec import (
    Ack,
    State,
    decode_ack,
    decode_state,
    encode_ack,
    encode_reading,
    encode_state,
    parse_body,
    sign,
    split_signed,
)
from protocol.verify import (
    Accepted,
    CounterWindow,
    Duplicate,
    NodeCredentials,
    RefusedMessage,
    VerifyLimits,
    verify_reading,
)

VECTORS = Path(__file__).parent / "vectors"
NOW = 1764259300


def _load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((VECTORS / f"{name}.json").read_text())
    return data


@pytest.mark.parametrize("vec", _load("readings"), ids=lambda v: v["name"])
def test_reading_vector_encodes_to_the_exact_bytes(vec: dict[str, Any]) -> None:
    i = vec["input"]
    body = encode_reading(
        i["node"], i["kid"], i["counter"], i["t"], i["fw"], i["measures"], i.get("bat"),
        i.get("flags", ()),
    )
    assert body.decode() == vec["body"]
    assert sign(bytes.fromhex(vec["secret_hex"]), body).decode() == vec["message"]


@pytest.mark.parametrize("vec", _load("readings"), ids=lambda v: v["name"])
def test_reading_vector_verifies_and_decodes(vec: dict[str, Any]) -> None:
    i = vec["input"]
    creds = NodeCredentials(i["node"], {i["kid"]: bytes.fromhex(vec["secret_hex"])})
    result = verify_reading(
        i["node"], vec["message"].encode(), creds, CounterWindow(), i["t"] or NOW, VerifyLimits()
    )
    if i["t"] == 0:
        assert isinstance(result, RefusedMessage)
        assert result.reason == "untimed"
        assert result.authentic
        return
    assert isinstance(result, Accepted)
    assert result.reading.counter == i["counter"]
    assert result.reading.measures == {k: pytest.approx(v) for k, v in i["measures"]}
    assert result.reading.bat == i.get("bat")
    assert result.reading.flags == frozenset(i.get("flags", ()))


@pytest.mark.parametrize("vec", _load("refusals"), ids=lambda v: v["name"])
def test_refusal_vector_is_refused_with_its_reason(vec: dict[str, Any]) -> None:
    creds = NodeCredentials("ang-0001", {1: bytes(range(32))})
    result = verify_reading(
        "ang-0001", vec["message"].encode(), creds, CounterWindow(), NOW, VerifyLimits()
    )
    assert isinstance(result, RefusedMessage)
    assert result.reason == vec["reason"]


@pytest.mark.parametrize("vec", _load("acks"), ids=lambda v: v["name"])
def test_ack_vector_round_trips(vec: dict[str, Any]) -> None:
    i = vec["input"]
    body = encode_ack(i["node"], i["kid"], i["t"], i["ok"], [tuple(x) for x in i["no"]])
    assert sign(bytes.fromhex(vec["secret_hex"]), body).decode() == vec["message"]
    parts = split_signed(vec["message"].encode())
    assert isinstance(parts, tuple)
    obj = parse_body(parts[0])
    assert isinstance(obj, dict)
    ack = decode_ack(obj)
    assert isinstance(ack, Ack)
    assert list(ack.ok) == i["ok"]
    assert [list(x) for x in ack.no] == i["no"]


@pytest.mark.parametrize("vec", _load("states"), ids=lambda v: v["name"])
def test_state_vector_round_trips(vec: dict[str, Any]) -> None:
    i = vec["input"]
    body = encode_state(i["node"], i["kid"], i["t"], i["status"], i["boot"], dict(i["extra"]))
    assert sign(bytes.fromhex(vec["secret_hex"]), body).decode() == vec["message"]
    obj = parse_body(body)
    assert isinstance(obj, dict)
    state = decode_state(obj)
    assert isinstance(state, State)
    assert state.boot == i["boot"]
    assert state.extra == dict(i["extra"])


# window.json: the counter window's edges (readings a node builds); verify.json: repeated keys,
# null and empty fields, two faults at once. Same node, secret and time in both.
WINDOW: dict[str, Any] = json.loads((VECTORS / "window.json").read_text())
VERIFY: dict[str, Any] = json.loads((VECTORS / "verify.json").read_text())
CASES: list[dict[str, Any]] = WINDOW["cases"] + VERIFY["cases"]


def vector_creds(registry: str) -> NodeCredentials | None:
    """The registry of a verify.json case: node ang-0001 with key 1, unknown, or revoked."""
    if registry == "unknown":
        return None
    secret = bytes.fromhex(VERIFY["secret_hex"])
    return NodeCredentials(VERIFY["node"], {VERIFY["key_id"]: secret}, registry == "revoked")


def vector_window(spec: dict[str, Any]) -> CounterWindow:
    window = CounterWindow()
    for c in sorted(spec["seen"]):
        window = window.accept(c)
    assert window.high == spec["high"]
    return window


def outcome_of(result: Accepted | Duplicate | RefusedMessage) -> tuple[str, bool, int | None]:
    """(outcome, whether the node's ack names it, the counter named)."""
    if isinstance(result, Accepted):
        return "accepted", True, result.reading.counter
    if isinstance(result, Duplicate):
        return "duplicate", True, result.reading.counter
    told = result.authentic and result.counter is not None
    return result.reason, told, result.counter if told else None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_verify_vector_gets_its_outcome_in_the_spec_order(case: dict[str, Any]) -> None:
    window = vector_window(case["window"])
    result = verify_reading(
        case["topic"],
        case["message"].encode(),
        vector_creds(case["registry"]),
        window,
        VERIFY["now"],
        VerifyLimits(),
    )
    assert outcome_of(result) == (case["outcome"], case["told"], case["counter"])
    if isinstance(result, Accepted):  # and the window takes it (a jump to 2^53 - 1 included)
        assert window.accept(result.reading.counter).classify(case["counter"]) == "duplicate"


def test_verify_vector_sequence_moves_the_window() -> None:
    creds = vector_creds("known")
    window = CounterWindow()
    for step in WINDOW["sequence"]:
        result = verify_reading(
            VERIFY["node"], step["message"].encode(), creds, window, VERIFY["now"],
            VerifyLimits(),
        )
        assert outcome_of(result)[0] == step["outcome"], step["counter"]
        if isinstance(result, Accepted):
            window = window.accept(result.reading.counter)


@pytest.mark.parametrize(
    "case", WINDOW["cases"] + WINDOW["sequence"], ids=lambda c: c.get("name", str(c["counter"]))
)
def test_window_vector_is_what_the_encoder_builds(case: dict[str, Any]) -> None:
    i = case["input"]
    body = encode_reading(i["node"], i["kid"], i["counter"], i["t"], i["fw"], i["measures"],
                          i["bat"])
    assert sign(bytes.fromhex(VERIFY["secret_hex"]), body).decode() == case["message"]


def test_vectors_are_what_the_generator_writes() -> None:
    from tests.vectors import make_vectors, verify_vectors

    assert json.loads((VECTORS / "readings.json").read_text()) == make_vectors.readings()
    assert json.loads((VECTORS / "acks.json").read_text()) == make_vectors.acks()
    assert json.loads((VECTORS / "refusals.json").read_text()) == make_vectors.refusals()
    assert verify_vectors.verify() == VERIFY
    assert verify_vectors.window() == WINDOW
    same = ("node", "key_id", "secret_hex", "now")
    assert {k: WINDOW[k] for k in same} == {k: VERIFY[k] for k in same}
