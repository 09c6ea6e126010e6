"""The device list and one device: filters, moves, key rotation, revocation."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from fleet.api.deps import BoxDep, LimitDep, OperatorDep, SessionDep, SettingsDep, ViewerDep
from fleet.api.params import NodeIdPath, SlugQuery, TextQuery
from fleet.crud import nodes as crud
from fleet.crud.register import local_day
from fleet.models import (
    HealthPublic,
    KeyRotated,
    Node,
    NodeHealth,
    NodeKeyPublic,
    NodePublic,
    NodeUpdate,
    Page,
)
from fleet.models.common import SLUG_PATTERN
from fleet.street_sign import node_sign, sign_headers

router = APIRouter(prefix="/nodes", tags=["nodes"])


def to_public(
    node: Node,
    health: NodeHealth | None,
    *,
    now: int,
    offline_after_s: int,
    keys: list[NodeKeyPublic] | None = None,
) -> NodePublic:
    return NodePublic(
        id=node.id,
        status=node.status,
        connectivity=crud.connectivity(health, now=now, offline_after_s=offline_after_s),
        label=node.label,
        zone_id=node.zone_id,
        gateway_id=node.gateway_id,
        profile_id=node.profile_id,
        installed_on=node.installed_on,
        active_until=node.active_until,
        interval_s=node.interval_s,
        created_at=node.created_at,
        updated_at=node.updated_at,
        revoked_at=node.revoked_at,
        health=HealthPublic.model_validate(health, from_attributes=True) if health else None,
        keys=keys or [],
    )


@router.get("", response_model=Page[NodePublic])
def list_nodes(
    *,
    _: ViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    limit: LimitDep,
    after: Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=32)] = None,
    zone: SlugQuery = None,
    gateway: SlugQuery = None,
    status: crud.StatusFilter | None = None,
    firmware: Annotated[str | None, Query(max_length=32, pattern=r"^[^\x00]*$")] = None,
    q: TextQuery = None,
) -> Page[NodePublic]:
    """Devices by id; filter by zone, gateway, status, firmware, or search id and label.

    Keyset pagination: pass ``next_cursor`` as ``after``.
    """
    now = int(time.time())
    rows = crud.list_nodes(
        session,
        limit=limit,
        after=after,
        zone_id=zone,
        gateway_id=gateway,
        status=status,
        firmware=firmware,
        search=q,
        now=now,
        offline_after_s=settings.node_offline_after_s,
    )
    data = [
        to_public(n, h, now=now, offline_after_s=settings.node_offline_after_s) for n, h in rows
    ]
    return Page(data=data, next_cursor=data[-1].id if len(data) == limit else None)


@router.get("/{node_id}", response_model=NodePublic)
def get_node(
    node_id: NodeIdPath, _: ViewerDep, session: SessionDep, settings: SettingsDep
) -> NodePublic:
    node, health = crud.get_node(session, node_id=node_id)
    keys = [
        NodeKeyPublic.model_validate(k, from_attributes=True)
        for k in crud.node_keys(session, node_id=node_id)
    ]
    return to_public(
        node,
        health,
        now=int(time.time()),
        offline_after_s=settings.node_offline_after_s,
        keys=keys,
    )


@router.get(
    "/{node_id}/sign",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def get_node_sign(
    node_id: NodeIdPath,
    request: Request,
    _: OperatorDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The A5 sign for the node's installation site (docs/public.md, "The street sign"): its
    QR leads to the register of the node's zone and type on this fleet, never to the node."""
    node, _health = crud.get_node(session, node_id=node_id)
    today = local_day(time.time(), settings.register_timezone)
    pdf = node_sign(session, node, str(request.base_url), today)
    return Response(pdf, media_type="application/pdf", headers=sign_headers(node.id))


@router.patch("/{node_id}", response_model=NodePublic)
def update_node(
    node_id: NodeIdPath,
    body: NodeUpdate,
    principal: OperatorDep,
    session: SessionDep,
    settings: SettingsDep,
) -> NodePublic:
    """Change label, zone, gateway (null unassigns), profile or dates."""
    node = crud.update_node(session, node_id=node_id, data=body, actor=principal.actor)
    session.commit()
    health = session.get(NodeHealth, node_id)
    return to_public(
        node, health, now=int(time.time()), offline_after_s=settings.node_offline_after_s
    )


@router.post("/{node_id}/rotate-key", response_model=KeyRotated)
def rotate_key(
    node_id: NodeIdPath,
    principal: OperatorDep,
    session: SessionDep,
    settings: SettingsDep,
    box: BoxDep,
    grace_s: Annotated[int | None, Query(ge=0, le=365 * 86400)] = None,
) -> KeyRotated:
    """A new key; the old one stays valid for the grace period. The secret is shown once."""
    grace = settings.key_rotation_grace_s if grace_s is None else grace_s
    key_id, secret, expires = crud.rotate_key(
        session, node_id=node_id, grace=timedelta(seconds=grace), box=box, actor=principal.actor
    )
    session.commit()
    return KeyRotated(
        node_id=node_id, key_id=key_id, secret=secret.hex(), previous_key_expires_at=expires
    )


@router.post("/{node_id}/revoke", response_model=NodePublic)
def revoke_node(
    node_id: NodeIdPath, principal: OperatorDep, session: SessionDep, settings: SettingsDep
) -> NodePublic:
    """Revoke for good: secrets deleted, gateway told on its next sync."""
    node = crud.revoke_node(session, node_id=node_id, actor=principal.actor)
    session.commit()
    health = session.get(NodeHealth, node_id)
    return to_public(
        node, health, now=int(time.time()), offline_after_s=settings.node_offline_after_s
    )
