"""Audit log writes and reads. Every change goes through ``record`` in the same transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from sqlmodel import Session, SQLModel, col, select

from fleet.models import AuditEvent, utcnow

__all__ = ["REDACTED", "SECRET_FIELDS", "list_events", "record", "snapshot"]

# fields that hold secrets or their hashes: never copied into the audit log
SECRET_FIELDS = frozenset(
    {
        "password",
        "password_hash",
        "secret",
        "secret_enc",
        "token",
        "token_hash",
        "code",
        "code_hash",
        "code_enc",
        "enroll_token",
        "enroll_token_hash",
    }
)
REDACTED = "[redacted]"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: SQLModel | dict[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-ready copy of a row with every secret field replaced by a marker."""
    if obj is None:
        return None
    data = obj if isinstance(obj, dict) else obj.model_dump()
    return {k: (REDACTED if k in SECRET_FIELDS else _plain(v)) for k, v in data.items()}


class Revocable(Protocol):
    revoked_at: datetime | None

    def model_dump(self) -> dict[str, Any]: ...


def revoke(
    session: Session, row: Revocable, *, actor: str, action: str, entity_type: str,
    entity_id: str | int,
) -> None:
    """Mark ``row`` revoked now and audit it with its state before and after."""
    before = row.model_dump()
    row.revoked_at = utcnow()
    session.add(row)
    record(session, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
           before=before, after=row.model_dump())


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int,
    before: SQLModel | dict[str, Any] | None = None,
    after: SQLModel | dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            before=snapshot(before),
            after=snapshot(after),
        )
    )


def list_events(
    session: Session,
    *,
    limit: int,
    before_id: int | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
) -> list[AuditEvent]:
    """Newest first, keyset-paginated by id."""
    q = select(AuditEvent)
    if before_id is not None:
        q = q.where(col(AuditEvent.id) < before_id)
    if entity_type is not None:
        q = q.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        q = q.where(AuditEvent.entity_id == entity_id)
    if actor is not None:
        q = q.where(AuditEvent.actor == actor)
    return list(session.exec(q.order_by(col(AuditEvent.id).desc()).limit(limit)))
