"""Dashboard pages of gateways and API tokens.

Gateways: everyone logged in sees them; an admin creates one (its one-time enrollment token
shown once, with the command to run on the gateway), issues a new enrollment token, revokes one
after a confirmation page, as ``/api/v1/gateways`` allows admins only. API tokens: an operator's
own (list, create with a role up to its own, revoke); an admin also another operator's, as
``/api/v1/tokens``. Every change goes through the API's CRUD functions (same audit entries).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from fleet.api.deps import SessionDep, SettingsDep
from fleet.core.config import Settings
from fleet.crud import gateways as gw_crud
from fleet.crud import operators as op_crud
from fleet.crud.errors import Conflict, NotFound
from fleet.crud.operators import Principal
from fleet.models import ApiToken, ApiTokenCreate, Gateway, GatewayCreate, Operator
from fleet.models.common import ROLE_RANK, utcnow
from fleet.web.auth import UserDep, check_csrf, csrf_of, need_role
from fleet.web.common import clear_caches, stats_of, translator
from fleet.web.forms import field_errors
from fleet.web.render import PageError, page

__all__ = ["ENROLL_CONFIG", "router"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
_INT = re.compile(r"^[0-9]{1,18}$")
_ID = re.compile(r"^[0-9]{1,9}$")
# where the gateway's configuration lives on a gateway installed by the image (docs/gateway.md)
ENROLL_CONFIG = "/etc/territoire/gateway.toml"
_CHOICES = 500  # operators offered to an admin


# -- gateways ---------------------------------------------------------------------------------

def _gateways_page(
    request: Request,
    user: Principal,
    session: Session,
    settings: Settings,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    t = translator(request)
    raw = request.query_params.get("offset", "0")
    offset = min(int(raw), 10_000_000) if _INT.match(raw) else 0
    limit = settings.page_default
    rows = gw_crud.list_gateways(session, limit=limit, offset=offset)
    stats = stats_of(request, session)
    revoked = request.query_params.get("revoked", "")
    return page(
        request,
        "gateways.html",
        {
            "gateways": rows,
            "by_gateway": stats.by_gateway,
            "last_report": stats.gateway_last_report,
            "next_url": (
                f"/dashboard/gateways?offset={offset + limit}" if len(rows) == limit else None
            ),
            "first_url": "/dashboard/gateways" if offset else None,
            "live_url": "/dashboard/events",
            "can_admin": user.at_least("admin"),
            "form": form or {"id": "", "name": "", "description": ""},
            "errors": errors or {},
            "flash": t("gateway_revoked_flash", id=revoked)
            if revoked and any(g.id == revoked and g.status == "revoked" for g in rows)
            else None,
        },
        title_key="gateways_title",
        user=user,
        csrf=csrf_of(user),
        status=422 if errors else 200,
    )


@router.get("/gateways")
def gateways(
    request: Request, user: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    return _gateways_page(request, user, session, settings)


def _token_page(request: Request, user: Principal, gw: Gateway, token: str) -> Response:
    expires = gw.enroll_expires_at
    return page(
        request,
        "gateway_token.html",
        {
            "gw": gw,
            "token": token,
            "expires": expires,
            "command": f"territoire gateway enroll --config {ENROLL_CONFIG} --token {token}",
        },
        title_key="enroll_token_title",
        title_values={"id": gw.id},
        user=user,
        csrf=csrf_of(user),
        # the token is a credential: never kept by a cache (page() adds no-store for users)
        headers={"Referrer-Policy": "no-referrer"},
    )


@router.post("/gateways")
def create_gateway(
    request: Request,
    *,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    id: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """A pending gateway (as POST /api/v1/gateways); its enrollment token is shown this once."""
    check_csrf(user, csrf_token)
    need_role(user, "admin")
    t = translator(request)
    form = {"id": id.strip(), "name": name.strip(), "description": description.strip()}
    try:
        data = GatewayCreate.model_validate(form)
        gw, token = gw_crud.create_gateway(
            session,
            data=data,
            token_ttl=timedelta(seconds=settings.gateway_enroll_token_ttl_s),
            actor=user.actor,
        )
    except ValidationError as exc:
        return _gateways_page(request, user, session, settings, form=form,
                              errors=field_errors(t, exc))
    except Conflict:
        session.rollback()
        return _gateways_page(request, user, session, settings, form=form,
                              errors={"id": t("err_exists")})
    session.commit()
    clear_caches(request)
    return _token_page(request, user, gw, token)


def _gateway_or_404(session: Session, gateway_id: str) -> Gateway:
    gw = session.get(Gateway, gateway_id) if len(gateway_id) <= 32 else None
    if gw is None:
        raise PageError(404, "error_not_found", "gateway_not_found")
    return gw


@router.post("/gateways/{gateway_id}/enroll-token")
def new_enroll_token(
    request: Request,
    gateway_id: str,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A fresh one-time token (as POST /api/v1/gateways/{id}/enroll-token)."""
    check_csrf(user, csrf_token)
    need_role(user, "admin")
    _gateway_or_404(session, gateway_id)
    try:
        gw, token = gw_crud.issue_enroll_token(
            session,
            gateway_id=gateway_id,
            token_ttl=timedelta(seconds=settings.gateway_enroll_token_ttl_s),
            actor=user.actor,
        )
    except Conflict:
        raise PageError(409, "error_forbidden", "gateway_is_revoked") from None
    session.commit()
    return _token_page(request, user, gw, token)


