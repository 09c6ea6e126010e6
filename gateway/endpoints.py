"""What the gateway's two HTTP listeners answer (gateway/http.py serves them): the operator's
(``http``: health and metrics, with raw node ids and per-node counts) and the public one
(``opendata``: health and the open data of the cells it published recently). /metrics is never
routed on the public listener.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import orjson

from gateway.anonymize import PublishedCell
from gateway.http import Handler
from gateway.metrics import Metrics, render
from gateway.node_health import NodeHealth
from gateway.opendata import Zone, csv_text, ngsi_entities
from gateway.ota_cache import ObjectCache
from gateway.publisher import Publisher, cell_from_record
from gateway.registry_sync import RegistrySync
from gateway.store_thread import StoreThread

__all__ = ["Endpoints"]

_NO_ZONES = (404, "text/plain", "no zones file configured (publish.zones_file)\n")


class Endpoints:
    def __init__(
        self,
        db: StoreThread,
        metrics: Metrics,
        health: NodeHealth,
        registry: RegistrySync,
        publisher: Publisher,
        zones: dict[str, Zone],
        ota_cache: ObjectCache,
        connected: Callable[[], bool],
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.health = health
        self.registry = registry
        self.publisher = publisher
        self.zones = zones
        self.ota_cache = ota_cache
        self.connected = connected
        self.started = time.time()

    def operator_routes(self) -> dict[str, Handler]:
        return {"/metrics": self.metrics_text, "/health": self.health_text}

    def public_routes(self) -> dict[str, Handler]:
        return {
            "/health": self.health_text,
            "/opendata/aggregates.csv": self.opendata_csv,
            "/opendata/aggregates.jsonld": self.opendata_ngsi,
        }

    def _recent_cells(self) -> list[PublishedCell]:
        # only what the committed checkpoint holds: the ledger was saved before these existed
        return [cell_from_record(r) for r in self.publisher.recent if r["zone"] in self.zones]

    async def opendata_csv(self) -> tuple[int, str, str]:
        if not self.zones:
            return _NO_ZONES
        return 200, "text/csv; charset=utf-8", csv_text(self._recent_cells(), self.zones)

    async def opendata_ngsi(self) -> tuple[int, str, str]:
        if not self.zones:
            return _NO_ZONES
        entities = ngsi_entities(self._recent_cells(), self.zones)
        return 200, "application/ld+json", orjson.dumps(entities).decode()

    def _store_gauges(self) -> tuple[int, float | None, int, int]:
        s = self.db.store
        return s.outbox_depth(), s.outbox_oldest(), s.reading_count(), s.disk_bytes()

    async def metrics_text(self) -> tuple[int, str, str]:
        depth, oldest, stored, disk = await self.db.run(self._store_gauges)
        self.metrics.ota_cache_bytes = self.ota_cache.size
        now = time.time()
        text = render(
            self.metrics,
            outbox_depth=depth,
            uplink_lag_s=0.0 if oldest is None else now - oldest,
            last_seen_age={n: now - t for n, t in self.health.last_seen.items()},
            accepted_by_node=dict(self.health.accepted),
            stored_readings=stored,
            disk_bytes=disk,
        )
        return 200, "text/plain; version=0.0.4", text

    async def health_text(self) -> tuple[int, str, str]:
        connected = self.connected()
        body = orjson.dumps({
            "status": "ok" if connected else "degraded",
            "mqtt_connected": connected,
            "nodes": len(self.registry.nodes),
            "uptime_s": int(time.time() - self.started),
            # what the gateway runs on (aarch64 on a Pi): tells an emulated Pi from the host
            "machine": platform.machine(),
        }).decode()
        return (200 if connected else 503), "application/json", body + "\n"
