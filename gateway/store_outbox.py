"""The gateway store's uplink outbox and key-value state (tables ``outbox`` and ``kv`` of
gateway/store.py's schema): what waits to go to the fleet, and the small state documents
(the aggregator's checkpoint, the ledger, the allotment) written in the store's transactions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["OutboxItem", "OutboxTables"]


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    kind: str
    created: float
    body: bytes


class OutboxTables:
    """Part of :class:`gateway.store.Store`: the outbox and key-value methods."""

    db: sqlite3.Connection

    # ------------------------------------------------------------------------- outbox

    def outbox_add(self, kind: str, bodies: Iterable[bytes], now: float) -> None:
        self.db.executemany(
            "INSERT INTO outbox (kind, created, body) VALUES (?,?,?)",
            [(kind, now, b) for b in bodies],
        )

    def outbox_peek(self, limit: int, kinds: Sequence[str] = ()) -> list[OutboxItem]:
        """The oldest records, of the given kinds only when ``kinds`` is not empty."""
        if kinds:
            marks = ",".join("?" * len(kinds))
            rows = self.db.execute(
                f"SELECT id, kind, created, body FROM outbox WHERE kind IN ({marks}) "  # noqa: S608 - only placeholders
                "ORDER BY id LIMIT ?",
                (*kinds, limit),
            ).fetchall()
        else:
            rows = self.db.execute(
                "SELECT id, kind, created, body FROM outbox ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [OutboxItem(*r) for r in rows]

    def outbox_remove(self, ids: Sequence[int]) -> None:
        self.db.executemany("DELETE FROM outbox WHERE id=?", [(i,) for i in ids])

    def outbox_depth(self) -> int:
        (n,) = self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(n)

    def outbox_oldest(self) -> float | None:
        row = self.db.execute("SELECT MIN(created) FROM outbox").fetchone()
        return None if row[0] is None else float(row[0])

    def outbox_evict(self, kind: str, n: int) -> int:
        cur = self.db.execute(
            "DELETE FROM outbox WHERE id IN "
            "(SELECT id FROM outbox WHERE kind=? ORDER BY id LIMIT ?)",
            (kind, n),
        )
        return cur.rowcount

    # ------------------------------------------------------------------------- key-value

    def kv_get(self, key: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def kv_set(self, key: str, value: bytes) -> None:
        self.db.execute(
            "INSERT INTO kv (key, value) VALUES (?,?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )
