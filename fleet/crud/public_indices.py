"""The published figures the public indices read, per zone (fleet.indices computes them):
a day's particle mean and its humid hours, a day's hourly sound levels, three days'
temperature extremes, the latest bin fill and soil moisture with their profiles' thresholds.

Only published cells are read, through the same figures as the map (fleet.zone_figures).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet import indices
from fleet.core.config import Settings
from fleet.crud.public_figures import _cells
from fleet.models import Node, Profile
from fleet.sensor_models import is_humid
from fleet.zone_figures import Figure, bucket_start, figures_by_zone
from protocol.metrics import METRICS

__all__ = [
    "DAY_HOURS_MIN",
    "ZoneHeat",
    "ZoneNeed",
    "ZoneNoise",
    "ZoneParticles",
    "heat",
    "hourly",
    "humid_hours",
    "needs",
    "noise",
    "particles",
]

DAY = 86400
LOOKBACK_DAYS = 8  # how far back a zone's latest day is looked for
DAY_HOURS_MIN = 20  # a day's minimum and maximum need most of its hours


def hourly(
    session: Session, settings: Settings, *, metric: str, since: int, until: int
) -> dict[str, dict[int, Figure]]:
    """Every zone's hourly figures of ``metric`` in [since, until), by hour start."""
    rows = _cells(
        session, metric=metric, since=since, until=until, limit=settings.public_map_max_cells
    )
    tz = ZoneInfo(settings.dashboard_timezone)
    return figures_by_zone(rows, period="hour", tz=tz, is_count=METRICS[metric].is_count,
                           metric=metric)  # fmt: skip


def _days(figures: Mapping[int, Figure], tz: ZoneInfo) -> dict[date, dict[int, list[float]]]:
    """Hourly figures by local day, then local hour (a DST day's repeated hour: two values)."""
    out: dict[date, dict[int, list[float]]] = {}
    for start, fig in figures.items():
        local = datetime.fromtimestamp(start, tz)
        out.setdefault(local.date(), {}).setdefault(local.hour, []).append(fig.value)
    return out


