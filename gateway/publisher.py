"""The shell around aggregation and anonymisation: feed accepted readings, close windows,
anonymise, and queue what may be published, with the state persisted in one transaction.

Exactly-once: the aggregator's state is checkpointed with a cursor (the storage id of the
last reading folded in); after a crash the readings stored after the cursor are replayed, so
every stored reading is counted once. The privacy ledger is persisted in the same transaction
that queues the cells, so a crash can never publish without having spent the budget.

Readings the aggregator holds back (rate limited, suspect: gateway/aggregate.py) stay stored
and are marked in the store's ``held_back`` table by the same checkpoint; a replay judges them
again from the checkpointed state, so the marks and the figures agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.aggregate import HELD_BACK, Aggregator, AggregatorSettings
from gateway.anonymize import PublishedCell, anonymize
from gateway.config import NodeRateSettings, PlausibilitySettings, PrivacySettings, PublishSettings
from gateway.privacy_budget import PrivacyLedger, budget_day
from gateway.store import Store, readings_after
from protocol.codec import Reading

__all__ = ["Checkpoint", "Held", "Publisher", "cell_record"]

# a reading held back: (node_id, counter, t, reason)
Held = tuple[str, int, int, str]


def cell_record(cell: PublishedCell, settings: PrivacySettings) -> dict[str, Any]:
    """A published cell in the fleet's ingest format (docs/fleet.md)."""
    return {
        "zone": cell.zone,
        "metric": cell.metric,
        "start": cell.start,
        "period_s": cell.end - cell.start,
        "n": cell.n,
        "mean": cell.mean,
        "min": cell.min,
        "max": cell.max,
        "p95": cell.p95,
        "people": cell.people,
        "suppressed": False,
        # epsilon: the zone's daily budget, of which this cell's counts spent a share
        "dp": {"mechanism": "discrete_laplace", "epsilon": settings.epsilon_per_zone_day},
    }


@dataclass(frozen=True)
class Checkpoint:
    state: bytes
    ledger: bytes
    cursor: int
    cells: list[bytes]
    recent: bytes
    held: list[Held]


class Publisher:
    def __init__(
        self,
        agg_settings: AggregatorSettings,
        privacy: PrivacySettings,
        recent_max: int = PublishSettings().recent_max,
        node_rate: NodeRateSettings | None = None,
        plausibility: PlausibilitySettings | None = None,
    ) -> None:
        self.agg_settings = agg_settings
        self.node_rate = node_rate
        self.plausibility = plausibility
        self.privacy = privacy
        self.recent_max = recent_max  # published cells kept for the local open-data endpoints
        self.agg = Aggregator(agg_settings, node_rate, plausibility)
        self.held: list[Held] = []  # since the last checkpoint, to mark in the store
        self.ledger = PrivacyLedger()
        self.cursor = 0
        self.replayed = 0
        self.recent: list[dict[str, Any]] = []
        self.outcomes: Counter[str] = Counter()

    def load(self, store: Store) -> list[Held]:
        """Restore the checkpoint and replay what was stored after it; returns the replayed
        readings held back (``replayed`` says how many were replayed). A corrupt checkpoint is
        an error, never a silent reset (which would double count)."""
        raw = store.kv_get("aggregator")
        if raw is not None:
            self.agg = Aggregator.from_state(
                orjson.loads(raw), self.agg_settings, self.node_rate, self.plausibility
            )
        ledger = store.kv_get("privacy_ledger")
        if ledger is not None:
            self.ledger = PrivacyLedger.from_dict(orjson.loads(ledger))
        cursor = store.kv_get("aggregator_cursor")
        self.cursor = int(cursor.decode()) if cursor is not None else 0
        recent = store.kv_get("recent_cells")
        self.recent = orjson.loads(recent) if recent is not None else []
        if self.agg.migrated:
            # an older state's open cells were dropped: rebuild them from every stored reading
            # of a window still open (the cursor only moves forward)
            replay, last = readings_after(store, 0, self.agg.closed_until)
        else:
            replay, last = readings_after(store, self.cursor)
        self.replayed = len(replay)
        return self.add(((r, z, 0.0) for r, z in replay), last)

    def add(self, accepted: Iterable[tuple[Reading, str, float]], last_id: int) -> list[Held]:
        """Fold in readings just stored; ``last_id`` is the id of the last one stored.
        Returns the readings held back (rate limited or suspect), which stay stored."""
        held: list[Held] = []
        for reading, zone, _received in accepted:
            verdict = self.agg.add(reading, zone)
            if verdict in HELD_BACK:
                held.append((reading.node_id, reading.counter, reading.t, verdict))
        self.held += held
        self.cursor = max(self.cursor, last_id)
        return held

    def privacy_today(self, now: float) -> dict[str, tuple[float, int]]:
        """Per zone with a ledger entry: (share of today's budget spent, 1 if stopped today)."""
        p = self.privacy
        day = budget_day(now, p.budget_tz)
        zones = set(self.ledger.spent) | set(self.ledger.stopped)
        return {
            z: (self.ledger.spent_micro(z, day) / p.budget_micro,
                int(self.ledger.is_stopped(z, day)))
            for z in sorted(zones)
        }

    def close(self, now: float) -> tuple[Checkpoint, list[PublishedCell]]:
        """Close due windows and anonymise them. Returns what to persist (atomically, with
        :func:`apply`) before anything is sent."""
        pub = anonymize(self.agg.close(now), self.ledger, self.privacy)
        self.ledger = pub.ledger
        self.outcomes.update(pub.outcomes)
        records = [cell_record(c, self.privacy) for c in pub.cells]
        self.recent = (self.recent + records)[-self.recent_max:]
        cp = Checkpoint(
            state=orjson.dumps(self.agg.to_state()),
            ledger=orjson.dumps(self.ledger.to_dict()),
            cursor=self.cursor,
            cells=[orjson.dumps(r) for r in records],
            recent=orjson.dumps(self.recent),
            held=self.held,
        )
        self.held = []
        return cp, list(pub.cells)


def apply(store: Store, cp: Checkpoint, now: float) -> None:
    """Persist a checkpoint and queue its cells for the uplink, all or nothing."""
    db = store.db
    db.execute("BEGIN IMMEDIATE")
    try:
        store.kv_set("aggregator", cp.state)
        store.kv_set("privacy_ledger", cp.ledger)
        store.kv_set("aggregator_cursor", str(cp.cursor).encode())
        store.kv_set("recent_cells", cp.recent)
        store.outbox_add("aggregate", cp.cells, now)
        db.executemany(
            "INSERT OR REPLACE INTO held_back (node_id, counter, t, reason) VALUES (?,?,?,?)",
            cp.held,
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