def _revoke_page(request: Request, user: Principal, gw: Gateway, *, mismatch: bool) -> Response:
    return page(
        request,
        "gateway_revoke.html",
        {"gw": gw, "confirm_error": mismatch},
        title_key="revoke_gateway_title",
        title_values={"id": gw.id},
        user=user,
        csrf=csrf_of(user),
        status=422 if mismatch else 200,
    )


@router.get("/gateways/{gateway_id}/revoke")
def revoke_gateway_form(
    request: Request, gateway_id: str, user: UserDep, session: SessionDep
) -> Response:
    need_role(user, "admin")
    gw = _gateway_or_404(session, gateway_id)
    if gw.status == "revoked":
        return RedirectResponse("/dashboard/gateways", status_code=303)
    return _revoke_page(request, user, gw, mismatch=False)


@router.post("/gateways/{gateway_id}/revoke")
def revoke_gateway(
    request: Request,
    gateway_id: str,
    user: UserDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    confirm: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Refuse the gateway from now on (as POST /api/v1/gateways/{id}/revoke), once its id is
    typed."""
    check_csrf(user, csrf_token)
    need_role(user, "admin")
    gw = _gateway_or_404(session, gateway_id)
    if confirm.strip() != gw.id:
        return _revoke_page(request, user, gw, mismatch=True)
    gw_crud.revoke_gateway(session, gateway_id=gw.id, actor=user.actor)
    session.commit()
    clear_caches(request)
    return RedirectResponse(f"/dashboard/gateways?revoked={gw.id}", status_code=303)


# -- API tokens -------------------------------------------------------------------------------

def _owner(session: Session, user: Principal, raw: str | None) -> Operator:
    """Whose tokens: the user's own, or (an admin only) another operator's, as /api/v1/tokens
    with ``operator_id``."""
    if not raw or (_ID.match(raw) and int(raw) == user.operator.id):
        return user.operator
    if not _ID.match(raw):
        raise PageError(404, "error_not_found", "operator_not_found")
    need_role(user, "admin")
    other = session.get(Operator, int(raw))
    if other is None:
        raise PageError(404, "error_not_found", "operator_not_found")
    return other


def token_state(row: ApiToken, now: datetime) -> str:
    """revoked, expired or active (SQLite gives naive UTC datetimes, PostgreSQL aware ones)."""
    if row.revoked_at is not None:
        return "revoked"
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    return "expired" if expires <= now else "active"


def _tokens_page(
    request: Request,
    user: Principal,
    session: Session,
    settings: Settings,
    owner: Operator,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    t = translator(request)
    rows = op_crud.list_api_tokens(session, operator_id=owner.id, limit=settings.page_max,
                                   offset=0)
    # the roles a token of this owner may have (the CRUD function refuses any other)
    roles = [r for r, rank in ROLE_RANK.items() if rank <= ROLE_RANK[owner.role]]
    return page(
        request,
        "tokens.html",
        {
            "tokens": rows,
            "owner": owner,
            "own": owner.id == user.operator.id,
            "operators": op_crud.list_operators(session, limit=_CHOICES, offset=0)
            if user.at_least("admin") else [],
            "roles": roles,
            "token_state": lambda k: token_state(k, utcnow()),
            "form": form or {"name": "", "role": owner.role, "ttl_days": ""},
            "errors": errors or {},
            "ttl_default": settings.api_token_ttl_days_default,
            "ttl_max": settings.api_token_ttl_days_max,
            "flash": t("token_revoked_flash") if request.query_params.get("done") == "revoked"
            else None,
        },
        title_key="tokens_title",
        user=user,
        csrf=csrf_of(user),
        status=422 if errors else 200,
    )


@router.get("/tokens")
def tokens(request: Request, user: UserDep, session: SessionDep, settings: SettingsDep) -> Response:
    need_role(user, "operator")  # as GET /api/v1/tokens
    owner = _owner(session, user, request.query_params.get("operator"))
    return _tokens_page(request, user, session, settings, owner)


def _tokens_url(owner: Operator, user: Principal) -> str:
    return "/dashboard/tokens" + ("" if owner.id == user.operator.id else f"?operator={owner.id}")


@router.post("/tokens")
def create_token(
    request: Request,
    *,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    operator_id: Annotated[str, Form(max_length=20)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    ttl_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A token (as POST /api/v1/tokens); the token itself is shown this once."""
    check_csrf(user, csrf_token)
    need_role(user, "operator")
    owner = _owner(session, user, operator_id or None)
    t = translator(request)
    form = {"name": name.strip(), "role": role, "ttl_days": ttl_days.strip()}
    try:
        data = ApiTokenCreate.model_validate({
            "name": form["name"], "role": role or None, "ttl_days": form["ttl_days"] or None,
        })
        row, token = op_crud.create_api_token(
            session,
            owner=owner,
            data=data,
            default_ttl_days=settings.api_token_ttl_days_default,
            max_ttl_days=settings.api_token_ttl_days_max,
            actor=user.actor,
        )
    except ValidationError as exc:
        errors = field_errors(t, exc)
        if "ttl_days" in errors:
            errors["ttl_days"] = t("err_number", lo=1, hi=3650)
        return _tokens_page(request, user, session, settings, owner, form=form, errors=errors)
    except Conflict as exc:  # a role above the owner's
        session.rollback()
        return _tokens_page(request, user, session, settings, owner, form=form,
                            errors={"role": t("err_invalid", detail=exc.message)})
    session.commit()
    return page(
        request,
        "token_created.html",
        {"row": row, "token": token, "back_url": _tokens_url(owner, user)},
        title_key="token_created_title",
        title_values={"name": row.name},
        user=user,
        csrf=csrf_of(user),
        headers={"Referrer-Policy": "no-referrer"},
    )


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    token_id: str,
    user: UserDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Revoke a token (as POST /api/v1/tokens/{id}/revoke): one's own, an admin any."""
    check_csrf(user, csrf_token)
    need_role(user, "operator")
    if not _ID.match(token_id):
        raise PageError(404, "error_not_found", "token_not_found")
    owner_id = None if user.at_least("admin") else user.operator.id
    try:
        row = op_crud.revoke_api_token(session, token_id=int(token_id), owner_id=owner_id,
                                       actor=user.actor)
    except NotFound:
        raise PageError(404, "error_not_found", "token_not_found") from None
    session.commit()
    owner = session.get(Operator, row.operator_id)
    back = _tokens_url(owner, user) if owner is not None else "/dashboard/tokens"
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done=revoked", status_code=303)
