"""Gateway lifecycle: creation with a one-time enrollment token, enrollment, revocation."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from fleet.core import security
from fleet.crud import audit
from fleet.crud.errors import Conflict, NotFound, Refused
from fleet.crud.sync import note_zone_peers, touch_gateway
from fleet.models import Gateway, GatewayCreate, GatewayUpdate, Node, utcnow

__all__ = [
    "create_gateway",
    "enroll_gateway",
    "issue_enroll_token",
    "list_gateways",
    "revoke_gateway",
    "update_gateway",
]


def _new_token(gw: Gateway, ttl: timedelta, now: datetime) -> str:
    token = security.new_enroll_token()
    gw.enroll_token_hash = security.hash_token(token)
    gw.enroll_expires_at = now + ttl
    return token


def create_gateway(
    session: Session,
    *,
    data: GatewayCreate,
    token_ttl: timedelta,
    actor: str,
    now: datetime | None = None,
) -> tuple[Gateway, str]:
    """A pending gateway and its enrollment token (the token is shown only this once)."""
    now = now or utcnow()
    if session.get(Gateway, data.id) is not None:
        raise Conflict(f"gateway {data.id} exists")
    gw = Gateway(id=data.id, name=data.name, description=data.description, created_at=now)
    token = _new_token(gw, token_ttl, now)
    session.add(gw)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="gateway.create",
        entity_type="gateway",
        entity_id=gw.id,
        after=gw,
    )
    return gw, token


def issue_enroll_token(
    session: Session,
    *,
    gateway_id: str,
    token_ttl: timedelta,
    actor: str,
    now: datetime | None = None,
) -> tuple[Gateway, str]:
    """A new enrollment token: re-enrolling replaces the gateway's keys (e.g. a new SD card)."""
    now = now or utcnow()
    gw = session.get(Gateway, gateway_id)
    if gw is None:
        raise NotFound("no such gateway")
    if gw.status == "revoked":
        raise Conflict("gateway is revoked")
    before = gw.model_dump()
    token = _new_token(gw, token_ttl, now)
    session.add(gw)
    audit.record(
        session,
        actor=actor,
        action="gateway.enroll_token",
        entity_type="gateway",
        entity_id=gw.id,
        before=before,
        after=gw,
    )
    return gw, token


def _tell_zone_peers(session: Session, gateway_id: str) -> None:
    """Gateways sharing a zone with this one: their share of its budget changes with its
    status (fleet.crud.allotment)."""
    session.flush()
    zones = session.exec(
        select(Node.zone_id)
        .where(Node.gateway_id == gateway_id, col(Node.status) == "active")
        .distinct()
    )
    note_zone_peers(session, set(zones), skip=[gateway_id])


def enroll_gateway(
    session: Session,
    *,
    gateway_id: str,
    token: str,
    ed25519_public_key: bytes,
    x25519_public_key: bytes,
    now: datetime | None = None,
) -> Gateway:
    """Bind the gateway's keys; the token works once. Refusals say nothing about why."""
    now = now or utcnow()
    gw = session.get(Gateway, gateway_id)
    if (
        gw is None
        or gw.status == "revoked"
        or gw.enroll_token_hash is None
        or not security.same(gw.enroll_token_hash, security.hash_token(token))
        or gw.enroll_expires_at is None
        or gw.enroll_expires_at <= now
    ):
        raise Refused("enrollment refused: unknown gateway, or token used or expired")
    before = gw.model_dump()
    gw.ed25519_public_key = ed25519_public_key
    gw.x25519_public_key = x25519_public_key
    gw.enroll_token_hash = None
    gw.enroll_expires_at = None
    gw.status = "active"
    gw.enrolled_at = now
    session.add(gw)
    touch_gateway(session, gw.id)
    _tell_zone_peers(session, gw.id)
    audit.record(
        session,
        actor=f"gateway:{gw.id}",
        action="gateway.enroll",
        entity_type="gateway",
        entity_id=gw.id,
        before=before,
        after=gw,
    )
    return gw


def update_gateway(
    session: Session, *, gateway_id: str, data: GatewayUpdate, actor: str
) -> Gateway:
    gw = session.get(Gateway, gateway_id)
    if gw is None:
        raise NotFound("no such gateway")
    before = gw.model_dump()
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(gw, key, value)
    session.add(gw)
    audit.record(
        session,
        actor=actor,
        action="gateway.update",
        entity_type="gateway",
        entity_id=gw.id,
        before=before,
        after=gw,
    )
    return gw


def revoke_gateway(
    session: Session, *, gateway_id: str, actor: str, now: datetime | None = None
) -> Gateway:
    """A revoked gateway is refused on every call; its nodes stay assigned until moved."""
    gw = session.get(Gateway, gateway_id)
    if gw is None:
        raise NotFound("no such gateway")
    if gw.status == "revoked":
        return gw
    before = gw.model_dump()
    gw.status = "revoked"
    gw.revoked_at = now or utcnow()
    gw.enroll_token_hash = None
    gw.enroll_expires_at = None
    session.add(gw)
    touch_gateway(session, gw.id)
    _tell_zone_peers(session, gw.id)
    audit.record(
        session,
        actor=actor,
        action="gateway.revoke",
        entity_type="gateway",
        entity_id=gw.id,
        before=before,
        after=gw,
    )
    return gw


def list_gateways(
    session: Session, *, limit: int, offset: int, status: str | None = None
) -> list[Gateway]:
    q = select(Gateway)
    if status is not None:
        q = q.where(Gateway.status == status)
    return list(session.exec(q.order_by(col(Gateway.id)).offset(offset).limit(limit)))
