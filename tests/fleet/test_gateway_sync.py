"""Gateway enrollment, signed requests and incremental sync."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.exceptions import InvalidTag
from fastapi.testclient import TestClient

from tests.fleet.gwsim import API, GatewaySim, World


def test_first_sync_delivers_own_nodes_with_secrets_sealed_to_the_gateway(world: World) -> None:
    a = world.claim(gateway="gw-a")
    r = world.gw_a.sync(world.client)
    assert r.status_code == 200
    body = r.json()
    assert body["reset"] is True
    assert body["more"] is False
    [node] = body["nodes"]
    assert node["node_id"] == a["node_id"]
    assert node["zone_id"] == world.zone
    [key] = node["keys"]
    assert world.gw_a.open_secret(key["sealed"], a["node_id"], 1).hex() == a["secret"]


def test_gateway_never_sees_another_gateways_nodes(world: World) -> None:
    a = world.claim(gateway="gw-a")
    b = world.claim(gateway="gw-b")
    seen_a = {n["node_id"] for n in world.gw_a.sync(world.client).json()["nodes"]}
    seen_b = {n["node_id"] for n in world.gw_b.sync(world.client).json()["nodes"]}
    assert seen_a == {a["node_id"]}
    assert seen_b == {b["node_id"]}
    assert b["secret"] not in world.gw_a.sync(world.client).text


def test_sealed_secret_does_not_open_with_another_gateways_key(world: World) -> None:
    a = world.claim(gateway="gw-a")
    key = world.gw_a.sync(world.client).json()["nodes"][0]["keys"][0]
    with pytest.raises(InvalidTag):
        world.gw_b.open_secret(key["sealed"], a["node_id"], 1)


def test_sync_is_incremental_and_idle_sync_is_304(world: World) -> None:
    world.claim()
    first = world.gw_a.sync(world.client)
    cursor, etag = first.json()["cursor"], first.headers["etag"]
    idle = world.gw_a.sync(world.client, cursor=cursor)
    assert idle.status_code == 200
    assert idle.json()["nodes"] == []
    idle_etag = idle.headers["etag"]
    not_modified = world.gw_a.sync(world.client, cursor=cursor, etag=idle_etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    second = world.claim()
    changed = world.gw_a.sync(world.client, cursor=cursor, etag=idle_etag)
    assert changed.status_code == 200
    assert [n["node_id"] for n in changed.json()["nodes"]] == [second["node_id"]]
    assert changed.json()["reset"] is False
    assert etag != changed.headers["etag"]


def test_revoked_node_secret_is_gone_from_next_sync(world: World) -> None:
    a = world.claim()
    cursor = world.gw_a.sync(world.client).json()["cursor"]
    world.client.post(f"{API}/nodes/{a['node_id']}/revoke", headers=world.admin)
    r = world.gw_a.sync(world.client, cursor=cursor)
    [node] = r.json()["nodes"]
    assert node == {
        "node_id": a["node_id"],
        "removed": False,
        "revoked": True,
        "zone_id": world.zone,
        "keys": [],
        "interval_s": None,
    }
    full = world.gw_a.sync(world.client, cursor=0).json()["nodes"]
    assert full[0]["keys"] == []
    assert full[0]["revoked"] is True


def test_node_moved_to_another_gateway_is_removed_from_the_first(world: World) -> None:
    a = world.claim(gateway="gw-a")
    cursor_a = world.gw_a.sync(world.client).json()["cursor"]
    r = world.client.patch(
        f"{API}/nodes/{a['node_id']}", json={"gateway_id": "gw-b"}, headers=world.admin
    )
    assert r.status_code == 200, r.text
    removed = world.gw_a.sync(world.client, cursor=cursor_a).json()["nodes"]
    assert removed == [
        {
            "node_id": a["node_id"],
            "removed": True,
            "revoked": False,
            "zone_id": None,
            "keys": [],
            "interval_s": None,
        }
    ]
    [gained] = world.gw_b.sync(world.client).json()["nodes"]
    assert world.gw_b.open_secret(gained["keys"][0]["sealed"], a["node_id"], 1).hex() == a["secret"]


def test_sync_pages_when_many_nodes_changed(world: World, client: TestClient) -> None:
    client.app.state.settings.sync_page_max = 3  # type: ignore[attr-defined]
    for _ in range(7):
        world.claim()
    seen: list[str] = []
    cursor, pages = 0, 0
    while True:
        body = world.gw_a.sync(client, cursor=cursor).json()
        seen += [n["node_id"] for n in body["nodes"]]
        cursor, pages = body["cursor"], pages + 1
        if not body["more"]:
            break
    assert pages == 3
    assert sorted(seen) == [f"ang-{i:04d}" for i in range(1, 8)]


def test_cursor_from_the_future_triggers_a_full_resync(world: World) -> None:
    world.claim()
    body = world.gw_a.sync(world.client, cursor=10_000).json()
    assert body["reset"] is True
    assert len(body["nodes"]) == 1


def test_bad_signature_is_refused(world: World) -> None:
    target = f"{API}/gateway/sync?cursor=0"
    headers = world.gw_a.sign_headers("GET", target)
    forged = GatewaySim("gw-a").sign_headers("GET", target, ts=headers["X-Timestamp"])
    r = world.client.get(target, headers=forged)
    assert r.status_code == 401
    assert r.json()["detail"] == "bad signature"


def test_signature_over_another_path_or_query_is_refused(world: World) -> None:
    headers = world.gw_a.sign_headers("GET", f"{API}/gateway/sync?cursor=5")
    r = world.client.get(f"{API}/gateway/sync?cursor=0", headers=headers)
    assert r.status_code == 401


def test_expired_timestamp_is_refused(world: World) -> None:
    target = f"{API}/gateway/sync?cursor=0"
    for skew in (-301, 301):
        headers = world.gw_a.sign_headers("GET", target, ts=str(int(time.time()) + skew))
        r = world.client.get(target, headers=headers)
        assert r.status_code == 401
        assert "window" in r.json()["detail"]


def test_replayed_request_is_refused(world: World) -> None:
    target = f"{API}/gateway/sync?cursor=0"
    headers = world.gw_a.sign_headers("GET", target)
    assert world.client.get(target, headers=headers).status_code == 200
    replay = world.client.get(target, headers=headers)
    assert replay.status_code == 401
    assert replay.json()["detail"] == "replayed request"


def test_missing_or_malformed_signature_headers_are_refused(world: World) -> None:
    target = f"{API}/gateway/sync?cursor=0"
    assert world.client.get(target).status_code == 401
    good = world.gw_a.sign_headers("GET", target)
    for name, value in (
        ("X-Signature", "not base64!"),
        ("X-Timestamp", "yesterday"),
        ("X-Gateway-Id", "GW A"),
    ):
        r = world.client.get(target, headers={**good, name: value})
        assert r.status_code == 401, (name, r.text)


def test_unknown_gateway_is_refused(world: World) -> None:
    r = GatewaySim("gw-zz").sync(world.client)
    assert r.status_code == 401


def test_revoked_gateway_is_refused(world: World) -> None:
    world.client.post(f"{API}/gateways/gw-a/revoke", headers=world.admin)
    assert world.gw_a.sync(world.client).status_code == 403


def test_enrollment_token_works_once(client: TestClient, admin: dict[str, str]) -> None:
    token = client.post(f"{API}/gateways", json={"id": "gw-c", "name": "C"}, headers=admin).json()[
        "enroll_token"
    ]
    sim = GatewaySim("gw-c")
    assert sim.enroll(client, token).status_code == 200
    thief = GatewaySim("gw-c")
    r = thief.enroll(client, token)
    assert r.status_code == 403
    assert sim.sync(client).status_code == 200
    assert thief.sync(client).status_code == 401


def test_enrollment_must_be_signed_by_the_enrolled_key(
    client: TestClient, admin: dict[str, str]
) -> None:
    token = client.post(f"{API}/gateways", json={"id": "gw-d", "name": "D"}, headers=admin).json()[
        "enroll_token"
    ]
    claimant, signer = GatewaySim("gw-d"), GatewaySim("gw-d")
    body = json.dumps(
        {
            "token": token,
            "ed25519_public_key": claimant.ed.public_key().public_bytes_raw().hex(),
            "x25519_public_key": claimant.x.public_key().public_bytes_raw().hex(),
        }
    ).encode()
    target = f"{API}/gateway/enroll"
    headers = {**signer.sign_headers("POST", target, body), "Content-Type": "application/json"}
    assert client.post(target, content=body, headers=headers).status_code == 401
    # the refused attempt did not use up the token
    assert claimant.enroll(client, token).status_code == 200


def test_reenrollment_replaces_keys(world: World, client: TestClient) -> None:
    token = client.post(f"{API}/gateways/gw-a/enroll-token", headers=world.admin).json()[
        "enroll_token"
    ]
    fresh = GatewaySim("gw-a")
    assert fresh.enroll(client, token).status_code == 200
    assert world.gw_a.sync(client).status_code == 401
    assert fresh.sync(client).status_code == 200
