"""What the public map's JSON says of each zone: its figure for one hour or day, and its
sensors counted by kind and status (never a sensor's position)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["MapBand", "MapFigures", "MapZone", "SensorCount"]

SensorStatus = Literal["active", "inactive", "removed"]


class SensorCount(BaseModel):
    kind: str = Field(description="kind of sensor (the register's type)")
    status: SensorStatus = Field(description="as in the register")
    count: int


class MapZone(BaseModel):
    zone_id: str
    name: str
    value: float | None = Field(
        description="the zone's figure: the readings' mean, or the number of people (a sum of "
        "noisy counts); null when nothing was published"
    )
    ci90_low: float | None = Field(description="people counts: low end of the 90 % interval")
    ci90_high: float | None = Field(description="people counts: high end of the 90 % interval")
    cells: int = Field(description="published cells behind the figure")
    colour: str = Field(description="the map's fill colour for the figure (see bands)")
    sensors: list[SensorCount]


class MapBand(BaseModel):
    low: float
    high: float
    colour: str


class MapFigures(BaseModel):
    metric: str
    unit: str
    period: Literal["hour", "day"]
    start: int | None = Field(description="the hour or day shown (unix time); null: no data")
    end: int | None
    periods: list[int] = Field(description="hours or days with published figures, newest first")
    bands: list[MapBand] = Field(description="the legend: equal-width classes of the figures")
    no_data_colour: str
    zones: list[MapZone]
