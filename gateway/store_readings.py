"""The gateway store's readings side (gateway/store.py's schema): replay windows, a batch
committed in one transaction, rejections and the stripped quarantine, node health, retention,
and the replay of stored readings after a restart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson

from protocol.codec import Reading
from protocol.verify import WINDOW_BITS, CounterWindow

__all__ = ["ReadingTables", "readings_after"]


def _window_blob(w: CounterWindow) -> bytes:
    """The window's unseen counters as a bitmap trimmed of leading zeros: a node that sends
    in order has none, so its row stays a few bytes and the table is cheap to rewrite."""
    span = min(WINDOW_BITS, w.high)
    missing = ((1 << span) - 1) & ~w.seen
    return missing.to_bytes((missing.bit_length() + 7) // 8, "little")


def _window_from(high: int, blob: bytes) -> CounterWindow:
    # a bit the blob lacks reads as seen: a row written when the window held 1024 bits (no
    # H - 1024) answers that one counter as a duplicate (the old code refused it) and never
    # stores it twice
    span = min(WINDOW_BITS, high)
    missing = int.from_bytes(blob, "little")
    return CounterWindow(high, ((1 << span) - 1) & ~missing)


def _reading_blob(r: Reading) -> bytes:
    # only what aggregation may need again: the firmware version goes to node health instead
    doc: dict[str, object] = {"m": r.measures}
    if r.bat is not None:
        doc["bat"] = r.bat
    return orjson.dumps(doc)


class ReadingTables:
    """Part of :class:`gateway.store.Store`: readings, windows, rejections, health, retention."""

    db: sqlite3.Connection
    path: Path

    # ------------------------------------------------------------------------- ingest

    def windows(self) -> dict[str, CounterWindow]:
        rows = self.db.execute("SELECT node_id, high, missing FROM windows").fetchall()
        return {n: _window_from(h, b) for n, h, b in rows}

    def commit_batch(
        self,
        readings: Sequence[tuple[Reading, str, float]],
        windows: dict[str, CounterWindow],
        rejections: dict[str, int],
        quarantine: Sequence[tuple[float, str | None, str, str, int]],
        quarantine_max: int,
        held: Sequence[tuple[str, int, int, str]] = (),
    ) -> int:
        """Store accepted readings (reading, zone, received), the new windows of their nodes,
        rejection counts and quarantined messages, all or nothing; and the marks of readings
        the aggregator held back since the last commit, (node_id, counter, t, reason), which
        ride along so that they never pile up in memory under a flood. Returns the id of the
        last stored reading (the aggregator's cursor)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO readings (node_id, counter, t, received, zone, m) "
                "VALUES (?,?,?,?,?,?)",
                [
                    (r.node_id, r.counter, r.t, received, zone, _reading_blob(r))
                    for r, zone, received in readings
                ],
            )
            db.executemany(
                "INSERT INTO windows (node_id, high, missing) VALUES (?,?,?) "
                "ON CONFLICT(node_id) DO UPDATE SET high=excluded.high, missing=excluded.missing",
                [(n, w.high, _window_blob(w)) for n, w in windows.items()],
            )
            db.executemany(
                "INSERT INTO rejections (reason, count) VALUES (?,?) "
                "ON CONFLICT(reason) DO UPDATE SET count=count+excluded.count",
                list(rejections.items()),
            )
            if quarantine:
                db.executemany(
                    "INSERT INTO quarantine (at, node_id, reason, detail, size) "
                    "VALUES (?,?,?,?,?)",
                    quarantine,
                )
                db.execute(
                    "DELETE FROM quarantine WHERE id <= (SELECT MAX(id) FROM quarantine) - ?",
                    (quarantine_max,),
                )
            if held:
                db.executemany(
                    "INSERT OR REPLACE INTO held_back (node_id, counter, t, reason) "
                    "VALUES (?,?,?,?)",
                    held,
                )
            (last,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM readings").fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(last)

    def rejection_counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT reason, count FROM rejections").fetchall())

    def quarantined(self, limit: int = 100) -> list[tuple[float, str | None, str, str, int]]:
        rows = self.db.execute(
            "SELECT at, node_id, reason, detail, size FROM quarantine ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [tuple(r) for r in rows]

    def reading_count(self) -> int:
        (n,) = self.db.execute("SELECT COUNT(*) FROM readings").fetchone()
        return int(n)

    def readings_since(self, t_min: int) -> list[tuple[str, int, int, str, bytes]]:
        """(node_id, counter, t, zone, m) of readings measured at or after t_min."""
        return list(
            self.db.execute(
                "SELECT node_id, counter, t, zone, m FROM readings WHERE t >= ? ORDER BY t",
                (t_min,),
            )
        )

    def counters(self, node_id: str) -> list[int]:
        return [
            c
            for (c,) in self.db.execute(
                "SELECT counter FROM readings WHERE node_id=? ORDER BY counter", (node_id,)
            )
        ]

    # ------------------------------------------------------------------------- health

    def update_health(self, items: Iterable[tuple[str, float, dict[str, object]]]) -> None:
        self.db.executemany(
            "INSERT INTO health (node_id, last_seen, state) VALUES (?,?,?) "
            "ON CONFLICT(node_id) DO UPDATE SET last_seen=excluded.last_seen, state=excluded.state",
            [(n, seen, orjson.dumps(state)) for n, seen, state in items],
        )

    def health(self) -> dict[str, tuple[float, dict[str, object]]]:
        rows = self.db.execute("SELECT node_id, last_seen, state FROM health").fetchall()
        return {n: (seen, orjson.loads(state)) for n, seen, state in rows}

    # ------------------------------------------------------------------------- retention

    def purge_readings(self, measured_before: int) -> int:
        """Privacy rule 5: delete raw readings measured before the cutoff, and the quarantine
        rows received before it (refusals of readings are kept no longer than readings)."""
        self.db.execute("DELETE FROM quarantine WHERE at < ?", (measured_before,))
        cur = self.db.execute("DELETE FROM readings WHERE t < ?", (measured_before,))
        self.db.execute("DELETE FROM held_back WHERE t < ?", (measured_before,))
        return cur.rowcount

    def evict_oldest_readings(self, n: int) -> int:
        cur = self.db.execute(
            "DELETE FROM readings WHERE id IN (SELECT id FROM readings ORDER BY id LIMIT ?)",
            (n,),
        )
        return cur.rowcount

    def disk_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total


def readings_after(
    store: ReadingTables, cursor: int, measured_from: int | None = None
) -> tuple[list[tuple[Reading, str]], int]:
    """Stored readings with an id above ``cursor`` (and measured at or after
    ``measured_from`` if given), in storage order, as (reading, zone), and the new cursor:
    what the aggregator must replay after a restart."""
    rows = store.db.execute(
        "SELECT id, node_id, counter, t, zone, m FROM readings WHERE id > ? AND t >= ? "
        "ORDER BY id",
        (cursor, -(2**62) if measured_from is None else measured_from),
    ).fetchall()
    out = []
    for row_id, node_id, counter, t, zone, m in rows:
        doc = orjson.loads(m)
        out.append((Reading(node_id, 0, counter, t, doc.get("fw", ""), doc["m"], doc.get("bat")),
                    zone))
        cursor = row_id
    return out, cursor
