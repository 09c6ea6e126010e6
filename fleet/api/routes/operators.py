"""Operator accounts (admin only) and API tokens for the CLI."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from fleet.api.deps import (
    AdminDep,
    LimitDep,
    OffsetDep,
    OperatorDep,
    SessionDep,
    SettingsDep,
    password_policy,
)
from fleet.api.params import IntIdPath
from fleet.crud import operators as crud
from fleet.models import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    Operator,
    OperatorCreate,
    OperatorPublic,
    OperatorUpdate,
)

router = APIRouter(tags=["operators"])


@router.get("/operators", response_model=list[OperatorPublic])
def list_operators(
    _: AdminDep, session: SessionDep, limit: LimitDep, offset: OffsetDep = 0
) -> list[Operator]:
    return crud.list_operators(session, limit=limit, offset=offset)


@router.post("/operators", response_model=OperatorPublic, status_code=201)
def create_operator(
    body: OperatorCreate, principal: AdminDep, session: SessionDep, settings: SettingsDep
) -> Operator:
    """A password the policy refuses is a 422 whose ``reason`` names the rule."""
    op = crud.create_operator(
        session, data=body, actor=principal.actor, policy=password_policy(settings)
    )
    session.commit()
    return op


@router.get("/operators/{operator_id}", response_model=OperatorPublic)
def get_operator(operator_id: IntIdPath, _: AdminDep, session: SessionDep) -> Operator:
    op = session.get(Operator, operator_id)
    if op is None:
        raise HTTPException(404, "no such operator")
    return op


@router.patch("/operators/{operator_id}", response_model=OperatorPublic)
def update_operator(
    operator_id: IntIdPath,
    body: OperatorUpdate,
    principal: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Operator:
    if operator_id == principal.operator.id and (
        (body.role is not None and body.role != "admin") or body.is_active is False
    ):
        raise HTTPException(409, "an admin cannot demote or disable itself")
    op = crud.update_operator(
        session,
        operator_id=operator_id,
        data=body,
        actor=principal.actor,
        policy=password_policy(settings),
    )
    session.commit()
    return op


@router.post("/operators/{operator_id}/unlock", response_model=OperatorPublic)
def unlock_operator(operator_id: IntIdPath, principal: AdminDep, session: SessionDep) -> Operator:
    """Lift the account's lock and every address's failure count on it (audited)."""
    op = crud.unlock_operator(session, operator_id=operator_id, actor=principal.actor)
    session.commit()
    return op


@router.get("/tokens", response_model=list[ApiTokenPublic])
def list_tokens(
    principal: OperatorDep,
    session: SessionDep,
    limit: LimitDep,
    offset: OffsetDep = 0,
    operator_id: int | None = Query(
        default=None, ge=1, le=2**31 - 1, description="admin: another operator's"
    ),
) -> list[ApiTokenPublic]:
    owner = principal.operator.id
    if operator_id is not None and operator_id != owner:
        if not principal.at_least("admin"):
            raise HTTPException(403, "this needs the admin role")
        owner = operator_id
    rows = crud.list_api_tokens(session, operator_id=owner, limit=limit, offset=offset)
    return [ApiTokenPublic.model_validate(r, from_attributes=True) for r in rows]


@router.post("/tokens", response_model=ApiTokenCreated, status_code=201)
def create_token(
    body: ApiTokenCreate,
    principal: OperatorDep,
    session: SessionDep,
    settings: SettingsDep,
    operator_id: int | None = Query(
        default=None, ge=1, le=2**31 - 1, description="admin: a token for another"
    ),
) -> ApiTokenCreated:
    """A bearer token for the CLI; the token itself is in this response only."""
    owner = principal.operator
    if operator_id is not None and operator_id != owner.id:
        if not principal.at_least("admin"):
            raise HTTPException(403, "this needs the admin role")
        other = session.get(Operator, operator_id)
        if other is None:
            raise HTTPException(404, "no such operator")
        owner = other
    row, token = crud.create_api_token(
        session,
        owner=owner,
        data=body,
        default_ttl_days=settings.api_token_ttl_days_default,
        max_ttl_days=settings.api_token_ttl_days_max,
        actor=principal.actor,
    )
    session.commit()
    public = ApiTokenPublic.model_validate(row, from_attributes=True)
    return ApiTokenCreated(**public.model_dump(), token=token)


@router.post("/tokens/{token_id}/revoke", response_model=ApiTokenPublic)
def revoke_token(
    token_id: IntIdPath, principal: OperatorDep, session: SessionDep
) -> ApiTokenPublic:
    owner = None if principal.at_least("admin") else principal.operator.id
    row = crud.revoke_api_token(session, token_id=token_id, owner_id=owner, actor=principal.actor)
    session.commit()
    return ApiTokenPublic.model_validate(row, from_attributes=True)
