"""The gateway sync call: nodes that changed for one gateway since a cursor."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["SyncKey", "SyncNode", "SyncPrivacy", "SyncResponse"]


class SyncKey(BaseModel):
    key_id: int
    expires_at: int | None = Field(description="unix time after which the key is refused")
    sealed: str = Field(
        description="base64url (no padding) of the secret sealed to the gateway's X25519 key"
    )


class SyncNode(BaseModel):
    node_id: str
    # removed: the node no longer belongs to this gateway, forget it
    removed: bool = False
    revoked: bool = False
    zone_id: str | None = None
    keys: list[SyncKey] = Field(default_factory=list)
    interval_s: int | None = Field(
        default=None,
        description="seconds between the node's readings, as provisioned (null: not known); "
        "the gateway caps the node's readings per window from it",
    )


class SyncPrivacy(BaseModel):
    zone_epsilon: dict[str, float] = Field(
        default_factory=dict,
        description="epsilon per day (Europe/Paris) this gateway may spend in each zone it "
        "serves: the zone's budget shared between the gateways serving it; the fleet refuses "
        "cells beyond the zone's total",
    )


class SyncResponse(BaseModel):
    cursor: int = Field(description="pass back as ?cursor= on the next sync")
    more: bool = Field(description="true when another page is waiting")
    reset: bool = Field(
        description="true on a full resync: drop every node held, then apply this and later pages"
    )
    nodes: list[SyncNode]
    privacy: SyncPrivacy = Field(default_factory=SyncPrivacy)
