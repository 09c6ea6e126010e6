"""Dashboard pages of accounts: one's own password (every role), and for an admin the list of
operators with their lock, and the unlock (as ``/api/v1/auth/password`` and
``/api/v1/operators/{id}/unlock``, through the same CRUD functions and audit entries)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from fleet.api.deps import SessionDep, SettingsDep, password_policy
from fleet.core.config import Settings
from fleet.crud import operators as op_crud
from fleet.crud.errors import NotFound, Refused, WeakPassword
from fleet.crud.operators import Principal
from fleet.models import Operator
from fleet.models.common import PASSWORD_INPUT_MAX, utcnow
from fleet.web.auth import UserDep, check_csrf, csrf_of, need_role
from fleet.web.common import translator
from fleet.web.render import PageError, page

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
_ID = re.compile(r"^[0-9]{1,9}$")
_LIST_MAX = 500  # operators on the admin's page


def _account_page(
    request: Request,
    user: Principal,
    settings: Settings,
    *,
    errors: dict[str, str] | None = None,
    flash: str | None = None,
) -> Response:
    return page(
        request,
        "account.html",
        {
            "errors": errors or {},
            "min_length": settings.password_min_length,
            "max_length": settings.password_max_length,
            "flash": flash,
        },
        title_key="account_title",
        user=user,
        csrf=csrf_of(user),
        status=422 if errors else 200,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/account")
def account(request: Request, user: UserDep, settings: SettingsDep) -> Response:
    done = request.query_params.get("done") == "password"
    return _account_page(request, user, settings,
                         flash=translator(request)("password_changed") if done else None)


@router.post("/account/password")
def change_password(
    request: Request,
    *,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    current_password: Annotated[str, Form(max_length=PASSWORD_INPUT_MAX)] = "",
    new_password: Annotated[str, Form(max_length=PASSWORD_INPUT_MAX)] = "",
    confirm_password: Annotated[str, Form(max_length=PASSWORD_INPUT_MAX)] = "",
) -> Response:
    """One's own password (as POST /api/v1/auth/password); the refusal names the rule."""
    check_csrf(user, csrf_token)
    t = translator(request)
    policy = password_policy(settings)
    if new_password != confirm_password:
        return _account_page(request, user, settings,
                             errors={"confirm_password": t("password_mismatch")})
    try:
        op_crud.change_own_password(
            session, operator=user.operator, current=current_password, new=new_password,
            actor=user.actor, policy=policy,
        )
    except Refused:
        session.rollback()
        return _account_page(request, user, settings,
                             errors={"current_password": t("password_current_wrong")})
    except WeakPassword as exc:
        session.rollback()
        reason = exc.reason or "common_password"
        text = t("pw_" + reason, min=policy.min_length, max=policy.max_length)
        return _account_page(request, user, settings, errors={"new_password": text})
    session.commit()
    return RedirectResponse("/dashboard/account?done=password", status_code=303)


def _operators(session: Session) -> list[Operator]:
    return op_crud.list_operators(session, limit=_LIST_MAX, offset=0)


@router.get("/operators")
def operators(request: Request, user: UserDep, session: SessionDep) -> Response:
    need_role(user, "admin")  # as GET /api/v1/operators
    now = utcnow()
    done = request.query_params.get("done") == "unlocked"
    return page(
        request,
        "operators.html",
        {
            "rows": _operators(session),
            "is_locked": lambda o: o.locked_until is not None and _aware(o.locked_until) > now,
            "flash": translator(request)("operator_unlocked_flash") if done else None,
        },
        title_key="operators_title",
        user=user,
        csrf=csrf_of(user),
    )


def _aware(value: datetime) -> datetime:
    """SQLite may give naive UTC datetimes, PostgreSQL aware ones."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.post("/operators/{operator_id}/unlock")
def unlock(
    operator_id: str,
    user: UserDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Lift an account's lock and its per-address counts (as POST /api/v1/operators/{id}/unlock)."""
    check_csrf(user, csrf_token)
    need_role(user, "admin")
    if not _ID.match(operator_id):
        raise PageError(404, "error_not_found", "operator_not_found")
    try:
        op_crud.unlock_operator(session, operator_id=int(operator_id), actor=user.actor)
    except NotFound:
        raise PageError(404, "error_not_found", "operator_not_found") from None
    session.commit()
    return RedirectResponse("/dashboard/operators?done=unlocked", status_code=303)
