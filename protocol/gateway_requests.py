"""Gateway → fleet request signatures, once for both sides (docs/protocol.md, "Gateway
requests"; vectors in tests/vectors/gateway_requests.json).

A gateway signs ``METHOD\\nTARGET\\nTIMESTAMP\\nhex(sha256(body))`` with its Ed25519 key and
sends it in three headers. The timestamp has a fraction: Ed25519 is deterministic, so two
identical requests in one second would otherwise carry the same signature, and the fleet refuses
a signature it has seen (a replay). The fleet adds its time window and replay cache
(fleet/core/signatures.py); this module is only the bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "GATEWAY_ID_HEADER",
    "SIGNATURE_BYTES",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "decode_signature",
    "sign_request",
    "signing_message",
    "timestamp_text",
    "verify_request",
]

GATEWAY_ID_HEADER = "X-Gateway-Id"
TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
SIGNATURE_BYTES = 64


def timestamp_text(now: float) -> str:
    """Unix seconds with six decimals, as the gateway sends them."""
    return f"{now:.6f}"


def signing_message(method: str, target: str, timestamp: str, body: bytes) -> bytes:
    """The exact bytes a gateway signs: method, request target (path and query), timestamp,
    body hash."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{target}\n{timestamp}\n{digest}".encode()


def sign_request(
    key: Ed25519PrivateKey, gateway_id: str, method: str, target: str, body: bytes, now: float
) -> dict[str, str]:
    """The three headers of a signed request (the signature in standard base64)."""
    ts = timestamp_text(now)
    signature = key.sign(signing_message(method, target, ts, body))
    return {
        GATEWAY_ID_HEADER: gateway_id,
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
    }


def decode_signature(text: str) -> bytes:
    """The signature header's bytes, from standard or URL-safe base64, padded or not.

    Raises ValueError when it is not base64 of 64 bytes."""
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(
            text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4)
        )
    except binascii.Error as exc:
        raise ValueError("not base64") from exc
    if len(raw) != SIGNATURE_BYTES:
        raise ValueError(f"not {SIGNATURE_BYTES} bytes")
    return raw


def verify_request(
    key: Ed25519PublicKey, method: str, target: str, timestamp: str, body: bytes, signature: bytes
) -> bool:
    """True when ``signature`` is the gateway's over this request."""
    try:
        key.verify(signature, signing_message(method, target, timestamp, body))
    except InvalidSignature:
        return False
    return True
