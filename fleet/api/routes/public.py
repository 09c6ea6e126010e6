"""Open to everyone, no login: the sensor register and the published aggregates (JSON, CSV)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session

from fleet.api.deps import BoxDep, LimitDep, OffsetDep, SessionDep, SettingsDep
from fleet.api.params import SlugQuery
from fleet.crud import public as crud
from fleet.crud.registry import list_zones
from fleet.models import AggregatePublic, Page, RegisterEntry, ZonePublic
from protocol.metrics import METRICS

router = APIRouter(prefix="/public", tags=["public"])

MetricQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,32}$")]
TimeQuery = Annotated[int | None, Query(ge=0, le=2**40)]
_CSV_FIELDS = list(AggregatePublic.model_fields)
_CSV_CHUNK = 1000


class MetricInfo(BaseModel):
    key: str
    unit: str
    label_fr: str
    label_en: str
    is_count: bool


@router.get("/register", response_model=Page[RegisterEntry])
def register(
    session: SessionDep,
    settings: SettingsDep,
    box: BoxDep,
    limit: LimitDep,
    offset: OffsetDep = 0,
    zone: SlugQuery = None,
) -> Page[RegisterEntry]:
    """Every sensor: what it measures, why, on which legal basis, who runs it, where (zone),
    how long, and whether it processes personal data and how. Sensors appear under a
    pseudonym that changes periodically."""
    entries = crud.register_page(
        session, settings, pseudonym_key=box.pseudonym_key, limit=limit, offset=offset,
        zone_id=zone,
    )
    cursor = str(offset + limit) if len(entries) == limit else None
    return Page(data=entries, next_cursor=cursor)


@router.get("/metrics", response_model=list[MetricInfo])
async def metrics() -> list[MetricInfo]:
    """What each metric key means, and its unit."""
    return [
        MetricInfo(
            key=m.key, unit=m.unit, label_fr=m.label_fr, label_en=m.label_en, is_count=m.is_count
        )
        for m in METRICS.values()
    ]


@router.get("/zones", response_model=list[ZonePublic])
def zones(session: SessionDep, limit: LimitDep, offset: OffsetDep = 0) -> list[ZonePublic]:
    return [
        ZonePublic.model_validate(z, from_attributes=True)
        for z in list_zones(session, limit=limit, offset=offset)
    ]


@router.get("/aggregates", response_model=Page[AggregatePublic])
def aggregates(
    session: SessionDep,
    limit: LimitDep,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="next_cursor")] = None,
    zone: SlugQuery = None,
    metric: MetricQuery = None,
    since: TimeQuery = None,
    until: TimeQuery = None,
) -> Page[AggregatePublic]:
    """Published aggregates per zone and time window; suppressed cells carry no value."""
    rows = crud.list_aggregates(
        session, limit=limit, after_id=after, zone_id=zone, metric=metric, since=since, until=until
    )
    cursor = str(rows[-1].id) if len(rows) == limit else None
    return Page(data=[crud.to_public_aggregate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/aggregates.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def aggregates_csv(
    request: Request,
    settings: SettingsDep,
    zone: SlugQuery = None,
    metric: MetricQuery = None,
    since: TimeQuery = None,
    until: TimeQuery = None,
) -> StreamingResponse:
    """The same as CSV (UTF-8, header row), streamed in full."""
    engine: Engine = request.app.state.engine
    max_rows = settings.csv_max_rows

    def rows() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=_CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        sent, after = 0, None
        with Session(engine) as session:
            while sent < max_rows:
                chunk = crud.list_aggregates(
                    session,
                    limit=min(_CSV_CHUNK, max_rows - sent),
                    after_id=after,
                    zone_id=zone,
                    metric=metric,
                    since=since,
                    until=until,
                )
                if not chunk:
                    break
                for a in chunk:
                    writer.writerow(crud.to_public_aggregate(a).model_dump())
                sent += len(chunk)
                after = chunk[-1].id
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="territoire-aggregates.csv"'},
    )
