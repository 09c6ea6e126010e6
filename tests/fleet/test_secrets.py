"""A node secret appears once, in the claim (or rotation) response, and nowhere else."""

from __future__ import annotations

import base64
import logging

import pytest
from fastapi.testclient import TestClient

from tests.fleet.gwsim import API, World


def _forms(secret_hex: str) -> list[str]:
    raw = bytes.fromhex(secret_hex)
    return [
        secret_hex,
        secret_hex.upper(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


def _everything_readable(client: TestClient, admin: dict[str, str], node_id: str) -> str:
    pages = [
        f"{API}/nodes",
        f"{API}/nodes/{node_id}",
        f"{API}/audit?limit=500",
        f"{API}/claim-codes",
        f"{API}/gateways",
        f"{API}/public/register",
        f"{API}/public/aggregates",
        f"{API}/public/aggregates.csv",
    ]
    return "\n".join(client.get(p, headers=admin).text for p in pages)


def test_secret_never_appears_after_creation(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    claimed = world.claim()
    node_id = claimed["node_id"]
    world.gw_a.sync(world.client)
    rotated = world.client.post(f"{API}/nodes/{node_id}/rotate-key", headers=world.admin).json()
    world.gw_a.sync(world.client)
    readable = _everything_readable(world.client, world.admin, node_id)
    logs = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    for secret in (claimed["secret"], rotated["secret"]):
        for form in _forms(secret):
            assert form not in readable
            assert form not in logs


def test_sync_carries_only_sealed_secrets(world: World) -> None:
    claimed = world.claim()
    text = world.gw_a.sync(world.client).text
    for form in _forms(claimed["secret"]):
        assert form not in text


def test_claim_code_and_tokens_are_not_in_audit_or_lists(world: World) -> None:
    code = world.claim_code()
    token = world.client.post(f"{API}/tokens", json={"name": "t"}, headers=world.admin).json()[
        "token"
    ]
    created = world.client.post(
        f"{API}/gateways", json={"id": "gw-z", "name": "Z"}, headers=world.admin
    ).json()["enroll_token"]
    readable = _everything_readable(world.client, world.admin, "ang-0001")
    readable += world.client.get(f"{API}/tokens", headers=world.admin).text
    for secret in (code, token, created):
        assert secret not in readable
    assert "[redacted]" in world.client.get(f"{API}/audit", headers=world.admin).text


def test_claim_response_is_not_cacheable(world: World) -> None:
    r = world.client.post(f"{API}/claim", json={"code": world.claim_code()})
    assert r.headers["cache-control"] == "no-store"
