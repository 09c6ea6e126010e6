"""The shell around aggregation and anonymisation: feed accepted readings, close windows,
anonymise, and queue what may be published, with the state persisted in one transaction.

Exactly-once: the aggregator's state is checkpointed with a cursor (the storage id of the
last reading folded in); after a crash the readings stored after the cursor are replayed, so
every stored reading is counted once. The privacy ledger is persisted in the same transaction
that queues the cells, so a crash can never publish without having spent the budget.

Readings the aggregator holds back (rate limited, suspect: gateway/aggregate.py) stay stored
and are marked in the store's ``held_back`` table, with the next batch's commit or the
checkpoint; a replay judges them again from the checkpointed state, so the marks and the
figures agree.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.aggregate import HELD_BACK, Aggregator, AggregatorSettings, IntervalOf
from gateway.allotment import Allotment
from gateway.anonymize import DpNote, PublishedCell, anonymize
from gateway.config import NodeRateSettings, PlausibilitySettings, PrivacySettings, PublishSettings
from gateway.privacy_budget import PrivacyLedger, budget_day
from gateway.store import Store, readings_after
from protocol.codec import Reading
from protocol.published_cells import KEYS, MECHANISM, build_cell

__all__ = ["Checkpoint", "Held", "Publisher", "cell_from_record", "cell_record"]

log = logging.getLogger("territoire.gateway")

# a reading held back: (node_id, counter, t, reason)
Held = tuple[str, int, int, str]

def cell_record(cell: PublishedCell, p95_min_samples: int) -> dict[str, Any]:
    """A decided cell in the fleet's ingest format (protocol/published_cells.py)."""
    dp = None
    if cell.dp is not None:
        dp = {"mechanism": MECHANISM, "epsilon": cell.dp.epsilon, "scale": cell.dp.scale,
              "ci90": None if cell.dp.ci90 is None else list(cell.dp.ci90)}
    return build_cell(
        zone=cell.zone, metric=cell.metric, start=cell.start, period_s=cell.end - cell.start,
        n=cell.n, mean=cell.mean, p95=cell.p95, people=cell.people, reason=cell.reason, dp=dp,
        p95_min_samples=p95_min_samples,
    )


def cell_from_record(r: dict[str, Any]) -> PublishedCell:
    """Back from :func:`cell_record` (the local open data serves the records it kept)."""
    dp = r["dp"]
    note = None
    if dp is not None:
        ci = dp["ci90"]
        note = DpNote(dp["epsilon"], dp["scale"], None if ci is None else (ci[0], ci[1]))
    return PublishedCell(r["zone"], r["metric"], r["start"], r["start"] + r["period_s"], r["n"],
                         r["mean"], r["p95"], r["people"], r["suppressed_reason"], note)


@dataclass(frozen=True)
class _Pending:
    ledger: PrivacyLedger
    recent: list[dict[str, Any]]
    outcomes: dict[str, int]
    cells: tuple[PublishedCell, ...]


@dataclass(frozen=True)
class Checkpoint:
    state: bytes
    ledger: bytes
    cursor: int
    cells: list[bytes]
    recent: bytes
    pending: _Pending
    held: list[Held]


