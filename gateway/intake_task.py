"""The intake task: the broker connection, and the readings it brings verified, stored and
acknowledged in batches (docs/gateway.md, "What it does with a message"; the bounded intake
itself is gateway/mqtt_intake.py, the verification gateway/ingest.py).

This is the gateway's hot path (docs/performance.md): work here is per batch, not per message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import aiomqtt

from gateway.config import Settings
from gateway.ingest import Batch, ack_messages, verify_batch
from gateway.metrics import Metrics
from gateway.mqtt_intake import Message, MqttIntake, topic_of
from gateway.node_health import NodeHealth
from gateway.ota_task import OtaTask
from gateway.publisher import Held, Publisher
from gateway.registry_sync import RegistrySync
from gateway.store_thread import StoreThread
from gateway.tasks import Backoff, retrying
from protocol.topics import PREFIX
from protocol.verify import CounterWindow, VerifyLimits

__all__ = ["IntakeTask"]

log = logging.getLogger("territoire.gateway")


@dataclass(frozen=True)
class Staged:
    """A verified batch whose commit is under way."""

    messages: list[Message]
    batch: Batch
    commit: asyncio.Future[int]
    now: float
    t0: float


class IntakeTask:
    def __init__(
        self,
        settings: Settings,
        db: StoreThread,
        registry: RegistrySync,
        publisher: Publisher,
        health: NodeHealth,
        metrics: Metrics,
        ota: OtaTask,
        mqtt_password: str,
    ) -> None:
        self.s = settings
        self.db = db
        self.registry = registry
        self.publisher = publisher
        self.health = health
        self.metrics = metrics
        self.ota = ota
        self.mqtt_password = mqtt_password
        self.limits = VerifyLimits(settings.ingest.future_skew_s, settings.ingest.max_age_s)
        self.windows: dict[str, CounterWindow] = db.store.windows()
        self.connected = False
        self.client: aiomqtt.Client | None = None  # while connected
        self.intake: MqttIntake | None = None

    def _commit(self, batch: Batch, held: list[Held]) -> int:
        return self.db.store.commit_batch(
            batch.accepted, batch.windows, dict(batch.rejections), batch.quarantine,
            self.s.ingest.quarantine_max, held,
        )

    async def _stage(self, client: aiomqtt.Client, messages: list[Message]) -> Staged:
        """Verify a batch and start its commit; :meth:`_finish` acknowledges it. The replay
        windows move on at once, so the next batch is verified against this one's counters
        while this one commits (a crash before the commit loses neither: neither is acked)."""
        t0 = time.perf_counter()
        now = time.time()
        # a retained message (replayed by a broker that keeps them) is never a node's live
        # message: counted `retained`, acknowledged to the broker, neither stored nor acked
        retained = sum(1 for m in messages if m.retain)
        raw = [(topic_of(m), bytes(m.payload)) for m in messages if not m.retain]
        ota = [(t, p) for t, p in raw if t.endswith("/ota")]
        if ota:
            raw = [(t, p) for t, p in raw if not t.endswith("/ota")]
            # update requests are served now; progress reports are stored before the PUBACK
            await self.ota.messages(client, ota, now)
        batch = verify_batch(raw, self.registry.nodes, self.windows, now, self.limits,
                             self.s.ingest.max_message_bytes)
        if retained:
            batch.rejections["retained"] += retained
        self.windows.update(batch.windows)
        # one store thread: commits land in the order batches were staged
        # the marks of readings held back by earlier batches ride along with this one's commit
        commit = self.db.submit(self._commit, batch, self.publisher.take_held())
        return Staged(messages, batch, commit, now, t0)

    async def _finish(self, client: aiomqtt.Client, staged: Staged) -> Batch:
        # durable first: nothing is acknowledged before its transaction is committed
        last_id = await staged.commit
        batch, now = staged.batch, staged.now
        held = self.publisher.add(batch.accepted, last_id)
        # aiomqtt has no manual-ack API yet (its issue #345): ack through its paho client
        paho = client._client
        for m in staged.messages:
            if m.qos > 0:
                paho.ack(m.mid, m.qos)
        # an update offer goes out before the acknowledgement that lets a battery node sleep
        # (QoS 1 without waiting for its PUBACK, for the reason given below)
        for topic, payload in self.ota.offers_to_heard(batch.acks.keys(), now):
            if paho.publish(topic, payload, qos=1).rc != 0:
                log.info("update offer to %s not sent", topic)  # offered again later
        acks = ack_messages(batch, self.registry.nodes, now)
        self._account(batch, now, len(acks), time.perf_counter() - staged.t0)
        if held:  # stored and acknowledged, kept out of the figures (gateway/aggregate.py)
            self.health.record_held(held)
            self.metrics.held_back.update((n, reason) for n, _c, _t, reason in held)
        for topic, payload in acks:
            # QoS 0, without waiting: the end-to-end ack is idempotent (a lost one costs the node
            # a resend, answered as a duplicate), while QoS 1 would need PUBACKs that cannot be
            # read while the intake holds the socket (mqtt_intake.py), and paho's
            # tracking of thousands of them cost a fifth of the gateway's CPU under load.
            info = paho.publish(topic, payload, qos=0)
            if info.rc != 0:
                log.info("acknowledgement to %s not sent (rc %d)", topic, info.rc)
        return batch

    def _account(self, batch: Batch, now: float, acks: int, seconds: float) -> None:
        m = self.metrics
        m.accepted += len(batch.accepted)
        m.people_saturated += sum("people_sat" in r.flags for r, _zone, _t in batch.accepted)
        m.duplicates += batch.duplicates
        m.rejected.update(batch.rejections)
        m.acks_sent += acks
        m.batches += 1
        m.batch_seconds_sum += seconds
        self.health.record(batch, self.registry.nodes, now)
        for reason, count in batch.rejections.items():
            if reason in ("bad_mac", "replayed_counter", "topic_mismatch"):
                log.warning("refused %d message(s): %s", count, reason)

    async def _ingest(self, client: aiomqtt.Client, intake: MqttIntake) -> None:
        """Two batches in flight under load: one committing in the store thread while the
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

    def _client(self) -> aiomqtt.Client:
        m = self.s.mqtt
        client = aiomqtt.Client(
            m.host, m.port, username=m.username, password=self.mqtt_password,
            identifier=m.client_id, clean_session=False, keepalive=m.keepalive_s,
            max_inflight_messages=m.publish_inflight,
        )
        # acknowledge to the broker only after the durable commit (see _finish)
        client._client.manual_ack_set(True)
        # one ack publish per node per batch are in flight at once by design: no warning
        client.pending_calls_threshold = 1 << 20
        # excess load waits at the broker, not in aiomqtt's unbounded queue (mqtt_intake.py)
        high = max(2, m.max_inflight)
        self.intake = MqttIntake(client, high=high, low=high // 2)
        return client

    async def _session(self, backoff: Backoff) -> float:
        async with self._client() as client:
            self.connected = True
            backoff.reset()
            await client.subscribe(f"{PREFIX}/+/reading", qos=1)
            await client.subscribe(f"{PREFIX}/+/state", qos=1)
            await client.subscribe(f"{PREFIX}/+/ota", qos=1)
            self.client = client
            intake = self.intake
            assert intake is not None  # made with the client
            intake.arm()
            log.info("connected to the broker on %s:%d", self.s.mqtt.host, self.s.mqtt.port)
            await self._ingest(client, intake)
        return 0.0

    def _lost(self, _exc: BaseException) -> None:
        # messages taken but not committed will be redelivered by the broker: the next
        # connection has its own intake
        self.connected = False
        self.client = None

    async def run(self) -> None:
        backoff = Backoff(self.s.mqtt.reconnect_backoff_cap_s)
        await retrying(lambda: self._session(backoff), what="broker connection lost",
                       retry_on=aiomqtt.MqttError, backoff=backoff, on_failure=self._lost)
