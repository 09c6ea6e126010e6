"""The public map's figures as JSON: one metric, one hour or day, every zone (no login)."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from fleet.api.deps import SessionDep, SettingsDep
from fleet.crud.public_figures import map_figures
from fleet.models.public_map import MapFigures
from protocol.metrics import METRICS

router = APIRouter(prefix="/public", tags=["public"])

METRIC_PATTERN = "^(" + "|".join(METRICS) + ")$"


@router.get("/map", response_model=MapFigures)
def public_map(
    session: SessionDep,
    settings: SettingsDep,
    metric: Annotated[str, Query(pattern=METRIC_PATTERN, description="a metric key")],
    period: Annotated[Literal["hour", "day"], Query()] = "hour",
    at: Annotated[
        int | None,
        Query(ge=0, le=2**40, description="a time in the hour or day (unix); default: newest"),
    ] = None,
) -> MapFigures:
    """Each zone's published figure of ``metric`` for one hour or one day of the territory's
    calendar: the readings' mean (sound levels: energy mean), or the number of people with its
    90 % interval; its sensors by kind and status; the colour classes of the public map."""
    figures, _ = map_figures(
        session, settings, metric=metric, period=period, at=at, now=int(time.time())
    )
    return figures
