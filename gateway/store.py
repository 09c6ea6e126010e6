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
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.sealed_keys import KeyRing
from gateway.secret_file import private_dir, private_file
from gateway.store_outbox import OutboxItem, OutboxTables
from gateway.store_readings import ReadingTables, readings_after

__all__ = ["NodeRecord", "OutboxItem", "Store", "readings_after"]

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


class Store(ReadingTables, OutboxTables):
    """The database: the registry here, readings (gateway/store_readings.py) and the outbox
    (gateway/store_outbox.py) in their modules, on the one connection."""

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
