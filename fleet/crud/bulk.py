"""Set-based upsert of node health: one statement per batch on PostgreSQL.

PostgreSQL gets the batch as one JSON document (``json_to_recordset``): one round trip and
one set-based insert for thousands of rows. Other databases (SQLite) get an executemany of
the same upsert, which is cheap in-process. Either way a late report never overwrites a
newer state, and a report that does not say the node's hardware keeps the one known.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import func, text
from sqlalchemy.dialects import sqlite
from sqlmodel import Session

from fleet.models import HealthItem, NodeHealth

__all__ = ["upsert_health"]

# the batch travels as one JSON document, parsed by the server: cheaper on both sides than
# thousands of bound parameters or Python-built arrays
_PG_HEALTH = text(
    """
    INSERT INTO node_health (node_id, gateway_id, last_seen, battery_v, rssi, fw, slot, boot,
                             buffered, rejected, received_at, hw, suspect)
    SELECT u.node_id, :gateway_id, u.last_seen, u.battery_v, u.rssi, u.fw, u.slot, u.boot,
           u.buffered, u.rejected, :now, u.hw, u.suspect
    FROM json_to_recordset(CAST(:rows AS json))
         AS u(node_id text, last_seen bigint, battery_v float8, rssi integer, fw text,
              slot text, boot bigint, buffered bigint, rejected json, hw text, suspect json)
    ON CONFLICT (node_id) DO UPDATE SET
        gateway_id = excluded.gateway_id, last_seen = excluded.last_seen,
        battery_v = excluded.battery_v, rssi = excluded.rssi, fw = excluded.fw,
        slot = excluded.slot, boot = excluded.boot, buffered = excluded.buffered,
        rejected = excluded.rejected, received_at = excluded.received_at,
        suspect = excluded.suspect,
        hw = COALESCE(excluded.hw, node_health.hw)
    WHERE excluded.last_seen >= node_health.last_seen
    """
)


def _pg(session: Session, items: Sequence[HealthItem], gateway_id: str, now: int) -> None:
    rows = orjson.dumps([_row(h) for h in items]).decode()
    session.execute(_PG_HEALTH, {"gateway_id": gateway_id, "now": now, "rows": rows})


def _row(h: HealthItem) -> dict[str, Any]:
    return {
        "node_id": h.node_id,
        "last_seen": h.last_seen,
        "battery_v": h.battery_v,
        "rssi": h.rssi,
        "fw": h.fw,
        "slot": h.slot,
        "boot": h.boot,
        "buffered": h.buffered,
        "rejected": h.rejected,
        "hw": h.hw,
        "suspect": h.suspect,
    }


def _generic(session: Session, items: Sequence[HealthItem], gateway_id: str, now: int) -> None:
    t = NodeHealth.__table__  # type: ignore[attr-defined]
    ins = sqlite.insert(t)
    kept = {"hw": func.coalesce(ins.excluded.hw, t.c.hw)}  # a report without hw keeps the known
    stmt = ins.on_conflict_do_update(
        index_elements=[t.c.node_id],
        set_={
            c.name: kept.get(c.name, ins.excluded[c.name]) for c in t.columns
            if c.name != "node_id"
        },
        where=ins.excluded.last_seen >= t.c.last_seen,
    )
    rows = [{**_row(h), "gateway_id": gateway_id, "received_at": now} for h in items]
    session.execute(stmt, rows)


def upsert_health(
    session: Session, *, items: Sequence[HealthItem], gateway_id: str, now: int
) -> None:
    """Write each item as its node's latest health unless a newer one is stored."""
    if not items:
        return
    if session.get_bind().dialect.name == "postgresql":
        _pg(session, items, gateway_id, now)
    else:
        _generic(session, items, gateway_id, now)
