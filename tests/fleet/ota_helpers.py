"""Release keys, signed bundles and a gateway's OTA calls, for the fleet's OTA tests.

Bundles here are made with the protocol's own functions from small synthetic files (the
fleet never runs them); tests/test_release_cli.py builds real ones with mpy-cross.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from protocol.manifest import encode_body, file_entries, key_id, sign_body
from protocol.release_bundle import pack
from tests.fleet.gwsim import API, GatewaySim, World

OLD, NEW = "1.3.0", "1.4.0"
_batches = itertools.count(1)


@functools.cache
def release_key(n: int = 0) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def kid(key: rsa.RSAPrivateKey) -> str:
    return key_id(key.public_key())


def app_files(version: str) -> dict[str, bytes]:
    return {
        "node.mpy": b"M\x06node " + version.encode() * 40,
        "version.mpy": b"M\x06VERSION=" + version.encode(),
        "sensors/pm.mpy": bytes(range(256)) * 8,
    }


def body_of(
    version: str,
    hw: str = "emu-x64",
    files: dict[str, bytes] | None = None,
    expires_in: int = 30 * 86400,
    sv: int = 0,
) -> tuple[bytes, dict[str, bytes]]:
    files = files or app_files(version)
    now = int(time.time())
    body = encode_body(
        version=version,
        hardware=hw,
        secure_version=sv,
        expires=now + expires_in,
        created=now - 10,
        files=file_entries(files),
    )
    return body, files


def signed_bundle(
    version: str = NEW, hw: str = "emu-x64", key: rsa.RSAPrivateKey | None = None, **kw: Any
) -> bytes:
    body, files = body_of(version, hw, **kw)
    return pack(files=files, manifest=sign_body(body, key or release_key()))


def register_key(client: TestClient, admin: dict[str, str], key: rsa.RSAPrivateKey) -> None:
    r = client.post(
        f"{API}/release-keys", json={"name": "test", "pem": public_pem(key)}, headers=admin
    )
    assert r.status_code == 201, r.text


def publish(client: TestClient, who: dict[str, str], data: bytes) -> httpx.Response:
    return client.post(
        f"{API}/releases", content=data, headers={**who, "Content-Type": "application/x-tar"}
    )


def published(client: TestClient, admin: dict[str, str], version: str = NEW) -> dict[str, Any]:
    """A release of ``version`` signed by the test key (registered on first use)."""
    if not client.get(f"{API}/release-keys", headers=admin).json():
        register_key(client, admin, release_key())
    r = publish(client, admin, signed_bundle(version))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def ota_get(
    client: TestClient | httpx.Client,
    gw: GatewaySim,
    etag: str | None = None,
    path: str = "/gateway/ota",
) -> httpx.Response:
    target = API + path
    headers = gw.sign_headers("GET", target)
    if etag:
        headers["If-None-Match"] = etag
    return client.get(target, headers=headers)


def ota_status(
    client: TestClient | httpx.Client,
    gw: GatewaySim,
    items: list[dict[str, Any]],
    batch_id: str | None = None,
) -> httpx.Response:
    body = json.dumps({"batch_id": batch_id or f"st-{next(_batches)}", "items": items}).encode()
    target = f"{API}/gateway/ota/status"
    headers = {**gw.sign_headers("POST", target, body), "Content-Type": "application/json"}
    return client.post(target, content=body, headers=headers)


def report_health(
    world: World,
    gw: GatewaySim,
    versions: dict[str, str],
    last_seen: int | None = None,
    hw: str | None = None,
) -> None:
    now = last_seen or int(time.time())
    health = [
        {"node_id": n, "last_seen": now, "fw": v, "slot": "a", "boot": 1, "buffered": 0}
        | ({"hw": hw} if hw else {})
        for n, v in versions.items()
    ]
    r = gw.ingest(world.client, {"batch_id": f"h-{next(_batches)}", "health": health})
    assert r.status_code == 200, r.text


def item(node_id: str, st: str, ver: str = NEW, why: str | None = None) -> dict[str, Any]:
    return {"node_id": node_id, "ver": ver, "st": st, "why": why, "at": int(time.time())}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rollout_on_gw_a(
    world: World, who: dict[str, str], *, nodes: int, groups: list[dict[str, Any]], name: str
) -> dict[str, Any]:
    """``nodes`` new nodes on gw-a running OLD, a release of NEW, and a rollout of it to all."""
    ids = [world.claim()["node_id"] for _ in range(nodes)]
    report_health(world, world.gw_a, dict.fromkeys(ids, OLD))
    rel = published(world.client, world.admin)
    body = {"name": name, "release_id": rel["id"], "groups": groups}
    r = world.client.post(f"{API}/rollouts", json=body, headers=who)
    assert r.status_code == 201, r.text
    return {"nodes": ids, "release": rel, "rollout": r.json()}
