"""What anyone may read without login: the published aggregates (the register is in
fleet.crud.register).

Nothing here names a node, a gateway or a host: a cell's gateway appears only as an opaque
source label, locations only as zones (design.md, privacy rules 4 and 6).
"""

from __future__ import annotations

import hmac
from collections.abc import Collection
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from fleet.models import Aggregate
from fleet.models.views import AggregatePublic
from protocol.metrics import METRICS

__all__ = [
    "CellKey",
    "list_aggregates",
    "published_cells",
    "source_label",
    "to_public_aggregate",
]

# (start, zone, period, gateway, metric): the open data's order, one release's rows adjacent
CellKey = tuple[int, str, int, str, str]


def _where(
    q: Any, *, zone_id: str | None, metric: str | None, since: int | None, until: int | None
) -> Any:
    """The open data's filters: one zone, one metric, cells starting in [since, until)."""
    if zone_id is not None:
        q = q.where(Aggregate.zone_id == zone_id)
    if metric is not None:
        q = q.where(Aggregate.metric == metric)
    if since is not None:
        q = q.where(col(Aggregate.start) >= since)
    if until is not None:
        q = q.where(col(Aggregate.start) < until)
    return q


def list_aggregates(
    session: Session,
    *,
    limit: int,
    after_id: int | None = None,
    zone_id: str | None = None,
    metric: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> list[Aggregate]:
    """Published cells in id order (keyset: pass the last id as ``after_id``)."""
    q = select(Aggregate)
    if after_id is not None:
        q = q.where(col(Aggregate.id) > after_id)
    q = _where(q, zone_id=zone_id, metric=metric, since=since, until=until)
    return list(session.exec(q.order_by(col(Aggregate.id)).limit(limit)))


def published_cells(
    session: Session,
    *,
    limit: int,
    metrics: Collection[str],
    after: CellKey | None = None,
    zone_id: str | None = None,
    metric: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> list[Aggregate]:
    """Cells not suppressed, of ``metrics``, by (start, zone, period, gateway, metric)
    (keyset: pass the last one's key as ``after``)."""
    order = (
        col(Aggregate.start),
        col(Aggregate.zone_id),
        col(Aggregate.period_s),
        col(Aggregate.gateway_id),
        col(Aggregate.metric),
    )
    q = select(Aggregate).where(col(Aggregate.suppressed).is_(False))
    q = q.where(col(Aggregate.metric).in_(sorted(metrics)))
    q = _where(q, zone_id=zone_id, metric=metric, since=since, until=until)
    if after is not None:
        q = q.where(tuple_(*order) > tuple_(*after))
    return list(session.exec(q.order_by(*order).limit(limit)))


def source_label(source_key: bytes, gateway_id: str) -> str:
    """An opaque, stable name for the gateway that released a cell: series can be followed
    and two gateways' cells of one zone told apart, without naming the gateway (or its host)."""
    return "src-" + hmac.digest(source_key, gateway_id.encode(), "sha256")[:5].hex()


def to_public_aggregate(a: Aggregate, source_key: bytes) -> AggregatePublic:
    """A suppressed cell is published as suppressed, with no value at all; min and max are
    never published (in a small cell each is one node's raw reading)."""
    metric = METRICS.get(a.metric)
    hide = a.suppressed
    return AggregatePublic(
        zone_id=a.zone_id,
        metric=a.metric,
        unit=metric.unit if metric else "",
        start=a.start,
        period_s=a.period_s,
        source=source_label(source_key, a.gateway_id),
        n=None if hide else a.n,
        mean=None if hide else a.mean,
        p95=None if hide else a.p95,
        people=None if hide else a.people,
        suppressed=a.suppressed,
        suppressed_reason=a.suppressed_reason,
        dp_mechanism=a.dp_mechanism,
        dp_epsilon=a.dp_epsilon,
        dp_scale=a.dp_scale,
        dp_ci90_low=a.dp_ci90_low,
        dp_ci90_high=a.dp_ci90_high,
    )
