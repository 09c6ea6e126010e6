"""The registry task: the nodes this gateway serves, kept in step with the fleet, and the
broker's users and ACL that follow from them (gateway/registry.py writes those files).
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

import httpx

from gateway.broker import MosquittoProcess
from gateway.config import Settings
from gateway.fleet_client import FleetError, GatewayRefused, Identity, sync_once
from gateway.ingest import NodeEntry
from gateway.registry import BrokerFiles, entries
from gateway.store import NodeRecord
from gateway.store_thread import StoreThread
from gateway.tasks import Backoff, retrying
from protocol import gateway_files

__all__ = ["RegistrySync"]

log = logging.getLogger("territoire.gateway")


class RegistrySync:
    def __init__(
        self, settings: Settings, db: StoreThread, identity: Identity, mqtt_password: str,
        monitor_password: str = "",
    ) -> None:
        self.s = settings
        self.db = db
        self.identity = identity
        # read by the intake at every batch: replaced whole, never changed in place
        self.nodes: dict[str, NodeEntry] = entries(db.store.nodes(), time.time())
        b = settings.broker
        conf_dir = Path(b.conf_dir) if b.conf_dir else gateway_files.broker_dir(settings.data_path)
        self.broker_files = BrokerFiles(
            conf_dir, settings.mqtt.username, mqtt_password, settings.mqtt.max_inflight,
            b.pid_file, b.max_queued_messages, monitor_password, b.refuse_retained,
        )
        self.broker: MosquittoProcess | None = None

    def interval_of(self, node_id: str) -> int | None:
        """The node's measuring interval as the fleet synced it (None: not known); read by
        the aggregator at each reading, so a change applies from the next one."""
        entry = self.nodes.get(node_id)
        return None if entry is None else entry.interval_s

    def add_node(self, record: NodeRecord) -> None:
        """Add, update or revoke a node (synchronous: before the gateway runs, or in the store
        thread)."""
        self.db.store.upsert_node(record)
        self.changed()

    def changed(self) -> None:
        """After a registry change (store thread): new entries, new broker files, reload."""
        self.nodes = entries(self.db.store.nodes(), time.time())
        self.broker_files.write(self.db.store)
        if self.broker is not None:
            self.broker.reload()
        else:
            self.broker_files.signal_reload()

    def write_broker_files(self) -> None:
        """At start: the broker's users and ACL as the registry has them."""
        self.broker_files.write(self.db.store)
        self.broker_files.signal_reload()

    def start_private_broker(self) -> MosquittoProcess:
        """Run our own Mosquitto with the generated users and ACL (production with the shipped
        unit, the demo and tests): it reloads them on our SIGHUP, as our child."""
        self.broker_files.write(self.db.store)
        broker = MosquittoProcess(
            self.broker_files.dir / "run", self.s.mqtt.port, extra_conf=self.broker_files.conf(),
            host=self.s.broker.listen_host,
        )
        broker.start()
        self.broker = broker
        return broker

    async def sync_once(self, client: httpx.AsyncClient) -> int:
        """One incremental sync of the node registry from the fleet; returns nodes changed."""
        changed = await sync_once(client, self.db.store, self.identity, self.db.run)
        if changed:
            await self.db.run(self.changed)
            log.info("fleet sync: %d node(s) changed", changed)
        else:
            # refresh anyway: a key may have expired since the last change
            records = await self.db.run(self.db.store.nodes)
            self.nodes = entries(records, time.time())
        return changed

    async def _round(self, client: httpx.AsyncClient) -> float:
        try:
            await self.sync_once(client)
        except FleetError as exc:
            if exc.status_code in (401, 403):
                # not enrolled, revoked or a clock off: retrying forever would only hide it;
                # the gateway stops with one line saying what to do
                raise GatewayRefused(f"the fleet refused this gateway ({exc})",
                                     exc.status_code) from None
            raise
        return self.s.fleet.sync_interval_s

    async def run(self) -> None:
        f = self.s.fleet
        async with httpx.AsyncClient(base_url=f.url, timeout=f.timeout_s) as client:
            await retrying(functools.partial(self._round, client), what="fleet sync failed",
                           retry_on=FleetError, backoff=Backoff(self.s.uplink.backoff_cap_s))
