"""Housekeeping tasks on the store: retention and the disk bound (purge), closing and
anonymising due windows (publication), and the nodes' health snapshots queued for the fleet.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter

import orjson

from gateway import allotment
from gateway.config import Settings
from gateway.metrics import Metrics
from gateway.node_health import NodeHealth
from gateway.publisher import Publisher, apply
from gateway.retention import purge_cutoff
from gateway.store_thread import StoreThread

__all__ = ["Housekeeping"]

log = logging.getLogger("territoire.gateway")


class Housekeeping:
    def __init__(
        self,
        settings: Settings,
        db: StoreThread,
        publisher: Publisher,
        health: NodeHealth,
        metrics: Metrics,
    ) -> None:
        self.s = settings
        self.db = db
        self.publisher = publisher
        self.health = health
        self.metrics = metrics

    # ------------------------------------------------------------------ purge

    def purge(self, now: float) -> int:
        """Delete raw readings past retention, then enforce the disk bound (raw first); runs in
        the store thread."""
        store, storage = self.db.store, self.s.storage
        n = store.purge_readings(purge_cutoff(now, storage.retention_h))
        self.metrics.purged += n
        bound = storage.disk_bound_mb * 1024 * 1024
        for kind in ("readings", "health", "aggregate"):
            while store.disk_bytes() > bound:
                if kind == "readings":
                    gone = store.evict_oldest_readings(storage.evict_batch)
                else:
                    gone = store.outbox_evict(kind, storage.evict_batch)
                if not gone:
                    break
                self.metrics.evicted[kind] += gone
                log.warning("disk bound reached: evicted %d %s", gone, kind)
                store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    async def purge_loop(self) -> None:
        while True:
            await self.db.run(functools.partial(self.purge, time.time()))
            await asyncio.sleep(self.s.storage.purge_interval_s)

    # ------------------------------------------------------------------ publication

    async def publish_once(self, now: float) -> int:
        """Close due windows, anonymise, persist and queue; returns cells published. The ledger
        and the cells commit in one transaction BEFORE any cell is visible (open data, outbox);
        if that fails, this raises and the gateway stops with nothing shown."""
        allot = await self.db.run(functools.partial(allotment.load, self.db.store))
        cp = self.publisher.close(now, allot)
        await self.db.run(functools.partial(apply, self.db.store, cp, now))
        cells = [c for c in self.publisher.committed(cp) if not c.suppressed]
        m = self.metrics
        m.aggregates_published += len(cells)
        m.aggregates_suppressed = Counter(
            {k: v for k, v in self.publisher.outcomes.items() if k != "published"})
        m.privacy_today = self.publisher.privacy_today(now)
        m.late_dropped = self.publisher.agg.counters["late_dropped"]
        return len(cells)

    async def publish_loop(self) -> None:
        while True:
            await asyncio.sleep(self.s.publish.interval_s)
            await self.publish_once(time.time())

    # ------------------------------------------------------------------ health snapshots

    def snapshot_health(self, now: float) -> int:
        """Store the changed nodes' health and queue it for the fleet (store thread)."""
        health, store = self.health, self.db.store
        items = health.changed_items(now)
        if not items:
            return 0
        store.update_health(
            (i["node_id"], float(i["last_seen"]), health.health.get(i["node_id"], {}))
            for i in items
        )
        store.outbox_add("health", [orjson.dumps(i) for i in items], now)
        health.dirty.clear()
        return len(items)

    async def health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.s.uplink.health_interval_s)
            await self.db.run(functools.partial(self.snapshot_health, time.time()))
