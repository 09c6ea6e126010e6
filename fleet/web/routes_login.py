"""Logging in and out of the dashboard with a form (no JavaScript needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from fleet.api.deps import SessionDep, SettingsDep, clear_session_cookie, log_in, set_session_cookie
from fleet.crud.login import Throttled, log_out
from fleet.web.auth import (
    LOGIN_CSRF_COOKIE,
    browser_principal,
    check_csrf,
    check_login_csrf,
    new_login_csrf,
    safe_next,
)
from fleet.web.common import translator
from fleet.web.render import page

router = APIRouter(prefix="/dashboard", include_in_schema=False)

_LOGIN_FORM_TTL_S = 3600


def _login_page(
    request: Request,
    *,
    next_path: str,
    error: str | None = None,
    email: str = "",
    status: int = 200,
    secure: bool,
) -> Response:
    token = new_login_csrf()
    response = page(
        request,
        "login.html",
        {"login_csrf": token, "next_path": safe_next(next_path), "error": error, "email": email},
        title_key="login_title",
        status=status,
        headers={"Cache-Control": "no-store"},
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=_LOGIN_FORM_TTL_S,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/dashboard/login",
    )
    return response


@router.get("/login")
def login_form(
    request: Request, session: SessionDep, settings: SettingsDep, next: str = "/dashboard"
) -> Response:
    if browser_principal(request, session, settings) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_path=next, secure=settings.secure_cookies)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/dashboard",
) -> Response:
    t = translator(request)
    if not check_login_csrf(request, csrf_token):
        return _login_page(
            request,
            next_path=next,
            error=t("login_expired_form"),
            email=email,
            status=403,
            secure=settings.secure_cookies,
        )
    logged_in = log_in(request, session, settings, email=email, password=password)
    if isinstance(logged_in, Throttled):
        minutes = max(1, -(-logged_in.retry_after // 60))
        response = _login_page(
            request,
            next_path=next,
            error=t("login_throttled", minutes=minutes),
            email=email,
            status=429,
            secure=settings.secure_cookies,
        )
        response.headers["Retry-After"] = str(logged_in.retry_after)
        return response
    if logged_in is None:
        return _login_page(
            request,
            next_path=next,
            error=t("login_failed"),
            email=email,
            status=401,
            secure=settings.secure_cookies,
        )
    token = logged_in.token
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, settings, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/dashboard/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    user = browser_principal(request, session, settings)
    if user is not None:
        check_csrf(user, csrf_token)
        log_out(session, token=user.session_token or "")
    response = RedirectResponse("/dashboard/login", status_code=303)
    clear_session_cookie(response, settings)
    return response
