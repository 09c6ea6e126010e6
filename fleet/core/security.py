"""Passwords, bearer tokens, claim codes: generation, hashing and constant-time checks."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from fleet.core.passwords import normalise

__all__ = [
    "API_TOKEN_PREFIX",
    "CLAIM_ALPHABET",
    "ENROLL_TOKEN_PREFIX",
    "check_password",
    "hash_password",
    "hash_token",
    "needs_rehash",
    "new_api_token",
    "new_claim_code",
    "new_enroll_token",
    "new_session_token",
    "normalise_claim_code",
    "same",
    "verify_password",
]

API_TOKEN_PREFIX = "tfa_"  # noqa: S105  (a visible prefix, not a secret)
ENROLL_TOKEN_PREFIX = "tfg_"  # noqa: S105
# Crockford base32 without I, L, O, U: readable aloud and on a printed label
CLAIM_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CLAIM_GROUPS = 5  # 5 groups of 4 characters: 100 bits

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): ~60 ms here, so logins cannot be
# used to exhaust the server; old hashes with other parameters are upgraded at login
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# verified against when the account does not exist, so timing does not reveal accounts
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Argon2id of the NFKC form (NIST SP 800-63B): one password however it was typed."""
    return _hasher.hash(normalise(password))


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password(password_hash: str | None, password: str) -> tuple[bool, bool]:
    """(right, rehash): an Argon2 check; a missing account costs the time of a wrong password.

    Hashes made before NFKC normalisation hold the password as typed: ASCII is its own NFKC
    form, so those match at once; another one is tried as typed, and then wants a rehash."""
    if password_hash is None:
        _matches(_DUMMY_HASH, password)
        return False, False
    typed = normalise(password)
    if _matches(password_hash, typed):
        return True, _hasher.check_needs_rehash(password_hash)
    if typed != password and _matches(password_hash, password):
        return True, True
    return False, False


def verify_password(password_hash: str | None, password: str) -> bool:
    return check_password(password_hash, password)[0]


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def hash_token(token: str) -> str:
    """Tokens are random and long, so a plain SHA-256 is the right lookup key."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_enroll_token() -> str:
    return ENROLL_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_claim_code() -> str:
    chars = "".join(secrets.choice(CLAIM_ALPHABET) for _ in range(4 * _CLAIM_GROUPS))
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def normalise_claim_code(text: str) -> str | None:
    """Canonical form of a typed or scanned code (case, spaces, confusable letters), or None."""
    raw = text.upper().replace("-", "").replace(" ", "")
    raw = raw.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(raw) != 4 * _CLAIM_GROUPS or any(c not in CLAIM_ALPHABET for c in raw):
        return None
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
