"""The gateway's durable store: one SQLite database in WAL mode.

Every accepted reading, the per-node replay windows, rejection counts, the bounded quarantine
and the uplink outbox live here, and a batch of readings is committed in ONE transaction with
``synchronous=FULL`` before any of them is acknowledged to its node (docs/protocol.md,
"Acknowledgement"). SQL stays in this module; callers pass and get plain values.

Node secrets are never written in the clear: they are kept sealed to the gateway's own key
(gateway/sealed_keys.py); the database and its -wal and -shm files are 0600.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.sealed_keys import KeyRing
from gateway.secret_file import private_dir, private_file
from protocol.codec import Reading
from protocol.verify import WINDOW_BITS, CounterWindow

__all__ = ["NodeRecord", "OutboxItem", "Store"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY,
    zone TEXT NOT NULL,
    keys TEXT NOT NULL,          -- JSON {key_id: {"sealed": base64, "expires": t or null}}
    revoked INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL,
    interval_s INTEGER           -- seconds between its readings (null: not known)
);
-- Append-only: rows land on the last pages, so a batch dirties few pages (an SD card wears
-- out from writes). Uniqueness of (node_id, counter) is guaranteed by the replay windows,
-- updated in the same transaction, so no unique index is kept.
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY,
    node_id TEXT NOT NULL,
    counter INTEGER NOT NULL,
    t INTEGER NOT NULL,
    received REAL NOT NULL,
    zone TEXT NOT NULL,
    m BLOB NOT NULL              -- JSON of the measurements and battery, as verified
);
CREATE INDEX IF NOT EXISTS readings_t ON readings (t);
-- Stored readings kept out of the figures (rate limited or suspect), by the aggregator's
-- verdict (gateway/aggregate.py); purged with the readings they mark.
CREATE TABLE IF NOT EXISTS held_back (
    node_id TEXT NOT NULL,
    counter INTEGER NOT NULL,
    t INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (node_id, counter)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS windows (
    node_id TEXT PRIMARY KEY,
    high INTEGER NOT NULL,
    missing BLOB NOT NULL        -- counters of the window not yet seen (usually none)
);
CREATE TABLE IF NOT EXISTS health (
    node_id TEXT PRIMARY KEY,
    last_seen REAL NOT NULL,
    state TEXT NOT NULL          -- JSON of the node's last state message and counters
);
CREATE TABLE IF NOT EXISTS rejections (
    reason TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    node_id TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,        -- cut before any value (gateway/ingest.py quarantine_entry)
    size INTEGER NOT NULL        -- of the refused message, which is not kept
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,          -- 'aggregate' or 'health'
    created REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""

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


@dataclass(frozen=True, slots=True)
class NodeRecord:
    node_id: str
    zone: str
    keys: dict[int, bytes]
    revoked: bool
    # key id -> unix time after which the key is refused (a rotated-out key's grace period)
    expires: dict[int, int] = field(default_factory=dict)
    # seconds between its readings as the fleet has it (None: not known): its rate cap
    interval_s: int | None = None

    def live_keys(self, now: float) -> dict[int, bytes]:
        return {k: v for k, v in self.keys.items() if self.expires.get(k, now + 1) > now}


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    kind: str
    created: float
    body: bytes


def _reading_blob(r: Reading) -> bytes:
    # only what aggregation may need again: the firmware version goes to node health instead
    doc: dict[str, object] = {"m": r.measures}
    if r.bat is not None:
        doc["bat"] = r.bat
    return orjson.dumps(doc)


class Store:
    def __init__(self, path: Path, sealing: X25519PrivateKey) -> None:
        """``sealing``: the gateway's X25519 key, which node secrets are sealed to."""
        private_dir(path.parent)
        self.path = path
        self.keyring = KeyRing(sealing)
        # made owner-only before SQLite opens it: SQLite gives -wal and -shm the same mode
        private_file(path)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed transaction survives a power cut, which the ack promises
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=5000")
        cols = {r[1] for r in self.db.execute("PRAGMA table_info(quarantine)")}
        if "payload" in cols:  # an older quarantine kept raw messages: they go, unread
            self.db.execute("DROP TABLE quarantine")
        # a deleted or replaced row (a rotated key) is overwritten, not left in a free page
        self.db.execute("PRAGMA secure_delete=ON")
        self.db.executescript(SCHEMA)
        node_cols = {r[1] for r in self.db.execute("PRAGMA table_info(nodes)")}
        if "interval_s" not in node_cols:  # a database from before the nodes' intervals
            self.db.execute("ALTER TABLE nodes ADD COLUMN interval_s INTEGER")
        self._seal_plain_secrets()

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------------- registry

    def _seal_plain_secrets(self) -> None:
        """An older gateway kept node secrets as hex: seal them, and leave no copy in the WAL
        nor in a free page."""
        rows = self.db.execute("SELECT node_id, keys FROM nodes").fetchall()
        plain = [(n, p) for n, column in rows if (p := KeyRing.plain(column)) is not None]
        if not plain:
            return
        self.db.execute("BEGIN IMMEDIATE")
        for node_id, (keys, expires) in plain:
            self.db.execute("UPDATE nodes SET keys=? WHERE node_id=?",
                            (self.keyring.dump(node_id, keys, expires), node_id))
        self.db.execute("COMMIT")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.execute("VACUUM")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def upsert_node(self, node: NodeRecord) -> None:
        keys = self.keyring.dump(node.node_id, node.keys, node.expires)
        self.db.execute(
            "INSERT INTO nodes (node_id, zone, keys, revoked, updated, interval_s) "
            "VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(node_id) DO UPDATE SET zone=excluded.zone, keys=excluded.keys, "
            "revoked=excluded.revoked, updated=excluded.updated, interval_s=excluded.interval_s",
            (node.node_id, node.zone, keys, int(node.revoked), time.time(), node.interval_s),
        )

    def nodes(self) -> list[NodeRecord]:
        rows = self.db.execute(
            "SELECT node_id, zone, keys, revoked, interval_s FROM nodes"
        ).fetchall()
        out = []
        for node_id, zone, column, revoked, interval_s in rows:
            keys, expires = self.keyring.load(node_id, column)
            out.append(NodeRecord(node_id, zone, keys, bool(revoked), expires, interval_s))
        self.keyring.keep_only(set().union(*(KeyRing.sealed_texts(r[2]) for r in rows)))
        return out

    def delete_node(self, node_id: str) -> None:
        self.db.execute("DELETE FROM nodes WHERE node_id=?", (node_id,))

    def delete_all_nodes(self) -> None:
        self.db.execute("DELETE FROM nodes")

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
    ) -> int:
        """Store accepted readings (reading, zone, received), the new windows of their nodes,
        rejection counts and quarantined messages, all or nothing. Returns the id of the last
        stored reading (the aggregator's cursor)."""
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


def readings_after(
    store: Store, cursor: int, measured_from: int | None = None
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
