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
    interval_s: int | None = Field(
        description="seconds between the node's readings (null: not known); its gateway's rate "
        "cap for the node follows from it"
    )
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None
    health: HealthPublic | None
    keys: list[NodeKeyPublic] = Field(default_factory=list)


class RegisterEntry(BaseModel):
    """One sensor in the public register (fields after Amsterdam's sensor register)."""

    id: str = Field(
        description="today's pseudonym of the sensor: a new one every day (Europe/Paris), "
        "unlinkable to the previous ones; resolves for a few days at /public/register/{id}"
    )
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
    installed_month: str = Field(description="YYYY-MM: the month, never the day")
    active_until_month: str | None = Field(description="YYYY-MM, or null: no end date")
    status: str = Field(description="active, inactive (not heard from recently) or removed")


class AggregatePublic(BaseModel):
    """One gateway's release of one cell, as published; several gateways serving a zone give
    several rows (told apart by ``source``): add their people and n, n-weight their means."""

    zone_id: str
    metric: str
    unit: str
    start: int
    period_s: int
    source: str = Field(description="opaque label of the gateway that released the cell")
    n: int | None = Field(description="exact number of readings behind the cell")
    mean: float | None
    p95: float | None
    people: int | None = Field(description="people counts only: noisy number of people")
    suppressed: bool
    suppressed_reason: str | None = Field(
        description="too_few_nodes, below_threshold, budget_exhausted (null: old rows)"
    )
    dp_mechanism: str | None = Field(description="discrete_laplace when the cell is noisy")
    dp_epsilon: float | None = Field(description="this cell's own epsilon")
    dp_scale: float | None = Field(description="scale of the noise added to people")
    dp_ci90_low: int | None = Field(description="90 % interval of the true count: low end")
    dp_ci90_high: int | None = Field(description="90 % interval of the true count: high end")
