"""A gateway as the fleet sees it: Ed25519-signed calls, X25519 opening of node secrets.

This is the client side of docs/fleet.md written against the spec (not against fleet code
paths other than the shared crypto reference), so the tests exercise the wire contract.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi.testclient import TestClient

API = "/api/v1"


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class GatewaySim:
    gateway_id: str
    ed: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    x: X25519PrivateKey = field(default_factory=X25519PrivateKey.generate)

    def sign_headers(
        self, method: str, target: str, body: bytes = b"", ts: str | None = None
    ) -> dict[str, str]:
        ts = ts or f"{time.time():.6f}"
        message = f"{method}\n{target}\n{ts}\n{hashlib.sha256(body).hexdigest()}".encode()
        sig = base64.b64encode(self.ed.sign(message)).decode()
        return {"X-Gateway-Id": self.gateway_id, "X-Timestamp": ts, "X-Signature": sig}

    def enroll(self, client: TestClient | httpx.Client, token: str) -> httpx.Response:
        body = json.dumps(
            {
                "token": token,
                "ed25519_public_key": self.ed.public_key().public_bytes_raw().hex(),
                "x25519_public_key": self.x.public_key().public_bytes_raw().hex(),
            }
        ).encode()
        target = f"{API}/gateway/enroll"
        headers = {**self.sign_headers("POST", target, body), "Content-Type": "application/json"}
        return client.post(target, content=body, headers=headers)

    def sync(
        self, client: TestClient | httpx.Client, cursor: int = 0, etag: str | None = None
    ) -> httpx.Response:
        target = f"{API}/gateway/sync?cursor={cursor}"
        headers = self.sign_headers("GET", target)
        if etag:
            headers["If-None-Match"] = etag
        return client.get(target, headers=headers)

    def ingest(self, client: TestClient | httpx.Client, batch: dict[str, Any]) -> httpx.Response:
        body = json.dumps(batch).encode()
        target = f"{API}/gateway/ingest"
        headers = {**self.sign_headers("POST", target, body), "Content-Type": "application/json"}
        return client.post(target, content=body, headers=headers)

    def open_secret(self, sealed_b64: str, node_id: str, key_id: int) -> bytes:
        """docs/fleet.md, "Node secrets for a gateway", implemented from the text."""
        blob = b64url_decode(sealed_b64)
        eph_pub, nonce, ct = blob[:32], blob[32:44], blob[44:]
        shared = self.x.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        own_pub = self.x.public_key().public_bytes_raw()
        aad = f"territoire/v1 node-secret|{node_id}|{key_id}".encode()
        key = HKDF(
            algorithm=SHA256(),
            length=32,
            salt=eph_pub + own_pub,
            info=b"territoire/v1 node-secret|" + aad,
        ).derive(shared)
        return AESGCM(key).decrypt(nonce, ct, aad)


@dataclass
class World:
    client: TestClient
    admin: dict[str, str]
    gw_a: GatewaySim
    gw_b: GatewaySim
    zone: str = "centre-ville"
    zone_b: str = "la-doutre"
    profile: str = "air-quality"

    @classmethod
    def build(cls, client: TestClient, admin: dict[str, str]) -> World:
        for zone_id, name in (("centre-ville", "Centre-ville"), ("la-doutre", "La Doutre")):
            r = client.post(f"{API}/zones", json={"id": zone_id, "name": name}, headers=admin)
            assert r.status_code == 201, r.text
        r = client.post(
            f"{API}/profiles",
            json={
                "id": "air-quality",
                "name": "Air quality station",
                "measures": ["temp_c", "rh_pct", "pm25_ugm3"],
                "purpose": "Measure air quality for public health studies",
                "legal_basis": "Public interest task (GDPR art. 6.1.e)",
                "operator_name": "Angers Loire Métropole",
                "contact": "capteurs@angersloiremetropole.fr",
                "personal_data": False,
                "retention": "Raw readings 72 h on the gateway; aggregates 10 years",
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        sims = []
        for gw_id in ("gw-a", "gw-b"):
            r = client.post(
                f"{API}/gateways", json={"id": gw_id, "name": gw_id.upper()}, headers=admin
            )
            assert r.status_code == 201, r.text
            sim = GatewaySim(gw_id)
            enrolled = sim.enroll(client, r.json()["enroll_token"])
            assert enrolled.status_code == 200, enrolled.text
            sims.append(sim)
        return cls(client=client, admin=admin, gw_a=sims[0], gw_b=sims[1])

    def claim_code(
        self, *, gateway: str | None = "gw-a", zone: str | None = None, node_id: str | None = None
    ) -> str:
        body: dict[str, Any] = {
            "zone_id": zone or self.zone,
            "gateway_id": gateway,
            "profile_id": self.profile,
        }
        if node_id:
            body["node_id"] = node_id
        r = self.client.post(f"{API}/claim-codes", json=body, headers=self.admin)
        assert r.status_code == 201, r.text
        return str(r.json()[0]["code"])

    def claim(self, **kwargs: Any) -> dict[str, Any]:
        r = self.client.post(f"{API}/claim", json={"code": self.claim_code(**kwargs)})
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out
