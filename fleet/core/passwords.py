"""Operators' password policy (NIST SP 800-63B): length, common and breached passwords, simple
patterns, context words; no composition rules. Pure functions of strings."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise

__all__ = [
    "CONTEXT_WORDS",
    "REASONS",
    "PasswordPolicy",
    "common_passwords",
    "explain",
    "normalise",
    "refusal",
]

# the service's own names: a password built on them is among the first an attacker tries
CONTEXT_WORDS = ("territoire", "angers")

# reason code -> explanation, shown by the API (422), the dashboard and the CLI
REASONS: dict[str, str] = {
    "too_short": "at least {min} characters (spaces and any letters allowed: a few words work)",
    "too_long": "at most {max} characters",
    "whitespace_only": "only spaces",
    "repeated_character": "one character repeated",
    "repetitive": "a short pattern repeated (abcabc..., wordword)",
    "sequential": "a run of consecutive characters (1234..., abcd..., qwerty..., azerty...)",
    "context_word": "built on the user name or the service's name: without them it is too short",
    "common_password": "a common or breached password (from a list of known passwords)",
}

# keyboard rows (QWERTY and the French AZERTY) and the two orders people type in sequence
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "azertyuiop",
    "qsdfghjklm",
    "wxcvbn",
)
_NEXT: frozenset[tuple[str, str]] = frozenset(
    pair
    for seq in _SEQUENCES
    for a, b in pairwise(seq)
    for pair in ((a, b), (b, a))
)
_STRIP = " \t0123456789!@#$%^&*()-_=+[]{};:'\",.<>/?\\|`~"


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    min_length: int = 15
    max_length: int = 128


def normalise(password: str) -> str:
    """NFKC, as 800-63B asks before hashing: the same password typed on two keyboards (composed
    or decomposed accents, full-width digits) is one password. ASCII is unchanged."""
    return unicodedata.normalize("NFKC", password)


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list (fleet/data/README.md says where it comes from), normalised, lower case."""
    text = resources.files("fleet").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line)


def _breaks(s: str) -> int:
    """How many neighbouring pairs are neither equal nor consecutive in a known sequence."""
    return sum(1 for a, b in pairwise(s) if a != b and (a, b) not in _NEXT)


def _periodic(s: str) -> bool:
    """True when s repeats a block of at most half its length (abcabcab, wordword)."""
    n = len(s)
    return any(all(s[i] == s[i + p] for i in range(n - p)) for p in range(1, n // 2 + 1))


def _without_context(folded: str, context: tuple[str, ...]) -> str:
    for word in context:
        if len(word) >= 3:
            folded = folded.replace(word, "")
    return folded


def refusal(
    password: str, policy: PasswordPolicy, *, user_words: tuple[str, ...] = ()
) -> str | None:
    """The reason code (a key of REASONS) for which this password is refused, or None.

    Lengths count code points after NFKC; checks are case-insensitive. ``user_words`` are the
    account's own names (its e-mail and the e-mail's local part)."""
    text = normalise(password)
    if len(text) > policy.max_length:
        return "too_long"
    if not text.strip():
        return "whitespace_only"
    if len(text) < policy.min_length:
        return "too_short"
    folded = text.casefold()
    if len(set(folded)) == 1:
        return "repeated_character"
    if _periodic(folded):
        return "repetitive"
    # runs of consecutive characters: fewer than one break per four characters
    if _breaks(folded) * 4 < len(folded):
        return "sequential"
    context = tuple(w.casefold() for w in (*user_words, *CONTEXT_WORDS) if w)
    if len(_without_context(folded, context)) < policy.min_length:
        return "context_word"
    listed = common_passwords()
    if folded in listed or folded.replace(" ", "") in listed or folded.strip(_STRIP) in listed:
        return "common_password"
    return None


def explain(reason: str, policy: PasswordPolicy) -> str:
    """The English sentence for a reason code (the dashboard has its own translations)."""
    detail = REASONS[reason].format(min=policy.min_length, max=policy.max_length)
    return f"password refused ({reason}): {detail}"
