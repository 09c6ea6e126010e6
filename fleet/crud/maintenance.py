"""Housekeeping that time alone makes necessary; safe to run from any number of workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from fleet.crud import audit
from fleet.crud.sync import note_node_change
from fleet.models import IngestBatch, LoginSession, Node, NodeKey, OtaStatusBatch, utcnow

__all__ = ["Swept", "sweep"]


@dataclass(frozen=True, slots=True)
class Swept:
    expired_keys: int
    old_batches: int
    expired_sessions: int


def sweep(session: Session, *, batch_retention: timedelta, now: datetime | None = None) -> Swept:
    """Purge keys past their grace period (telling their gateway), old batch ids, sessions."""
    now = now or utcnow()
    expired = list(
        session.exec(
            select(NodeKey).where(
                col(NodeKey.expires_at).is_not(None), col(NodeKey.expires_at) <= now
            )
        )
    )
    for key in expired:
        node = session.get(Node, key.node_id)
        session.delete(key)
        session.flush()
        if node is not None:
            note_node_change(session, node_id=node.id, gateway_ids=[node.gateway_id])
        audit.record(
            session,
            actor="system",
            action="node.key_expired",
            entity_type="node",
            entity_id=key.node_id,
            before={"key_id": key.key_id},
            after=None,
        )
    cutoff = int((now - batch_retention).timestamp())
    batches = session.execute(
        delete(IngestBatch).where(col(IngestBatch.received_at) < cutoff)
    ).rowcount  # type: ignore[attr-defined]
    # OTA status batch ids: same retention as ingest batch ids (a retry comes within minutes)
    session.execute(delete(OtaStatusBatch).where(col(OtaStatusBatch.received_at) < cutoff))
    sessions = session.execute(
        delete(LoginSession).where(col(LoginSession.expires_at) <= now)
    ).rowcount  # type: ignore[attr-defined]
    return Swept(len(expired), int(batches or 0), int(sessions or 0))
