"""The gateway's side of its contracts with the fleet checks the shared vectors
(tests/vectors/gateway_requests.json, sealed_secrets.json): the headers it signs its requests
with, and the node secrets it opens from a sync page into its registry. The fleet stand-in
(tools/fleet_standin.py) checks the same signed requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.fleet_client import Identity, apply_sync_page, open_sealed_secret, signed_headers
from gateway.store import Store
from hil_tests.fleet_standin import FleetStandIn

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
REQUESTS = json.loads((VECTORS / "gateway_requests.json").read_text())
SEALED = json.loads((VECTORS / "sealed_secrets.json").read_text())
SIGNING = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(REQUESTS["signing_key_hex"]))
SEALING = X25519PrivateKey.from_private_bytes(bytes.fromhex(SEALED["gateway_private_hex"]))


@pytest.mark.parametrize("vec", REQUESTS["requests"], ids=lambda v: v["name"])
def test_the_gateway_signs_a_request_with_the_vectors_headers(vec: dict[str, Any]) -> None:
    identity = Identity(vec["gateway_id"], SIGNING, SEALING)
    headers = signed_headers(identity, vec["method"], vec["target"],
                             bytes.fromhex(vec["body_hex"]), vec["now"])
    assert headers == vec["headers"]


@pytest.mark.parametrize("vec", SEALED["sealed"], ids=lambda v: v["name"])
def test_the_gateway_opens_a_vector_secret_and_only_for_its_node(vec: dict[str, Any]) -> None:
    secret = bytes.fromhex(vec["secret_hex"])
    assert open_sealed_secret(SEALING, vec["sealed"], vec["node_id"], vec["key_id"]) == secret
    assert open_sealed_secret(SEALING, vec["sealed"], "ang-9999", vec["key_id"]) is None
    assert open_sealed_secret(SEALING, "%%% not base64", vec["node_id"], vec["key_id"]) is None


def test_a_sync_page_of_vector_secrets_lands_in_the_registry(tmp_path: Path) -> None:
    store = Store(tmp_path / "gw.db", SEALING)
    try:
        first, rotated = SEALED["sealed"]
        page = {
            "cursor": 5,
            "nodes": [
                {"node_id": first["node_id"], "zone_id": "centre",
                 "keys": [{"key_id": first["key_id"], "sealed": first["sealed"]},
                          # sealed for another node: refused, never trusted
                          {"key_id": rotated["key_id"], "sealed": rotated["sealed"]}]},
                {"node_id": rotated["node_id"], "zone_id": "doutre",
                 "keys": [{"key_id": rotated["key_id"], "sealed": rotated["sealed"],
                           "expires_at": 1900000000}]},
            ],
        }
        result = apply_sync_page(store, SEALING, page)
        assert (result.cursor, result.changed, result.refused_secrets) == (5, 2, 1)
        nodes = {n.node_id: n for n in store.nodes()}
        assert nodes[first["node_id"]].keys == {first["key_id"]: bytes.fromhex(first["secret_hex"])}
        assert nodes[rotated["node_id"]].keys == {
            rotated["key_id"]: bytes.fromhex(rotated["secret_hex"])
        }
        assert nodes[rotated["node_id"]].expires == {rotated["key_id"]: 1900000000}
    finally:
        store.close()


def test_the_fleet_standin_takes_the_vector_requests_and_refuses_changed_ones() -> None:
    with FleetStandIn(SIGNING.public_key()) as fleet, httpx.Client(base_url=fleet.url) as client:
        answers = []
        for vec in REQUESTS["requests"]:
            body = bytes.fromhex(vec["body_hex"])
            # the stand-in reads the method from the request line, as a server does
            r = client.request(vec["method"].upper(), vec["target"], content=body or None,
                               headers=vec["headers"])
            answers.append(r.status_code)
        assert fleet.state.refused == 0
        assert answers == [304, 200, 200]  # sync: nothing new; ingest and OTA status: taken
        sync = REQUESTS["requests"][0]
        r = client.get(sync["target"] + "0", headers=sync["headers"])
        assert r.status_code == 401
        ingest = REQUESTS["requests"][1]
        r = client.post(ingest["target"], content=b"{}", headers=ingest["headers"])
        assert r.status_code == 401
        assert fleet.state.refused == 2
