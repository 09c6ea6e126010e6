"""Published cells on ingest: never replaced, and paid from the zone's territory-wide budget.

A cell is (gateway, zone, metric, start, period_s). The same cell sent again with the same
values (a retried batch) is accepted and changes nothing; another value for it is refused
(``conflicting_cell``): it is a bug or tampering, e.g. a gateway restored from a backup
republishing a decided window with fresh noise, and averaging such draws would undo the noise.

Every accepted cell's ``dp.epsilon`` is charged to the fleet's ledger of its zone and day
(``ZonePrivacyDay``), whichever gateway sent it; a cell that would take the zone-day over its
budget is refused (``budget_exceeded``). The gateways' shares (fleet.crud.allotment) are
cooperative; this sum is the guarantee. Both refusals are counted per gateway
(``CellRefusal``) and raised as dashboard alerts. Ledger rows are locked in key order before
anything is read, so concurrent batches of two gateways serialise per zone-day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from fleet.core.config import Settings
from fleet.crud.register import local_day
from fleet.models import Aggregate, AggregateItem, CellRefusal, ZonePrivacyDay

__all__ = ["BUDGET_SLACK", "DEFAULT_RULES", "BudgetRules", "CellKey", "accept_cells", "cell_row"]

# relative slack on the budget: float sums of shares (8/48 added 48 times) may land a few
# ulps above the budget; 1e-9 of 8 is far below any release's epsilon
BUDGET_SLACK = 1e-9
CellKey = tuple[str, str, int, int]  # (zone, metric, start, period_s), within one gateway
# the values that make a cell: two sends of one cell must agree on all of them
_VALUES = (
    "n", "mean", "p95", "people", "suppressed", "suppressed_reason",
    "dp_mechanism", "dp_epsilon", "dp_scale", "dp_ci90_low", "dp_ci90_high",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BudgetRules:
    default_epsilon: float
    zone_epsilon: Mapping[str, float]
    timezone: str

    def budget(self, zone_id: str) -> float:
        return self.zone_epsilon.get(zone_id, self.default_epsilon)

    @classmethod
    def from_settings(cls, s: Settings) -> BudgetRules:
        return cls(s.privacy_zone_epsilon_per_day, dict(s.privacy_zone_epsilon), s.privacy_timezone)


_FIELDS = Settings.model_fields  # the defaults, without reading the environment at import
DEFAULT_RULES = BudgetRules(
    _FIELDS["privacy_zone_epsilon_per_day"].default, {}, _FIELDS["privacy_timezone"].default
)


def cell_row(agg: AggregateItem, *, gateway_id: str, now: int) -> dict[str, Any]:
    """The stored row of an item; a suppressed cell keeps no value here either."""
    hide = agg.suppressed
    dp = agg.dp
    return {
        "zone_id": agg.zone,
        "metric": agg.metric,
        "start": agg.start,
        "period_s": agg.period_s,
        "n": None if hide else agg.n,
        "mean": None if hide else agg.mean,
        "min": None,
        "max": None,
        "p95": None if hide else agg.p95,
        "people": None if hide else agg.people,
        "suppressed": agg.suppressed,
        "suppressed_reason": agg.suppressed_reason,
        "dp_mechanism": dp.mechanism if dp else None,
        "dp_epsilon": dp.epsilon if dp else None,
        "dp_scale": dp.scale if dp else None,
        "dp_ci90_low": dp.ci90[0] if dp else None,
        "dp_ci90_high": dp.ci90[1] if dp else None,
        "gateway_id": gateway_id,
        "received_at": now,
    }


def _key(row: Mapping[str, Any]) -> CellKey:
    return (row["zone_id"], row["metric"], row["start"], row["period_s"])


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a[k] == b[k] for k in _VALUES)


def _insert(session: Session, table: Table) -> Any:
    pg = session.get_bind().dialect.name == "postgresql"
    return postgresql.insert(table) if pg else sqlite.insert(table)


def _lock_days(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], ZonePrivacyDay]:
    table = ZonePrivacyDay.__table__  # type: ignore[attr-defined]
    out: dict[tuple[str, str], ZonePrivacyDay] = {}
    for zone_id, day in sorted(keys):  # one order everywhere: no deadlock between batches
        session.execute(
            _insert(session, table)
            .values(zone_id=zone_id, day=day)
            .on_conflict_do_nothing(index_elements=["zone_id", "day"])
        )
        row = session.exec(
            select(ZonePrivacyDay)
            .where(ZonePrivacyDay.zone_id == zone_id, ZonePrivacyDay.day == day)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        out[(zone_id, day)] = row
    return out


def _existing(
    session: Session, gateway_id: str, rows: Sequence[Mapping[str, Any]]
) -> dict[CellKey, dict[str, Any]]:
    """This gateway's stored cells among the keys of ``rows`` (read after the locks)."""
    out: dict[CellKey, dict[str, Any]] = {}
    by_zone: dict[str, list[int]] = {}
    for r in rows:
        by_zone.setdefault(r["zone_id"], []).append(r["start"])
    for zone_id, starts in by_zone.items():
        q = select(Aggregate).where(
            Aggregate.gateway_id == gateway_id,
            Aggregate.zone_id == zone_id,
            col(Aggregate.start) >= min(starts),
            col(Aggregate.start) <= max(starts),
        )
        for a in session.exec(q):
            out[(a.zone_id, a.metric, a.start, a.period_s)] = a.model_dump()
    return out


