"""HTML rendering: one Jinja2 environment, the page frame's values, local formats, page errors.

Every page goes through :func:`page`, which picks the language, adds what the frame needs
(navigation, CSRF token, language links) and the security headers: no inline script or style
is ever needed, so the Content-Security-Policy allows only this origin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from fleet.core.config import Settings
from fleet.crud.operators import Principal
from fleet.web.i18n import LANGUAGES, Lang, Translator, pick_language

__all__ = [
    "SECURITY_HEADERS",
    "STATIC_DIR",
    "Formats",
    "PageError",
    "formats_of",
    "language_of",
    "page",
]

FLEET_DIR = Path(__file__).resolve().parents[1]
STATIC_DIR = FLEET_DIR / "static"
ENV = Environment(
    loader=FileSystemLoader(FLEET_DIR / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
_LANG_COOKIE_MAX_AGE = 365 * 86400
_OPERATOR_PAGES = (
    "/dashboard/audit", "/dashboard/claim-codes", "/dashboard/tokens", "/dashboard/questions"
)
PUBLIC_NAV = (
    ("/map", "nav_map"),
    ("/indices", "nav_indices"),
    ("/register", "nav_register"),
    ("/open-data", "nav_open_data"),
    ("/privacy-report", "trust_nav_privacy"),
    ("/releases", "trust_nav_releases"),
)
DASHBOARD_NAV = (
    ("/dashboard", "nav_overview"),
    ("/dashboard/devices", "nav_devices"),
    ("/dashboard/gateways", "nav_gateways"),
    ("/dashboard/alerts", "nav_alerts"),
    ("/dashboard/rollouts", "nav_rollouts"),
    ("/dashboard/questions", "qa_nav_questions"),
    ("/dashboard/claim-codes", "nav_claim_codes"),
    ("/dashboard/zones", "nav_zones"),
    ("/dashboard/profiles", "nav_profiles"),
    ("/dashboard/tokens", "nav_tokens"),
    ("/dashboard/audit", "nav_audit"),
    ("/dashboard/operators", "nav_operators_admin"),
    ("/dashboard/account", "nav_account"),
)
_ADMIN_PAGES = ("/dashboard/operators",)


class PageError(Exception):
    """An error shown as a page in the visitor's language (403, 404, ...)."""

    def __init__(self, status: int, heading_key: str, message_key: str, **values: object):
        super().__init__(message_key)
        self.status = status
        self.heading_key = heading_key
        self.message_key = message_key
        self.values = values


def language_of(request: Request) -> tuple[Lang, bool]:
    settings: Settings = request.app.state.settings
    return pick_language(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(settings.language_cookie_name),
        accept_language=request.headers.get("accept-language"),
    )


@dataclass(frozen=True, slots=True)
class Formats:
    """Dates and numbers as people of this language write them, in the territory's zone."""

    lang: Lang
    tz: ZoneInfo

    def _dt(self, value: int | datetime) -> datetime:
        if isinstance(value, datetime):
            value = value if value.tzinfo else value.replace(tzinfo=UTC)
            return value.astimezone(self.tz)
        return datetime.fromtimestamp(value, self.tz)

    def iso(self, value: int | datetime) -> str:
        return self._dt(value).isoformat(timespec="seconds")

    def dt(self, value: int | datetime) -> str:
        d = self._dt(value)
        return d.strftime("%d/%m/%Y %H:%M") if self.lang == "fr" else d.strftime("%Y-%m-%d %H:%M")

    def date(self, value: date) -> str:
        return value.strftime("%d/%m/%Y") if self.lang == "fr" else value.isoformat()

    def num(self, value: float | None, decimals: int = 0, unit: str = "") -> str:
        if value is None:
            return "—"
        text = f"{value:,.{decimals}f}"
        if self.lang == "fr":  # 1 234,5: narrow no-break space for thousands, decimal comma
            text = text.replace(",", "\u202f").replace(".", ",")
        return f"{text}\u00a0{unit}" if unit else text


def formats_of(request: Request) -> Formats:
    settings: Settings = request.app.state.settings
    return Formats(language_of(request)[0], ZoneInfo(settings.dashboard_timezone))


def _lang_url(request: Request) -> Callable[[str], str]:
    def url(code: str) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
        return f"{request.url.path}?{urlencode([*params, ('lang', code)])}"

    return url


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    title_key: str,
    title_values: Mapping[str, object] | None = None,
    user: Principal | None = None,
    csrf: str | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    lang, chosen = language_of(request)
    t = Translator(lang)
    fmt = Formats(lang, ZoneInfo(settings.dashboard_timezone))
    path = request.url.path
    area = "dashboard" if path.startswith("/dashboard") else "public"
    nav: tuple[tuple[str, str], ...] = PUBLIC_NAV
    if area == "dashboard" and user is not None:
        # the audit log, claim codes and API tokens are for operators and admins: a viewer
        # is not shown their links
        nav = tuple(
            n for n in DASHBOARD_NAV
            if (n[0] not in _OPERATOR_PAGES or user.at_least("operator"))
            and (n[0] not in _ADMIN_PAGES or user.at_least("admin"))
        )
    current = max(
        (href for href, _ in nav if path == href or path.startswith(href + "/")),
        key=len,
        default="",
    )
    values: dict[str, Any] = {
        "lang": lang,
        "languages": LANGUAGES,
        "lang_url": _lang_url(request),
        "t": t,
        "user": user,
        "csrf": csrf,
        "area": area,
        "nav": nav,
        "current_nav": current,
        "title": t(title_key, **(title_values or {})),
        "flash": None,
        "live_url": None,
        "alert_badge": None,
        "iso": fmt.iso,
        "fmt_dt": fmt.dt,
        "fmt_date": fmt.date,
        "fmt_num": fmt.num,
        **context,
    }
    body = ENV.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Vary"] = "Accept-Language, Cookie"
    if user is not None:
        response.headers["Cache-Control"] = "no-store"
    for k, v in (headers or {}).items():
        response.headers[k] = v
    if chosen:
        response.set_cookie(
            settings.language_cookie_name,
            lang,
            max_age=_LANG_COOKIE_MAX_AGE,
            samesite="lax",
            secure=settings.secure_cookies,
            path="/",
        )
    return response
