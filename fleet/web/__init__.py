"""The web pages of the fleet service: the operators' dashboard and the public pages.

``include_web(app)`` adds them to an app built by ``fleet.app.create_app``: the public sensor
register and open data (no login), the dashboard under ``/dashboard`` (the API's session
cookie and CSRF token), and the files of ``fleet/static`` under ``/static``. Pages are HTML
rendered on the server, in French or English, and work without JavaScript except the live
updates.
"""

from __future__ import annotations

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session

from fleet.core.config import Settings
from fleet.web import (
    live,
    routes_account,
    routes_admin,
    routes_claims,
    routes_devices,
    routes_indices,
    routes_login,
    routes_map,
    routes_ops,
    routes_public,
    routes_questions,
    routes_registry,
    routes_rollouts,
    routes_trust,
)
from fleet.web.auth import LoginRequired, browser_principal, csrf_of, login_url
from fleet.web.common import install_caches, translator
from fleet.web.render import STATIC_DIR, PageError, page

__all__ = ["include_web"]

ROUTERS = (
    routes_public.router,
    routes_map.router,
    routes_indices.router,
    routes_trust.router,
    routes_questions.router,
    routes_login.router,
    routes_devices.router,
    routes_ops.router,
    routes_rollouts.router,
    routes_claims.router,
    routes_registry.router,
    routes_admin.router,
    routes_account.router,
    live.router,
)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path), status_code=303)


def _error_page(request: Request, exc: PageError) -> Response:
    settings: Settings = request.app.state.settings
    t = translator(request)
    user = None
    if request.url.path.startswith("/dashboard"):
        with Session(request.app.state.engine) as session:
            user = browser_principal(request, session, settings)
    # a value named *_key is a message key (a role name, ...), shown translated
    values = {
        k.removesuffix("_key"): t(str(v)) if k.endswith("_key") else v
        for k, v in exc.values.items()
    }
    return page(
        request,
        "error.html",
        {
            "heading": t(exc.heading_key),
            "message": t(exc.message_key, **values),
            "back_url": "/dashboard" if user is not None else "/register",
        },
        title_key=exc.heading_key,
        user=user,
        csrf=csrf_of(user) if user is not None else None,
        status=exc.status,
    )


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return await anyio.to_thread.run_sync(_error_page, request, exc)


def include_web(app: FastAPI) -> None:
    install_caches(app.state, app.state.settings)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageError, _page_error)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
