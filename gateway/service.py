"""The gateway: its parts, made from the settings, and :meth:`Gateway.run`, which runs their
long-running tasks in one named TaskGroup (gateway/tasks.py) until told to stop:

- ``mqtt``: the broker connection and the intake of readings (gateway/intake_task.py);
- ``uplink``: the outbox to the fleet (gateway/uplink.py);
- ``sync``: the node registry from the fleet (gateway/registry_sync.py);
- ``ota-fleet``, ``ota-offers``: updates (gateway/ota_task.py);
- ``purge``, ``publish``, ``health``: housekeeping (gateway/housekeeping.py);
- ``http``: the operator's health and metrics; ``opendata``: the public listener, health and
  open data (gateway/http.py, gateway/endpoints.py).

Store access goes through one thread (gateway/store_thread.py), so SQLite's fsync never stalls
the MQTT keepalive.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gateway.broker import MosquittoProcess
from gateway.config import Settings
from gateway.endpoints import Endpoints
from gateway.fleet_client import Identity
from gateway.housekeeping import Housekeeping
from gateway.http import serve_forever, serve_http
from gateway.ingest import NodeEntry
from gateway.intake_task import IntakeTask
from gateway.metrics import Metrics
from gateway.node_health import NodeHealth
from gateway.opendata import Zone, load_zones
from gateway.ota_cache import ObjectCache
from gateway.ota_relay import OtaRelay
from gateway.ota_task import OtaTask
from gateway.publisher import Publisher
from gateway.registry import BrokerFiles
from gateway.registry_sync import RegistrySync
from gateway.secret_file import load_or_create, private_dir, tighten_tree
from gateway.store import NodeRecord, Store
from gateway.store_thread import StoreThread
from gateway.tasks import run_group
from gateway.uplink import HttpUplink, Uplink, UplinkTask
from protocol import gateway_files

__all__ = ["Gateway"]

T = TypeVar("T")


class Gateway:
    def __init__(self, settings: Settings, uplink: Uplink | None = None) -> None:
        self.s = settings
        data = settings.data_path
        # owner-only, whatever the umask and whatever an older gateway left (docs/security.md)
        private_dir(data)
        tighten_tree(data)
        self.identity = Identity.load(data, settings.fleet.gateway_id or settings.name)
        # node secrets are kept sealed to the gateway's own key (gateway/sealed_keys.py)
        self.db = StoreThread(Store(gateway_files.database(data), self.identity.sealing))
        self.store = self.db.store
        self.metrics = Metrics()
        self.health = NodeHealth()
        self.mqtt_password = settings.mqtt.password or load_or_create(
            gateway_files.mqtt_password(data), lambda: secrets.token_urlsafe(24).encode()
        ).decode()
        monitor_password = load_or_create(
            gateway_files.monitor_password(data), lambda: secrets.token_urlsafe(24).encode()
        ).decode()
        self.registry = RegistrySync(settings, self.db, self.identity, self.mqtt_password,
                                     monitor_password)
        if uplink is None and settings.fleet.url:
            uplink = HttpUplink(settings.fleet.url, self.identity, settings.uplink.timeout_s)
        self.uplink = UplinkTask(settings, self.db, uplink, self.metrics)
        self.publisher = Publisher(settings.aggregation, settings.privacy,
                                   settings.publish.recent_max, settings.node_rate,
                                   settings.plausibility, self.registry.interval_of)
        held = self.publisher.load(self.store)
        self.replayed = self.publisher.replayed
        self.health.record_held(held)
        self.metrics.held_back.update((n, reason) for n, _c, _t, reason in held)
        zones: dict[str, Zone] = {}
        if settings.publish.zones_file:
            zones = load_zones(Path(settings.publish.zones_file))
        self.housekeeping = Housekeeping(settings, self.db, self.publisher, self.health,
                                         self.metrics)
        cache = ObjectCache(gateway_files.ota_cache_dir(data), settings.ota.cache_mb * 1024 * 1024)
        relay = OtaRelay(settings.ota, cache, self.store, self.identity, self.db.run, self.metrics)
        self.ota = OtaTask(settings, relay, self.registry, self.health, self.db, self.metrics)
        self.intake = IntakeTask(settings, self.db, self.registry, self.publisher, self.health,
                                 self.metrics, self.ota, self.mqtt_password)
        self.endpoints = Endpoints(self.db, self.metrics, self.health, self.registry,
                                   self.publisher, zones, cache, lambda: self.intake.connected)

    # ------------------------------------------------------------------ for callers and tests

    @property
    def nodes(self) -> dict[str, NodeEntry]:
        return self.registry.nodes

    @property
    def connected(self) -> bool:
        return self.intake.connected

    @property
    def broker(self) -> MosquittoProcess | None:
        return self.registry.broker

    @property
    def broker_files(self) -> BrokerFiles:
        return self.registry.broker_files

    def add_node(self, record: NodeRecord) -> None:
        """Add, update or revoke a node (synchronous: call before run() or via _db)."""
        self.registry.add_node(record)

    def start_private_broker(self) -> MosquittoProcess:
        return self.registry.start_private_broker()

    async def sync_fleet_once(self, client: httpx.AsyncClient) -> int:
        return await self.registry.sync_once(client)

    async def publish_once(self, now: float) -> int:
        return await self.housekeeping.publish_once(now)

    async def _db(self, fn: Callable[[], T]) -> T:
        return await self.db.run(fn)

    def _snapshot_health(self, now: float) -> int:
        return self.housekeeping.snapshot_health(now)

    # ------------------------------------------------------------------ main

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run every task until ``stop`` is set; a task's failure stops the others and is
        raised (gateway.fleet_client.GatewayRefused when the fleet refuses this gateway)."""
        self.registry.write_broker_files()
        server = await serve_http(self.s.http, self.endpoints.operator_routes())
        public = None
        if self.s.publish.zones_file:  # open data has zones to locate: the public listener
            o = self.s.opendata
            try:
                public = await serve_http(self.s.http, self.endpoints.public_routes(),
                                          o.host, o.port)
            except OSError:
                server.close()
                raise
        h = self.housekeeping
        tasks: dict[str, Coroutine[Any, Any, Any]] = {
            "health": h.health_loop(),
            "uplink": self.uplink.run(),
            "purge": h.purge_loop(),
            "publish": h.publish_loop(),
        }
        if self.s.fleet.url:
            tasks["sync"] = self.registry.run()
            tasks["ota-fleet"] = self.ota.fleet_loop()
        tasks["ota-offers"] = self.ota.offer_loop(lambda: self.intake.client)
        tasks["mqtt"] = self.intake.run()
        tasks["http"] = serve_forever(server)
        if public is not None:
            tasks["opendata"] = serve_forever(public)
        try:
            await run_group(f"gateway[{self.s.name}]", tasks, stop, self.s.stop_timeout_s)
        finally:
            server.close()
            if public is not None:
                public.close()
            await self.db.run(functools.partial(h.snapshot_health, time.time()))
            self.db.close()
