"""Who is browsing the dashboard: the API's session cookie, its CSRF token, role checks.

Pages use the same login sessions as the API (``territoire_session``, HttpOnly, SameSite=Lax)
and the same CSRF token, sent as a hidden ``csrf_token`` field by every form. The login form,
which has no session yet, carries its own token bound to a short-lived cookie (double submit),
so a third-party page cannot log a visitor into an account of its choosing.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from sqlmodel import Session

from fleet.api.deps import SessionDep, SettingsDep, csrf_token_for
from fleet.core.config import Settings
from fleet.crud.operators import Principal, resolve_login_session
from fleet.models import Role
from fleet.web.render import PageError

__all__ = [
    "LOGIN_CSRF_COOKIE",
    "LoginRequired",
    "UserDep",
    "browser_principal",
    "check_csrf",
    "check_login_csrf",
    "csrf_of",
    "login_url",
    "need_role",
    "new_login_csrf",
    "safe_next",
]

LOGIN_CSRF_COOKIE = "territoire_login_csrf"
_ROLE_NAMES: dict[str, str] = {
    "viewer": "role_viewer", "operator": "role_operator", "admin": "role_admin"
}


class LoginRequired(Exception):
    """The page needs a logged-in operator: answered by a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def safe_next(path: str | None) -> str:
    """Only a path of the dashboard itself: never another site (no open redirect)."""
    if not path or not path.startswith("/dashboard") or path.startswith("//") or "\\" in path:
        return "/dashboard"
    return path


def login_url(next_path: str) -> str:
    return "/dashboard/login?" + urlencode({"next": safe_next(next_path)})


def browser_principal(request: Request, session: Session, settings: Settings) -> Principal | None:
    cookie = request.cookies.get(settings.session_cookie_name)
    if not cookie:
        return None
    found = resolve_login_session(session, token=cookie)
    return None if found is None else found[0]


def _require_user(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    principal = browser_principal(request, session, settings)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return principal


UserDep = Annotated[Principal, Depends(_require_user)]


def csrf_of(user: Principal) -> str:
    return csrf_token_for(user.session_token or "")


def check_csrf(user: Principal, sent: str) -> None:
    if user.session_token is None or not hmac.compare_digest(sent.encode(), csrf_of(user).encode()):
        raise PageError(403, "error_forbidden", "error_csrf")


def need_role(user: Principal, role: Role) -> None:
    if not user.at_least(role):
        raise PageError(403, "error_forbidden", "error_role", role_key=_ROLE_NAMES.get(role, role))


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def check_login_csrf(request: Request, sent: str, cookie_name: str = LOGIN_CSRF_COOKIE) -> bool:
    """The double-submit check of a form sent without a session (login, a resident's
    question): the hidden field must equal the cookie this site set."""
    cookie = request.cookies.get(cookie_name, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())
