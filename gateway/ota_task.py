"""The over-the-air update tasks (docs/ota.md): the fleet side (poll the OTA document, fetch
releases, forward progress, retried with backoff) and the node side (offers re-sent on a
schedule; requests and reports taken from the intake). The relay's state and decisions are
gateway/ota_relay.py's and gateway/ota_decisions.py's.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Collection
from typing import Any

import aiomqtt
import httpx

from gateway.config import Settings
from gateway.fleet_client import FleetError
from gateway.metrics import Metrics
from gateway.node_health import NodeHealth
from gateway.ota_relay import OtaRelay
from gateway.registry_sync import RegistrySync
from gateway.store_thread import StoreThread
from gateway.tasks import Backoff, retrying
from protocol.topics import parse_node_topic

__all__ = ["OtaTask"]

log = logging.getLogger("territoire.gateway")


class OtaTask:
    def __init__(
        self,
        settings: Settings,
        relay: OtaRelay,
        registry: RegistrySync,
        health: NodeHealth,
        db: StoreThread,
        metrics: Metrics,
    ) -> None:
        self.s = settings
        self.relay = relay
        self.registry = registry
        self.health = health
        self.db = db
        self.metrics = metrics
        self._next_poll = 0.0

    async def messages(
        self, client: aiomqtt.Client, messages: list[tuple[str, bytes]], now: float
    ) -> None:
        """Messages on the nodes' ota topics, from the intake: requests are served now;
        progress reports are stored before the intake acknowledges them."""

        async def publish(topic: str, payload: bytes, qos: int) -> None:
            await client.publish(topic, payload, qos=qos)

        reports = []
        nodes = self.registry.nodes
        for topic, payload in messages:
            parsed = parse_node_topic(topic)
            if parsed is None:
                self.metrics.ota_refused["malformed"] += 1
                continue
            try:
                report = await self.relay.handle(parsed[0], payload, nodes, publish, now)
            except aiomqtt.MqttError as exc:
                log.info("update chunk not delivered: %s", exc)  # the node asks again
                continue
            if report is not None:
                reports.append(report)
        if reports:
            await self.db.run(functools.partial(self.relay.record_progress, reports, now))

    def offers_to_heard(self, node_ids: Collection[str], now: float) -> list[tuple[str, bytes]]:
        """Offers for target nodes just heard from (see OtaRelay.offers), for the intake to
        publish before their acknowledgements."""
        if not self.relay.doc.targets or not node_ids:
            return []
        return self.relay.offers(self.registry.nodes, self.health.running_versions(), now,
                                 heard=node_ids)

    async def offer_loop(self, client_of: Callable[[], aiomqtt.Client | None]) -> None:
        """Offers to target nodes, through the broker connection of the moment."""
        while True:
            await asyncio.sleep(1.0)
            client = client_of()
            if client is None:
                continue

            async def publish(topic: str, payload: bytes, qos: int, c: Any = client) -> None:
                await c.publish(topic, payload, qos=qos)

            try:
                await self.relay.offer_due(self.registry.nodes, self.health.running_versions(),
                                           publish, time.time())
            except aiomqtt.MqttError as exc:
                log.info("update offers not sent: %s", exc)  # offered again next round

    async def _fleet_round(self, client: httpx.AsyncClient) -> float:
        ota = self.s.ota
        if time.monotonic() >= self._next_poll:
            await self.relay.poll_once(client)
            self._next_poll = time.monotonic() + ota.poll_interval_s
        while await self.relay.forward_once(client, self.s.name):
            pass  # drain the queued reports, batch by batch
        return ota.status_interval_s

    async def fleet_loop(self) -> None:
        async with httpx.AsyncClient(base_url=self.s.fleet.url, timeout=self.s.ota.timeout_s) as c:
            await retrying(functools.partial(self._fleet_round, c),
                           what="fleet OTA exchange failed", retry_on=FleetError,
                           backoff=Backoff(self.s.uplink.backoff_cap_s))
