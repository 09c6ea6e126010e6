"""Over-the-air updates: release keys (public only), releases and their files, rollouts and
their member nodes, node tags for targeting, and the gateways' status batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from fleet.models.common import BIGINT_PK, utcnow

__all__ = [
    "NodeTag",
    "OtaStatusBatch",
    "Release",
    "ReleaseFile",
    "ReleaseKey",
    "Rollout",
    "RolloutMember",
    "RolloutStatus",
]

RolloutStatus = Literal["running", "paused", "aborted", "completed"]


class ReleaseKey(SQLModel, table=True):
    """A release public key the fleet (and, through the gateways, the nodes) trusts."""

    __tablename__ = "release_key"
    kid: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=200)
    pem: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=80)
    revoked_at: datetime | None = None


class Release(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("version", "hardware", name="uq_release_version_hw"),)
    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=16)
    hardware: str = Field(max_length=16)
    secure_version: int
    expires: int = Field(sa_type=BigInteger)
    made: int = Field(sa_type=BigInteger)
    kid: str = Field(max_length=16)
    manifest: bytes = Field(sa_type=LargeBinary)
    digest: str = Field(max_length=64, unique=True)
    file_count: int
    total_bytes: int
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=80)
    # the changelog the release manager wrote (bundle's notes.txt), shown as text on the public
    # release log; bounded by protocol.release_bundle.MAX_NOTES_CHARS
    notes: str | None = Field(default=None, sa_type=Text)
    bundle_sha256: str | None = Field(default=None, max_length=64)  # of the uploaded .tar


class ReleaseFile(SQLModel, table=True):
    __tablename__ = "release_file"
    __table_args__ = (Index("ix_release_file_sha", "release_id", "sha256"),)
    release_id: int = Field(primary_key=True, foreign_key="release.id", ondelete="CASCADE")
    path: str = Field(primary_key=True, max_length=64)
    sha256: str = Field(max_length=64)
    size: int
    data: bytes = Field(sa_type=LargeBinary)


class Rollout(SQLModel, table=True):
    __table_args__ = (Index("ix_rollout_status", "status", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    release_id: int = Field(foreign_key="release.id")
    status: RolloutStatus = Field(default="running", sa_type=String(16))
    paused_reason: str | None = Field(default=None, max_length=64)
    # {"zones": [...], "tags": [...], "profiles": [...], "percent": 100}
    target: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # [{"percent": 10 | null, "count": 2 | null, "success": 0.9, "error": 0.1}, ...]
    groups: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    # members per group at the start: late joiners are spread with these boundaries
    start_sizes: list[int] = Field(sa_column=Column(JSON, nullable=False))
    accepted_failures: list[int] = Field(sa_column=Column(JSON, nullable=False))
    window_start_min: int | None = None
    window_end_min: int | None = None
    open_groups: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=80)
    updated_at: datetime = Field(default_factory=utcnow)


class RolloutMember(SQLModel, table=True):
    """A node in a rollout and the last OTA status it reported for the rollout's version."""

    __tablename__ = "rollout_member"
    __table_args__ = (Index("ix_rollout_member_node", "node_id"),)
    rollout_id: int = Field(primary_key=True, foreign_key="rollout.id", ondelete="CASCADE")
    node_id: str = Field(primary_key=True, foreign_key="node.id", max_length=32, ondelete="CASCADE")
    group: int = Field(ge=0)
    late: bool = False  # joined after the start
    status: str | None = Field(default=None, max_length=16)
    why: str | None = Field(default=None, max_length=32)
    status_at: int = Field(default=0, sa_type=BigInteger)
    joined_at: datetime = Field(default_factory=utcnow)


class NodeTag(SQLModel, table=True):
    __tablename__ = "node_tag"
    __table_args__ = (Index("ix_node_tag_tag", "tag", "node_id"),)
    node_id: str = Field(primary_key=True, foreign_key="node.id", max_length=32, ondelete="CASCADE")
    tag: str = Field(primary_key=True, max_length=32)


class OtaStatusBatch(SQLModel, table=True):
    """Status batches already applied, so a gateway's retry is acknowledged, not reapplied."""

    __tablename__ = "ota_status_batch"
    __table_args__ = (UniqueConstraint("gateway_id", "batch_id", name="uq_ota_status_batch"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BIGINT_PK)
    gateway_id: str = Field(max_length=32)
    batch_id: str = Field(max_length=64)
    received_at: int = Field(sa_type=BigInteger, index=True)
    applied: int = 0
    ignored: int = 0
