"""The password policy as pure functions (NIST SP 800-63B), and NFKC against old hashes."""

from __future__ import annotations

import unicodedata

import pytest
from argon2 import PasswordHasher

from fleet.core import security
from fleet.core.passwords import PasswordPolicy, common_passwords, refusal

POLICY = PasswordPolicy(min_length=15, max_length=128)
USER = ("chief@example.org", "chief")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        (" " * 12, "whitespace_only"),
        (" " * 40, "whitespace_only"),
        ("\t \u3000" * 6, "whitespace_only"),
        ("aaaaaaaaaaaa", "too_short"),
        ("password1234", "too_short"),
        ("a" * 20, "repeated_character"),
        ("abcabcabcabcabc", "repetitive"),
        ("iloveyouiloveyou", "repetitive"),
        ("123456789012345", "sequential"),
        ("abcdefghijklmnop", "sequential"),
        ("azertyuiopqsdfgh", "sequential"),
        ("abcd1234efgh5678", "sequential"),
        ("territoire2024!!", "context_word"),
        ("Angers-Angers-1234", "context_word"),
        ("chief@example.org1", "context_word"),
        ("password12345678", "common_password"),
        ("PassWord1234567!", "common_password"),
        ("1qaz2wsx3edc4rfv", "common_password"),
        ("x" * 129 + "y", "too_long"),
    ],
)
def test_weak_passwords_are_refused_with_their_reason(password: str, reason: str) -> None:
    assert refusal(password, POLICY, user_words=USER) == reason


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "my trip to angers in june",  # a context word inside a long enough passphrase
        "Xk9#mP2$vL7qR4wZ",
        "Grüße aus der Bretagne, 2025",  # Unicode allowed
        "q" + "Lw7" * 42 + "z",  # 128 characters, the longest allowed
    ],
)
def test_good_passwords_are_accepted(password: str) -> None:
    assert refusal(password, POLICY, user_words=USER) is None


def test_the_bundled_list_is_loaded_normalised_and_case_insensitive() -> None:
    listed = common_passwords()
    assert len(listed) >= 30_000 - 100
    assert "password" in listed
    assert "azerty" in listed
    assert all(w == unicodedata.normalize("NFKC", w).casefold() for w in listed)
    # full-width letters are the same password once NFKC-normalised
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "password12345678")
    assert refusal(fullwidth, POLICY) == "common_password"


def test_length_counts_code_points_after_nfkc() -> None:
    # 14 accented letters typed decomposed are 28 code points, but 14 characters once composed
    decomposed = unicodedata.normalize("NFD", "éàèùâêîôûçëïüÿ")
    assert len(decomposed) >= 15
    assert refusal(decomposed, POLICY) == "too_short"


def test_an_ascii_hash_made_before_normalisation_still_matches() -> None:
    # hashes made before NFKC were of the password as typed: ASCII is its own NFKC form
    old = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash("Tr0ub4dor&3 horse")
    assert security.check_password(old, "Tr0ub4dor&3 horse") == (True, False)
    assert security.check_password(old, "tr0ub4dor&3 horse") == (False, False)


def test_a_non_ascii_hash_made_before_normalisation_matches_and_asks_for_a_rehash() -> None:
    typed = unicodedata.normalize("NFD", "Crème brûlée à Noël, 2025")
    old = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(typed)
    assert security.check_password(old, typed) == (True, True)
    new = security.hash_password(typed)
    # after the rehash, either way of typing it matches
    assert security.check_password(new, unicodedata.normalize("NFC", typed))[0]
    assert security.check_password(new, typed)[0]
