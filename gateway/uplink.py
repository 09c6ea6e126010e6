"""Uplink to the fleet service: idempotent batches, retried with capped, randomised backoff.

The outbox is durable (gateway/store.py); a batch is removed from it only after the fleet
answered 2xx. The batch id is derived from the outbox ids it carries, so a batch resent after a
crash has the same id and the fleet applies it once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from gateway.fleet_client import Identity, refused_for_good, signed_headers

__all__ = ["HttpUplink", "Uplink", "UplinkError", "backoff_s", "batch_id"]


class UplinkError(Exception):
    """The fleet did not take the batch; it stays in the outbox."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code

    @property
    def permanent(self) -> bool:
        return refused_for_good(self.status_code)


class Uplink(Protocol):
    async def send(self, batch_id: str, health: list[Any], aggregates: list[Any]) -> None: ...


def batch_id(gateway: str, first_id: int, last_id: int) -> str:
    return f"{gateway}:{first_id}-{last_id}"


def backoff_s(attempt: int, cap_s: float, rand: float) -> float:
    """Capped exponential backoff, randomised over [0, bound) so gateways do not retry in step."""
    return rand * min(cap_s, 1.5 ** min(attempt, 30))


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
