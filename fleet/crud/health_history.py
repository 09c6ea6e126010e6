"""Node health over time, bounded per node: a ring of buckets fed by gateway ingest.

A sample is stamped with the time the fleet received the report (``at``), not the node's
``last_seen``: a report can change without the node being heard (messages refused in its
name move the rejection counters, not ``last_seen``), and windows computed on the fleet's own
clock do not depend on gateway clocks.

The first report of each bucket becomes the bucket's sample, in slot
``(at // bucket_s) % slots``, replacing what that slot held one ring turn earlier. A node
therefore never holds more than ``slots`` samples (span / bucket: 336 with the defaults), with
no pruning job; samples older than the span are filtered out on read. Later reports of the
same bucket write nothing (gateways report every 30 s or so, buckets last 30 min): the
history costs ingest one index probe per report, not one row update. The latest state is in
``node_health`` anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, col, select

from fleet.models import HealthItem, NodeHealthSample

__all__ = ["DEFAULT_BOUNDS", "HistoryBounds", "node_samples", "record_samples", "rejected_series"]

_IN_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class HistoryBounds:
    bucket_s: int
    slots: int

    @classmethod
    def covering(cls, *, bucket_s: int, span_s: int) -> HistoryBounds:
        return cls(bucket_s=bucket_s, slots=max(1, -(-span_s // bucket_s)))

    @property
    def span_s(self) -> int:
        return self.bucket_s * self.slots

    def slot_of(self, at: int) -> int:
        return (at // self.bucket_s) % self.slots


DEFAULT_BOUNDS = HistoryBounds.covering(bucket_s=1800, span_s=7 * 86400)

# NOT EXISTS skips reports whose bucket has its sample without locking the row (as a
# conflicting ON CONFLICT DO UPDATE would, even when its WHERE is false)
_PG_SAMPLES = text(
    """
    INSERT INTO node_health_sample (node_id, slot, at, battery_v, rssi, buffered, rejected_total,
                                    suspect_total)
    SELECT u.node_id, u.slot, u.at, u.battery_v, u.rssi, u.buffered, u.rejected_total,
           u.suspect_total
    FROM json_to_recordset(CAST(:rows AS json))
         AS u(node_id text, slot integer, at bigint, battery_v float8, rssi integer,
              buffered bigint, rejected_total bigint, suspect_total bigint)
    WHERE NOT EXISTS (
        SELECT 1 FROM node_health_sample s
        WHERE s.node_id = u.node_id AND s.slot = u.slot AND s.at >= :bucket_start)
    ON CONFLICT (node_id, slot) DO UPDATE SET
        at = excluded.at, battery_v = excluded.battery_v, rssi = excluded.rssi,
        buffered = excluded.buffered, rejected_total = excluded.rejected_total,
        suspect_total = excluded.suspect_total
    WHERE node_health_sample.at < :bucket_start
    """
)


def _row(h: HealthItem, at: int, bounds: HistoryBounds) -> dict[str, Any]:
    return {
        "node_id": h.node_id,
        "slot": bounds.slot_of(at),
        "at": at,
        "battery_v": h.battery_v,
        "rssi": h.rssi,
        "buffered": h.buffered,
        "rejected_total": sum(h.rejected.values()),
        "suspect_total": sum(h.suspect.values()),
    }


def record_samples(
    session: Session,
    *,
    items: Sequence[HealthItem],
    at: int,
    bounds: HistoryBounds = DEFAULT_BOUNDS,
) -> None:
    """Make each report, received at ``at``, its bucket's sample unless the bucket has one
    (one statement per batch on PostgreSQL)."""
    if not items:
        return
    rows = [_row(h, at, bounds) for h in items]
    bucket_start = at - at % bounds.bucket_s
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _PG_SAMPLES, {"rows": orjson.dumps(rows).decode(), "bucket_start": bucket_start}
        )
        return
    t = NodeHealthSample.__table__  # type: ignore[attr-defined]
    ins = sqlite.insert(t)
    stmt = ins.on_conflict_do_update(
        index_elements=[t.c.node_id, t.c.slot],
        set_={c.name: ins.excluded[c.name] for c in t.columns if c.name not in {"node_id", "slot"}},
        where=t.c.at < bucket_start,  # only a sample from an earlier turn of the ring
    )
    session.execute(stmt, rows)


def node_samples(session: Session, *, node_id: str, since: int) -> list[NodeHealthSample]:
    """One node's samples from ``since`` on, oldest first (at most ``slots`` rows)."""
    q = (
        select(NodeHealthSample)
        .where(NodeHealthSample.node_id == node_id, col(NodeHealthSample.at) >= since)
        .order_by(col(NodeHealthSample.at))
    )
    return list(session.exec(q))


def rejected_series(
    session: Session, *, node_ids: Iterable[str], since: int, column: str = "rejected_total"
) -> dict[str, list[tuple[int, int]]]:
    """(at, ``column``: rejected_total or suspect_total) from ``since`` on for many nodes,
    oldest first per node (plain tuples: alerts read thousands of them)."""
    ids = sorted(set(node_ids))
    out: dict[str, list[tuple[int, int]]] = {}
    t = NodeHealthSample.__table__  # type: ignore[attr-defined]
    for i in range(0, len(ids), _IN_CHUNK):
        q = (
            sa_select(t.c.node_id, t.c.at, t.c[column])
            .where(t.c.node_id.in_(ids[i : i + _IN_CHUNK]), t.c.at >= since)
            .order_by(t.c.node_id, t.c.at)
        )
        for node_id, at, total in session.execute(q):
            out.setdefault(node_id, []).append((at, total))
    return out