def _count(day: ZonePrivacyDay, row: Mapping[str, Any]) -> None:
    if not row["suppressed"]:
        day.cells_published += 1
    else:
        field = f"suppressed_{row['suppressed_reason']}"
        setattr(day, field, getattr(day, field) + 1)


def _note_refusals(
    session: Session,
    gateway_id: str,
    refused: Sequence[tuple[str, str, Mapping[str, Any]]],
    now: int,
) -> None:
    table = CellRefusal.__table__  # type: ignore[attr-defined]
    grouped: dict[tuple[str, str, str], tuple[int, Mapping[str, Any]]] = {}
    for reason, day, row in refused:
        k = (row["zone_id"], day, reason)
        grouped[k] = (grouped.get(k, (0, row))[0] + 1, row)
    for (zone_id, day, reason), (n, row) in sorted(grouped.items(), key=lambda kv: kv[0]):
        ins = _insert(session, table).values(
            gateway_id=gateway_id, zone_id=zone_id, day=day, reason=reason, count=n,
            last_at=now, last_metric=row["metric"], last_start=row["start"],
            last_period_s=row["period_s"],
        )  # fmt: skip
        session.execute(
            ins.on_conflict_do_update(
                index_elements=["gateway_id", "zone_id", "day", "reason"],
                set_={
                    "count": table.c.count + n,
                    "last_at": now,
                    "last_metric": ins.excluded.last_metric,
                    "last_start": ins.excluded.last_start,
                    "last_period_s": ins.excluded.last_period_s,
                },
            )
        )


def accept_cells(
    session: Session,
    *,
    gateway_id: str,
    items: Sequence[AggregateItem],
    now: int,
    rules: BudgetRules,
) -> tuple[int, Counter[str]]:
    """Store what may be stored; returns (cells accepted, refusals by reason)."""
    refused: Counter[str] = Counter()
    refusals: list[tuple[str, str, Mapping[str, Any]]] = []
    batch: dict[CellKey, dict[str, Any]] = {}
    days: dict[CellKey, str] = {}
    for item in items:
        row = cell_row(item, gateway_id=gateway_id, now=now)
        key = _key(row)
        day = local_day(item.start, rules.timezone)
        if key in batch:  # twice in one batch: the first stands
            if not _same(batch[key], row):
                refused["conflicting_cell"] += 1
                refusals.append(("conflicting_cell", day, row))
            continue
        batch[key] = row
        days[key] = day
    if not batch:
        return 0, refused
    ledger = _lock_days(session, sorted({(k[0], days[k]) for k in batch}))
    stored = _existing(session, gateway_id, list(batch.values()))
    accepted, new_rows = 0, []
    for key, row in sorted(batch.items(), key=lambda kv: (kv[0][2], kv[0])):
        day = days[key]
        old = stored.get(key)
        if old is not None:
            if _same(old, row):
                accepted += 1  # a retried cell: acknowledged, charged once
            else:
                refused["conflicting_cell"] += 1
                refusals.append(("conflicting_cell", day, row))
            continue
        ledger_day = ledger[(row["zone_id"], day)]
        eps = row["dp_epsilon"] or 0.0
        budget = rules.budget(row["zone_id"])
        if ledger_day.epsilon_spent + eps > budget * (1 + BUDGET_SLACK):
            refused["budget_exceeded"] += 1
            refusals.append(("budget_exceeded", day, row))
            continue
        ledger_day.epsilon_spent += eps
        _count(ledger_day, row)
        new_rows.append(row)
        accepted += 1
    per_day = Counter((row["zone_id"], day, reason) for reason, day, row in refusals)
    for (zone_id, day), ledger_day in ledger.items():
        ledger_day.refused_budget_exceeded += per_day[(zone_id, day, "budget_exceeded")]
        ledger_day.refused_conflicting_cell += per_day[(zone_id, day, "conflicting_cell")]
        session.add(ledger_day)
    if new_rows:
        session.execute(_insert(session, Aggregate.__table__), new_rows)  # type: ignore[attr-defined]
    if refusals:
        _note_refusals(session, gateway_id, refusals, now)
    session.flush()
    return accepted, refused
