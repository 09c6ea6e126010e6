"""Rotating pseudonyms (rule 4) and the retention cutoff (rule 5)."""

from __future__ import annotations

import json
import re

import pytest

from gateway.retention import purge_cutoff
from protocol.pseudonyms import DayKey, advance_day_key, pseudonym

SECRET = b"gateway-secret-0123456789abcdef"
ENTROPY = bytes(range(32))


def test_pseudonym_is_stable_within_a_day_and_changes_the_next_day() -> None:
    k1 = advance_day_key(None, "2025-06-15", SECRET, ENTROPY)
    same = advance_day_key(k1, "2025-06-15", SECRET, b"")
    k2 = advance_day_key(k1, "2025-06-16", SECRET, b"")
    assert same == k1
    assert pseudonym("node-0001", k1) == pseudonym("node-0001", same)
    assert pseudonym("node-0001", k1) != pseudonym("node-0001", k2)
    assert pseudonym("node-0001", k2) != pseudonym("node-0002", k2)


def test_pseudonym_reveals_nothing_of_the_node_id_and_fits_an_ngsi_identifier() -> None:
    key = advance_day_key(None, "2025-06-15", SECRET, ENTROPY)
    p = pseudonym("angers-centre-balcony-12", key)
    assert re.fullmatch(r"p-[0-9a-f]{20}", p)
    assert "angers" not in p
    assert "balcony" not in p


def test_old_keys_are_not_derivable_from_secret_and_date_alone() -> None:
    # two genesis with the same secret and date but other random bytes: unrelated keys, so
    # knowing the secret (e.g. after seizing the gateway) does not regenerate a past day's key
    a = advance_day_key(None, "2025-06-15", SECRET, ENTROPY)
    b = advance_day_key(None, "2025-06-15", SECRET, bytes(32))
    assert a.key != b.key
    # the state only ever holds the current key: the ratchet step replaces it
    later = advance_day_key(a, "2025-06-20", SECRET, b"")
    assert later.to_dict().keys() == {"day", "key"}
    assert a.key.hex() not in json.dumps(later.to_dict())


def test_ratchet_never_goes_back_and_every_key_needs_the_secret() -> None:
    k = advance_day_key(None, "2025-06-15", SECRET, ENTROPY)
    assert advance_day_key(k, "2025-06-14", SECRET, b"") == k
    other = advance_day_key(k, "2025-06-16", b"another-secret-0123456789", b"")
    assert other.key != advance_day_key(k, "2025-06-16", SECRET, b"").key


def test_key_state_round_trips_and_never_prints_the_key() -> None:
    k = advance_day_key(None, "2025-06-15", SECRET, ENTROPY)
    assert DayKey.from_dict(json.loads(json.dumps(k.to_dict()))) == k
    assert k.key.hex() not in repr(k)
    with pytest.raises(ValueError, match=r"malformed|32 bytes"):
        DayKey.from_dict({"day": "2025-06-15", "key": "abcd"})
    with pytest.raises(ValueError, match="malformed"):
        DayKey.from_dict({"day": "yesterday", "key": k.key.hex()})


def test_weak_secret_or_missing_entropy_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        advance_day_key(None, "2025-06-15", b"short", ENTROPY)
    with pytest.raises(ValueError, match="random bytes"):
        advance_day_key(None, "2025-06-15", SECRET, b"")


def test_retention_cutoff_is_72_hours_before_now_by_default() -> None:
    now = 1_750_000_000
    assert purge_cutoff(now) == now - 72 * 3600
    assert purge_cutoff(now + 0.5, retention_h=1) == now - 3600 + 1  # never keeps a bit longer
    for bad in (0, -1, 24 * 365):
        with pytest.raises(ValueError, match="retention"):
            purge_cutoff(now, retention_h=bad)
