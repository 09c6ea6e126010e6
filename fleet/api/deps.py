"""Request dependencies: database session, settings, who is calling and with which role."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, Response
from sqlalchemy import Engine
from sqlmodel import Session

from fleet.api.client_address import client_address
from fleet.core.config import Settings
from fleet.core.crypto import SecretBox
from fleet.core.passwords import PasswordPolicy
from fleet.core.signatures import (
    ReplayCache,
    SignatureRefused,
    SignedRequest,
    check_signature,
    parse_signed_request,
)
from fleet.crud import login
from fleet.crud.identity_cache import IdentityCache
from fleet.crud.login import LoggedIn, LoginPolicy, Throttled
from fleet.crud.login_throttle import ThrottleLimits
from fleet.crud.operators import Principal, resolve_api_token, resolve_login_session
from fleet.crud.sync import GatewayIdentity
from fleet.models import Role

__all__ = [
    "AdminDep",
    "BoxDep",
    "CurrentPrincipal",
    "LimitDep",
    "OffsetDep",
    "OperatorDep",
    "SessionDep",
    "SettingsDep",
    "SignedDep",
    "ViewerDep",
    "authenticate_gateway",
    "csrf_token_for",
    "log_in",
    "password_policy",
    "require_role",
    "signed_request",
    "throttle_limits",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.box
    return box


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Session() is lazy: the connection is taken on first use, in the endpoint's thread
    engine: Engine = request.app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        request.app.state.identity_cache.attach(session)
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
BoxDep = Annotated[SecretBox, Depends(get_box)]
SessionDep = Annotated[Session, Depends(get_session)]


async def _limit(request: Request, limit: Annotated[int | None, Query(ge=1)] = None) -> int:
    settings: Settings = request.app.state.settings
    return min(limit or settings.page_default, settings.page_max)


LimitDep = Annotated[int, Depends(_limit)]
OffsetDep = Annotated[int, Query(ge=0, le=10_000_000)]


def csrf_token_for(session_token: str) -> str:
    """Derived from the session token, so it needs no storage and dies with the session."""
    return hashlib.sha256(b"territoire/v1 csrf|" + session_token.encode()).hexdigest()


def password_policy(settings: Settings) -> PasswordPolicy:
    return PasswordPolicy(
        min_length=settings.password_min_length, max_length=settings.password_max_length
    )


def throttle_limits(settings: Settings) -> ThrottleLimits:
    return ThrottleLimits(
        address_max=settings.login_address_max_failures,
        pair_max=settings.login_pair_max_failures,
        window=timedelta(seconds=settings.login_failure_window_s),
        block=timedelta(seconds=settings.login_block_s),
        rows_max=settings.login_throttle_rows_max,
    )


def log_in(
    request: Request, session: Session, settings: Settings, *, email: str, password: str
) -> LoggedIn | Throttled | None:
    """``fleet.crud.login.log_in`` from this request's client address, with the settings."""
    policy = LoginPolicy(
        max_failures=settings.login_max_failures,
        lockout=timedelta(seconds=settings.login_lockout_s),
        ttl=timedelta(seconds=settings.session_ttl_s),
        throttle=throttle_limits(settings),
    )
    address = client_address(request, settings.trusted_proxies)
    return login.log_in(session, email=email, password=password, address=address, policy=policy)


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    """The login session's cookie, for the API's login and the dashboard's alike."""
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_ttl_s,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(settings.session_cookie_name, path="/")


def current_principal(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "use Authorization: Bearer <token>")
        principal = resolve_api_token(session, token=token.strip())
        if principal is None:
            raise HTTPException(401, "invalid or expired token", {"WWW-Authenticate": "Bearer"})
        return principal
    cookie = request.cookies.get(settings.session_cookie_name)
    if not cookie:
        raise HTTPException(401, "not authenticated", {"WWW-Authenticate": "Bearer"})
    found = resolve_login_session(session, token=cookie)
    if found is None:
        raise HTTPException(401, "session expired: log in again")
    principal, _row = found
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), csrf_token_for(cookie).encode()):
            raise HTTPException(403, "missing or wrong X-CSRF-Token header")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(role: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.at_least(role):
            raise HTTPException(403, f"this needs the {role} role")
        return principal

    return check


ViewerDep = Annotated[Principal, Depends(require_role("viewer"))]
OperatorDep = Annotated[Principal, Depends(require_role("operator"))]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]


def _target(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    target = raw.decode("latin-1")
    return f"{target}?{query.decode('latin-1')}" if query else target


async def signed_request(request: Request) -> SignedRequest:
    """Parse the gateway signature headers; the signature is checked against the database key."""
    body = await request.body()
    try:
        return parse_signed_request(request.headers, request.method, _target(request), body)
    except SignatureRefused as exc:
        raise HTTPException(401, str(exc)) from exc


SignedDep = Annotated[SignedRequest, Depends(signed_request)]


def authenticate_gateway(state: Any, signed: SignedRequest) -> GatewayIdentity:
    """The enrolled, active gateway that signed this request, or 401/403.

    ``state`` is the app state (settings, identity cache, replay cache, read engine): the
    idle sync path takes it whole instead of through one dependency each.
    """
    settings: Settings = state.settings
    cache: IdentityCache = state.identity_cache
    replay: ReplayCache = state.replay
    gw = cache.get(state.read_engine.connect, signed.gateway_id)
    if gw is None or gw.ed25519_public_key is None:
        raise HTTPException(401, "unknown or unenrolled gateway")
    try:
        check_signature(
            signed,
            public_key=gw.ed25519_public_key,
            now=time.time(),
            skew_s=settings.signature_skew_s,
            replay=replay,
        )
    except SignatureRefused as exc:
        raise HTTPException(401, str(exc)) from exc
    if gw.status != "active":
        raise HTTPException(403, "gateway is revoked")
    return gw
