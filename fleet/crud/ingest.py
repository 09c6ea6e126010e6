"""Gateway ingest: bulk upserts of node health, published cells (fleet.crud.cells),
idempotent by batch id."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fleet.crud.bulk import upsert_health
from fleet.crud.cells import DEFAULT_RULES, BudgetRules, accept_cells
from fleet.crud.health_history import DEFAULT_BOUNDS, HistoryBounds, record_samples
from fleet.models import HealthItem, IngestBatch, IngestRequest, IngestResult, Node

__all__ = ["apply_batch"]

_IN_CHUNK = 1000  # ids per IN (...) list: far below every driver's parameter limit


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i : i + _IN_CHUNK]


_PG_SERVED = text(
    "SELECT id FROM node WHERE gateway_id = :gateway_id AND status = 'active' "
    "AND id = ANY(CAST(:ids AS text[]))"
)


def _served_nodes(session: Session, gateway_id: str, node_ids: Sequence[str]) -> set[str]:
    """Which of these nodes are active and assigned to this gateway (one query on PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_PG_SERVED, {"gateway_id": gateway_id, "ids": list(node_ids)})
        return {r[0] for r in rows}
    served: set[str] = set()
    for chunk in _chunks(node_ids):
        q = select(Node.id).where(
            Node.gateway_id == gateway_id, Node.status == "active", col(Node.id).in_(chunk)
        )
        served.update(session.exec(q))
    return served


def _served_zones(session: Session, gateway_id: str) -> set[str]:
    q = select(Node.zone_id).where(Node.gateway_id == gateway_id).distinct()
    return set(session.exec(q))


def _result(batch: IngestBatch, duplicate: bool) -> IngestResult:
    return IngestResult(
        batch_id=batch.batch_id,
        duplicate=duplicate,
        health_applied=batch.health_applied,
        aggregates_applied=batch.aggregates_applied,
        ignored=batch.ignored,
        refused=dict(batch.refused),
    )


def apply_batch(
    session: Session,
    *,
    gateway_id: str,
    batch: IngestRequest,
    now: int,
    rules: BudgetRules = DEFAULT_RULES,
    history: HistoryBounds = DEFAULT_BOUNDS,
) -> IngestResult:
    """Apply a batch once. Items about nodes or zones this gateway does not serve are ignored;
    cells are accepted or refused by fleet.crud.cells.

    The batch row is written first: a concurrent copy of the same batch waits on its unique key
    and then sees it (PostgreSQL), or is serialised behind it (SQLite).
    """
    done = session.get(IngestBatch, (gateway_id, batch.batch_id))
    if done is not None:
        return _result(done, duplicate=True)
    row = IngestBatch(gateway_id=gateway_id, batch_id=batch.batch_id, received_at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        done = session.get(IngestBatch, (gateway_id, batch.batch_id))
        if done is None:
            raise
        return _result(done, duplicate=True)

    ignored: list[str] = []
    latest: dict[str, HealthItem] = {}
    for item in batch.health:  # one row per node: the most recent report wins
        if item.node_id not in latest or item.last_seen >= latest[item.node_id].last_seen:
            latest[item.node_id] = item
    served = _served_nodes(session, gateway_id, sorted(latest))
    applied = [item for node_id, item in latest.items() if node_id in served]
    ignored.extend(n for n in latest if n not in served)
    upsert_health(session, items=applied, gateway_id=gateway_id, now=now)
    record_samples(session, items=applied, at=now, bounds=history)

    zones = _served_zones(session, gateway_id) if batch.aggregates else set()
    cells = []
    for agg in batch.aggregates:
        if agg.zone not in zones:
            ignored.append(f"zone:{agg.zone}")
        else:
            cells.append(agg)
    accepted, refused = accept_cells(
        session, gateway_id=gateway_id, items=cells, now=now, rules=rules
    )

    row.health_applied = len(applied)
    row.aggregates_applied = accepted
    row.refused = dict(sorted(refused.items()))
    row.ignored = len(ignored)
    session.add(row)
    result = _result(row, duplicate=False)
    if ignored:
        result.details = {"ignored": ignored[:100]}
    return result
