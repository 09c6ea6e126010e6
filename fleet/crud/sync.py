"""Incremental gateway sync: per-gateway ordered change events and the page built from them.

Ordering: every change bumps ``gateway.sync_seq`` with a row-locking UPDATE, so changes for one
gateway commit in sequence order; a sync reads ``sync_seq`` first, then only events up to it.
A cursor therefore never skips a change that commits later with a smaller number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, update
from sqlmodel import Session, col, select

from fleet.core.crypto import SecretBox, node_secret_aad, seal_for_gateway
from fleet.crud.allotment import serving_gateways, zone_shares
from fleet.models import (
    Gateway,
    Node,
    NodeKey,
    SyncEvent,
    SyncKey,
    SyncNode,
    SyncPrivacy,
    SyncResponse,
    utcnow,
)
from protocol.sealed_secrets import sealed_to_text

__all__ = [
    "GATEWAY_TABLE",
    "TOUCHED_KEY",
    "GatewayIdentity",
    "load_identity",
    "note_node_change",
    "note_zone_peers",
    "sync_page",
    "touch_gateway",
]

# session.info key: gateways whose identity or sync position this transaction changes
TOUCHED_KEY = "territoire.touched_gateways"


def touch_gateway(session: Session, gateway_id: str) -> None:
    """Mark the gateway changed, so caches of its identity are evicted at commit."""
    session.info.setdefault(TOUCHED_KEY, set()).add(gateway_id)


@dataclass(frozen=True, slots=True)
class GatewayIdentity:
    id: str
    status: str
    ed25519_public_key: bytes | None
    x25519_public_key: bytes | None
    sync_seq: int


GATEWAY_TABLE = Gateway.__table__  # type: ignore[attr-defined]
_IDENTITY = GATEWAY_TABLE.select().with_only_columns(
    GATEWAY_TABLE.c.id,
    GATEWAY_TABLE.c.status,
    GATEWAY_TABLE.c.ed25519_public_key,
    GATEWAY_TABLE.c.x25519_public_key,
    GATEWAY_TABLE.c.sync_seq,
)


def load_identity(conn: Connection, *, gateway_id: str) -> GatewayIdentity | None:
    """One light query: what every signed gateway call needs (and the sync position)."""
    row = conn.execute(_IDENTITY.where(GATEWAY_TABLE.c.id == gateway_id)).first()
    if row is None:
        return None
    return GatewayIdentity(row[0], row[1], row[2], row[3], row[4])


def _bump(session: Session, gateway_id: str) -> int:
    stmt = (
        update(Gateway)
        .where(col(Gateway.id) == gateway_id)
        .values(sync_seq=col(Gateway.sync_seq) + 1)
        .returning(col(Gateway.sync_seq))
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).scalar_one())


def note_zone_peers(session: Session, zone_ids: Iterable[str], *, skip: Iterable[str] = ()) -> None:
    """Give a new sync position to the gateways serving these zones: their share of a zone's
    privacy budget (fleet.crud.allotment) may have changed, and an idle gateway learns it
    only from a new page."""
    skipped = set(skip)
    for gw_id in sorted(set().union(*serving_gateways(session, set(zone_ids)).values()) - skipped):
        _bump(session, gw_id)
        touch_gateway(session, gw_id)


def note_node_change(
    session: Session,
    *,
    node_id: str,
    gateway_ids: Iterable[str | None],
    zone_ids: Iterable[str] = (),
) -> None:
    """Tell each named gateway (old and new owner) that this node changed, and the other
    gateways of its zone (and of ``zone_ids``: a zone it left) that their share may have."""
    named = sorted({g for g in gateway_ids if g is not None})
    for gw_id in named:
        seq = _bump(session, gw_id)
        touch_gateway(session, gw_id)
        event = session.get(SyncEvent, (gw_id, node_id))
        if event is None:
            session.add(SyncEvent(gateway_id=gw_id, node_id=node_id, seq=seq))
        else:
            event.seq = seq
            session.add(event)
    session.flush()
    node = session.get(Node, node_id)
    zones = {*zone_ids, *([node.zone_id] if node is not None else [])}
    note_zone_peers(session, zones, skip=named)
    session.flush()


def sync_page(
    session: Session,
    *,
    gateway: GatewayIdentity,
    cursor: int,
    limit: int,
    box: SecretBox,
    budget: Callable[[str], float],
    now: datetime | None = None,
) -> SyncResponse:
    """The next page of changes for this gateway (``reset``: forget every node, resync)."""
    now = now or utcnow()
    if gateway.x25519_public_key is None:
        raise ValueError("gateway has no X25519 key")
    head = gateway.sync_seq
    reset = cursor <= 0 or cursor > head  # a cursor from the future: the fleet was restored
    if reset:
        cursor = 0
    events = list(
        session.exec(
            select(SyncEvent)
            .where(SyncEvent.gateway_id == gateway.id)
            .where(col(SyncEvent.seq) > cursor, col(SyncEvent.seq) <= head)
            .order_by(col(SyncEvent.seq))
            .limit(limit + 1)
        )
    )
    more = len(events) > limit
    events = events[:limit]
    new_cursor = events[-1].seq if more else head
    ids = [e.node_id for e in events]
    nodes = (
        {n.id: n for n in session.exec(select(Node).where(col(Node.id).in_(ids)))} if ids else {}
    )
    keys: dict[str, list[NodeKey]] = {}
    if ids:
        for k in session.exec(
            select(NodeKey).where(col(NodeKey.node_id).in_(ids)).order_by(col(NodeKey.key_id))
        ):
            if k.expires_at is None or k.expires_at > now:
                keys.setdefault(k.node_id, []).append(k)
    out: list[SyncNode] = []
    for node_id in ids:
        node = nodes.get(node_id)
        if node is None or node.gateway_id != gateway.id:
            out.append(SyncNode(node_id=node_id, removed=True))
            continue
        if node.status == "revoked":
            out.append(SyncNode(node_id=node_id, revoked=True, zone_id=node.zone_id))
            continue
        sealed = []
        for k in keys.get(node_id, []):
            secret = box.open(k.secret_enc, node_secret_aad(node_id, k.key_id))
            blob = seal_for_gateway(gateway.x25519_public_key, secret, node_id, k.key_id)
            expires = int(k.expires_at.timestamp()) if k.expires_at else None
            sealed.append(SyncKey(key_id=k.key_id, expires_at=expires, sealed=sealed_to_text(blob)))
        out.append(
            SyncNode(node_id=node_id, zone_id=node.zone_id, keys=sealed, interval_s=node.interval_s)
        )
    privacy = SyncPrivacy(zone_epsilon=zone_shares(session, gateway.id, budget))
    return SyncResponse(cursor=new_cursor, more=more, reset=reset, nodes=out, privacy=privacy)
