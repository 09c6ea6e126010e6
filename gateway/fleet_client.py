"""The gateway's side of the fleet API (docs/fleet.md, "Gateways"): its identity, signed
requests, enrollment, and the incremental sync of the nodes it serves.

The contracts with the fleet are protocol's (request signatures: protocol/gateway_requests.py;
sealed node secrets: protocol/sealed_secrets.py); applying a sync page is a function of values;
the HTTP calls are thin.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway import allotment
from gateway.secret_file import load_or_create
from gateway.store import NodeRecord, Store
from gateway.tasks import GiveUp
from protocol import gateway_files
from protocol.gateway_requests import sign_request
from protocol.node_config import INTERVAL_S_MAX, INTERVAL_S_MIN
from protocol.sealed_secrets import open_secret, sealed_from_text

__all__ = [
    "API",
    "FleetError",
    "GatewayRefused",
    "Identity",
    "SyncResult",
    "apply_sync_page",
    "enroll",
    "fetch_object",
    "fetch_ota_document",
    "open_sealed_secret",
    "post_ota_status",
    "signed_headers",
    "sync_interval",
    "sync_once",
]

API = "/api/v1"

log = logging.getLogger("territoire.gateway")


def refused_for_good(status_code: int | None) -> bool:
    """A 4xx other than timeout, rate limit or auth: resending the same request cannot help.
    (401/403 are not final: a re-enrolled gateway gets through again.)"""
    code = status_code
    return code is not None and 400 <= code < 500 and code not in (401, 403, 408, 429)


class FleetError(Exception):
    """The fleet refused or could not be reached; ``status_code`` when it answered."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code

    @property
    def permanent(self) -> bool:
        return refused_for_good(self.status_code)


class GatewayRefused(FleetError, GiveUp):
    """The fleet refuses this gateway's signed requests (401/403): never enrolled, revoked, or
    a clock too far off. Retrying cannot help, so the gateway stops and says so."""


def _load_key(path: Path) -> bytes:
    return load_or_create(path, functools.partial(secrets.token_bytes, 32))


@dataclass(frozen=True)
class Identity:
    """The gateway's two key pairs: Ed25519 to sign its requests, X25519 to receive secrets."""

    gateway_id: str
    signing: Ed25519PrivateKey
    sealing: X25519PrivateKey

    @classmethod
    def load(cls, data_dir: Path, gateway_id: str) -> Identity:
        return cls(
            gateway_id,
            Ed25519PrivateKey.from_private_bytes(_load_key(gateway_files.identity_key(data_dir))),
            X25519PrivateKey.from_private_bytes(_load_key(gateway_files.sealing_key(data_dir))),
        )


def signed_headers(
    identity: Identity, method: str, target: str, body: bytes, now: float
) -> dict[str, str]:
    return sign_request(identity.signing, identity.gateway_id, method, target, body, now)


def open_sealed_secret(
    sealing: X25519PrivateKey, sealed_b64: str, node_id: str, key_id: int
) -> bytes | None:
    """docs/fleet.md, "Node secrets for a gateway": None when the blob is not for us."""
    blob = sealed_from_text(sealed_b64)
    return None if blob is None else open_secret(sealing, blob, node_id, key_id)


@dataclass
class SyncResult:
    cursor: int
    more: bool
    changed: int
    refused_secrets: int
    bad_intervals: int = 0  # not a whole number of seconds in the node's bounds: not known


