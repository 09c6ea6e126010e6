"""The gateway ingest call: what a batch may hold, item by item (bounded everywhere)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from fleet.models.common import SLUG_PATTERN
from protocol.codec import HW_PATTERN
from protocol.metrics import METRICS

__all__ = ["AggregateItem", "DpInfo", "HealthItem", "IngestRequest", "IngestResult"]

_MAX_UNIX = 2**40  # far beyond any real date; keeps values inside a 64-bit column
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


class DpInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mechanism: str = Field(min_length=1, max_length=64)
    epsilon: float = Field(gt=0, le=100)


class AggregateItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zone: str = Field(pattern=SLUG_PATTERN, max_length=32)
    metric: str = Field(max_length=32)
    start: int = Field(ge=0, le=_MAX_UNIX)
    period_s: int = Field(ge=1, le=366 * 86400)
    n: int | None = Field(default=None, ge=0, le=2**53)
    mean: float | None = Field(default=None, allow_inf_nan=False)
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)
    p95: float | None = Field(default=None, allow_inf_nan=False)
    people: int | None = Field(default=None, ge=0, le=2**53)
    suppressed: bool
    dp: DpInfo | None = None

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        if v not in METRICS:
            raise ValueError("unknown metric key")
        return v


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
    details: dict[str, Any] = Field(default_factory=dict)