class Publisher:
    def __init__(
        self,
        agg_settings: AggregatorSettings,
        privacy: PrivacySettings,
        recent_max: int = PublishSettings().recent_max,
        node_rate: NodeRateSettings | None = None,
        plausibility: PlausibilitySettings | None = None,
        interval_of: IntervalOf | None = None,
    ) -> None:
        self.agg_settings = agg_settings
        self.node_rate = node_rate
        self.plausibility = plausibility
        # each node's interval from the registry (gateway/registry_sync.py), which is loaded
        # before :meth:`load` replays: the replay caps each node as the live intake does
        self.interval_of = interval_of
        self.privacy = privacy
        self.recent_max = recent_max  # published cells kept for the local open-data endpoints
        self.agg = Aggregator(agg_settings, node_rate, plausibility, interval_of)
        self.held: list[Held] = []  # since the last checkpoint, to mark in the store
        self.ledger = PrivacyLedger()
        self.cursor = 0
        self.replayed = 0
        self.recent: list[dict[str, Any]] = []
        self.outcomes: Counter[str] = Counter()
        self.allotment: Allotment | None = None  # the last the fleet sent (None: none yet)
        self._said_legacy = False

    def load(self, store: Store) -> list[Held]:
        """Restore the checkpoint and replay what was stored after it; returns the replayed
        readings held back (``replayed`` says how many were replayed). A corrupt checkpoint is
        an error, never a silent reset (which would double count)."""
        raw = store.kv_get("aggregator")
        state = None if raw is None else orjson.loads(raw)
        if state is not None and state.get("window_s") != self.agg_settings.window_s:
            # the window length changed (the default became hourly): the open windows of the
            # old length are dropped; the ledger refuses any new window overlapping a decided one
            log.warning("aggregation.window_s changed from %s: open windows dropped",
                        state.get("window_s"))
            state = None
        if state is not None:
            self.agg = Aggregator.from_state(state, self.agg_settings, self.node_rate,
                                             self.plausibility, self.interval_of)
        ledger = store.kv_get("privacy_ledger")
        if ledger is not None:
            self.ledger = PrivacyLedger.from_dict(orjson.loads(ledger))
        cursor = store.kv_get("aggregator_cursor")
        self.cursor = int(cursor.decode()) if cursor is not None else 0
        recent = store.kv_get("recent_cells")
        kept = orjson.loads(recent) if recent is not None else []
        # records of an older format (with min/max, without dp notes) are not served again
        self.recent = [r for r in kept if isinstance(r, dict) and set(r) == set(KEYS)]
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

    def take_held(self) -> list[Held]:
        """The marks not yet written, handed to the next batch's commit (the intake's), so
        they wait in memory for one batch at most; the checkpoint writes what is left."""
        held, self.held = self.held, []
        return held

    def privacy_today(self, now: float) -> dict[str, tuple[float, int]]:
        """Per zone with a ledger entry: (share of today's budget spent, 1 if stopped today);
        the budget is the zone's cap here (the fleet's allotment when it is lower)."""
        p = self.privacy
        day = budget_day(now, p.budget_tz)
        zones = set(self.ledger.spent) | set(self.ledger.stopped)
        out = {}
        for z in sorted(zones):
            cap = p.budget_micro if self.allotment is None else self.allotment.cap_micro(
                z, p.budget_micro)
            spent = self.ledger.spent_micro(z, day)
            out[z] = (spent / cap if cap else float(spent > 0), int(self.ledger.is_stopped(z, day)))
        return out

    def close(self, now: float, allotment: Allotment | None) -> Checkpoint:
        """Close due windows and anonymise them. Returns what to persist (atomically, with
        :func:`apply`); only once that committed does :meth:`committed` make the cells
        visible (open data, counters): a failed commit leaves nothing seen, nothing spent."""
        if allotment is None and not self._said_legacy:
            log.info("no privacy allotment from the fleet: the configured budget applies")
            self._said_legacy = True
        self.allotment = allotment
        pub = anonymize(self.agg.close(now), self.ledger, self.privacy, allotment,
                        self.agg_settings.p95_min_samples)
        records = [cell_record(c, self.agg_settings.p95_min_samples) for c in pub.cells]
        shown = [r for r in records if not r["suppressed"]]
        recent = (self.recent + shown)[-self.recent_max:]
        cp = Checkpoint(
            state=orjson.dumps(self.agg.to_state()),
            ledger=orjson.dumps(pub.ledger.to_dict()),
            cursor=self.cursor,
            cells=[orjson.dumps(r) for r in records],
            recent=orjson.dumps(recent),
            pending=_Pending(pub.ledger, recent, pub.outcomes, pub.cells),
            held=self.held,
        )
        # a failed commit stops the gateway; its restart replays and judges these again
        self.held = []
        return cp

    def committed(self, cp: Checkpoint) -> tuple[PublishedCell, ...]:
        """After :func:`apply` committed ``cp``: its ledger and cells become the current ones."""
        self.ledger = cp.pending.ledger
        self.recent = cp.pending.recent
        self.outcomes.update(cp.pending.outcomes)
        return cp.pending.cells


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
