"""Tables of what gateways report: node health (latest state) and anonymised aggregates."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from fleet.models.common import BIGINT_PK

__all__ = ["Aggregate", "IngestBatch", "NodeHealth", "NodeHealthSample"]


class NodeHealth(SQLModel, table=True):
    """The latest health a gateway reported for a node (one row per node, upserted)."""

    __tablename__ = "node_health"
    # last_seen is not indexed and pages keep 30 % free, so the frequent health updates are
    # HOT updates on PostgreSQL (no index churn); filters on last_seen scan by node order
    __table_args__ = (
        Index("ix_node_health_fw_node", "fw", "node_id"),
        {"postgresql_with": {"fillfactor": 70}},
    )
    node_id: str = Field(primary_key=True, foreign_key="node.id", max_length=32, ondelete="CASCADE")
    gateway_id: str = Field(max_length=32)
    last_seen: int = Field(sa_type=BigInteger)
    battery_v: float | None = None
    rssi: int | None = None
    fw: str = Field(max_length=32)
    slot: str = Field(max_length=8)
    boot: int = Field(sa_type=BigInteger)
    buffered: int = Field(sa_type=BigInteger)
    rejected: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: int = Field(sa_type=BigInteger)
    # readings the gateway held back from its figures, by reason (docs/gateway.md)
    suspect: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # the hardware the node reports (node.json "hw"); None until it does. Rollouts leave out
    # nodes of another hardware than the release's (docs/ota-rollouts.md)
    hw: str | None = Field(default=None, max_length=16)


class NodeHealthSample(SQLModel, table=True):
    """Health over time for the dashboard: a ring of ``slot`` buckets per node.

    ``slot = (at // bucket_s) % slots`` (fleet.crud.health_history): the first report of a
    bucket replaces the sample its slot held one ring turn earlier, so a node never holds more
    than ``slots`` rows and nothing needs pruning. Updates keep the key (HOT on PostgreSQL).
    """

    __tablename__ = "node_health_sample"
    __table_args__ = ({"postgresql_with": {"fillfactor": 70}},)
    node_id: str = Field(primary_key=True, foreign_key="node.id", max_length=32, ondelete="CASCADE")
    slot: int = Field(primary_key=True, ge=0)
    at: int = Field(sa_type=BigInteger)  # when the fleet received the report (unix seconds)
    battery_v: float | None = None
    rssi: int | None = None
    buffered: int = Field(sa_type=BigInteger)
    # sum of the gateway's rejection counters for the node (they restart with the gateway)
    rejected_total: int = Field(sa_type=BigInteger)
    # sum of the gateway's held-back counters for the node (rate limited, suspect)
    suspect_total: int = Field(default=0, sa_type=BigInteger)


class IngestBatch(SQLModel, table=True):
    """Batches already applied, so a repeated batch is acknowledged and not applied twice."""

    __tablename__ = "ingest_batch"
    gateway_id: str = Field(
        primary_key=True, foreign_key="gateway.id", max_length=32, ondelete="CASCADE"
    )
    batch_id: str = Field(primary_key=True, max_length=200)
    received_at: int = Field(sa_type=BigInteger, index=True)
    health_applied: int = 0
    aggregates_applied: int = 0
    ignored: int = 0
    # cells refused, by reason (budget_exceeded, conflicting_cell): told again on a retry
    refused: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Aggregate(SQLModel, table=True):
    """One published cell: a metric over a zone and a time window (already anonymised), as
    one gateway released it. Its identity includes the gateway: two gateways serving a zone
    publish two cells, and the fleet never replaces one (fleet.crud.cells)."""

    __table_args__ = (
        UniqueConstraint(
            "gateway_id", "zone_id", "metric", "start", "period_s", name="uq_aggregate_cell"
        ),
        Index("ix_aggregate_start", "start"),
        Index("ix_aggregate_zone_start", "zone_id", "start"),
    )
    id: int | None = Field(default=None, primary_key=True, sa_type=BIGINT_PK)
    zone_id: str = Field(foreign_key="zone.id", max_length=32)
    metric: str = Field(max_length=32)
    start: int = Field(sa_type=BigInteger)
    period_s: int
    n: int | None = Field(default=None, sa_type=BigInteger)
    mean: float | None = None
    min: float | None = None  # old rows only: a small cell's min is one node's reading
    max: float | None = None  # idem; neither is published any more
    p95: float | None = None
    # people counts: the noisy number of people (differential privacy), mean..p95 are empty
    people: int | None = Field(default=None, sa_type=BigInteger)
    suppressed: bool = False
    suppressed_reason: str | None = Field(default=None, max_length=32)
    dp_mechanism: str | None = Field(default=None, max_length=64)
    dp_epsilon: float | None = None  # this cell's own epsilon (old rows: the zone's budget)
    dp_scale: float | None = None
    dp_ci90_low: int | None = Field(default=None, sa_type=BigInteger)
    dp_ci90_high: int | None = Field(default=None, sa_type=BigInteger)
    gateway_id: str = Field(max_length=32)
    received_at: int = Field(sa_type=BigInteger)
