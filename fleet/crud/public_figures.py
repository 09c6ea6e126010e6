"""Published figures per zone for the public map and charts, and sensors counted per zone.

Reads only published (not suppressed) cells and the register's facts; a sensor appears only
as a count in its zone, by kind and status, never with its position or identifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from fleet.core.config import Settings
from fleet.crud.registry import list_zones
from fleet.models import Aggregate, Node, NodeHealth, Profile, Zone
from fleet.models.public_map import MapBand, MapFigures, MapZone, SensorCount
from fleet.zone_figures import (
    NO_DATA_COLOUR,
    CellRow,
    Figure,
    Period,
    Summary,
    bucket_end,
    bucket_start,
    cell_row,
    colour_bands,
    colour_of,
    figures_by_zone,
    median_of_others,
    summarise,
)
from protocol.metrics import METRICS

__all__ = [
    "RANGES",
    "ZoneChart",
    "map_figures",
    "metrics_published",
    "sensor_counts",
    "zone_charts",
]

DAY = 86400
# the charts of a zone: (key, span, bucket)
RANGES: tuple[tuple[str, int, Period], ...] = (
    ("24h", DAY, "hour"),
    ("7d", 7 * DAY, "hour"),
    ("30d", 30 * DAY, "day"),
)
_PERIODS_SHOWN = {"hour": 48, "day": 31}
_DISTINCT_STARTS_MAX = 10_000


@dataclass(frozen=True, slots=True)
class ZoneChart:
    key: str
    period: Period
    since: int
    until: int
    figures: list[Figure]
    others: list[Figure]  # the median of the territory's other zones, per bucket
    summary: Summary | None


def _cells(session: Session, *, metric: str, since: int, until: int, limit: int) -> list[CellRow]:
    """Published cells of ``metric`` starting in [since, until), newest first up to ``limit``.
    Every column is read, so the cell's privacy note reaches ``people_interval``."""
    t: Any = Aggregate.__table__  # type: ignore[attr-defined]
    q = (
        select(t)
        .where(t.c.metric == metric, t.c.suppressed.is_(False))
        .where(t.c.start >= since, t.c.start < until)
        .order_by(t.c.start.desc())
        .limit(limit)
    )
    return [cell_row(dict(r._mapping)) for r in session.connection().execute(q)]


def _starts(session: Session, metric: str) -> list[int]:
    """The newest distinct window starts of ``metric``'s published cells."""
    q = (
        select(Aggregate.start)
        .where(Aggregate.metric == metric, col(Aggregate.suppressed).is_(False))
        .distinct()
        .order_by(col(Aggregate.start).desc())
        .limit(_DISTINCT_STARTS_MAX)
    )
    return list(session.exec(q))


def sensor_counts(
    session: Session, *, now: int, offline_after_s: int
) -> dict[str, list[SensorCount]]:
    """Per zone: its sensors by kind and by the register's status."""
    state = case(
        (col(Node.status) == "revoked", "removed"),
        (col(NodeHealth.last_seen) >= now - offline_after_s, "active"),
        else_="inactive",
    ).label("state")
    q = (
        select(Node.zone_id, Profile.name, state, func.count())
        .join(Profile, col(Profile.id) == col(Node.profile_id))
        .join(NodeHealth, col(NodeHealth.node_id) == col(Node.id), isouter=True)
        .group_by(col(Node.zone_id), col(Profile.name), state)
    )
    out: dict[str, list[SensorCount]] = {}
    for zone_id, kind, status, count in session.exec(q):
        out.setdefault(zone_id, []).append(SensorCount(kind=kind, status=status, count=count))
    for counts in out.values():
        counts.sort(key=lambda c: (c.kind, ("active", "inactive", "removed").index(c.status)))
    return out


def map_figures(
    session: Session,
    settings: Settings,
    *,
    metric: str,
    period: Period,
    at: int | None,
    now: int,
) -> tuple[MapFigures, list[Zone]]:
    """Every zone's figure of ``metric`` for the hour or day holding ``at`` (default: the
    newest with published cells), coloured by equal-width classes; and the zones."""
    tz = ZoneInfo(settings.dashboard_timezone)
    periods: list[int] = []
    for s in _starts(session, metric):
        b = bucket_start(s, period, tz)
        if b not in periods:
            periods.append(b)
            if len(periods) == _PERIODS_SHOWN[period]:
                break
    start = bucket_start(at, period, tz) if at is not None else (periods[0] if periods else None)
    end = bucket_end(start, period, tz) if start is not None else None
    values: dict[str, Figure] = {}
    if start is not None and end is not None:
        rows = _cells(
            session, metric=metric, since=start, until=end, limit=settings.public_map_max_cells
        )
        by_zone = figures_by_zone(
            rows, period=period, tz=tz, is_count=METRICS[metric].is_count, metric=metric
        )
        values = {z: f[start] for z, f in by_zone.items() if start in f}
    bands = colour_bands([f.value for f in values.values()])
    sensors = sensor_counts(session, now=now, offline_after_s=settings.node_offline_after_s)
    zones = list_zones(session, limit=settings.page_max, offset=0)
    out = []
    for z in zones:
        fig = values.get(z.id)
        ci = fig.ci90 if fig else None
        out.append(
            MapZone(
                zone_id=z.id,
                name=z.name,
                value=fig.value if fig else None,
                ci90_low=ci[0] if ci else None,
                ci90_high=ci[1] if ci else None,
                cells=fig.cells if fig else 0,
                colour=colour_of(fig.value if fig else None, bands),
                sensors=sensors.get(z.id, []),
            )
        )
    figures = MapFigures(
        metric=metric,
        unit=METRICS[metric].unit,
        period=period,
        start=start,
        end=end,
        periods=periods,
        bands=[MapBand(low=b.low, high=b.high, colour=b.colour) for b in bands],
        no_data_colour=NO_DATA_COLOUR,
        zones=out,
    )
    return figures, zones


def metrics_published(session: Session, *, since: int, zone_id: str | None = None) -> list[str]:
    """The metrics with published cells since ``since`` (in the zone, when one is given), in
    the registry's order."""
    q = select(Aggregate.metric).where(
        col(Aggregate.suppressed).is_(False), col(Aggregate.start) >= since
    )
    if zone_id is not None:
        q = q.where(Aggregate.zone_id == zone_id)
    found = set(session.exec(q.distinct()))
    return [m for m in METRICS if m in found]


def zone_charts(
    session: Session, settings: Settings, *, zone_id: str, metric: str, now: int
) -> list[ZoneChart]:
    """The zone's series of ``metric`` over the last 24 hours, 7 days and 30 days, each with
    the median of the territory's other zones."""
    tz = ZoneInfo(settings.dashboard_timezone)
    is_count = METRICS[metric].is_count
    widest = max(span for _, span, _ in RANGES)
    rows = _cells(
        session,
        metric=metric,
        since=bucket_start(now - widest, "day", tz),
        until=now + 1,
        limit=settings.public_map_max_cells,
    )
    charts = []
    for key, span, period in RANGES:
        since = bucket_start(now - span, period, tz)
        by_zone = figures_by_zone(
            (r for r in rows if r.start >= since), period=period, tz=tz, is_count=is_count,
            metric=metric,
        )  # fmt: skip
        mine = [f for _, f in sorted(by_zone.get(zone_id, {}).items())]
        charts.append(
            ZoneChart(
                key=key,
                period=period,
                since=since,
                until=now,
                figures=mine,
                others=median_of_others(by_zone, zone_id),
                summary=summarise(mine),
            )
        )
    return charts
