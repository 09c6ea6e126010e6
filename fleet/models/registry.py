"""Zones (where, generalised) and sensor profiles (what and why: the register's fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from fleet.models.common import SLUG_PATTERN, utcnow
from protocol.metrics import METRICS
from protocol.zones import check_boundary

__all__ = [
    "Profile",
    "ProfileBase",
    "ProfileCreate",
    "ProfilePublic",
    "ProfileUpdate",
    "Zone",
    "ZoneBase",
    "ZoneCreate",
    "ZonePublic",
    "ZoneUpdate",
]


class ZoneBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    # the zone's centroid (WGS84): where open data locates the zone's aggregates (NGSI-LD
    # "location"), never a node's position; a zone without one is left out of NGSI-LD
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    # the zone's outline: a GeoJSON Polygon or MultiPolygon (WGS84), bounded (protocol/zones.py);
    # public like the zone itself (the register and open data name zones, never positions)
    boundary: dict[str, Any] | None = Field(
        default=None,
        sa_column=Column(JSON, nullable=True),
        description="GeoJSON Polygon or MultiPolygon, at most 2000 positions",
    )

    @field_validator("boundary")
    @classmethod
    def _checked_boundary(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if v is None else check_boundary(v)


class ZoneCreate(ZoneBase):
    id: str = Field(schema_extra={"pattern": SLUG_PATTERN}, min_length=3, max_length=32)


class ZoneUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    boundary: dict[str, Any] | None = None

    @field_validator("boundary")
    @classmethod
    def _checked_boundary(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if v is None else check_boundary(v)


class Zone(ZoneBase, table=True):
    id: str = Field(primary_key=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class ZonePublic(ZoneBase):
    id: str
    created_at: datetime


def _check_metrics(keys: list[str]) -> list[str]:
    unknown = [k for k in keys if k not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric keys: {', '.join(sorted(unknown))}")
    if len(set(keys)) != len(keys):
        raise ValueError("metric keys repeat")
    return keys


class ProfileBase(SQLModel):
    """What a kind of sensor measures and why: Amsterdam sensor register fields."""

    name: str = Field(min_length=1, max_length=200)
    measures: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False), max_length=16
    )
    purpose: str = Field(min_length=1, max_length=2000)
    legal_basis: str = Field(min_length=1, max_length=500)
    operator_name: str = Field(min_length=1, max_length=200)
    contact: str = Field(min_length=1, max_length=300)
    personal_data: bool = False
    personal_data_processing: str = Field(default="", max_length=2000)
    retention: str = Field(min_length=1, max_length=500)
    # the public indices (fleet/indices.py): "needs emptying" at or above this fill level,
    # "needs watering" at or below this soil moisture; None: the profile sets no threshold
    fill_alert_pct: float | None = Field(default=None, ge=0, le=100)
    soil_alert_pct: float | None = Field(default=None, ge=0, le=100)

    @field_validator("measures")
    @classmethod
    def _known_metrics(cls, v: list[str]) -> list[str]:
        return _check_metrics(v)


class ProfileCreate(ProfileBase):
    id: str = Field(schema_extra={"pattern": SLUG_PATTERN}, min_length=3, max_length=32)


class ProfileUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    measures: list[str] | None = Field(default=None, max_length=16)
    purpose: str | None = Field(default=None, min_length=1, max_length=2000)
    legal_basis: str | None = Field(default=None, min_length=1, max_length=500)
    operator_name: str | None = Field(default=None, min_length=1, max_length=200)
    contact: str | None = Field(default=None, min_length=1, max_length=300)
    personal_data: bool | None = None
    personal_data_processing: str | None = Field(default=None, max_length=2000)
    retention: str | None = Field(default=None, min_length=1, max_length=500)
    fill_alert_pct: float | None = Field(default=None, ge=0, le=100)
    soil_alert_pct: float | None = Field(default=None, ge=0, le=100)

    @field_validator("measures")
    @classmethod
    def _known_metrics(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _check_metrics(v)


class Profile(ProfileBase, table=True):
    id: str = Field(primary_key=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class ProfilePublic(ProfileBase):
    id: str
    created_at: datetime
