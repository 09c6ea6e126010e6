"""The gateway service: the asyncio shell around the pure ingest core.

Tasks (in one TaskGroup, each named): MQTT reader, ingest batches, health snapshots, uplink,
retention purge, HTTP endpoint. Store access goes through one worker thread so SQLite's fsync
never stalls the MQTT keepalive.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import platform
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiomqtt
import httpx
import orjson

from gateway.aggregate import AggregatorSettings
from gateway.anonymize import PrivacySettings, PublishedCell
from gateway.broker import MosquittoProcess
from gateway.config import Settings
from gateway.fleet_client import FleetError, GatewayRefused, Identity, sync_once
from gateway.http import serve_http
from gateway.ingest import Batch, NodeEntry, ack_messages, verify_batch
from gateway.metrics import Metrics, render
from gateway.mqtt_intake import Message, MqttIntake, topic_of
from gateway.node_health import NodeHealth
from gateway.opendata import Zone, csv_text, load_zones, ngsi_entities
from gateway.ota_cache import ObjectCache
from gateway.ota_service import OtaRelay
from gateway.publisher import Publisher, apply
from gateway.registry import BrokerFiles, entries
from gateway.retention import purge_cutoff
from gateway.store import NodeRecord, Store
from gateway.uplink import HttpUplink, Uplink, UplinkError, backoff_s, batch_id
from protocol.topics import PREFIX, parse_node_topic
from protocol.verify import CounterWindow, VerifyLimits

__all__ = ["Gateway"]

log = logging.getLogger("territoire.gateway")
T = TypeVar("T")


def _load_or_create_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    if path.exists():
        return path.read_bytes()
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(value)
    tmp.chmod(0o600)
    tmp.replace(path)
    return value


@dataclass(frozen=True)
class Staged:
    """A verified batch whose commit is under way."""

    messages: list[Message]
    batch: Batch
    commit: asyncio.Future[int]
    now: float
    t0: float


class Gateway:
    def __init__(self, settings: Settings, uplink: Uplink | None = None) -> None:
        self.s = settings
        data = settings.data_path
        data.mkdir(parents=True, exist_ok=True)
        self.store = Store(data / "gateway.db")
        self.db = ThreadPoolExecutor(1, thread_name_prefix="gateway-db")
        self.metrics = Metrics()
        self.limits = VerifyLimits(settings.ingest.future_skew_s, settings.ingest.max_age_s)
        self.nodes: dict[str, NodeEntry] = entries(self.store.nodes(), time.time())
        self.windows: dict[str, CounterWindow] = self.store.windows()
        self.health = NodeHealth()
        password = settings.mqtt.password or _load_or_create_secret(
            data / "mqtt-password", lambda: secrets.token_urlsafe(24).encode()
        ).decode()
        self.mqtt_password = password
        conf_dir = Path(settings.broker.conf_dir) if settings.broker.conf_dir else data / "broker"
        self.broker_files = BrokerFiles(
            conf_dir, settings.mqtt.username, password, settings.mqtt.max_inflight,
            settings.broker.pid_file, settings.broker.max_queued_messages,
        )
        self.broker: MosquittoProcess | None = None
        self.identity = Identity.load(data, settings.fleet.gateway_id or settings.name)
        if uplink is None and settings.fleet.url:
            uplink = HttpUplink(settings.fleet.url, self.identity, settings.uplink.timeout_s)
        self.uplink = uplink
        agg = settings.aggregation
        self.publisher = Publisher(
            AggregatorSettings(window_s=agg.window_s, grace_s=agg.grace_s),
            PrivacySettings.from_dict(settings.privacy),
        )
        self.replayed = self.publisher.load(self.store)
        self.zones: dict[str, Zone] = {}
        if settings.publish.zones_file:
            self.zones = load_zones(Path(settings.publish.zones_file))
        self.started = time.time()
        self.connected = False
        self.intake: MqttIntake | None = None
        self.mqtt: aiomqtt.Client | None = None
        cache = ObjectCache(data / "ota", settings.ota.cache_mb * 1024 * 1024)
        self.ota = OtaRelay(settings.ota, cache, self.store, self.identity, self._db, self.metrics)

    async def _db(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.db, fn)

    # ------------------------------------------------------------------ registry

    def add_node(self, record: NodeRecord) -> None:
        """Add, update or revoke a node (synchronous: call before run() or via _db)."""
        self.store.upsert_node(record)
        self.nodes = entries(self.store.nodes(), time.time())
        self.broker_files.write(self.store)
        if self.broker is not None:
            self.broker.reload()
        else:
            self.broker_files.signal_reload()

    def start_private_broker(self) -> MosquittoProcess:
        """Run our own Mosquitto with the generated users and ACL (production with the shipped
        unit, the demo and tests): it reloads them on our SIGHUP, as our child."""
        self.broker_files.write(self.store)
        broker = MosquittoProcess(
            self.broker_files.dir / "run", self.s.mqtt.port, extra_conf=self.broker_files.conf(),
            host=self.s.broker.listen_host,
        )
        broker.start()
        self.broker = broker
        return broker

    # ------------------------------------------------------------------ ingest

    def _commit(self, batch: Batch) -> int:
        return self.store.commit_batch(
            batch.accepted, batch.windows, dict(batch.rejections), batch.quarantine,
            self.s.ingest.quarantine_max,
        )

    async def _stage(self, client: aiomqtt.Client, messages: list[Message]) -> Staged:
        """Verify a batch and start its commit; :meth:`_finish` acknowledges it. The replay
        windows move on at once, so the next batch is verified against this one's counters
        while this one commits (a crash before the commit loses neither: neither is acked)."""
        t0 = time.perf_counter()
        now = time.time()
        raw = [(topic_of(m), bytes(m.payload)) for m in messages]
        ota = [(t, p) for t, p in raw if t.endswith("/ota")]
        if ota:
            raw = [(t, p) for t, p in raw if not t.endswith("/ota")]
            # update requests are served now; progress reports are stored before the PUBACK
            await self._ota_messages(client, ota, now)
        batch = verify_batch(raw, self.nodes, self.windows, now, self.limits,
                             self.s.ingest.max_message_bytes)
        self.windows.update(batch.windows)
        # one database thread: commits land in the order batches were staged
        commit = asyncio.get_running_loop().run_in_executor(self.db, self._commit, batch)
        return Staged(messages, batch, commit, now, t0)

    async def _finish(self, client: aiomqtt.Client, staged: Staged) -> Batch:
        # durable first: nothing is acknowledged before its transaction is committed
        last_id = await staged.commit
        batch, now = staged.batch, staged.now
        self.publisher.add(batch.accepted, last_id)
        # aiomqtt has no manual-ack API yet (its issue #345): ack through its paho client
        paho = client._client
        for m in staged.messages:
            if m.qos > 0:
                paho.ack(m.mid, m.qos)
        acks = ack_messages(batch, self.nodes, now)
        self._account(batch, now, len(acks), time.perf_counter() - staged.t0)
        for topic, payload in acks:
            # QoS 0, without waiting: the end-to-end ack is idempotent (a lost one costs the node
            # a resend, answered as a duplicate), while QoS 1 would need PUBACKs that cannot be
            # read while the intake holds the socket (mqtt_intake.py), and paho's
            # tracking of thousands of them cost a fifth of the gateway's CPU under load.
            info = paho.publish(topic, payload, qos=0)
            if info.rc != 0:
                log.info("acknowledgement to %s not sent (rc %d)", topic, info.rc)
        return batch

    async def _ota_messages(
        self, client: aiomqtt.Client, messages: list[tuple[str, bytes]], now: float
    ) -> None:
        async def publish(topic: str, payload: bytes, qos: int) -> None:
            await client.publish(topic, payload, qos=qos)

        reports = []
        for topic, payload in messages:
            parsed = parse_node_topic(topic)
            if parsed is None:
                self.metrics.ota_refused["malformed"] += 1
                continue
            try:
                report = await self.ota.handle(parsed[0], payload, self.nodes, publish, now)
            except aiomqtt.MqttError as exc:
                log.info("update chunk not delivered: %s", exc)  # the node asks again
                continue
            if report is not None:
                reports.append(report)
        if reports:
            await self._db(functools.partial(self.ota.record_progress, reports, now))

    def _running_versions(self) -> dict[str, str]:
        return self.health.running_versions()

    async def _ota_offer_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            client = self.mqtt
            if client is None:
                continue

            async def publish(topic: str, payload: bytes, qos: int, c: Any = client) -> None:
                await c.publish(topic, payload, qos=qos)

            try:
                await self.ota.offer_due(self.nodes, self._running_versions(), publish,
                                         time.time())
            except aiomqtt.MqttError as exc:
                log.info("update offers not sent: %s", exc)  # offered again next round

    async def _ota_fleet_loop(self) -> None:
        attempt = 0
        next_poll = 0.0
        async with httpx.AsyncClient(base_url=self.s.fleet.url, timeout=60) as client:
            while True:
                try:
                    if time.monotonic() >= next_poll:
                        await self.ota.poll_once(client)
                        next_poll = time.monotonic() + self.s.ota.poll_interval_s
                    sent = True
                    while sent:  # drain the queued reports, batch by batch
                        sent = await self.ota.forward_once(client, self.s.name)
                    attempt = 0
                    await asyncio.sleep(self.s.ota.status_interval_s)
                except FleetError as exc:
                    attempt += 1
                    delay = backoff_s(attempt, self.s.uplink.backoff_cap_s, random.random())  # noqa: S311
                    log.warning("fleet OTA exchange failed (%s); retry in %.1f s", exc, delay)
                    await asyncio.sleep(delay)

    def _account(self, batch: Batch, now: float, acks: int, seconds: float) -> None:
        m = self.metrics
        m.accepted += len(batch.accepted)
        m.duplicates += batch.duplicates
        m.rejected.update(batch.rejections)
        m.acks_sent += acks
        m.batches += 1
        m.batch_seconds_sum += seconds
        self.health.record(batch, self.nodes, now)
        for reason, count in batch.rejections.items():
            if reason in ("bad_mac", "replayed_counter", "topic_mismatch"):
                log.warning("refused %d message(s): %s", count, reason)

    async def _ingest(self, client: aiomqtt.Client, intake: MqttIntake) -> None:
        """Two batches in flight under load: one committing in the database thread while the
        next is verified here; alone, a batch is committed and acknowledged at once."""
        ingest = self.s.ingest
        pending: Staged | None = None
        try:
            while True:
                messages = await intake.batch(ingest.batch_max, ingest.batch_wait_ms / 1000)
                staged = await self._stage(client, messages)
                if pending is not None:
                    await self._finish(client, pending)
                pending = staged
                if not intake.waiting():
                    pending = None
                    await self._finish(client, staged)
        finally:
            intake.disarm()
            if pending is not None:  # committed or committing: fold it in, ack what still can be
                await self._finish(client, pending)

    # ------------------------------------------------------------------ health, uplink, purge

    def _snapshot_health(self, now: float) -> int:
        """Store the changed nodes' health and queue it for the fleet (database thread)."""
        health = self.health
        items = health.changed_items(now)
        if not items:
            return 0
        self.store.update_health(
            (i["node_id"], float(i["last_seen"]), health.health.get(i["node_id"], {}))
            for i in items
        )
        self.store.outbox_add("health", [orjson.dumps(i) for i in items], now)
        health.dirty.clear()
        return len(items)

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.s.uplink.health_interval_s)
            now = time.time()
            await self._db(functools.partial(self._snapshot_health, now))

    def _registry_changed(self) -> None:
        self.nodes = entries(self.store.nodes(), time.time())
        self.broker_files.write(self.store)
        if self.broker is not None:
            self.broker.reload()
        else:
            self.broker_files.signal_reload()

    async def sync_fleet_once(self, client: httpx.AsyncClient) -> int:
        """One incremental sync of the node registry from the fleet; returns nodes changed."""
        changed = await sync_once(client, self.store, self.identity, self._db)
        if changed:
            await self._db(self._registry_changed)
            log.info("fleet sync: %d node(s) changed", changed)
        else:
            # refresh anyway: a key may have expired since the last change
            records = await self._db(self.store.nodes)
            self.nodes = entries(records, time.time())
        return changed

    async def _sync_loop(self) -> None:
        attempt = 0
        async with httpx.AsyncClient(base_url=self.s.fleet.url, timeout=20) as client:
            while True:
                try:
                    await self.sync_fleet_once(client)
                    attempt = 0
                    await asyncio.sleep(self.s.fleet.sync_interval_s)
                except FleetError as exc:
                    if exc.status_code in (401, 403):
                        # not enrolled, revoked or a clock off: retrying forever would only
                        # hide it; the gateway stops with one line saying what to do
                        raise GatewayRefused(f"the fleet refused this gateway ({exc})",
                                             exc.status_code) from None
                    attempt += 1
                    jitter = random.random()  # noqa: S311 - jitter, not a secret
                    delay = backoff_s(attempt, self.s.uplink.backoff_cap_s, jitter)
                    log.warning("fleet sync failed (%s); retry in %.1f s", exc, delay)
                    await asyncio.sleep(delay)

    async def uplink_once(self) -> bool:
        """Send one batch from the outbox; True when something was delivered."""
        if self.uplink is None:
            return False
        items = await self._db(
            lambda: self.store.outbox_peek(self.s.uplink.batch_max, ("health", "aggregate"))
        )
        if not items:
            return False
        health = [orjson.loads(i.body) for i in items if i.kind == "health"]
        aggregates = [orjson.loads(i.body) for i in items if i.kind == "aggregate"]
        bid = batch_id(self.s.name, items[0].id, items[-1].id)
        try:
            await self.uplink.send(bid, health, aggregates)
        except UplinkError as exc:
            if not exc.permanent:
                raise
            # the fleet will never take this batch (a contract mismatch): retrying would block
            # the outbox forever, so it is set aside, counted and logged with the fleet's reason
            self.metrics.evicted["refused_by_fleet"] += len(items)
            log.error(  # noqa: TRY400 - the reason is the message; no traceback for an operator
                "fleet refused batch %s for good (%d records dropped): %s", bid,
                      len(items), exc)
        else:
            self.metrics.uplink_batches += 1
        await self._db(lambda: self.store.outbox_remove([i.id for i in items]))
        return True

    async def _uplink_loop(self) -> None:
        attempt = 0
        while True:
            try:
                sent = await self.uplink_once()
                attempt = 0
                if sent:
                    continue
                await asyncio.sleep(self.s.uplink.interval_s)
            except UplinkError as exc:
                self.metrics.uplink_failures += 1
                attempt += 1
                delay = backoff_s(attempt, self.s.uplink.backoff_cap_s, random.random())  # noqa: S311
                log.warning("uplink failed (%s); retry in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    def purge(self, now: float) -> int:
        """Delete raw readings past retention, then enforce the disk bound (raw first)."""
        n = self.store.purge_readings(purge_cutoff(now, self.s.storage.retention_h))
        self.metrics.purged += n
        bound = self.s.storage.disk_bound_mb * 1024 * 1024
        for kind in ("readings", "health", "aggregate"):
            while self.store.disk_bytes() > bound:
                if kind == "readings":
                    gone = self.store.evict_oldest_readings(1000)
                else:
                    gone = self.store.outbox_evict(kind, 1000)
                if not gone:
                    break
                self.metrics.evicted[kind] += gone
                log.warning("disk bound reached: evicted %d %s", gone, kind)
                self.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    async def _purge_loop(self) -> None:
        while True:
            now = time.time()
            await self._db(functools.partial(self.purge, now))
            await asyncio.sleep(self.s.storage.purge_interval_s)

    async def publish_once(self, now: float) -> int:
        """Close due windows, anonymise, persist and queue; returns cells published."""
        cp, cells = self.publisher.close(now)
        await self._db(functools.partial(apply, self.store, cp, now))
        m = self.metrics
        m.aggregates_published += len(cells)
        m.aggregates_suppressed = Counter(
            {k: v for k, v in self.publisher.outcomes.items() if k != "published"})
        m.privacy_today = self.publisher.privacy_today(now)
        m.late_dropped = self.publisher.agg.counters["late_dropped"]
        return len(cells)

    async def _publish_loop(self) -> None:
        while True:
            await asyncio.sleep(self.s.publish.interval_s)
            await self.publish_once(time.time())

    def _recent_cells(self) -> list[PublishedCell]:
        keep = [r for r in self.publisher.recent if r["zone"] in self.zones]
        return [
            PublishedCell(r["zone"], r["metric"], r["start"], r["start"] + r["period_s"], r["n"],
                          r["mean"], r["min"], r["max"], r["p95"], r["people"])
            for r in keep
        ]

    async def opendata_csv(self) -> tuple[int, str, str]:
        if not self.zones:
            return 404, "text/plain", "no zones file configured (publish.zones_file)\n"
        return 200, "text/csv; charset=utf-8", csv_text(self._recent_cells(), self.zones)

    async def opendata_ngsi(self) -> tuple[int, str, str]:
        if not self.zones:
            return 404, "text/plain", "no zones file configured (publish.zones_file)\n"
        entities = ngsi_entities(self._recent_cells(), self.zones)
        return 200, "application/ld+json", orjson.dumps(entities).decode()

    # ------------------------------------------------------------------ HTTP

    def _store_gauges(self) -> tuple[int, float | None, int, int]:
        s = self.store
        return s.outbox_depth(), s.outbox_oldest(), s.reading_count(), s.disk_bytes()

    async def metrics_text(self) -> tuple[int, str, str]:
        depth, oldest, stored, disk = await self._db(self._store_gauges)
        self.metrics.ota_cache_bytes = self.ota.cache.size
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
        body = orjson.dumps({
            "status": "ok" if self.connected else "degraded",
            "mqtt_connected": self.connected,
            "nodes": len(self.nodes),
            "uptime_s": int(time.time() - self.started),
            # what the gateway runs on (aarch64 on a Pi): tells an emulated Pi from the host
            "machine": platform.machine(),
        }).decode()
        return (200 if self.connected else 503), "application/json", body + "\n"

    # ------------------------------------------------------------------ main

    def _client(self) -> aiomqtt.Client:
        m = self.s.mqtt
        client = aiomqtt.Client(
            m.host, m.port, username=m.username, password=self.mqtt_password,
            identifier=m.client_id, clean_session=False, keepalive=m.keepalive_s,
            max_inflight_messages=10000,
        )
        # acknowledge to the broker only after the durable commit (see process())
        client._client.manual_ack_set(True)
        # one ack publish per node per batch are in flight at once by design: no warning
        client.pending_calls_threshold = 1 << 20
        # excess load waits at the broker, not in aiomqtt's unbounded queue (mqtt_intake.py)
        high = max(2, m.max_inflight)
        self.intake = MqttIntake(client, high=high, low=high // 2)
        return client

    async def run(self, stop: asyncio.Event | None = None) -> None:
        self.broker_files.write(self.store)
        self.broker_files.signal_reload()
        server = await serve_http(self.s.http.host, self.s.http.port, {
            "/metrics": self.metrics_text,
            "/health": self.health_text,
            "/opendata/aggregates.csv": self.opendata_csv,
            "/opendata/aggregates.jsonld": self.opendata_ngsi,
        })
        name = self.s.name
        tasks = [
            asyncio.create_task(self._health_loop(), name=f"gateway[{name}].health"),
            asyncio.create_task(self._uplink_loop(), name=f"gateway[{name}].uplink"),
            asyncio.create_task(self._purge_loop(), name=f"gateway[{name}].purge"),
            asyncio.create_task(self._publish_loop(), name=f"gateway[{name}].publish"),
            *(
                [
                    asyncio.create_task(self._sync_loop(), name=f"gateway[{name}].sync"),
                    asyncio.create_task(self._ota_fleet_loop(), name=f"gateway[{name}].ota-fleet"),
                ]
                if self.s.fleet.url
                else []
            ),
            asyncio.create_task(self._ota_offer_loop(), name=f"gateway[{name}].ota-offers"),
            asyncio.create_task(self._mqtt_loop(), name=f"gateway[{name}].mqtt"),
        ]
        waiters: list[asyncio.Task[Any]] = list(tasks)
        if stop is not None:
            waiters.append(asyncio.create_task(stop.wait(), name=f"gateway[{name}].stop"))
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception() if task in tasks else None
                if exc is not None:
                    raise exc
        finally:
            for task in waiters:
                task.cancel()
            # bounded: a task stuck in a library's cancellation must not keep the process alive
            _done, stuck = await asyncio.wait(waiters, timeout=10)
            for task in stuck:
                log.warning("task %s did not stop within 10 s", task.get_name())
            server.close()
            now = time.time()
            await self._db(functools.partial(self._snapshot_health, now))
            self.db.shutdown(wait=True)
            self.store.close()

    async def _mqtt_loop(self) -> None:
        attempt = 0
        while True:
            try:
                async with self._client() as client:
                    self.connected = True
                    attempt = 0
                    await client.subscribe(f"{PREFIX}/+/reading", qos=1)
                    await client.subscribe(f"{PREFIX}/+/state", qos=1)
                    await client.subscribe(f"{PREFIX}/+/ota", qos=1)
                    self.mqtt = client
                    intake = self.intake
                    assert intake is not None  # made with the client
                    intake.arm()
                    log.info("connected to the broker on %s:%d", self.s.mqtt.host,
                             self.s.mqtt.port)
                    await self._ingest(client, intake)
            except* aiomqtt.MqttError as group:
                self.connected = False
                self.mqtt = None
                attempt += 1
                delay = random.uniform(0, 1.5 ** min(10, attempt))  # noqa: S311 - jitter
                log.warning("broker connection lost (%s); retry in %.1f s",
                            group.exceptions[0], delay)
                # messages taken but not committed will be redelivered by the broker: the
                # next connection has its own intake
                await asyncio.sleep(delay)
