"""The audit log: who changed what, when, with the state before and after (secrets redacted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from fleet.models.common import BIGINT_PK, utcnow

__all__ = ["AuditEvent", "AuditEventPublic"]


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_entity", "entity_type", "entity_id", "id"),
        Index("ix_audit_actor", "actor", "id"),
    )
    id: int | None = Field(default=None, primary_key=True, sa_type=BIGINT_PK)
    at: datetime = Field(default_factory=utcnow)
    # "operator:<id>", "token:<id>", "gateway:<id>", "claim:<code id>", "system"
    actor: str = Field(max_length=80)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class AuditEventPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
