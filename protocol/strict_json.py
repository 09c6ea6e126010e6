"""Strict JSON for signed bodies: one text, one reading. Pure functions of bytes.

orjson (like Python's json) keeps the last of two equal keys, so ``{"c":1,"c":500001}`` means
500001 here and may mean 1 to another parser of the same signed bytes. A body with a duplicate
key, at any depth, is refused instead (docs/protocol.md, "Message format").

The check costs one walk of the parsed value and a count of the ``:`` in the text: in JSON a
``:`` outside a string separates a key from its value, so the text has exactly as many of them
as the parsed objects have members unless a key was repeated (the parser kept one of them).
Colons inside strings are counted only when the fast count does not already settle it.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

__all__ = ["DuplicateKey", "loads_strict", "member_count"]

# a JSON string as orjson has already accepted it: quotes, then non-quote/non-backslash
# characters or escape pairs
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class DuplicateKey(ValueError):
    """The text names one key twice in one object."""


def member_count(value: Any) -> int:
    """Members of every object in a parsed JSON value (iterative: depth is attacker-chosen).
    orjson builds exact dicts and lists, so ``type() is`` is exact (and cheapest)."""
    count = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is dict:
            count += len(v)
            v = v.values()
        for x in v:
            if type(x) is dict or type(x) is list:
                stack.append(x)
    return count


def loads_strict(text: bytes) -> Any:
    """orjson.loads, refusing a repeated key at any depth.

    Raises orjson.JSONDecodeError for text that is not JSON and :class:`DuplicateKey` for a
    repeated key. Linear in the text; the caller bounds its size.
    """
    value = orjson.loads(text)
    if type(value) is not dict and type(value) is not list:
        return value
    members = member_count(value)
    # fast path: no ':' inside strings and no key dropped (the usual reading)
    if text.count(b":") == members:
        return value
    if _STRING.sub(b"", text).count(b":") != members:
        raise DuplicateKey("a key appears twice in one object")
    return value
