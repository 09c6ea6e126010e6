"""Cryptography of the fleet service: pure functions of bytes (docs/fleet.md specifies them).

- Secrets at rest: AES-256-GCM under the master key, bound by associated data to what they are.
- Secrets for a gateway: X25519 ECDH with a fresh ephemeral key, HKDF-SHA256, AES-256-GCM.
- Gateway requests: Ed25519 over ``METHOD\\nTARGET\\nTIMESTAMP\\nhex(sha256(body))``.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "AT_REST_VERSION",
    "SEALED_LEN",
    "CryptoError",
    "SecretBox",
    "node_secret_aad",
    "open_sealed_secret",
    "pseudonym",
    "seal_for_gateway",
    "signing_message",
    "verify_ed25519",
]

AT_REST_VERSION = 1
_NONCE = 12
_SEAL_INFO = b"territoire/v1 node-secret"
# ephemeral X25519 public key (32) + nonce (12) + secret (32) + GCM tag (16)
SEALED_LEN = 32 + _NONCE + 32 + 16


class CryptoError(Exception):
    """A ciphertext failed authentication or has the wrong shape."""


def node_secret_aad(node_id: str, key_id: int) -> bytes:
    """What a node secret ciphertext is bound to: swapping two ciphertexts fails to decrypt."""
    return b"territoire/v1 node-secret|%s|%d" % (node_id.encode(), key_id)


class SecretBox:
    """AES-256-GCM under the master key; a blob is ``version || nonce || ciphertext+tag``."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("master key must be 32 bytes")
        self._aead = AESGCM(master_key)
        # derived keys for other uses, so the master key itself encrypts only
        self.pseudonym_key = hmac.digest(master_key, b"territoire/v1 pseudonym", "sha256")

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


def _seal_key(shared: bytes, eph_pub: bytes, gw_pub: bytes, aad: bytes) -> bytes:
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=eph_pub + gw_pub, info=_SEAL_INFO + b"|" + aad)
    return hkdf.derive(shared)


def seal_for_gateway(gateway_x25519_pub: bytes, secret: bytes, node_id: str, key_id: int) -> bytes:
    """Encrypt a node secret so only the gateway holding the X25519 private key reads it."""
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes_raw()
    shared = eph.exchange(X25519PublicKey.from_public_bytes(gateway_x25519_pub))
    aad = node_secret_aad(node_id, key_id)
    key = _seal_key(shared, eph_pub, gateway_x25519_pub, aad)
    nonce = os.urandom(_NONCE)
    return eph_pub + nonce + AESGCM(key).encrypt(nonce, secret, aad)


def open_sealed_secret(
    gateway_x25519_private: X25519PrivateKey, sealed: bytes, node_id: str, key_id: int
) -> bytes:
    """The gateway side of ``seal_for_gateway`` (reference for implementers and tests)."""
    if len(sealed) != SEALED_LEN:
        raise CryptoError("sealed secret has the wrong length")
    eph_pub, nonce, ct = sealed[:32], sealed[32 : 32 + _NONCE], sealed[32 + _NONCE :]
    gw_pub = gateway_x25519_private.public_key().public_bytes_raw()
    shared = gateway_x25519_private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    aad = node_secret_aad(node_id, key_id)
    try:
        return AESGCM(_seal_key(shared, eph_pub, gw_pub, aad)).decrypt(nonce, ct, aad)
    except InvalidTag as exc:
        raise CryptoError("sealed secret failed authentication") from exc


def signing_message(method: str, target: str, timestamp: str, body: bytes) -> bytes:
    """The exact bytes a gateway signs: method, request target, timestamp, body hash."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{target}\n{timestamp}\n{digest}".encode()


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


def pseudonym(key: bytes, node_id: str, period: int) -> str:
    """A public identifier for a node that changes every period and links to nothing else."""
    mac = hmac.digest(key, b"%d|%s" % (period, node_id.encode()), "sha256")
    return "s-" + mac[:8].hex()
