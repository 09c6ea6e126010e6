"""The gateway-facing OTA endpoints: signed requests only, ETag, byte-exact objects,
idempotent and bounded status reports."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from protocol.gateway_batches import OTA_STATUS_ITEMS_MAX
from protocol.manifest import verify_signed
from protocol.release_bundle import unpack
from tests.fleet.gwsim import API, GatewaySim, World
from tests.fleet.ota_helpers import (
    NEW,
    item,
    kid,
    ota_get,
    ota_status,
    public_pem,
    release_key,
    rollout_on_gw_a,
    sha,
    signed_bundle,
)

ALL_AT_ONCE = [{"percent": 100, "success": 1, "error": 1}]


@pytest.fixture
def rolled(world: World, operator: dict[str, str]) -> dict[str, Any]:
    return rollout_on_gw_a(world, operator, nodes=3, groups=ALL_AT_ONCE, name="all")


def test_ota_document_lists_targets_and_keys_with_an_etag(
    world: World, rolled: dict[str, Any]
) -> None:
    r = ota_get(world.client, world.gw_a)
    assert r.status_code == 200
    doc = r.json()
    assert doc["keys"] == [{"kid": kid(release_key()), "pem": public_pem(release_key())}]
    rel = rolled["release"]
    assert sorted(t["node_id"] for t in doc["targets"]) == sorted(rolled["nodes"])
    t = doc["targets"][0]
    assert (t["release_id"], t["ver"], t["hw"], t["mh"]) == (
        rel["id"],
        NEW,
        "emu-x64",
        rel["digest"],
    )
    etag = r.headers["etag"]
    again = ota_get(world.client, world.gw_a, etag=etag)
    assert again.status_code == 304
    assert again.content == b""
    ota_status(world.client, world.gw_a, [item(rolled["nodes"][0], "confirmed")])
    changed = ota_get(world.client, world.gw_a, etag=etag)
    assert changed.status_code == 200, "a confirmed node leaves the targets: new ETag"
    assert changed.headers["etag"] != etag
    assert len(changed.json()["targets"]) == 2


def test_unsigned_forged_and_replayed_requests_are_refused(
    world: World, rolled: dict[str, Any]
) -> None:
    rid = rolled["release"]["id"]
    for path in ("/gateway/ota", f"/gateway/releases/{rid}/manifest"):
        assert world.client.get(API + path).status_code == 401
        forger = GatewaySim("gw-a")  # right id, wrong key
        assert ota_get(world.client, forger, path=path).status_code == 401
    headers = world.gw_a.sign_headers("GET", f"{API}/gateway/ota")
    assert world.client.get(f"{API}/gateway/ota", headers=headers).status_code == 200
    assert world.client.get(f"{API}/gateway/ota", headers=headers).status_code == 401, "replay"
    r = world.client.post(f"{API}/gateway/ota/status", json={"batch_id": "x", "items": []})
    assert r.status_code == 401


def test_manifest_and_files_are_served_byte_exact(world: World, rolled: dict[str, Any]) -> None:
    rid = rolled["release"]["id"]
    r = ota_get(world.client, world.gw_a, path=f"/gateway/releases/{rid}/manifest")
    assert r.status_code == 200
    manifest = verify_signed(r.content, {kid(release_key()): release_key().public_key()})
    assert getattr(manifest, "version", None) == NEW
    assert sha(r.content) == rolled["release"]["digest"]
    assert len(r.content) == ota_get(world.client, world.gw_a).json()["targets"][0]["ml"]
    for entry in manifest.files:  # type: ignore[union-attr]
        f = ota_get(world.client, world.gw_a, path=f"/gateway/releases/{rid}/files/{entry.sha256}")
        assert f.status_code == 200
        assert (len(f.content), sha(f.content)) == (entry.size, entry.sha256)
    original = unpack(signed_bundle())
    assert sorted(e.path for e in manifest.files) == sorted(original.files)  # type: ignore[union-attr]
    missing = ota_get(world.client, world.gw_a, path=f"/gateway/releases/{rid}/files/{'0' * 64}")
    assert missing.status_code == 404


def test_a_gateway_gets_no_object_of_a_release_not_rolled_out_to_it(
    world: World, rolled: dict[str, Any]
) -> None:
    rid = rolled["release"]["id"]
    r = ota_get(world.client, world.gw_b, path=f"/gateway/releases/{rid}/manifest")
    assert r.status_code == 404
    assert ota_get(world.client, world.gw_b).json()["targets"] == []


def test_status_is_idempotent_by_batch_id(world: World, rolled: dict[str, Any]) -> None:
    node = rolled["nodes"][0]
    first = ota_status(world.client, world.gw_a, [item(node, "downloading")], batch_id="b-1")
    assert first.json() == {"batch_id": "b-1", "duplicate": False, "applied": 1, "ignored": 0}
    ota_status(world.client, world.gw_a, [item(node, "refused", why="downgrade")], "b-2")
    replay = ota_status(world.client, world.gw_a, [item(node, "downloading")], batch_id="b-1")
    assert replay.json() == {"batch_id": "b-1", "duplicate": True, "applied": 1, "ignored": 0}
    ro = world.client.get(f"{API}/rollouts/{rolled['rollout']['id']}", headers=world.admin).json()
    shown = next(n for n in ro["nodes"] if n["node_id"] == node)
    assert (shown["status"], shown["why"], shown["outcome"]) == ("refused", "downgrade", "failed")


def test_status_about_other_nodes_or_versions_is_ignored(
    world: World, rolled: dict[str, Any]
) -> None:
    stranger = world.claim(gateway="gw-b", zone=world.zone_b)["node_id"]
    items = [item(stranger, "confirmed"), item(rolled["nodes"][0], "confirmed", ver="9.9.9")]
    r = ota_status(world.client, world.gw_a, items)
    assert (r.json()["applied"], r.json()["ignored"]) == (0, 2)


def test_status_batches_are_bounded_and_validated(
    world: World, rolled: dict[str, Any], client: TestClient
) -> None:
    # a gateway's fullest batch, as the contract allows it, is one the fleet takes
    full = [item(rolled["nodes"][0], "downloading")] * OTA_STATUS_ITEMS_MAX
    assert ota_status(world.client, world.gw_a, full).status_code == 200
    over = ota_status(world.client, world.gw_a, [*full, full[0]])
    assert over.status_code == 413
    assert over.json()["detail"] == f"at most {OTA_STATUS_ITEMS_MAX} items"
    huge = [{**full[0], "why": None}] * 12_000  # past the body limit: refused while streaming
    assert ota_status(world.client, world.gw_a, huge).status_code == 413
    bad = [{**item(rolled["nodes"][0], "downloading"), "st": "exploded"}]
    assert ota_status(world.client, world.gw_a, bad).status_code == 422
