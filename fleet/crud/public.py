"""What anyone may read without login: the sensor register and the published aggregates.

Nothing here names a node, a gateway or a host: sensors appear under rotating pseudonyms
and locations only as zones (design.md, privacy rules 4 and 6).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from fleet.core.config import Settings
from fleet.core.crypto import pseudonym
from fleet.models import Aggregate, Node, NodeHealth, Profile, RegisterEntry, Zone
from fleet.models.views import AggregatePublic
from protocol.metrics import METRICS

__all__ = [
    "CellKey",
    "list_aggregates",
    "published_cells",
    "register_entries",
    "register_page",
    "to_public_aggregate",
]

CellKey = tuple[int, str, int, str]  # (start, zone, period, metric): the open data's order


def register_entries(
    session: Session,
    *,
    limit: int,
    offset: int,
    now: int,
    pseudonym_key: bytes,
    rotation_s: int,
    offline_after_s: int,
    zone_id: str | None = None,
) -> list[RegisterEntry]:
    q = (
        select(Node, Profile, Zone, NodeHealth.last_seen)
        .join(Profile, col(Profile.id) == col(Node.profile_id))
        .join(Zone, col(Zone.id) == col(Node.zone_id))
        .join(NodeHealth, col(NodeHealth.node_id) == col(Node.id), isouter=True)
    )
    if zone_id is not None:
        q = q.where(Node.zone_id == zone_id)
    period = now // rotation_s
    out = []
    for node, profile, zone, last_seen in session.exec(
        q.order_by(col(Node.id)).offset(offset).limit(limit)
    ):
        if node.status == "revoked":
            status = "removed"
        elif last_seen is not None and last_seen >= now - offline_after_s:
            status = "active"
        else:
            status = "inactive"
        out.append(
            RegisterEntry(
                id=pseudonym(pseudonym_key, node.id, period),
                type=profile.name,
                measures=list(profile.measures),
                measures_labels=[METRICS[m].label_en for m in profile.measures if m in METRICS],
                purpose=profile.purpose,
                legal_basis=profile.legal_basis,
                operator=profile.operator_name,
                contact=profile.contact,
                personal_data=profile.personal_data,
                personal_data_processing=profile.personal_data_processing,
                zone_id=zone.id,
                zone_name=zone.name,
                retention=profile.retention,
                installed_on=node.installed_on,
                active_until=node.active_until,
                status=status,
            )
        )
    return out


def register_page(
    session: Session,
    settings: Settings,
    *,
    pseudonym_key: bytes,
    limit: int,
    offset: int,
    zone_id: str | None = None,
) -> list[RegisterEntry]:
    """The register as the API and the public page show it: pseudonyms of this rotation
    period, status from the fleet's offline delay."""
    return register_entries(
        session,
        limit=limit,
        offset=offset,
        now=int(time.time()),
        pseudonym_key=pseudonym_key,
        rotation_s=settings.public_pseudonym_rotation_s,
        offline_after_s=settings.node_offline_after_s,
        zone_id=zone_id,
    )


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
    """Cells not suppressed, of ``metrics``, by (start, zone, period, metric) (keyset: pass the
    last one's key as ``after``)."""
    order = (
        col(Aggregate.start),
        col(Aggregate.zone_id),
        col(Aggregate.period_s),
        col(Aggregate.metric),
    )
    q = select(Aggregate).where(col(Aggregate.suppressed).is_(False))
    q = q.where(col(Aggregate.metric).in_(sorted(metrics)))
    q = _where(q, zone_id=zone_id, metric=metric, since=since, until=until)
    if after is not None:
        q = q.where(tuple_(*order) > tuple_(*after))
    return list(session.exec(q.order_by(*order).limit(limit)))


def to_public_aggregate(a: Aggregate) -> AggregatePublic:
    """A suppressed cell is published as suppressed, with no value at all."""
    metric = METRICS.get(a.metric)
    hide = a.suppressed
    return AggregatePublic(
        zone_id=a.zone_id,
        metric=a.metric,
        unit=metric.unit if metric else "",
        start=a.start,
        period_s=a.period_s,
        n=None if hide else a.n,
        mean=None if hide else a.mean,
        min=None if hide else a.min,
        max=None if hide else a.max,
        p95=None if hide else a.p95,
        people=None if hide else a.people,
        suppressed=a.suppressed,
        dp_mechanism=a.dp_mechanism,
        dp_epsilon=a.dp_epsilon,
    )
