"""Operator login for the dashboard: a session cookie plus a CSRF token for mutating calls."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from fleet.api.deps import (
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    clear_session_cookie,
    csrf_token_for,
    log_in,
    password_policy,
    set_session_cookie,
)
from fleet.crud.login import Throttled, log_out
from fleet.crud.operators import change_own_password as change_password
from fleet.models import LoginRequest, OperatorPublic, SessionInfo
from fleet.models.common import PASSWORD_INPUT_MAX

router = APIRouter(prefix="/auth", tags=["auth"])


class Me(BaseModel):
    operator: OperatorPublic
    role: str = Field(description="the role of this login or token")
    via: str = Field(description="cookie or token")


class CsrfToken(BaseModel):
    csrf_token: str


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=PASSWORD_INPUT_MAX)
    # judged by the password policy (422 with a reason code), not by this bound
    new_password: str = Field(min_length=1, max_length=PASSWORD_INPUT_MAX)


@router.post("/login", response_model=SessionInfo)
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> SessionInfo:
    """429 with Retry-After when this client address has failed too often (for every account,
    or for this one): the account stays open to other addresses."""
    logged_in = log_in(request, session, settings, email=body.email, password=body.password)
    if isinstance(logged_in, Throttled):
        raise HTTPException(
            429,
            "too many failed logins from this address: retry later",
            {"Retry-After": str(logged_in.retry_after)},
        )
    if logged_in is None:
        raise HTTPException(401, "wrong email or password, or account locked")
    op, row, token = logged_in.operator, logged_in.row, logged_in.token
    set_session_cookie(response, settings, token)
    return SessionInfo(
        operator=OperatorPublic.model_validate(op, from_attributes=True),
        csrf_token=csrf_token_for(token),
        expires_at=row.expires_at,
    )


@router.post("/logout", status_code=204)
def logout(
    request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> None:
    token = request.cookies.get(settings.session_cookie_name)
    if token:
        log_out(session, token=token)
    clear_session_cookie(response, settings)


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal) -> Me:
    return Me(
        operator=OperatorPublic.model_validate(principal.operator, from_attributes=True),
        role=principal.role,
        via="cookie" if principal.session_token else "token",
    )


@router.get("/csrf", response_model=CsrfToken)
def csrf(principal: CurrentPrincipal) -> CsrfToken:
    """The CSRF token to send as X-CSRF-Token with every mutating call of a cookie session."""
    if principal.session_token is None:
        raise HTTPException(400, "a bearer token needs no CSRF token")
    return CsrfToken(csrf_token=csrf_token_for(principal.session_token))


@router.post("/password", status_code=204)
def change_own_password(
    body: PasswordChange, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> None:
    """Any role may change its own password (the one change a viewer may make). A password the
    policy refuses is a 422 whose ``reason`` names the rule (docs/security.md)."""
    change_password(
        session,
        operator=principal.operator,
        current=body.current_password,
        new=body.new_password,
        actor=principal.actor,
        policy=password_policy(settings),
    )
    session.commit()
