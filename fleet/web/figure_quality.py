"""How sure is a public figure: the sensor models behind a measure and their stated accuracy,
the sensors counted per zone, the humidity flag on particles, the calibration date (not
recorded by the fleet) and the readings the gateways left out as implausible, per zone.

Readings left out are the growth of the gateways' held-back counters (node_health.suspect,
its history in node_health_sample) reported within the window: the fleet keeps that history
for its span (7 days by default), so an older or longer window counts only what it still has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from fleet import indices
from fleet.crud.health_history import DEFAULT_BOUNDS, rejected_series
from fleet.crud.public_figures import sensor_counts
from fleet.models import Node, NodeHealth, Profile
from fleet.sensor_models import HUMID_RH_PCT, HUMIDITY_SOURCE, SensorModel, models_for
from fleet.web.alerts import rejected_increase
from fleet.web.i18n import Translator

__all__ = ["Quality", "ZoneNote", "ZoneQuality", "held_back_between", "quality", "zone_notes"]

PARTICLES = frozenset({"pm25_ugm3", "pm10_ugm3"})


@dataclass(frozen=True, slots=True)
class ModelView:
    name: str
    accuracy: str
    source: str


@dataclass(slots=True)
class ZoneQuality:
    in_service: int = 0  # sensors measuring the metric, in service
    registered: int = 0  # all those in the register, whatever their state
    left_out: int = 0  # readings held back by the gateways within the window


@dataclass(slots=True)
class Quality:
    metric: str
    models: list[ModelView]
    zones: dict[str, ZoneQuality] = field(default_factory=dict)
    humidity_flag: bool = False  # particles: hours of humid air are flagged
    humid_rh_pct: float = HUMID_RH_PCT
    humidity_source: str = HUMIDITY_SOURCE
    since: int = 0  # the window the left-out readings were counted over
    until: int = 0
    history_cut: bool = False  # the window reaches further back than the history kept

    def zone(self, zone_id: str) -> ZoneQuality:
        return self.zones.get(zone_id) or ZoneQuality()


def held_back_between(series: Sequence[tuple[int, int]], since: int, until: int) -> int:
    """Readings held back within [since, until) along a node's (received at, held-back total)
    series, oldest first: the counters' growth from the last point before the window (none:
    from zero, cautious), a drop being a gateway restart (rejected_increase)."""
    before = [total for at, total in series if at < since]
    inside = [total for at, total in series if since <= at < until]
    if not inside:
        return 0
    return rejected_increase(inside, baseline=before[-1] if before else None)


def _left_out(
    session: Session, *, profile_ids: list[str], since: int, until: int
) -> dict[str, int]:
    """Per zone, the readings held back within the window from nodes of ``profile_ids``."""
    q = (
        select(col(Node.id), col(Node.zone_id), col(NodeHealth.received_at),
               col(NodeHealth.suspect))
        .join(NodeHealth, col(NodeHealth.node_id) == col(Node.id))
        .where(col(Node.profile_id).in_(profile_ids))
    )  # fmt: skip
    latest = {node: (zone, received, sum(s.values())) for node, zone, received, s in
              session.exec(q) if s}  # fmt: skip
    history = rejected_series(
        session, node_ids=list(latest), since=since - DEFAULT_BOUNDS.bucket_s,
        column="suspect_total",
    )  # fmt: skip
    out: dict[str, int] = {}
    for node, (zone, received, total) in latest.items():
        series = list(history.get(node, []))
        if not series or series[-1][0] < received:
            series.append((received, total))
        out[zone] = out.get(zone, 0) + held_back_between(series, since, until)
    return out


def quality(
    session: Session,
    t: Translator,
    *,
    metric: str,
    since: int,
    until: int,
    now: int,
    offline_after_s: int,
) -> Quality:
    """What the pages say beside a figure of ``metric`` over [since, until)."""
    models = [_view(m, t) for m in models_for(metric)]
    q = Quality(metric, models, humidity_flag=metric in PARTICLES, since=since, until=until)
    q.history_cut = since < now - DEFAULT_BOUNDS.span_s
    profiles = [p for p in session.exec(select(Profile)) if metric in p.measures]
    kinds = {p.name for p in profiles}
    for zone, counts in sensor_counts(session, now=now, offline_after_s=offline_after_s).items():
        mine = [c for c in counts if c.kind in kinds]
        zq = q.zones.setdefault(zone, ZoneQuality())
        zq.in_service = sum(c.count for c in mine if c.status == "active")
        zq.registered = sum(c.count for c in mine)
    for zone, n in _left_out(
        session, profile_ids=[p.id for p in profiles], since=since, until=until
    ).items():
        q.zones.setdefault(zone, ZoneQuality()).left_out = n
    return q


def _view(m: SensorModel, t: Translator) -> ModelView:
    return ModelView(m.name, m.accuracy[0] if t.lang == "fr" else m.accuracy[1], m.source)


@dataclass(frozen=True, slots=True)
class ZoneNote:
    """What the map says beside a zone's figure besides its value."""

    left_out: int
    band: tuple[str, str] | None  # particles over a day: the ATMO qualifier and its colour
    humid_hours: int  # particles: hours of the period in humid air


def zone_notes(
    q: Quality,
    *,
    values: dict[str, float],
    humid_hours: dict[str, int],
    day: bool,
) -> dict[str, ZoneNote]:
    """Per zone with a figure: the readings left out, the ATMO band of a day's particles and
    the humid hours (fleet.indices: the ATMO sub-index is defined on a day's mean only)."""
    out = {}
    for zone, value in values.items():
        band = None
        if day and q.metric in indices.ATMO_BANDS:
            i = indices.atmo_band(q.metric, value)
            band = (indices.ATMO_LABELS[i], indices.ATMO_COLOURS[i])
        out[zone] = ZoneNote(q.zone(zone).left_out, band, humid_hours.get(zone, 0))
    return out
