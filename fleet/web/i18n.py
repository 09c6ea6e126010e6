"""Languages of the web pages: French by default, English available.

The language of a request is, in order: ``?lang=`` (which also sets a cookie), the language
cookie, the browser's ``Accept-Language``, then French. Texts live in ``fleet.web.messages``
as one entry per key with both languages side by side, so a missing translation is visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fleet.web.messages import MESSAGES

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Lang",
    "Translator",
    "from_accept_language",
    "pick_language",
]

Lang = Literal["fr", "en"]
DEFAULT_LANGUAGE: Lang = "fr"
# (code, name of the language in itself): what the switch shows
LANGUAGES: tuple[tuple[Lang, str], ...] = (("fr", "Français"), ("en", "English"))
_CODES: dict[str, Lang] = {"fr": "fr", "en": "en"}
_INDEX = {"fr": 0, "en": 1}


def _known(code: str | None) -> Lang | None:
    if not code:
        return None
    return _CODES.get(code.strip().lower()[:2])


def from_accept_language(header: str) -> Lang | None:
    """The preferred language we speak from an ``Accept-Language`` header (RFC 9110 q-values)."""
    ranked: list[tuple[float, int, Lang]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        lang = _known(tag)
        if lang is not None and quality > 0:
            ranked.append((-quality, position, lang))
    return min(ranked)[2] if ranked else None


def pick_language(
    *, query: str | None, cookie: str | None, accept_language: str | None
) -> tuple[Lang, bool]:
    """The request's language, and whether it was chosen now (to remember in a cookie)."""
    chosen = _known(query)
    if chosen is not None:
        return chosen, True
    return (
        _known(cookie) or from_accept_language(accept_language or "") or DEFAULT_LANGUAGE,
        False,
    )


@dataclass(frozen=True, slots=True)
class Translator:
    lang: Lang

    def __call__(self, key: str, **values: object) -> str:
        entry = MESSAGES.get(key)
        if entry is None:
            # a missing key is a programming error that tests catch; show the key, never crash
            return key
        text = entry[_INDEX[self.lang]]
        return text.format(**values) if values else text
