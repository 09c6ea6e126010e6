"""The fleet's side of its contracts with gateways checks the shared vectors
(tests/vectors/gateway_requests.json, sealed_secrets.json): it accepts the vector requests
signed by the vector gateway, refuses them changed or replayed, and seals node secrets that the
vector gateway opens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fleet.core.crypto import SEALED_LEN, node_secret_aad, seal_for_gateway
from fleet.core.signatures import (
    ReplayCache,
    SignatureRefused,
    check_signature,
    parse_signed_request,
)
from protocol.sealed_secrets import open_secret

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
REQUESTS = json.loads((VECTORS / "gateway_requests.json").read_text())
SEALED = json.loads((VECTORS / "sealed_secrets.json").read_text())
PUBLIC = bytes.fromhex(REQUESTS["public_key_hex"])


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}  # as Starlette hands them over


@pytest.mark.parametrize("vec", REQUESTS["requests"], ids=lambda v: v["name"])
def test_the_fleet_accepts_a_vector_request_once(vec: dict[str, Any]) -> None:
    body = bytes.fromhex(vec["body_hex"])
    req = parse_signed_request(_lower(vec["headers"]), vec["method"].upper(), vec["target"], body)
    assert req.gateway_id == vec["gateway_id"]
    assert req.message.decode() == vec["message"]
    replay = ReplayCache(16)
    check_signature(req, public_key=PUBLIC, now=vec["now"] + 1, skew_s=300, replay=replay)
    with pytest.raises(SignatureRefused, match="replayed"):
        check_signature(req, public_key=PUBLIC, now=vec["now"] + 2, skew_s=300, replay=replay)


@pytest.mark.parametrize("vec", REQUESTS["requests"], ids=lambda v: v["name"])
def test_the_fleet_refuses_a_changed_vector_request(vec: dict[str, Any]) -> None:
    body = bytes.fromhex(vec["body_hex"])
    headers = _lower(vec["headers"])
    changed = parse_signed_request(headers, vec["method"].upper(), vec["target"], body + b"\n")
    with pytest.raises(SignatureRefused, match="bad signature"):
        check_signature(changed, public_key=PUBLIC, now=vec["now"], skew_s=300,
                        replay=ReplayCache(16))
    req = parse_signed_request(headers, vec["method"].upper(), vec["target"], body)
    with pytest.raises(SignatureRefused, match="window"):
        check_signature(req, public_key=PUBLIC, now=vec["now"] + 301, skew_s=300,
                        replay=ReplayCache(16))


@pytest.mark.parametrize("vec", SEALED["sealed"], ids=lambda v: v["name"])
def test_the_fleet_seals_what_the_vector_gateway_opens(vec: dict[str, Any]) -> None:
    gateway = X25519PrivateKey.from_private_bytes(bytes.fromhex(SEALED["gateway_private_hex"]))
    secret = bytes.fromhex(vec["secret_hex"])
    assert node_secret_aad(vec["node_id"], vec["key_id"]).decode() == vec["aad"]
    blob = seal_for_gateway(bytes.fromhex(SEALED["gateway_public_hex"]), secret, vec["node_id"],
                            vec["key_id"])
    assert len(blob) == SEALED_LEN
    assert open_secret(gateway, blob, vec["node_id"], vec["key_id"]) == secret
    assert open_secret(gateway, blob, vec["node_id"], vec["key_id"] + 1) is None
