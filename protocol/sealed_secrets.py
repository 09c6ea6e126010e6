"""Node secrets sealed by the fleet for one gateway, once for both sides (docs/protocol.md,
"Sealed node secrets"; vectors in tests/vectors/sealed_secrets.json).

X25519 between a fresh ephemeral key and the gateway's key, HKDF-SHA256 (salt: both public keys;
info: the label and the associated data), AES-256-GCM with the associated data
``territoire/v1 node-secret|<node id>|<key id>``: a blob opens only for that gateway, that node
and that key id. On the wire (the fleet's sync page) a blob is unpadded URL-safe base64 of
``ephemeral public key (32) || nonce (12) || ciphertext + tag (32 + 16)``.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "NONCE_BYTES",
    "SEALED_LEN",
    "SEAL_LABEL",
    "node_secret_aad",
    "open_secret",
    "seal_secret",
    "sealed_from_text",
    "sealed_to_text",
]

SEAL_LABEL = b"territoire/v1 node-secret"
NONCE_BYTES = 12
SECRET_BYTES = 32
SEALED_LEN = 32 + NONCE_BYTES + SECRET_BYTES + 16  # + the GCM tag


def node_secret_aad(node_id: str, key_id: int) -> bytes:
    """What a node secret's ciphertext is bound to: swapping two ciphertexts fails to open.
    (The fleet binds its at-rest copies to the same bytes.)"""
    return b"%s|%s|%d" % (SEAL_LABEL, node_id.encode(), key_id)


def _key(shared: bytes, eph_pub: bytes, gateway_pub: bytes, aad: bytes) -> bytes:
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=eph_pub + gateway_pub,
                info=SEAL_LABEL + b"|" + aad)
    return hkdf.derive(shared)


def seal_secret(
    gateway_pub: bytes,
    secret: bytes,
    node_id: str,
    key_id: int,
    *,
    ephemeral: X25519PrivateKey | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """Seal ``secret`` so only the holder of the gateway's X25519 private key opens it.
    ``ephemeral`` and ``nonce`` are fresh unless given (the vectors fix them; nothing else
    should)."""
    eph = ephemeral if ephemeral is not None else X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes_raw()
    shared = eph.exchange(X25519PublicKey.from_public_bytes(gateway_pub))
    aad = node_secret_aad(node_id, key_id)
    iv = nonce if nonce is not None else os.urandom(NONCE_BYTES)
    if len(iv) != NONCE_BYTES:
        raise ValueError(f"the nonce must be {NONCE_BYTES} bytes")
    return eph_pub + iv + AESGCM(_key(shared, eph_pub, gateway_pub, aad)).encrypt(iv, secret, aad)


def open_secret(
    gateway: X25519PrivateKey, sealed: bytes, node_id: str, key_id: int
) -> bytes | None:
    """The secret, or None when the blob is not a secret sealed for this gateway, node and key."""
    if len(sealed) != SEALED_LEN:
        return None
    eph_pub, nonce, ct = sealed[:32], sealed[32 : 32 + NONCE_BYTES], sealed[32 + NONCE_BYTES :]
    gateway_pub = gateway.public_key().public_bytes_raw()
    try:
        shared = gateway.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError:  # a low-order point: not from the fleet
        return None
    aad = node_secret_aad(node_id, key_id)
    try:
        return AESGCM(_key(shared, eph_pub, gateway_pub, aad)).decrypt(nonce, ct, aad)
    except InvalidTag:
        return None


def sealed_to_text(blob: bytes) -> str:
    """A sealed blob as the sync page carries it: URL-safe base64, unpadded."""
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode()


def sealed_from_text(text: str) -> bytes | None:
    """The blob of a sync page's ``sealed`` field, or None when it is not base64."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
