"""protocol/strict_json.py: a repeated key is found at any depth, however it is spelt, and no
valid text is refused; checked against Python's json with an object_pairs_hook."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.strict_json import DuplicateKey, loads_strict


def _reference(text: bytes) -> bool:
    """True when Python's json, told to, sees a repeated key."""
    dup = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal dup
        keys = [k for k, _ in items]
        dup = dup or len(keys) != len(set(keys))
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return dup


# keys and strings full of the characters the check must see through: ':', '"', '\\'
_text = st.text(alphabet=st.sampled_from('ab:"\\\u00e9/'), max_size=4)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | _text,
    lambda inner: (
        st.lists(inner, max_size=3) | st.lists(st.tuples(_text, inner), max_size=4)
    ),  # object members, keys may repeat
    max_leaves=12,
)


def _dump(v: Any, flip: bool) -> str:
    """JSON text of a generated value; object keys alternate between a literal and a \\u
    spelling of their non-ASCII characters, so one key can appear spelt two ways."""
    if isinstance(v, list) and v and all(isinstance(x, tuple) for x in v):
        return (
            "{"
            + ",".join(
                json.dumps(k, ensure_ascii=(i % 2 == 0) ^ flip) + ":" + _dump(x, flip)
                for i, (k, x) in enumerate(v)
            )
            + "}"
        )
    if isinstance(v, list):
        return "[" + ",".join(_dump(x, flip) for x in v) + "]"
    return json.dumps(v, ensure_ascii=flip)


@given(_json, st.booleans())
@settings(max_examples=600)
def test_strict_loads_refuses_exactly_what_the_reference_sees_as_repeated(
    value: Any, flip: bool
) -> None:
    raw = _dump(value, flip).encode()
    if _reference(raw):
        with pytest.raises(DuplicateKey):
            loads_strict(raw)
    else:
        assert loads_strict(raw) == orjson.loads(raw)


@pytest.mark.parametrize(
    "text",
    [
        b'{"c":1,"c":500001}',
        b'{"m":{"temp_c":1,"temp_c":2}}',
        b'[{"a":1},{"b":{"x":[{"y":1,"y":1}]}}]',
        b'{"\\u0063":1,"c":2}',
        b'{"a:b":1,"a:b":2}',
        b'{"a\\"":1,"a\\"":2}',
    ],
)
def test_a_repeated_key_is_refused(text: bytes) -> None:
    with pytest.raises(DuplicateKey):
        loads_strict(text)


@pytest.mark.parametrize(
    "text",
    [b'{"a":"x:y","b":"\\\\\\":"}', b'{"a":{"a":{"a":1}}}', b'[{"a":1},{"a":1}]', b'"::"', b"[]"],
)
def test_equal_keys_in_different_objects_and_colons_in_strings_are_accepted(
    text: bytes,
) -> None:
    assert loads_strict(text) == orjson.loads(text)
