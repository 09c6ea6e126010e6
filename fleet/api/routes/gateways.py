"""Gateways as operators see them: create (with a one-time enrollment token), revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, HTTPException

from fleet.api.deps import (
    AdminDep,
    LimitDep,
    OffsetDep,
    OperatorDep,
    SessionDep,
    SettingsDep,
    ViewerDep,
)
from fleet.api.params import GatewayIdPath
from fleet.crud import gateways as crud
from fleet.models import Gateway, GatewayCreate, GatewayCreated, GatewayPublic, GatewayUpdate

router = APIRouter(prefix="/gateways", tags=["gateways"])


def to_public(gw: Gateway) -> GatewayPublic:
    return GatewayPublic(
        id=gw.id,
        name=gw.name,
        description=gw.description,
        status=gw.status,
        ed25519_public_key=gw.ed25519_public_key.hex() if gw.ed25519_public_key else None,
        x25519_public_key=gw.x25519_public_key.hex() if gw.x25519_public_key else None,
        sync_seq=gw.sync_seq,
        created_at=gw.created_at,
        enrolled_at=gw.enrolled_at,
        revoked_at=gw.revoked_at,
        enroll_expires_at=gw.enroll_expires_at,
    )


@router.get("", response_model=list[GatewayPublic])
def list_gateways(
    _: ViewerDep,
    session: SessionDep,
    limit: LimitDep,
    offset: OffsetDep = 0,
    status: Literal["pending", "active", "revoked"] | None = None,
) -> list[GatewayPublic]:
    rows = crud.list_gateways(session, limit=limit, offset=offset, status=status)
    return [to_public(g) for g in rows]


@router.post("", response_model=GatewayCreated, status_code=201)
def create_gateway(
    body: GatewayCreate, principal: AdminDep, session: SessionDep, settings: SettingsDep
) -> GatewayCreated:
    """A pending gateway; ``enroll_token`` is shown in this response only."""
    gw, token = crud.create_gateway(
        session,
        data=body,
        token_ttl=timedelta(seconds=settings.gateway_enroll_token_ttl_s),
        actor=principal.actor,
    )
    session.commit()
    return GatewayCreated(**to_public(gw).model_dump(), enroll_token=token)


@router.get("/{gateway_id}", response_model=GatewayPublic)
def get_gateway(gateway_id: GatewayIdPath, _: ViewerDep, session: SessionDep) -> GatewayPublic:
    gw = session.get(Gateway, gateway_id)
    if gw is None:
        raise HTTPException(404, "no such gateway")
    return to_public(gw)


@router.patch("/{gateway_id}", response_model=GatewayPublic)
def update_gateway(
    gateway_id: GatewayIdPath, body: GatewayUpdate, principal: OperatorDep, session: SessionDep
) -> GatewayPublic:
    gw = crud.update_gateway(session, gateway_id=gateway_id, data=body, actor=principal.actor)
    session.commit()
    return to_public(gw)


@router.post("/{gateway_id}/enroll-token", response_model=GatewayCreated)
def new_enroll_token(
    gateway_id: GatewayIdPath, principal: AdminDep, session: SessionDep, settings: SettingsDep
) -> GatewayCreated:
    """A fresh one-time token to (re-)enroll this gateway, e.g. after replacing its storage."""
    gw, token = crud.issue_enroll_token(
        session,
        gateway_id=gateway_id,
        token_ttl=timedelta(seconds=settings.gateway_enroll_token_ttl_s),
        actor=principal.actor,
    )
    session.commit()
    return GatewayCreated(**to_public(gw).model_dump(), enroll_token=token)


@router.post("/{gateway_id}/revoke", response_model=GatewayPublic)
def revoke_gateway(
    gateway_id: GatewayIdPath, principal: AdminDep, session: SessionDep
) -> GatewayPublic:
    """Refuse this gateway from now on. Rotate the keys of its nodes: it held their secrets."""
    gw = crud.revoke_gateway(session, gateway_id=gateway_id, actor=principal.actor)
    session.commit()
    return to_public(gw)
