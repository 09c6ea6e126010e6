"""Rotating pseudonyms for node identifiers in anything published (privacy rule 4).

A node's pseudonym is ``HMAC-SHA256(day_key, node_id)``, truncated; the day key changes every
calendar day (Europe/Paris), so a reuser can follow a node within one day but cannot link its
pseudonyms across days.

The day keys form a one-way ratchet:

    key(first day) = HMAC(gateway_secret, "genesis" | day | fresh random bytes)
    key(next day)  = HMAC(gateway_secret, "next" | day | key(previous day))

Only the current key is kept (the state is ``{"day", "key"}``); the previous one is overwritten.
Both the secret and the date enter every key, as the design asks; the random bytes at genesis
and the one-way step are what make "old keys forgotten" true: whoever later obtains the gateway
(its secret and its current key) still cannot recompute an earlier day's key, hence cannot link
yesterday's published pseudonyms to node ids. Randomness comes in as an argument: no I/O here.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = ["PSEUDONYM_PREFIX", "DayKey", "advance_day_key", "pseudonym"]

PSEUDONYM_PREFIX = "p-"
_PSEUDONYM_BYTES = 10  # 80 bits: no collision among a district's nodes, short in a CSV
_MIN_ENTROPY = 16
_MIN_SECRET = 16


@dataclass(frozen=True, slots=True)
class DayKey:
    day: str  # ISO date in Europe/Paris
    key: bytes

    def __repr__(self) -> str:  # never print a key into a log
        return f"DayKey(day={self.day!r}, key=<{len(self.key)} bytes>)"

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day, "key": self.key.hex()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DayKey:
        try:
            day = date.fromisoformat(d["day"]).isoformat()
            key = bytes.fromhex(d["key"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed pseudonym key state: {exc!r}") from exc
        if len(key) != hashlib.sha256().digest_size:
            raise ValueError("pseudonym key must be 32 bytes")
        return cls(day, key)


def advance_day_key(current: DayKey | None, day: str, secret: bytes, entropy: bytes) -> DayKey:
    """The key for ``day``: unchanged if ``current`` is already that day (or a later one: the
    ratchet never goes back), one ratchet step if ``day`` is later, a genesis from ``entropy``
    (fresh random bytes, e.g. ``os.urandom(32)``) when there is no current key."""
    if len(secret) < _MIN_SECRET:
        raise ValueError(f"the gateway secret must be at least {_MIN_SECRET} bytes")
    day = date.fromisoformat(day).isoformat()
    if current is None:
        if len(entropy) < _MIN_ENTROPY:
            raise ValueError(f"genesis needs at least {_MIN_ENTROPY} random bytes")
        msg = b"territoire/pseudonym/genesis/v1|" + day.encode() + b"|" + entropy
        return DayKey(day, hmac.new(secret, msg, hashlib.sha256).digest())
    if day <= current.day:
        return current
    msg = b"territoire/pseudonym/next/v1|" + day.encode() + b"|" + current.key
    return DayKey(day, hmac.new(secret, msg, hashlib.sha256).digest())


def pseudonym(node_id: str, key: DayKey) -> str:
    """The published name of ``node_id`` on ``key.day``: ``p-`` and 20 hex digits."""
    mac = hmac.new(key.key, node_id.encode(), hashlib.sha256).digest()
    return PSEUDONYM_PREFIX + mac[:_PSEUDONYM_BYTES].hex()
