"""Nodes, their keys (secrets only here, encrypted) and the claim codes that create them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Strict
from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from fleet.models.common import SLUG_PATTERN, utcnow
from protocol.node_config import INTERVAL_S_MAX, INTERVAL_S_MIN

__all__ = [
    "ClaimCode",
    "ClaimCodeCreate",
    "ClaimCodeCreated",
    "ClaimCodePublic",
    "ClaimRequest",
    "ClaimResponse",
    "Connectivity",
    "IntervalS",
    "KeyRotated",
    "Node",
    "NodeBase",
    "NodeKey",
    "NodeKeyPublic",
    "NodeStatus",
    "NodeUpdate",
    "ReleaseKeyEntry",
]

NodeStatus = Literal["active", "revoked"]
Connectivity = Literal["online", "offline", "never_seen"]
# the node's measuring interval (node.json ``interval_s``) in whole seconds, as a request gives
# it: a JSON integer (not 60.5, not true), within the node's own bounds
IntervalS = Annotated[int, Strict()]
_INTERVAL_DOC = (
    f"seconds between the node's readings ({INTERVAL_S_MIN} to {INTERVAL_S_MAX}), as its "
    "node.json has them; its gateway caps the node's readings per window from it"
)


class NodeBase(SQLModel):
    # internal note for operators (e.g. the mounting point); never published
    label: str = Field(default="", max_length=200)
    zone_id: str = Field(foreign_key="zone.id", max_length=32)
    gateway_id: str | None = Field(default=None, foreign_key="gateway.id", max_length=32)
    profile_id: str = Field(foreign_key="profile.id", max_length=32, index=True)
    installed_on: date
    active_until: date | None = None
    # null: not known (a node claimed before the fleet kept it); its gateway then assumes
    # its configured fallback (docs/gateway.md, "A node's weight")
    interval_s: int | None = Field(default=None, ge=INTERVAL_S_MIN, le=INTERVAL_S_MAX)


class NodeUpdate(SQLModel):
    label: str | None = Field(default=None, max_length=200)
    zone_id: str | None = Field(default=None, schema_extra={"pattern": SLUG_PATTERN}, max_length=32)
    gateway_id: str | None = Field(
        default=None, schema_extra={"pattern": SLUG_PATTERN}, max_length=32
    )
    profile_id: str | None = Field(
        default=None, schema_extra={"pattern": SLUG_PATTERN}, max_length=32
    )
    installed_on: date | None = None
    active_until: date | None = None
    interval_s: IntervalS | None = Field(
        default=None, ge=INTERVAL_S_MIN, le=INTERVAL_S_MAX, description=_INTERVAL_DOC
    )


class Node(NodeBase, table=True):
    __table_args__ = (
        Index("ix_node_zone_id_id", "zone_id", "id"),
        Index("ix_node_gateway_id_id", "gateway_id", "id"),
        Index("ix_node_status_id", "status", "id"),
    )
    id: str = Field(primary_key=True, max_length=32)
    status: NodeStatus = Field(default="active", sa_type=String(16))
    claim_code_id: int | None = Field(default=None, foreign_key="claim_code.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class NodeKey(SQLModel, table=True):
    __tablename__ = "node_key"
    node_id: str = Field(primary_key=True, foreign_key="node.id", max_length=32, ondelete="CASCADE")
    key_id: int = Field(primary_key=True, ge=1, le=65535)
    # AES-GCM under the master key, bound to (node_id, key_id); see fleet.core.crypto
    secret_enc: bytes
    created_at: datetime = Field(default_factory=utcnow)
    # set on the previous key at rotation: valid until then, purged after
    expires_at: datetime | None = None


class NodeKeyPublic(SQLModel):
    key_id: int
    created_at: datetime
    expires_at: datetime | None


class KeyRotated(SQLModel):
    """Returned once by a rotation: the new secret, to deliver to the node."""

    node_id: str
    key_id: int
    secret: str = Field(description="hex of the 32-byte secret; shown only in this response")
    previous_key_expires_at: datetime | None


class ClaimCodeCreate(SQLModel):
    count: int = Field(default=1, ge=1, le=1000)
    zone_id: str = Field(schema_extra={"pattern": SLUG_PATTERN}, max_length=32)
    gateway_id: str | None = Field(
        default=None, schema_extra={"pattern": SLUG_PATTERN}, max_length=32
    )
    profile_id: str = Field(schema_extra={"pattern": SLUG_PATTERN}, max_length=32)
    # only with count == 1: the node id to give instead of the next generated one
    node_id: str | None = Field(default=None, schema_extra={"pattern": SLUG_PATTERN}, max_length=32)
    ttl_days: int | None = Field(default=None, ge=1, le=365)


class ClaimCode(SQLModel, table=True):
    __tablename__ = "claim_code"
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    # kept (encrypted) so the label can be printed again until the code is used
    code_enc: bytes | None = None
    hint: str = Field(max_length=4)
    zone_id: str = Field(foreign_key="zone.id", max_length=32)
    gateway_id: str | None = Field(default=None, foreign_key="gateway.id", max_length=32)
    profile_id: str = Field(foreign_key="profile.id", max_length=32)
    node_id: str | None = Field(default=None, max_length=32)
    created_by: int | None = Field(default=None, foreign_key="operator.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    used_by_node: str | None = Field(default=None, max_length=32)


class ClaimCodePublic(SQLModel):
    id: int
    hint: str = Field(description="last four characters of the code")
    zone_id: str
    gateway_id: str | None
    profile_id: str
    release_keys: list[ReleaseKeyEntry] = Field(default_factory=list)
    interval_s: int | None = Field(default=None, description="as the claim gave it, kept")
    node_id: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by_node: str | None


class ClaimCodeCreated(ClaimCodePublic):
    code: str


class ClaimRequest(SQLModel):
    code: str = Field(min_length=20, max_length=40)
    # optional: a CLI older than the field claims without it (the node's interval unknown)
    interval_s: IntervalS | None = Field(
        default=None, ge=INTERVAL_S_MIN, le=INTERVAL_S_MAX, description=_INTERVAL_DOC
    )


class ReleaseKeyEntry(SQLModel):
    """A release public key as the node's configuration holds it (docs/firmware.md)."""

    n: str = Field(description="RSA-3072 modulus, lowercase hex")
    e: int = Field(description="public exponent (65537)")


class ClaimResponse(SQLModel):
    """The node's identity; ``secret`` appears here and nowhere else, ever. ``release_keys``
    are the fleet's active release keys (newest first, at most what a node holds), for the
    node's configuration, so it accepts the fleet's signed releases from its first boot."""

    node_id: str
    key_id: int
    secret: str = Field(description="hex of the 32-byte node secret")
    zone_id: str
    gateway_id: str | None
    profile_id: str
    release_keys: list[ReleaseKeyEntry] = Field(default_factory=list)
    interval_s: int | None = Field(default=None, description="as the claim gave it, kept")
