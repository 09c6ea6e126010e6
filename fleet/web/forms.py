"""Form errors of the dashboard: the fleet's own models check a form, and each refusal is shown
next to its field in the visitor's language."""

from __future__ import annotations

from pydantic import ValidationError

from fleet.web.i18n import Translator

__all__ = ["field_errors"]


def _message(t: Translator, error: dict[str, object]) -> str:
    kind = error.get("type")
    ctx = error.get("ctx")
    values = ctx if isinstance(ctx, dict) else {}
    if kind == "missing" or (kind == "string_too_short" and values.get("min_length") == 1):
        return t("err_required")
    if kind == "string_too_short":
        return t("err_too_short", min=values.get("min_length", "?"))
    if kind in ("string_too_long", "too_long"):
        return t("err_too_long", max=values.get("max_length", "?"))
    if kind == "string_pattern_mismatch":
        return t("err_slug")
    if kind == "value_error":
        # our own validators (unknown metric, a bad outline): their text, without pydantic's
        # "Value error, " prefix
        return t("err_invalid", detail=str(error.get("msg", "")).removeprefix("Value error, "))
    return t("err_invalid", detail=str(error.get("msg", "")))


def field_errors(t: Translator, exc: ValidationError) -> dict[str, str]:
    """{field name: its first error}, for the fields a model refused."""
    out: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc", ())
        field = str(loc[0]) if loc else "form"
        out.setdefault(field, _message(t, dict(error)))
    return out