def _day_start(day: date, tz: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def _window(settings: Settings, now: int) -> tuple[ZoneInfo, int, int]:
    tz = ZoneInfo(settings.dashboard_timezone)
    return tz, bucket_start(now - LOOKBACK_DAYS * DAY, "day", tz), now + 1


@dataclass(frozen=True, slots=True)
class ZoneParticles:
    day_start: int
    mean: float  # the day's mean (of its published hours, weighted by readings)
    hours: int  # hours with a published figure that day
    humid_hours: int  # of which the zone's humidity mean was at or above HUMID_RH_PCT
    band: int  # ATMO sub-index, 0..5


def particles(
    session: Session, settings: Settings, *, metric: str, now: int
) -> dict[str, ZoneParticles]:
    """Per zone, its latest day with a published ``metric`` figure."""
    tz, since, until = _window(settings, now)
    rows = _cells(
        session, metric=metric, since=since, until=until, limit=settings.public_map_max_cells
    )
    daily = figures_by_zone(rows, period="day", tz=tz, is_count=False, metric=metric)
    hours = figures_by_zone(rows, period="hour", tz=tz, is_count=False, metric=metric)
    humidity = hourly(session, settings, metric="rh_pct", since=since, until=until)
    out = {}
    for zone, days in daily.items():
        start = max(days)
        end = _day_start(datetime.fromtimestamp(start, tz).date() + timedelta(days=1), tz)
        in_day = [h for h in hours.get(zone, {}) if start <= h < end]
        rh = humidity.get(zone, {})
        humid = sum(1 for h in in_day if h in rh and is_humid(rh[h].value))
        mean = days[start].value
        out[zone] = ZoneParticles(start, mean, len(in_day), humid, indices.atmo_band(metric, mean))
    return out


@dataclass(frozen=True, slots=True)
class ZoneNoise:
    day_start: int  # the latest day with a sound level
    hours: int  # its hours with one
    laeq: float  # its hours' energy mean
    full_day_start: int | None  # the latest day with all 24 hours, if any in the look-back
    lden: float | None
    lnight: float | None


def noise(session: Session, settings: Settings, *, now: int) -> dict[str, ZoneNoise]:
    tz, since, until = _window(settings, now)
    out = {}
    for zone, figures in hourly(session, settings, metric="laeq_db", since=since,
                                until=until).items():  # fmt: skip
        days = _days(figures, tz)
        latest = max(days)
        per_hour = {d: {h: indices.energy_mean(v) for h, v in hs.items()} for d, hs in days.items()}
        full = [d for d, hs in per_hour.items() if indices.lden(hs) is not None]
        full_day = max(full) if full else None
        out[zone] = ZoneNoise(
            day_start=_day_start(latest, tz),
            hours=len(per_hour[latest]),
            laeq=indices.energy_mean([v for vs in days[latest].values() for v in vs]),
            full_day_start=_day_start(full_day, tz) if full_day else None,
            lden=indices.lden(per_hour[full_day]) if full_day else None,
            lnight=indices.lnight(per_hour[full_day]) if full_day else None,
        )
    return out


@dataclass(frozen=True, slots=True)
class ZoneHeat:
    days: list[tuple[int, float, float]]  # (day start, min, max) of the three days, oldest first
    result: indices.Heatwave | None  # None: not three consecutive days with enough hours
    latest_day_start: int  # the latest day with temperatures, complete or not


def heat(session: Session, settings: Settings, *, now: int) -> dict[str, ZoneHeat]:
    """Per zone, the IBM of its three latest consecutive days with at least DAY_HOURS_MIN
    hourly temperatures (the extremes are those of hourly means)."""
    tz, since, until = _window(settings, now)
    out = {}
    for zone, figures in hourly(session, settings, metric="temp_c", since=since,
                                until=until).items():  # fmt: skip
        days = _days(figures, tz)
        enough = sorted(
            (d, min(v for vs in hs.values() for v in vs), max(v for vs in hs.values() for v in vs))
            for d, hs in days.items()
            if len(hs) >= DAY_HOURS_MIN
        )
        three = None
        for i in range(len(enough) - 3, -1, -1):  # the newest run of three days in a row
            run = enough[i : i + 3]
            if run[2][0] - run[0][0] == timedelta(days=2):
                three = run
                break
        result = (
            indices.heatwave([(lo, hi) for _, lo, hi in three], indices.HEATWAVE_49)
            if three
            else None
        )
        out[zone] = ZoneHeat(
            days=[(_day_start(d, tz), lo, hi) for d, lo, hi in three or []],
            result=result,
            latest_day_start=_day_start(max(days), tz),
        )
    return out


@dataclass(frozen=True, slots=True)
class ZoneNeed:
    start: int  # the hour of the latest figure
    value: float
    threshold: float | None  # the zone's profiles' threshold; None: none set
    needed: bool | None


def _thresholds(session: Session, metric: str) -> dict[str, float]:
    """Per zone, the threshold of the profiles measuring ``metric`` there: the earliest
    warning when several differ (the lowest fill, the highest soil moisture)."""
    column = Profile.fill_alert_pct if metric == "fill_pct" else Profile.soil_alert_pct
    pick = func.min if metric == "fill_pct" else func.max
    q = (
        select(Node.zone_id, pick(column))
        .join(Profile, col(Profile.id) == col(Node.profile_id))
        .where(col(column).is_not(None), col(Node.status) != "revoked")
        .group_by(col(Node.zone_id))
    )
    return {zone: float(v) for zone, v in session.exec(q) if v is not None}


def needs(session: Session, settings: Settings, *, metric: str, now: int) -> dict[str, ZoneNeed]:
    """Per zone, its latest hourly ``metric`` (fill_pct or soil_pct) against its threshold."""
    _, since, until = _window(settings, now)
    thresholds = _thresholds(session, metric)
    check = indices.needs_emptying if metric == "fill_pct" else indices.needs_watering
    out = {}
    for zone, figures in hourly(session, settings, metric=metric, since=since,
                                until=until).items():  # fmt: skip
        start = max(figures)
        value = figures[start].value
        threshold = thresholds.get(zone)
        needed = None if threshold is None else check(value, threshold)
        out[zone] = ZoneNeed(start, value, threshold, needed)
    return out


def humid_hours(session: Session, settings: Settings, *, since: int, until: int) -> dict[str, int]:
    """Per zone, its hours in [since, until) whose humidity mean flags particles as humid."""
    rh = hourly(session, settings, metric="rh_pct", since=since, until=until)
    return {zone: sum(1 for f in figs.values() if is_humid(f.value)) for zone, figs in rh.items()}
