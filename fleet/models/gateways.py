"""Gateways: identity (Ed25519 for requests, X25519 for secrets), enrollment, sync position."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from fleet.models.common import SLUG_PATTERN, utcnow

__all__ = [
    "Gateway",
    "GatewayBase",
    "GatewayCreate",
    "GatewayCreated",
    "GatewayEnroll",
    "GatewayEnrolled",
    "GatewayPublic",
    "GatewayStatus",
    "GatewayUpdate",
    "SyncEvent",
]

GatewayStatus = Literal["pending", "active", "revoked"]
HEX32 = r"^[0-9a-f]{64}$"


class GatewayBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class GatewayCreate(GatewayBase):
    id: str = Field(schema_extra={"pattern": SLUG_PATTERN}, min_length=3, max_length=32)


class GatewayUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class Gateway(GatewayBase, table=True):
    id: str = Field(primary_key=True, max_length=32)
    status: GatewayStatus = Field(default="pending", sa_type=String(16))
    enroll_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    enroll_expires_at: datetime | None = None
    ed25519_public_key: bytes | None = None
    x25519_public_key: bytes | None = None
    # bumped (row-locked) by every change a gateway must sync: orders its sync events
    sync_seq: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    enrolled_at: datetime | None = None
    revoked_at: datetime | None = None


class GatewayPublic(GatewayBase):
    id: str
    status: GatewayStatus
    ed25519_public_key: str | None = Field(default=None, description="hex")
    x25519_public_key: str | None = Field(default=None, description="hex")
    sync_seq: int
    created_at: datetime
    enrolled_at: datetime | None
    revoked_at: datetime | None
    enroll_expires_at: datetime | None


class GatewayCreated(GatewayPublic):
    """Returned when an enrollment token is issued: the only time it is shown."""

    enroll_token: str


class GatewayEnroll(SQLModel):
    """Body of the gateway's enrollment call, itself signed with the key it enrolls."""

    token: str = Field(min_length=8, max_length=200)
    ed25519_public_key: str = Field(schema_extra={"pattern": HEX32})
    x25519_public_key: str = Field(schema_extra={"pattern": HEX32})


class GatewayEnrolled(SQLModel):
    gateway_id: str
    status: GatewayStatus
    sync_cursor: int


class SyncEvent(SQLModel, table=True):
    """The latest change of one node for one gateway (older ones are compacted away)."""

    __tablename__ = "sync_event"
    __table_args__ = (Index("ix_sync_event_gateway_seq", "gateway_id", "seq"),)
    gateway_id: str = Field(
        primary_key=True, max_length=32, foreign_key="gateway.id", ondelete="CASCADE"
    )
    node_id: str = Field(primary_key=True, max_length=32)
    seq: int
