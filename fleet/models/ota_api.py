"""API shapes of over-the-air updates: release keys, releases, rollouts, the gateway's view."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from fleet.models.common import SLUG_PATTERN, Slug

__all__ = [
    "GroupIn",
    "GroupProgressPublic",
    "MemberPublic",
    "NodeTags",
    "NotEligiblePublic",
    "OtaDocument",
    "OtaKey",
    "OtaStatusItem",
    "OtaStatusRequest",
    "OtaStatusResult",
    "OtaTarget",
    "ReleaseKeyCreate",
    "ReleaseKeyPublic",
    "ReleasePublic",
    "RolloutCreate",
    "RolloutDetail",
    "RolloutPublic",
    "TargetIn",
    "WindowIn",
]

TAG_PATTERN = r"^[a-z0-9][a-z0-9:._-]{0,31}$"
Tag = Annotated[str, StringConstraints(pattern=TAG_PATTERN, max_length=32)]
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_MAX_UNIX = 2**40


class ReleaseKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    pem: str = Field(min_length=100, max_length=4096, description="RSA-3072 public key, PEM")


class ReleaseKeyPublic(BaseModel):
    kid: str
    name: str
    pem: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class ReleasePublic(BaseModel):
    id: int
    version: str
    hardware: str
    secure_version: int
    expires: int
    made: int
    kid: str
    digest: str
    file_count: int
    total_bytes: int
    created_at: datetime
    created_by: str
    notes: str | None = None
    bundle_sha256: str | None = None


class TargetIn(BaseModel):
    """Every non-empty list must match; ``percent`` keeps a deterministic share of the rest."""

    model_config = ConfigDict(extra="forbid")
    zones: list[Slug] = Field(default_factory=list, max_length=100)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    profiles: list[Slug] = Field(default_factory=list, max_length=50)
    percent: float = Field(default=100, gt=0, le=100)


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    percent: float | None = Field(default=None, gt=0, le=100)
    count: int | None = Field(default=None, ge=1, le=1_000_000)
    success: float = Field(default=1.0, ge=0, le=1, description="fraction confirmed to go on")
    error: float = Field(default=0.0, ge=0, le=1, description="fraction failed that pauses")

    @model_validator(mode="after")
    def _one_size(self) -> GroupIn:
        if (self.percent is None) == (self.count is None):
            raise ValueError("a group has either a percent or a count")
        return self


class WindowIn(BaseModel):
    """Daily maintenance window in the territory's time zone; may cross midnight."""

    model_config = ConfigDict(extra="forbid")
    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM")

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError("time must be HH:MM")
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> WindowIn:
        if self.start == self.end:
            raise ValueError("the window's start and end must differ")
        return self

    @staticmethod
    def minutes(text: str) -> int:
        h, m = text.split(":")
        return int(h) * 60 + int(m)


class RolloutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    release_id: int = Field(ge=1, le=2**31)
    target: TargetIn = Field(default_factory=TargetIn)
    groups: list[GroupIn] = Field(min_length=1, max_length=10)
    window: WindowIn | None = None


class GroupProgressPublic(BaseModel):
    index: int
    total: int
    pending: int
    in_progress: int
    trial: int
    confirmed: int
    failed: int
    open: bool
    success: float
    error: float


class RolloutPublic(BaseModel):
    id: int
    name: str
    release_id: int
    version: str
    hardware: str
    status: str
    paused_reason: str | None
    target: dict[str, Any]
    groups: list[GroupProgressPublic]
    window: WindowIn | None
    in_window: bool
    open_groups: int
    members: int
    targets_now: int
    not_eligible: int = Field(
        default=0, description="nodes the target selects that cannot take this release "
        "(another hardware): never offered it, never counted as failures")
    created_at: datetime
    created_by: str
    updated_at: datetime


class MemberPublic(BaseModel):
    node_id: str
    group: int
    outcome: str
    running: str | None = Field(description="the version the node reports running (health)")
    slot: str | None
    status: str | None = Field(description="the last OTA status the node reported")
    why: str | None
    status_at: int
    late: bool


class NotEligiblePublic(BaseModel):
    node_id: str
    reason: Literal["hardware"]
    hw: str | None = Field(description="the hardware the node reports")


class RolloutDetail(RolloutPublic):
    nodes: list[MemberPublic]
    not_eligible_nodes: list[NotEligiblePublic] = Field(default_factory=list)


class NodeTags(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: list[Tag] = Field(max_length=20)


class OtaKey(BaseModel):
    kid: str
    pem: str


class OtaTarget(BaseModel):
    node_id: str
    release_id: int
    ver: str
    hw: str
    mh: str
    ml: int


class OtaDocument(BaseModel):
    keys: list[OtaKey]
    targets: list[OtaTarget]


class OtaStatusItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    node_id: str = Field(pattern=SLUG_PATTERN, max_length=32)
    ver: str = Field(max_length=16, pattern=r"^[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}$")
    st: Literal["downloading", "switching", "confirmed", "rolled_back", "refused"]
    why: str | None = Field(default=None, pattern=r"^[a-z_]{1,32}$")
    at: int = Field(ge=0, le=_MAX_UNIX)

    @field_validator("why", mode="before")
    @classmethod
    def _no_reason(cls, v: object) -> object:
        # nodes (and so gateways) send "why": "" with every report that is not a refusal
        return None if v == "" else v


class OtaStatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    items: list[OtaStatusItem]  # bounded by the body limit and settings.ota_status_items_max


class OtaStatusResult(BaseModel):
    batch_id: str
    duplicate: bool
    applied: int
    ignored: int
