"""Read shapes that join tables: the device list item, the register entry, open data rows."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from fleet.models.nodes import Connectivity, NodeKeyPublic, NodeStatus

__all__ = ["AggregatePublic", "HealthPublic", "NodePublic", "RegisterEntry"]


class HealthPublic(BaseModel):
    last_seen: int
    battery_v: float | None
    rssi: int | None
    fw: str
    slot: str
    boot: int
    buffered: int
    rejected: dict[str, int]
    gateway_id: str
    hw: str | None = None


class NodePublic(BaseModel):
    id: str
    status: NodeStatus
    connectivity: Connectivity
    label: str
    zone_id: str
    gateway_id: str | None
    profile_id: str
    installed_on: date
    active_until: date | None
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None
    health: HealthPublic | None
    keys: list[NodeKeyPublic] = Field(default_factory=list)


class RegisterEntry(BaseModel):
    """One sensor in the public register (fields after Amsterdam's sensor register)."""

    id: str = Field(description="public pseudonym of the sensor; rotates periodically")
    type: str = Field(description="kind of sensor")
    measures: list[str] = Field(description="metric keys (see /api/v1/public/metrics)")
    measures_labels: list[str]
    purpose: str
    legal_basis: str
    operator: str
    contact: str
    personal_data: bool
    personal_data_processing: str
    zone_id: str
    zone_name: str
    retention: str
    installed_on: date
    active_until: date | None
    status: str = Field(description="active, inactive (not heard from recently) or removed")


class AggregatePublic(BaseModel):
    zone_id: str
    metric: str
    unit: str
    start: int
    period_s: int
    n: int | None
    mean: float | None
    min: float | None
    max: float | None
    p95: float | None
    people: int | None = Field(description="people counts only: noisy number of people")
    suppressed: bool
    dp_mechanism: str | None
    dp_epsilon: float | None
