"""The gateway ingest call: what a batch may hold, item by item (bounded everywhere)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from fleet.models.common import SLUG_PATTERN
from protocol.codec import HW_PATTERN
from protocol.metrics import METRICS
from protocol.published_cells import MECHANISM, REASONS

__all__ = [
    "DP_MECHANISMS",
    "OLD_SHAPE_HINT",
    "SUPPRESSED_REASONS",
    "AggregateItem",
    "DpInfo",
    "HealthItem",
    "IngestRequest",
    "IngestResult",
    "SuppressedReason",
]

_MAX_UNIX = 2**40  # far beyond any real date; keeps values inside a 64-bit column
_Bound = Annotated[int, Field(ge=-(2**53), le=2**53)]
_Reason = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]


class HealthItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    node_id: str = Field(pattern=SLUG_PATTERN, max_length=32)
    last_seen: int = Field(ge=0, le=_MAX_UNIX)
    battery_v: float | None = Field(default=None, ge=0, le=10)
    rssi: int | None = Field(default=None, ge=-200, le=50)
    fw: str = Field(max_length=32)
    slot: str = Field(max_length=8)
    boot: int = Field(ge=0, le=2**53)
    buffered: int = Field(ge=0, le=2**53)
    rejected: dict[_Reason, Annotated[int, Field(ge=0, le=2**53)]] = Field(
        default_factory=dict, max_length=32
    )
    # readings of the node the gateway stored but kept out of its figures, by reason
    # (rate_limited, suspect_bounds, suspect_rate, suspect_stuck), since the gateway started
    suspect: dict[_Reason, Annotated[int, Field(ge=0, le=2**53)]] = Field(
        default_factory=dict, max_length=8
    )
    # the node's hardware from its state (None: not reported yet; the stored one is kept)
    hw: str | None = Field(default=None, pattern=HW_PATTERN, max_length=16)


# The published-cell contract (docs/fleet.md, "Ingest"): the gateway's protocol module will
# own these names; the fleet refuses any other reason or mechanism.
# the cell contract's own values (protocol/published_cells.py): one home for both sides
SUPPRESSED_REASONS = REASONS
DP_MECHANISMS = (MECHANISM,)
SuppressedReason = Literal["too_few_nodes", "below_threshold", "budget_exhausted"]
OLD_SHAPE_HINT = (
    "cells need suppressed_reason and dp {mechanism, epsilon, scale, ci90}, min and max null: "
    "upgrade the gateway"
)


class DpInfo(BaseModel):
    """The release that made this cell: its own epsilon, the noise scale, a 90 % interval."""

    model_config = ConfigDict(extra="forbid")
    mechanism: Literal["discrete_laplace"]
    epsilon: float = Field(gt=0, le=100, allow_inf_nan=False)
    scale: float = Field(gt=0, le=1e12, allow_inf_nan=False)
    ci90: tuple[_Bound, _Bound]

    @model_validator(mode="after")
    def _ordered(self) -> DpInfo:
        if self.ci90[0] > self.ci90[1]:
            raise ValueError("ci90 must be [low, high]")
        return self


class AggregateItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zone: str = Field(pattern=SLUG_PATTERN, max_length=32)
    metric: str = Field(max_length=32)
    start: int = Field(ge=0, le=_MAX_UNIX)
    period_s: int = Field(ge=1, le=366 * 86400)
    n: int | None = Field(ge=0, le=2**53)  # exact: periodic sensors report whoever passes
    mean: float | None = Field(allow_inf_nan=False)
    # a single node's raw reading in a small cell: no longer published, always null
    min: None
    max: None
    p95: float | None = Field(allow_inf_nan=False)
    people: int | None = Field(ge=0, le=2**53)
    suppressed: bool
    suppressed_reason: SuppressedReason | None
    dp: DpInfo | None

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        if v not in METRICS:
            raise ValueError("unknown metric key")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> AggregateItem:
        if self.suppressed != (self.suppressed_reason is not None):
            raise ValueError("suppressed_reason is set exactly when the cell is suppressed")
        published_count = METRICS[self.metric].is_count and not self.suppressed
        if published_count and (self.people is None or self.dp is None):
            raise ValueError("a published people count needs its value and its dp release")
        return self


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    health: list[HealthItem] = Field(default_factory=list)
    aggregates: list[AggregateItem] = Field(default_factory=list)


class IngestResult(BaseModel):
    batch_id: str
    duplicate: bool = Field(description="true when this batch was already applied")
    health_applied: int
    aggregates_applied: int
    ignored: int = Field(description="items about nodes or zones this gateway does not serve")
    refused: dict[str, int] = Field(
        default_factory=dict,
        description="cells refused, by reason: budget_exceeded (the zone's daily epsilon, all "
        "gateways together, would be exceeded), conflicting_cell (another value for a cell "
        "already published); a retry cannot change either",
    )
    details: dict[str, Any] = Field(default_factory=dict)
