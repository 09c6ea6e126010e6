"""Both languages are complete, and the language is chosen as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fleet.web.i18n import Translator, from_accept_language, pick_language
from fleet.web.messages import MESSAGES

ROOT = Path(__file__).resolve().parents[2]
USED = re.compile(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""")
PREFIXED = re.compile(r"""\bt\(\s*["']([a-z0-9_]+_)["']\s*\+""")


def test_every_text_exists_in_both_languages_with_the_same_values() -> None:
    for key, (fr, en) in MESSAGES.items():
        assert fr.strip(), key
        assert en.strip(), key
        assert set(re.findall(r"{(\w+)}", fr)) == set(re.findall(r"{(\w+)}", en)), key


def test_every_key_the_pages_use_is_translated() -> None:
    sources = [
        *(ROOT / "fleet" / "templates").glob("*.html"),
        *(ROOT / "fleet" / "web").glob("*.py"),
    ]
    used: set[str] = set()
    prefixes: set[str] = set()
    for path in sources:
        text = path.read_text("utf-8")
        used |= set(USED.findall(text))
        prefixes |= set(PREFIXED.findall(text))
    assert len(used) > 150  # the pattern does find the pages' texts
    missing = sorted(k for k in used if k not in MESSAGES)
    assert missing == []
    for prefix in prefixes:  # state_, role_, alert_: families of keys
        assert any(k.startswith(prefix) for k in MESSAGES), prefix


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("en-US,en;q=0.9", "en"),
        ("fr-CA", "fr"),
        ("de-DE, en;q=0.3, fr;q=0.7", "fr"),
        ("en;q=0, fr;q=0.1", "fr"),
        ("es, it", None),
        ("", None),
        ("en;q=abc", None),
    ],
)
def test_accept_language_is_read_with_its_weights(header: str, lang: str | None) -> None:
    assert from_accept_language(header) == lang


def test_query_beats_cookie_beats_browser_beats_french() -> None:
    assert pick_language(query="en", cookie="fr", accept_language="fr") == ("en", True)
    assert pick_language(query=None, cookie="en", accept_language="fr") == ("en", False)
    assert pick_language(query="xx", cookie=None, accept_language="en") == ("en", False)
    assert pick_language(query=None, cookie=None, accept_language=None) == ("fr", False)


def test_translator_fills_values_and_shows_unknown_keys() -> None:
    assert Translator("en")("revoke_title", id="ang-0001") == "Revoke device ang-0001"
    assert Translator("fr")("revoke_title", id="ang-0001") == "Révoquer le capteur ang-0001"
    assert Translator("fr")("no_such_key") == "no_such_key"
