"""Open to everyone, no login: the sensor register and the published aggregates (JSON, CSV)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session

from fleet.api.deps import BoxDep, LimitDep, OffsetDep, SessionDep, SettingsDep
from fleet.api.params import SlugQuery
from fleet.crud import public as crud
from fleet.crud.privacy_report import DOC, EXPLANATION, PrivacyReport, privacy_days
from fleet.crud.register import register_page
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
    profile: SlugQuery = None,
) -> Page[RegisterEntry]:
    """Every sensor: what it measures, why, on which legal basis, who runs it, where (zone),
    how long (to the month), and whether it processes personal data and how. Sensors appear
    under a pseudonym that changes every day, in an order that changes every day: nothing
    links an entry to the same sensor's entry of another day. ``profile``: one type only
    (a street sign's QR code asks for its zone and type)."""
    view = register_page(session, settings, box, limit=limit, offset=offset, zone_id=zone,
                         profile_id=profile)
    cursor = str(offset + limit) if offset + limit < view.total else None
    return Page(data=view.entries, next_cursor=cursor)


@router.get(
    "/register/{pseudonym}",
    response_model=RegisterEntry,
    responses={404: {"description": "no sensor has had this pseudonym in the last days"}},
)
def register_entry(
    session: SessionDep,
    settings: SettingsDep,
    box: BoxDep,
    pseudonym: Annotated[str, Path(pattern=r"^p-[0-9a-f]{20}$")],
) -> RegisterEntry:
    """One sensor, by a pseudonym it had today or in the last ``pseudonym_keep_days`` days;
    the entry comes back under the pseudonym asked (never today's, which would link the
    days)."""
    view = register_page(session, settings, box, limit=1, offset=0, lookup=pseudonym)
    if not view.entries:
        raise HTTPException(404, "no sensor has had this pseudonym in the last days")
    return view.entries[0]


DayQuery = Annotated[str | None, Query(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]


@router.get("/privacy-report", response_model=PrivacyReport)
def privacy_report(
    session: SessionDep,
    settings: SettingsDep,
    limit: LimitDep,
    offset: OffsetDep = 0,
    zone: SlugQuery = None,
    since: DayQuery = None,
    until: DayQuery = None,
) -> PrivacyReport:
    """Per zone and day (newest first): the privacy budget (epsilon) spent of the zone's
    daily budget, all gateways together, and the cells published, suppressed and refused,
    by reason. ``since`` and ``until`` are inclusive dates."""
    days = privacy_days(
        session,
        budget_of=settings.privacy_zone_epsilon,
        default_budget=settings.privacy_zone_epsilon_per_day,
        limit=limit,
        offset=offset,
        zone_id=zone,
        since=since,
        until=until,
    )
    return PrivacyReport(
        explanation=EXPLANATION,
        documentation=DOC,
        timezone=settings.privacy_timezone,
        data=days,
        next_cursor=str(offset + limit) if len(days) == limit else None,
    )


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
    box: BoxDep,
    limit: LimitDep,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="next_cursor")] = None,
    zone: SlugQuery = None,
    metric: MetricQuery = None,
    since: TimeQuery = None,
    until: TimeQuery = None,
) -> Page[AggregatePublic]:
    """Published cells per zone and time window, one row per gateway that released one
    (``source``), each with its own epsilon, noise scale and 90 % interval; suppressed cells
    carry no value, only why."""
    rows = crud.list_aggregates(
        session, limit=limit, after_id=after, zone_id=zone, metric=metric, since=since, until=until
    )
    cursor = str(rows[-1].id) if len(rows) == limit else None
    source_key = box.source_key
    return Page(data=[crud.to_public_aggregate(r, source_key) for r in rows], next_cursor=cursor)


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
    source_key: bytes = request.app.state.box.source_key
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
                    writer.writerow(crud.to_public_aggregate(a, source_key).model_dump())
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
