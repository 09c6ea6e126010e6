"""The gateway↔fleet contracts in protocol/ produce the shared vectors
(tests/vectors/gateway_requests.json, sealed_secrets.json): signed requests and sealed node
secrets. The gateway side (tests/gateway/test_fleet_contract_vectors.py), the fleet side
(tests/fleet/test_contract_vectors.py) and the fleet stand-in check the same vectors."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from protocol.gateway_requests import (
    decode_signature,
    sign_request,
    signing_message,
    verify_request,
)
from protocol.sealed_secrets import (
    node_secret_aad,
    open_secret,
    seal_secret,
    sealed_from_text,
    sealed_to_text,
)

VECTORS = Path(__file__).parent / "vectors"
REQUESTS = json.loads((VECTORS / "gateway_requests.json").read_text())
SEALED = json.loads((VECTORS / "sealed_secrets.json").read_text())
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(REQUESTS["signing_key_hex"]))
GATEWAY = X25519PrivateKey.from_private_bytes(bytes.fromhex(SEALED["gateway_private_hex"]))


@pytest.mark.parametrize("vec", REQUESTS["requests"], ids=lambda v: v["name"])
def test_a_signed_request_is_the_vectors_bytes_and_headers(vec: dict[str, Any]) -> None:
    body = bytes.fromhex(vec["body_hex"])
    headers = sign_request(SIGNING_KEY, vec["gateway_id"], vec["method"], vec["target"], body,
                           vec["now"])
    assert headers == vec["headers"]
    ts = vec["headers"]["X-Timestamp"]
    message = signing_message(vec["method"], vec["target"], ts, body)
    assert message.decode() == vec["message"]
    # the spec's words, independently: METHOD\nTARGET\nTIMESTAMP\nhex(sha256(body))
    spec = f"{vec['method'].upper()}\n{vec['target']}\n{ts}\n{hashlib.sha256(body).hexdigest()}"
    assert message == spec.encode()


@pytest.mark.parametrize("vec", REQUESTS["requests"], ids=lambda v: v["name"])
def test_a_vector_signature_verifies_and_a_changed_request_does_not(vec: dict[str, Any]) -> None:
    key = SIGNING_KEY.public_key()
    body = bytes.fromhex(vec["body_hex"])
    ts, sig_text = vec["headers"]["X-Timestamp"], vec["headers"]["X-Signature"]
    sig = decode_signature(sig_text)
    assert verify_request(key, vec["method"], vec["target"], ts, body, sig)
    assert not verify_request(key, vec["method"], vec["target"], ts, body + b" ", sig)
    assert not verify_request(key, vec["method"], vec["target"] + "x", ts, body, sig)
    assert not verify_request(key, vec["method"], vec["target"], ts + "1", body, sig)


def test_a_signature_decodes_from_either_base64_alphabet_padded_or_not() -> None:
    sig = bytes(range(200, 256)) + bytes(8)
    std, url = base64.b64encode(sig).decode(), base64.urlsafe_b64encode(sig).decode()
    assert std != url
    for text in (std, url, url.rstrip("="), f" {std} "):
        assert decode_signature(text) == sig
    for bad in ("", "not base64!", base64.b64encode(bytes(63)).decode()):
        with pytest.raises(ValueError, match=r"base64|bytes"):
            decode_signature(bad)


@pytest.mark.parametrize("vec", SEALED["sealed"], ids=lambda v: v["name"])
def test_a_sealed_secret_is_the_vectors_bytes_and_opens(vec: dict[str, Any]) -> None:
    eph = X25519PrivateKey.from_private_bytes(bytes.fromhex(SEALED["ephemeral_private_hex"]))
    secret = bytes.fromhex(vec["secret_hex"])
    gateway_pub = bytes.fromhex(SEALED["gateway_public_hex"])
    assert GATEWAY.public_key().public_bytes_raw() == gateway_pub
    blob = seal_secret(gateway_pub, secret, vec["node_id"], vec["key_id"], ephemeral=eph,
                       nonce=bytes.fromhex(vec["nonce_hex"]))
    assert sealed_to_text(blob) == vec["sealed"]
    assert node_secret_aad(vec["node_id"], vec["key_id"]).decode() == vec["aad"]
    assert sealed_from_text(vec["sealed"]) == blob
    assert open_secret(GATEWAY, blob, vec["node_id"], vec["key_id"]) == secret


@pytest.mark.parametrize("vec", SEALED["sealed"], ids=lambda v: v["name"])
def test_a_sealed_secret_opens_for_no_other_gateway_node_key_or_bytes(
    vec: dict[str, Any]
) -> None:
    blob = sealed_from_text(vec["sealed"])
    assert blob is not None
    node_id, key_id = vec["node_id"], vec["key_id"]
    assert open_secret(X25519PrivateKey.generate(), blob, node_id, key_id) is None
    assert open_secret(GATEWAY, blob, node_id + "x", key_id) is None
    assert open_secret(GATEWAY, blob, node_id, key_id + 1) is None
    assert open_secret(GATEWAY, blob[:-1] + bytes([blob[-1] ^ 1]), node_id, key_id) is None
    assert open_secret(GATEWAY, blob[:-1], node_id, key_id) is None
    assert open_secret(GATEWAY, bytes(len(blob)), node_id, key_id) is None  # a low-order point


def test_fresh_seals_differ_and_both_open() -> None:
    pub = GATEWAY.public_key().public_bytes_raw()
    a, b = (seal_secret(pub, bytes(32), "ang-0001", 1) for _ in range(2))
    assert a != b
    assert open_secret(GATEWAY, a, "ang-0001", 1) == open_secret(GATEWAY, b, "ang-0001", 1)
