"""Gateway request signatures: header parsing, the time window and a replay cache.

A gateway signs ``METHOD\\nTARGET\\nTIMESTAMP\\nhex(sha256(body))`` with its Ed25519 key
(protocol/gateway_requests.py, the contract both sides use) and sends X-Gateway-Id, X-Timestamp,
X-Signature.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from fleet.core.crypto import verify_ed25519
from protocol.gateway_requests import decode_signature, signing_message

__all__ = [
    "ReplayCache",
    "SignatureRefused",
    "SignedRequest",
    "check_signature",
    "parse_signed_request",
]

# unix seconds with an optional fraction: a fraction lets a gateway sign twice in one second
_TIMESTAMP = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
_GATEWAY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,31}$")


class SignatureRefused(Exception):
    """The request is not a valid gateway request; the message says why (no secret in it)."""


@dataclass(frozen=True, slots=True)
class SignedRequest:
    gateway_id: str
    timestamp: str
    signature: bytes
    message: bytes  # what the signature must cover
    body: bytes


def parse_signed_request(
    headers: Mapping[str, str], method: str, target: str, body: bytes
) -> SignedRequest:
    gateway_id = headers.get("x-gateway-id", "")
    timestamp = headers.get("x-timestamp", "")
    signature_text = headers.get("x-signature", "")
    if not gateway_id or not timestamp or not signature_text:
        raise SignatureRefused("missing X-Gateway-Id, X-Timestamp or X-Signature")
    if not _GATEWAY_ID.match(gateway_id):
        raise SignatureRefused("malformed X-Gateway-Id")
    if not _TIMESTAMP.match(timestamp):
        raise SignatureRefused("malformed X-Timestamp (unix seconds, optional .fraction)")
    if len(signature_text) > 100:
        raise SignatureRefused("malformed X-Signature")
    try:
        signature = decode_signature(signature_text)
    except ValueError as exc:
        raise SignatureRefused("malformed X-Signature (base64 of 64 bytes)") from exc
    message = signing_message(method, target, timestamp, body)
    return SignedRequest(gateway_id, timestamp, signature, message, body)


class ReplayCache:
    """Signatures seen within the time window; a signature is accepted once per process.

    Only verified signatures enter, so a flood of forgeries cannot fill it. When full, the
    oldest entries go first (they are the closest to leaving the window anyway).
    """

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._seen: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def first_time(self, signature: bytes, expires_at: float, now: float) -> bool:
        with self._lock:
            if signature in self._seen and self._seen[signature] > now:
                return False
            if len(self._seen) >= self._max:
                for sig in [s for s, exp in self._seen.items() if exp <= now]:
                    del self._seen[sig]
                while len(self._seen) >= self._max:
                    del self._seen[next(iter(self._seen))]
            self._seen[signature] = expires_at
            return True


def check_signature(
    req: SignedRequest,
    *,
    public_key: bytes,
    now: float,
    skew_s: int,
    replay: ReplayCache,
) -> None:
    """Raise SignatureRefused unless the signature is valid, fresh and not seen before."""
    ts = float(req.timestamp)
    if abs(now - ts) > skew_s:
        raise SignatureRefused("X-Timestamp outside the accepted window (check the clock)")
    if not verify_ed25519(public_key, req.message, req.signature):
        raise SignatureRefused("bad signature")
    if not replay.first_time(req.signature, ts + skew_s, now):
        raise SignatureRefused("replayed request")
