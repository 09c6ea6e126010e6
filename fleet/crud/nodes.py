"""Nodes after the claim: the device list, moves, key rotation and revocation."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import literal_column
from sqlmodel import Session, col, func, select

from fleet.core.crypto import SecretBox, node_secret_aad
from fleet.crud import audit
from fleet.crud.claims import check_placement
from fleet.crud.errors import Conflict, NotFound
from fleet.crud.sync import note_node_change
from fleet.models import Node, NodeHealth, NodeKey, NodeUpdate, utcnow
from fleet.models.nodes import Connectivity

__all__ = [
    "SEARCH_TEXT",
    "StatusFilter",
    "connectivity",
    "get_node",
    "list_nodes",
    "node_keys",
    "revoke_node",
    "rotate_key",
    "update_node",
]

# what the search box matches; on PostgreSQL a trigram index covers this exact expression
# (migration 0001, ix_node_search), so substring search stays an index scan
SEARCH_TEXT = func.lower(col(Node.id) + literal_column("' '") + col(Node.label))

StatusFilter = Literal["active", "revoked", "online", "offline", "never_seen"]
_MAX_KEY_ID = 65535


def connectivity(health: NodeHealth | None, *, now: int, offline_after_s: int) -> Connectivity:
    if health is None:
        return "never_seen"
    return "online" if health.last_seen >= now - offline_after_s else "offline"


def get_node(session: Session, *, node_id: str) -> tuple[Node, NodeHealth | None]:
    node = session.get(Node, node_id)
    if node is None:
        raise NotFound("no such node")
    return node, session.get(NodeHealth, node_id)


def node_keys(session: Session, *, node_id: str) -> list[NodeKey]:
    q = select(NodeKey).where(NodeKey.node_id == node_id).order_by(col(NodeKey.key_id))
    return list(session.exec(q))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_nodes(
    session: Session,
    *,
    limit: int,
    after: str | None = None,
    zone_id: str | None = None,
    gateway_id: str | None = None,
    status: StatusFilter | None = None,
    firmware: str | None = None,
    search: str | None = None,
    now: int,
    offline_after_s: int,
) -> list[tuple[Node, NodeHealth | None]]:
    """A page of nodes ordered by id (keyset: pass the last id as ``after``)."""
    q = select(Node, NodeHealth).join(
        NodeHealth, col(NodeHealth.node_id) == col(Node.id), isouter=True
    )
    if after is not None:
        q = q.where(col(Node.id) > after)
    if zone_id is not None:
        q = q.where(Node.zone_id == zone_id)
    if gateway_id is not None:
        q = q.where(Node.gateway_id == gateway_id)
    if firmware is not None:
        q = q.where(NodeHealth.fw == firmware)
    threshold = now - offline_after_s
    if status == "revoked":
        q = q.where(Node.status == "revoked")
    elif status is not None:
        q = q.where(Node.status == "active")
        if status == "online":
            q = q.where(col(NodeHealth.last_seen) >= threshold)
        elif status == "offline":
            q = q.where(col(NodeHealth.last_seen) < threshold)
        elif status == "never_seen":
            q = q.where(col(NodeHealth.node_id).is_(None))
    if search:
        pattern = f"%{_like_escape(search.lower())}%"
        q = q.where(SEARCH_TEXT.like(pattern, escape="\\"))
    rows = session.exec(q.order_by(col(Node.id)).limit(limit))
    return [(n, h) for n, h in rows]


def update_node(session: Session, *, node_id: str, data: NodeUpdate, actor: str) -> Node:
    node = session.get(Node, node_id)
    if node is None:
        raise NotFound("no such node")
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    before = node.model_dump()
    check_placement(
        session,
        zone_id=changes.get("zone_id", node.zone_id),
        profile_id=changes.get("profile_id", node.profile_id),
        gateway_id=changes.get("gateway_id"),
    )
    for clearable in ("active_until", "gateway_id", "interval_s"):
        # an explicit null clears the end date, unassigns the gateway or forgets the interval
        if clearable in data.model_fields_set and getattr(data, clearable) is None:
            changes[clearable] = None
    for key, value in changes.items():
        setattr(node, key, value)
    node.updated_at = utcnow()
    session.add(node)
    moved = node.gateway_id != before["gateway_id"] or node.zone_id != before["zone_id"]
    # the interval sets the node's rate cap at its gateway, which learns it by sync
    if moved or node.interval_s != before["interval_s"]:
        note_node_change(
            session,
            node_id=node_id,
            gateway_ids=[before["gateway_id"], node.gateway_id],
            zone_ids=[before["zone_id"]],
        )
    audit.record(
        session,
        actor=actor,
        action="node.update",
        entity_type="node",
        entity_id=node_id,
        before=before,
        after=node,
    )
    return node


def rotate_key(
    session: Session,
    *,
    node_id: str,
    grace: timedelta,
    box: SecretBox,
    actor: str,
    now: datetime | None = None,
) -> tuple[int, bytes, datetime | None]:
    """A new key for the node; earlier keys stay valid for ``grace`` then are purged."""
    now = now or utcnow()
    node = session.get(Node, node_id)
    if node is None:
        raise NotFound("no such node")
    if node.status == "revoked":
        raise Conflict("node is revoked")
    keys = node_keys(session, node_id=node_id)
    used = {k.key_id for k in keys}
    highest = max(used, default=0)
    new_id = highest + 1 if highest < _MAX_KEY_ID else min(set(range(1, _MAX_KEY_ID)) - used)
    expires = now + grace if grace.total_seconds() > 0 else None
    for k in keys:
        if expires is None:
            session.delete(k)
        elif k.expires_at is None or k.expires_at > expires:
            k.expires_at = expires
            session.add(k)
    secret = os.urandom(32)
    session.add(
        NodeKey(
            node_id=node_id,
            key_id=new_id,
            secret_enc=box.seal(secret, node_secret_aad(node_id, new_id)),
            created_at=now,
        )
    )
    node.updated_at = now
    session.add(node)
    session.flush()
    note_node_change(session, node_id=node_id, gateway_ids=[node.gateway_id])
    audit.record(
        session,
        actor=actor,
        action="node.rotate_key",
        entity_type="node",
        entity_id=node_id,
        before={"key_ids": sorted(used)},
        after={"key_id": new_id, "previous_keys_expire_at": expires},
    )
    return new_id, secret, expires


def revoke_node(session: Session, *, node_id: str, actor: str, now: datetime | None = None) -> Node:
    """Revoked for good: its secrets are deleted, its gateway told on the next sync."""
    now = now or utcnow()
    node = session.get(Node, node_id)
    if node is None:
        raise NotFound("no such node")
    if node.status == "revoked":
        return node
    before = node.model_dump()
    for k in node_keys(session, node_id=node_id):
        session.delete(k)
    node.status = "revoked"
    node.revoked_at = now
    node.updated_at = now
    session.add(node)
    session.flush()
    note_node_change(session, node_id=node_id, gateway_ids=[node.gateway_id])
    audit.record(
        session,
        actor=actor,
        action="node.revoke",
        entity_type="node",
        entity_id=node_id,
        before=before,
        after=node,
    )
    return node
