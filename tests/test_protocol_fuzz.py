"""Property and fuzz tests of the decoder and the verifier: never raise, never accept a bad MAC."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.codec import encode_reading, sign
from protocol.metrics import METRICS
from protocol.verify import (
    Accepted,
    CounterWindow,
    Duplicate,
    NodeCredentials,
    RefusedMessage,
    VerifyLimits,
    verify_reading,
)

SECRET = bytes(range(32))
CREDS = NodeCredentials("ang-0001", {1: SECRET})
NOW = 1764259300.0

metric_values = st.sampled_from(sorted(METRICS)).flatmap(
    lambda k: st.tuples(
        st.just(k),
        st.floats(METRICS[k].lo, METRICS[k].hi, allow_nan=False).map(
            lambda v: round(v, METRICS[k].decimals)
        ),
    )
)


@given(st.binary(max_size=2048))
@settings(max_examples=500)
def test_arbitrary_bytes_never_raise_and_are_never_accepted(data: bytes) -> None:
    result = verify_reading("ang-0001", data, CREDS, CounterWindow(), NOW, VerifyLimits())
    assert isinstance(result, RefusedMessage)


@given(st.text(max_size=600))
@settings(max_examples=300)
def test_arbitrary_text_with_a_forged_mac_is_refused(body: str) -> None:
    forged = body.encode() + b" " + b"A" * 43
    result = verify_reading("ang-0001", forged, CREDS, CounterWindow(), NOW, VerifyLimits())
    assert isinstance(result, RefusedMessage)


@given(
    counter=st.integers(1, 2**53 - 1),
    measures=st.lists(metric_values, min_size=1, max_size=8, unique_by=lambda kv: kv[0]),
    bat=st.none() | st.floats(0, 5, allow_nan=False).map(lambda v: round(v, 2)),
    flip=st.integers(0, 10_000),
    bit=st.integers(0, 7),
)
@settings(max_examples=300)
def test_any_single_bit_flip_of_a_valid_reading_is_refused(
    counter: int, measures: list[tuple[str, float]], bat: float | None, flip: int, bit: int
) -> None:
    body = encode_reading("ang-0001", 1, counter, int(NOW), "0.1.0", measures, bat)
    msg = bytearray(sign(SECRET, body))
    ok = verify_reading("ang-0001", bytes(msg), CREDS, CounterWindow(), NOW, VerifyLimits())
    assert isinstance(ok, Accepted)
    msg[flip % len(msg)] ^= 1 << bit
    result = verify_reading("ang-0001", bytes(msg), CREDS, CounterWindow(), NOW, VerifyLimits())
    assert isinstance(result, RefusedMessage)


@given(st.dictionaries(st.text(max_size=8), st.none() | st.integers() | st.text(max_size=8)
                       | st.floats() | st.booleans(), max_size=10))
def test_signed_nonsense_is_refused_not_raised(obj: dict[str, object]) -> None:
    import orjson

    try:
        body = orjson.dumps(obj)
    except (TypeError, orjson.JSONEncodeError):
        return
    msg = sign(SECRET, body)
    result = verify_reading("ang-0001", msg, CREDS, CounterWindow(), NOW, VerifyLimits())
    assert isinstance(result, RefusedMessage)


@given(st.lists(st.integers(1, 5000), min_size=1, max_size=200))
def test_counter_window_accepts_each_counter_once(counters: list[int]) -> None:
    window = CounterWindow()
    accepted: list[int] = []
    for c in counters:
        status = window.classify(c)
        if status == "new":
            window = window.accept(c)
            accepted.append(c)
        elif status == "duplicate":
            assert c in accepted
    assert len(accepted) == len(set(accepted))


def test_duplicate_is_recognised_not_refused() -> None:
    body = encode_reading("ang-0001", 1, 7, int(NOW), "0.1.0", [("temp_c", 1.0)])
    msg = sign(SECRET, body)
    window = CounterWindow().accept(7)
    assert isinstance(
        verify_reading("ang-0001", msg, CREDS, window, NOW, VerifyLimits()), Duplicate
    )
