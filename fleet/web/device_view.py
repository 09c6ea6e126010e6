"""How devices are shown: a list row, the health charts, who an audit actor is."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from markupsafe import Markup
from sqlmodel import Session, col, select

from fleet.core.config import Settings
from fleet.crud.nodes import connectivity
from fleet.models import AuditEvent, Node, NodeHealth, NodeHealthSample, Operator
from fleet.web.charts import line_chart
from fleet.web.common import translator
from fleet.web.render import formats_of

__all__ = ["Chart", "DeviceRow", "actor_names", "health_charts"]


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: str
    label: str
    zone_id: str
    gateway_id: str | None
    state: str  # online, offline, never_seen or revoked
    fw: str | None
    battery_v: float | None
    last_seen: int | None

    @classmethod
    def of(cls, node: Node, health: NodeHealth | None, now: int, offline_after_s: int) -> DeviceRow:
        state = (
            "revoked"
            if node.status == "revoked"
            else connectivity(health, now=now, offline_after_s=offline_after_s)
        )
        return cls(
            id=node.id,
            label=node.label,
            zone_id=node.zone_id,
            gateway_id=node.gateway_id,
            state=state,
            fw=health.fw if health else None,
            battery_v=health.battery_v if health else None,
            last_seen=health.last_seen if health else None,
        )


@dataclass(frozen=True, slots=True)
class Chart:
    svg: Markup
    caption: str


_SERIES: tuple[tuple[str, str, int, str], ...] = (
    # (sample field, title key, decimals, unit)
    ("battery_v", "chart_battery", 2, "V"),
    ("rssi", "chart_rssi", 0, "dBm"),
    ("buffered", "chart_buffered", 0, ""),
)


def health_charts(
    request: Request, samples: Sequence[NodeHealthSample], *, now: int, settings: Settings
) -> list[Chart]:
    t, fmt = translator(request), formats_of(request)
    t0 = now - settings.health_history_span_s
    out = []
    for name, title_key, decimals, unit in _SERIES:
        points = [(s.at, float(v)) for s in samples if (v := getattr(s, name)) is not None]
        if not points:
            continue
        values = [v for _, v in points]

        def fmt_value(v: float, d: int = decimals, u: str = unit) -> str:
            return fmt.num(v, d, u)

        title = t(title_key)
        description = t(
            "chart_summary",
            title=title,
            first=fmt.dt(points[0][0]),
            last=fmt.dt(points[-1][0]),
            lo=fmt_value(min(values)),
            hi=fmt_value(max(values)),
            latest=fmt_value(values[-1]),
        )
        svg = line_chart(
            points,
            chart_id=f"chart-{name}",
            title=title,
            description=description,
            t0=max(t0, points[0][0]),
            t1=now,
            gap_s=int(settings.health_history_bucket_s * 2.5),
            fmt_value=fmt_value,
            fmt_time=fmt.dt,
        )
        out.append(Chart(svg=svg, caption=description))
    return out


def actor_names(session: Session, events: Sequence[AuditEvent]) -> Callable[[str], str]:
    """``operator:3`` as the operator's email, other actors as they are written."""
    ids = {
        int(e.actor.split(":", 1)[1])
        for e in events
        if e.actor.startswith("operator:") and e.actor.split(":", 1)[1].isdigit()
    }
    emails: dict[str, Any] = {}
    if ids:
        q = select(Operator.id, Operator.email).where(col(Operator.id).in_(sorted(ids)))
        emails = {f"operator:{i}": email for i, email in session.exec(q)}
    return lambda actor: emails.get(actor, actor)