def sync_interval(value: object) -> int | None:
    """A node's ``interval_s`` from a sync page, or None when absent (an older fleet, a node
    whose interval is not known) or not whole seconds within the node's bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if INTERVAL_S_MIN <= value <= INTERVAL_S_MAX else None


def apply_sync_page(store: Store, sealing: X25519PrivateKey, page: dict[str, Any]) -> SyncResult:
    """Apply one sync page to the registry (one transaction); returns what changed."""
    changed = refused = bad_intervals = 0
    db = store.db
    db.execute("BEGIN IMMEDIATE")
    try:
        if page.get("reset"):
            store.delete_all_nodes()
        for node in page.get("nodes", []):
            node_id = str(node["node_id"])
            changed += 1
            if node.get("removed"):
                store.delete_node(node_id)
                continue
            keys: dict[int, bytes] = {}
            expires: dict[int, int] = {}
            for k in node.get("keys", []):
                secret = open_sealed_secret(sealing, str(k["sealed"]), node_id, int(k["key_id"]))
                if secret is None:
                    refused += 1  # not sealed to us: never trust it
                    continue
                keys[int(k["key_id"])] = secret
                if k.get("expires_at") is not None:
                    expires[int(k["key_id"])] = int(k["expires_at"])
            revoked = bool(node.get("revoked"))
            zone = str(node.get("zone_id") or "")
            interval = sync_interval(node.get("interval_s"))
            # a bad one is counted and taken as not known: the fallback cap applies
            bad_intervals += interval is None and node.get("interval_s") is not None
            store.upsert_node(
                NodeRecord(node_id, zone, {} if revoked else keys, revoked, expires, interval)
            )
        allotment.store_from_page(store, page)
        store.kv_set("fleet_cursor", str(int(page["cursor"])).encode())
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return SyncResult(int(page["cursor"]), bool(page.get("more")), changed, refused, bad_intervals)


async def _request(
    client: httpx.AsyncClient,
    identity: Identity,
    method: str,
    target: str,
    body: bytes = b"",
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    headers = signed_headers(identity, method, target, body, time.time())
    if body:
        headers["Content-Type"] = "application/json"
    headers.update(extra or {})
    try:
        return await client.request(method, target, content=body or None, headers=headers)
    except httpx.HTTPError as exc:
        raise FleetError(f"fleet unreachable: {exc}") from exc


async def enroll(base_url: str, identity: Identity, token: str) -> None:
    body = orjson.dumps(
        {
            "token": token,
            "ed25519_public_key": identity.signing.public_key().public_bytes_raw().hex(),
            "x25519_public_key": identity.sealing.public_key().public_bytes_raw().hex(),
        }
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        r = await _request(client, identity, "POST", f"{API}/gateway/enroll", body)
    if r.status_code != 200:
        raise FleetError(f"enrollment refused ({r.status_code}): {r.text[:300]}", r.status_code)


DbRunner = Callable[[Callable[[], Any]], Awaitable[Any]]


def _cursor(store: Store) -> tuple[int, bytes | None]:
    raw = store.kv_get("fleet_cursor")
    return (int(raw.decode()) if raw else 0), store.kv_get("fleet_etag")


async def sync_once(
    client: httpx.AsyncClient, store: Store, identity: Identity, run_db: DbRunner
) -> int:
    """Fetch and apply every page of changes; returns the number of nodes changed (0 when the
    fleet answered 304: nothing changed). Store access goes through ``run_db``."""
    changed = 0
    while True:
        cursor, etag = await run_db(lambda: _cursor(store))
        extra = {"If-None-Match": etag.decode()} if etag else {}
        r = await _request(
            client, identity, "GET", f"{API}/gateway/sync?cursor={cursor}", extra=extra
        )
        if r.status_code == 304:
            return changed
        if r.status_code != 200:
            raise FleetError(f"sync refused ({r.status_code}): {r.text[:300]}", r.status_code)
        result: SyncResult = await run_db(
            functools.partial(apply_sync_page, store, identity.sealing, r.json())
        )
        changed += result.changed
        if result.bad_intervals:
            log.warning(
                "fleet sync: %d node interval(s) out of bounds, taken as not known",
                result.bad_intervals,
            )
        new_etag = r.headers.get("ETag")
        if new_etag:
            await run_db(functools.partial(store.kv_set, "fleet_etag", new_etag.encode()))
        if not result.more:
            return changed


# ------------------------------------------------------------------ over-the-air updates


async def fetch_ota_document(
    client: httpx.AsyncClient, identity: Identity, etag: str | None, max_bytes: int
) -> tuple[Any, str | None] | None:
    """``GET /gateway/ota``: (document, ETag), or None when unchanged since ``etag`` (304)."""
    extra = {"If-None-Match": etag} if etag else {}
    r = await _request(client, identity, "GET", f"{API}/gateway/ota", extra=extra)
    if r.status_code == 304:
        return None
    if r.status_code != 200:
        raise FleetError(f"OTA document refused ({r.status_code}): {r.text[:300]}", r.status_code)
    if len(r.content) > max_bytes:
        raise FleetError(f"OTA document of {len(r.content)} bytes exceeds {max_bytes}")
    try:
        return orjson.loads(r.content), r.headers.get("ETag")
    except orjson.JSONDecodeError as exc:
        raise FleetError(f"OTA document is not JSON: {exc}") from None


async def fetch_object(
    client: httpx.AsyncClient, identity: Identity, target: str, max_bytes: int
) -> bytes:
    """A release object (manifest or file), read while streaming and cut at ``max_bytes``."""
    headers = signed_headers(identity, "GET", target, b"", time.time())
    try:
        async with client.stream("GET", target, headers=headers) as r:
            if r.status_code != 200:
                await r.aread()
                raise FleetError(f"{target} refused ({r.status_code})", r.status_code)
            data = bytearray()
            async for part in r.aiter_bytes():
                data += part
                if len(data) > max_bytes:
                    raise FleetError(f"{target}: more than {max_bytes} bytes")
    except httpx.HTTPError as exc:
        raise FleetError(f"fleet unreachable: {exc}") from exc
    return bytes(data)


async def post_ota_status(
    client: httpx.AsyncClient, identity: Identity, batch_id: str, items: list[dict[str, Any]]
) -> None:
    """``POST /gateway/ota/status``, idempotent by ``batch_id``."""
    body = orjson.dumps({"batch_id": batch_id, "items": items})
    r = await _request(client, identity, "POST", f"{API}/gateway/ota/status", body)
    if r.status_code >= 300:
        raise FleetError(f"OTA status refused ({r.status_code}): {r.text[:300]}", r.status_code)
