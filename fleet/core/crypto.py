"""Cryptography of the fleet service: pure functions of bytes (docs/fleet.md specifies them).

- Secrets at rest: AES-256-GCM under the master key, bound by associated data to what they are.
- Secrets for a gateway: sealed as protocol/sealed_secrets.py says (the gateway opens them).
- Gateway requests: signed as protocol/gateway_requests.py says; verified here with a cache of
  public keys.
"""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from protocol.sealed_secrets import SEALED_LEN, node_secret_aad, seal_secret

__all__ = [
    "AT_REST_VERSION",
    "SEALED_LEN",
    "CryptoError",
    "SecretBox",
    "node_secret_aad",
    "seal_for_gateway",
    "verify_ed25519",
]

AT_REST_VERSION = 1
_NONCE = 12


class CryptoError(Exception):
    """A ciphertext failed authentication or has the wrong shape."""


class SecretBox:
    """AES-256-GCM under the master key; a blob is ``version || nonce || ciphertext+tag``."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("master key must be 32 bytes")
        self._aead = AESGCM(master_key)
        # derived keys for other uses, so the master key itself encrypts only
        self.pseudonym_key = hmac.digest(master_key, b"territoire/v1 pseudonym", "sha256")
        self.source_key = hmac.digest(master_key, b"territoire/v1 cell-source", "sha256")

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return bytes([AT_REST_VERSION]) + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < 1 + _NONCE + 16 or blob[0] != AT_REST_VERSION:
            raise CryptoError("unknown at-rest ciphertext format")
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad)
        except InvalidTag as exc:
            raise CryptoError("at-rest ciphertext failed authentication") from exc


def seal_for_gateway(gateway_x25519_pub: bytes, secret: bytes, node_id: str, key_id: int) -> bytes:
    """Encrypt a node secret so only the gateway holding the X25519 private key reads it."""
    return seal_secret(gateway_x25519_pub, secret, node_id, key_id)


_VERIFIERS: dict[bytes, Ed25519PublicKey] = {}
_VERIFIERS_MAX = 4096  # gateways are dozens; enrollment attempts could be many


def _verifier(public_key: bytes) -> Ed25519PublicKey:
    key = _VERIFIERS.get(public_key)
    if key is None:
        key = Ed25519PublicKey.from_public_bytes(public_key)
        if len(_VERIFIERS) >= _VERIFIERS_MAX:
            _VERIFIERS.clear()
        _VERIFIERS[public_key] = key
    return key


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        _verifier(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
