"""Uplink to the fleet service: idempotent batches, retried with capped, randomised backoff.

The outbox is durable (gateway/store.py); a batch is removed from it only after the fleet
answered 2xx. The batch id is derived from the outbox ids it carries, so a batch resent after a
crash has the same id and the fleet applies it once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from gateway.config import Settings
from gateway.fleet_client import FleetError, Identity, signed_headers
from gateway.metrics import Metrics
from gateway.store_thread import StoreThread
from gateway.tasks import Backoff, retrying

__all__ = ["HttpUplink", "Uplink", "UplinkError", "UplinkTask", "batch_id"]

log = logging.getLogger("territoire.gateway")


class UplinkError(FleetError):
    """The fleet did not take the batch; it stays in the outbox (unless ``permanent``)."""


class Uplink(Protocol):
    async def send(self, batch_id: str, health: list[Any], aggregates: list[Any]) -> None: ...


def batch_id(gateway: str, first_id: int, last_id: int) -> str:
    return f"{gateway}:{first_id}-{last_id}"


@dataclass
class HttpUplink:
    base_url: str
    identity: Identity
    timeout_s: float = 20.0
    path: str = "/api/v1/gateway/ingest"

    async def send(self, batch_id: str, health: list[Any], aggregates: list[Any]) -> None:
        body = orjson.dumps({"batch_id": batch_id, "health": health, "aggregates": aggregates})
        headers = {"Content-Type": "application/json"}
        headers.update(signed_headers(self.identity, "POST", self.path, body, time.time()))
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                resp = await client.post(self.base_url + self.path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise UplinkError(f"fleet unreachable: {exc}") from exc
        if resp.status_code >= 300:
            raise UplinkError(
                f"fleet answered {resp.status_code}: {resp.text[:200]}", resp.status_code
            )


class UplinkTask:
    """Forwards the outbox (health, published cells) to the fleet, batch by batch."""

    def __init__(
        self, settings: Settings, db: StoreThread, uplink: Uplink | None, metrics: Metrics
    ) -> None:
        self.s = settings
        self.db = db
        self.uplink = uplink
        self.metrics = metrics

    async def send_once(self) -> bool:
        """Send one batch from the outbox; True when something was delivered."""
        if self.uplink is None:
            return False
        store = self.db.store
        items = await self.db.run(
            lambda: store.outbox_peek(self.s.uplink.batch_max, ("health", "aggregate"))
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
        await self.db.run(lambda: store.outbox_remove([i.id for i in items]))
        return True

    async def _round(self) -> float:
        return 0.0 if await self.send_once() else self.s.uplink.interval_s

    def _failed(self, _exc: BaseException) -> None:
        self.metrics.uplink_failures += 1

    async def run(self) -> None:
        await retrying(self._round, what="uplink failed", retry_on=UplinkError,
                       backoff=Backoff(self.s.uplink.backoff_cap_s), on_failure=self._failed)
