"""Over-the-air updates on the gateway, the I/O shell (docs/ota.md, "Gateway cache and relay").

Polls the fleet's OTA document, downloads each release once (whatever the number of nodes),
verifies it (signature with the keys the fleet lists, every file hash), caches it on disk, offers
it to its target nodes, serves chunks of the offered objects to those nodes only, and forwards
their progress to the fleet through the durable outbox. Decisions are gateway/ota_decisions.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import httpx
import orjson

from gateway.config import OtaSettings
from gateway.fleet_client import (
    API,
    FleetError,
    Identity,
    fetch_object,
    fetch_ota_document,
    post_ota_status,
)
from gateway.ingest import NodeEntry
from gateway.metrics import Metrics
from gateway.ota_cache import CacheFull, ObjectCache
from gateway.ota_decisions import (
    Bucket,
    OtaDocument,
    Target,
    authenticate,
    due_offers,
    judge_request,
    parse_document,
    progress_item,
    release_objects,
)
from gateway.store import Store
from protocol import manifest as mf
from protocol.codec import Reject, sign
from protocol.ota import (
    Progress,
    Request,
    decode_progress,
    decode_request,
    encode_chunk,
    encode_offer,
)
from protocol.topics import node_topic

__all__ = ["OtaRelay"]

log = logging.getLogger("territoire.gateway.ota")
Publish = Callable[[str, bytes, int], Awaitable[None]]
DbRunner = Callable[[Callable[[], Any]], Awaitable[Any]]


class OtaRelay:
    def __init__(
        self,
        settings: OtaSettings,
        cache: ObjectCache,
        store: Store,
        identity: Identity,
        run_db: DbRunner,
        metrics: Metrics,
    ) -> None:
        self.s = settings
        self.cache = cache
        self.store = store
        self.identity = identity
        self.run_db = run_db
        self.counters = metrics
        self.doc = OtaDocument({}, ())
        self.etag: str | None = None
        self.ready: dict[int, dict[str, int]] = {}  # release id -> {object: size}
        self.bad: set[int] = set()  # releases that failed verification: never offered
        self.last_offer: dict[str, float] = {}
        self.last_heard_offer: dict[str, float] = {}  # offers sent as a node's traffic arrived
        self.outcome: dict[tuple[str, str], str] = {}
        self.forwarded: dict[str, tuple[str, str, str]] = {}
        self.buckets: dict[str, Bucket] = {}

    # ------------------------------------------------------------------ fleet side

    async def poll_once(self, client: httpx.AsyncClient) -> bool:
        """Fetch the OTA document; download and verify what its targets need. True on change."""
        got = await fetch_ota_document(client, self.identity, self.etag,
                                       self.s.document_max_bytes)
        if got is None:
            return False
        raw, etag = got
        doc = parse_document(raw, self.s.max_targets)
        if isinstance(doc, Reject):
            raise FleetError(f"OTA document refused: {doc.detail}")
        self.doc = doc
        releases = {t.release_id: t for t in doc.targets}
        for rid, t in releases.items():
            if rid not in self.ready and rid not in self.bad:
                await self._download(client, t)
        # releases no target names any more leave the cache; one named again later is fetched
        # again (its objects are gone)
        self.ready = {rid: objects for rid, objects in self.ready.items() if rid in releases}
        self.cache.prune({h for objects in self.ready.values() for h in objects})
        if all(rid in self.ready or rid in self.bad for rid in releases):
            self.etag = etag  # only once everything it names is handled
        return True

    def _refuse_release(self, t: Target, reason: str, detail: str) -> None:
        self.bad.add(t.release_id)
        self.counters.ota_releases_refused[reason] += 1
        log.error("release %d (%s) refused: %s %s", t.release_id, t.ver, reason, detail)

    async def _fetch(self, client: httpx.AsyncClient, path: str, h: str, limit: int) -> bytes:
        if self.cache.has(h):
            return self.cache.read_all(h)
        data = await fetch_object(client, self.identity, path, limit)
        self.counters.ota_fetched_bytes += len(data)
        self.cache.put(h, data)  # ValueError when it does not hash to h
        return data

    async def _download(self, client: httpx.AsyncClient, t: Target) -> None:
        base = f"{API}/gateway/releases/{t.release_id}"
        try:
            raw = await self._fetch(client, f"{base}/manifest", t.mh, mf.MAX_MANIFEST_BYTES)
        except ValueError as exc:
            self._refuse_release(t, "bad_hash", str(exc))
            return
        m = mf.verify_signed(raw, self.doc.keys)
        if isinstance(m, mf.Refusal):
            self._refuse_release(t, m.reason, m.detail)
            return
        if (m.hardware, m.version, len(raw)) != (t.hw, t.ver, t.ml):
            self._refuse_release(t, "malformed", "manifest differs from the fleet's target")
            return
        objects = release_objects(m, len(raw))
        need = sum(f.size for f in m.files if not self.cache.has(f.sha256))
        if self.cache.size + need > self.cache.max_bytes:
            # make room from releases no target names any more
            live = {x.release_id for x in self.doc.targets}
            self.ready = {rid: o for rid, o in self.ready.items() if rid in live}
            self.cache.prune({h for o in self.ready.values() for h in o} | set(objects))
        try:
            for f in m.files:
                await self._fetch(client, f"{base}/files/{f.sha256}", f.sha256, f.size)
        except ValueError as exc:
            self._refuse_release(t, "bad_hash", str(exc))
            return
        except CacheFull as exc:
            self.counters.ota_releases_refused["no_space"] += 1
            log.error(  # noqa: TRY400 - the reason is the message; no traceback for an operator
                "release %d not cached: %s", t.release_id, exc
            )
            return  # tried again at the next poll (the ETag is kept only once all are cached)
        self.ready[t.release_id] = objects
        log.info("release %d (%s) cached: %d files", t.release_id, t.ver, len(m.files))

    async def forward_once(self, client: httpx.AsyncClient, gateway: str) -> bool:
        """Send one batch of queued progress items to the fleet; True when one was sent."""
        items = await self.run_db(lambda: self.store.outbox_peek(self.s.status_batch_max, ("ota",)))
        if not items:
            return False
        bid = f"{gateway}:ota:{items[0].id}-{items[-1].id}"
        try:
            await post_ota_status(client, self.identity, bid, [orjson.loads(i.body) for i in items])
        except FleetError as exc:
            if not exc.permanent:
                raise
            # the fleet will never take this batch: retrying would hold every later report
            # behind it, so it is set aside, counted and logged with the fleet's reason
            self.counters.evicted["ota_status_refused_by_fleet"] += len(items)
            log.error(  # noqa: TRY400 - the reason is the message; no traceback for an operator
                "fleet refused OTA status batch %s for good (%d reports dropped): %s",
                bid,
                len(items),
                exc,
            )
        await self.run_db(lambda: self.store.outbox_remove([i.id for i in items]))
        return True

    # ------------------------------------------------------------------ node side

    def _targets(self) -> dict[str, Target]:
        return {t.node_id: t for t in self.doc.targets}

    def offers(
        self,
        nodes: Mapping[str, NodeEntry],
        running: Mapping[str, str],
        now: float,
        heard: Collection[str] | None = None,
    ) -> list[tuple[str, bytes]]:
        """Signed offers due now, as (topic, payload) to publish at QoS 1, recorded as sent.

        ``heard=None``: the schedule's round, for every target not offered in the interval.
        Otherwise the nodes just heard from: a battery node is awake for about a second per
        wake, so a timed offer would rarely find it listening; an offer sent as its readings
        arrive (before their acknowledgement, which is what lets it sleep) does. Those offers
        have their own interval, so a timed offer sent while the node slept never holds one
        back.
        """
        targets = self.doc.targets
        last = self.last_offer
        if heard is not None:
            targets = tuple(t for t in targets if t.node_id in heard)
            last = self.last_heard_offer
        due = due_offers(targets, self.ready, running, self.outcome, last, now,
                         self.s.offer_interval_s)
        out = []
        for t in due:
            entry = nodes.get(t.node_id)
            if entry is None or entry.creds.revoked or not entry.creds.keys:
                continue
            kid = max(entry.creds.keys)
            body = encode_offer(t.node_id, kid, int(now), t.ver, t.mh, t.ml)
            out.append((node_topic(t.node_id, "cmd"), sign(entry.creds.keys[kid], body)))
            last[t.node_id] = now
        self.counters.ota_offers["schedule" if heard is None else "heard"] += len(out)
        return out

    async def offer_due(
        self,
        nodes: Mapping[str, NodeEntry],
        running: Mapping[str, str],
        publish: Publish,
        now: float,
    ) -> int:
        due = self.offers(nodes, running, now)
        for topic, payload in due:
            await publish(topic, payload, 1)
        return len(due)

    async def handle(
        self,
        node_id: str,
        payload: bytes,
        nodes: Mapping[str, NodeEntry],
        publish: Publish,
        now: float,
    ) -> Progress | None:
        """A message on a node's ota topic: serve a request, or return a progress report for
        the caller to store durably (see record_progress) before it acknowledges it."""
        got = authenticate(node_id, payload, nodes)
        if isinstance(got, str):
            self.counters.ota_refused[got] += 1
            return None
        obj, kid = got
        if obj.get("y") == "p":
            p = decode_progress(obj)
            if isinstance(p, Reject):
                self.counters.ota_refused["malformed"] += 1
                return None
            return p
        req = decode_request(obj)
        if isinstance(req, Reject):
            self.counters.ota_refused["malformed"] += 1
            return None
        await self._serve(req, kid, nodes[node_id], publish, now)
        return None

    async def _serve(
        self, req: Request, kid: int, entry: NodeEntry, publish: Publish, now: float
    ) -> None:
        node_id = req.node_id
        bucket = self.buckets.get(node_id, Bucket(self.s.request_burst, now))
        ok, self.buckets[node_id] = bucket.take(
            now, self.s.request_rate_per_s, self.s.request_burst
        )
        if not ok:
            self.counters.ota_refused["rate_limited"] += 1
            return
        t = self._targets().get(node_id)
        allowed = self.ready.get(t.release_id, {}) if t is not None else {}
        why = judge_request(req, allowed)
        if why is not None:
            self.counters.ota_refused[why] += 1
            return
        try:
            data = self.cache.read(req.h, req.o, req.length)
        except OSError as exc:
            # the object vanished from the disk: fetch the release again at the next poll
            self.counters.ota_refused["not_cached"] += 1
            self.ready.pop(t.release_id if t is not None else 0, None)
            self.cache.sizes.pop(req.h, None)
            self.etag = None
            log.error("release object %s unreadable: %s", req.h[:12], exc)  # noqa: TRY400
            return
        body = encode_chunk(node_id, kid, int(now), req.h, req.o, data)
        await publish(node_topic(node_id, "cmd"), sign(entry.creds.keys[kid], body), 0)
        self.counters.ota_chunks_served += 1
        self.counters.ota_bytes_served += len(data)

    def record_progress(self, reports: list[Progress], now: float) -> None:
        """Queue changed reports for the fleet (runs in the store thread: durable on return)."""
        targets = self._targets()
        fresh = []
        for p in reports:
            self.counters.ota_progress[p.st] += 1
            t = targets.get(p.node_id)
            if t is not None and t.ver == p.ver:
                self.outcome[(p.node_id, t.mh)] = p.st
            key = (p.ver, p.st, p.why)
            if self.forwarded.get(p.node_id) == key:
                continue  # the node repeats itself (each connection): the fleet has it
            self.forwarded[p.node_id] = key
            fresh.append(orjson.dumps(progress_item(p, now)))
        if fresh:
            self.store.outbox_add("ota", fresh, now)
