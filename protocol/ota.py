"""The four over-the-air update messages (docs/protocol.md, "Over-the-air updates").

Offer and chunk go gateway -> node on the ``cmd`` topic, request and progress node -> gateway
on the ``ota`` topic; all are signed with the node's secret like every other message. Pure
functions of bytes and values; decoding never raises on input, it returns a :class:`Reject`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from protocol.codec import Reject, _header, _is_int, _json_str

__all__ = [
    "CHUNK_MAX",
    "PROGRESS_STATES",
    "REASONS",
    "Chunk",
    "Offer",
    "Progress",
    "Request",
    "chunk_hash",
    "decode_chunk",
    "decode_offer",
    "decode_progress",
    "decode_request",
    "encode_chunk",
    "encode_offer",
    "encode_progress",
    "encode_request",
]

CHUNK_MAX = 512  # bytes of one chunk: with base64 and the header, a chunk fits 1024 bytes
OBJECT_MAX = 64 * 1024  # a manifest (<= 8 KiB) or a file (<= MAX_FILE_BYTES)
PROGRESS_STATES = ("downloading", "switching", "confirmed", "rolled_back", "refused")
REASONS = (
    "malformed",
    "too_large",
    "unknown_key",
    "bad_signature",
    "wrong_hw",
    "expired",
    "downgrade",
    "secver",
    "bad_hash",
    "no_space",
    "no_time",
    "trial_failed",
)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_VERSION = re.compile(r"^[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}$")
_B64URL43 = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True, slots=True)
class Offer:
    node_id: str
    key_id: int
    t: int
    ver: str
    mh: str  # manifest digest (SHA-256 hex of the signed manifest)
    ml: int  # manifest length


@dataclass(frozen=True, slots=True)
class Request:
    node_id: str
    key_id: int
    t: int
    h: str  # object: a manifest digest or a file's SHA-256
    o: int
    length: int


@dataclass(frozen=True, slots=True)
class Chunk:
    node_id: str
    key_id: int
    t: int
    h: str
    o: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Progress:
    node_id: str
    key_id: int
    t: int
    ver: str
    st: str
    why: str


def chunk_hash(data: bytes) -> str:
    """b64url(SHA-256(data)) without padding: a chunk's own hash."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _head(kind: str, node_id: str, key_id: int, t: int) -> str:
    return '{"y":"%s","n":%s,"k":%d,"t":%d' % (kind, _json_str(node_id), key_id, t)


def encode_offer(node_id: str, key_id: int, t: int, ver: str, mh: str, ml: int) -> bytes:
    return (
        _head("o", node_id, key_id, t) + ',"ver":%s,"mh":"%s","ml":%d}' % (_json_str(ver), mh, ml)
    ).encode()


def encode_request(node_id: str, key_id: int, t: int, h: str, o: int, length: int) -> bytes:
    return (_head("q", node_id, key_id, t) + ',"h":"%s","o":%d,"l":%d}' % (h, o, length)).encode()


def encode_chunk(node_id: str, key_id: int, t: int, h: str, o: int, data: bytes) -> bytes:
    b = base64.b64encode(data).decode()
    return (
        _head("d", node_id, key_id, t)
        + ',"h":"%s","o":%d,"ch":"%s","b":"%s"}' % (h, o, chunk_hash(data), b)
    ).encode()


def encode_progress(node_id: str, key_id: int, t: int, ver: str, st: str, why: str = "") -> bytes:
    return (
        _head("p", node_id, key_id, t)
        + ',"ver":%s,"st":%s,"why":%s}' % (_json_str(ver), _json_str(st), _json_str(why))
    ).encode()


def _object_range(obj: dict[str, Any]) -> Reject | None:
    h, o = obj.get("h"), obj.get("o")
    if not isinstance(h, str) or not _HEX64.match(h):
        return Reject("malformed", "bad object hash")
    if not _is_int(o) or not 0 <= o < OBJECT_MAX:
        return Reject("malformed", "bad offset")
    return None


def decode_offer(obj: dict[str, Any]) -> Offer | Reject:
    bad = _header(obj, "o")
    if bad is not None:
        return bad
    ver, mh, ml = obj.get("ver"), obj.get("mh"), obj.get("ml")
    if not isinstance(ver, str) or not _VERSION.match(ver):
        return Reject("malformed", "bad version")
    if not isinstance(mh, str) or not _HEX64.match(mh) or not _is_int(ml) or not 0 < ml <= 8192:
        return Reject("malformed", "bad manifest reference")
    return Offer(obj["n"], obj["k"], obj["t"], ver, mh, ml)


def decode_request(obj: dict[str, Any]) -> Request | Reject:
    bad = _header(obj, "q") or _object_range(obj)
    if bad is not None:
        return bad
    length = obj.get("l")
    if not _is_int(length) or not 0 < length <= CHUNK_MAX:
        return Reject("malformed", f"length must be 1..{CHUNK_MAX}")
    return Request(obj["n"], obj["k"], obj["t"], obj["h"], obj["o"], length)


def decode_chunk(obj: dict[str, Any]) -> Chunk | Reject:
    bad = _header(obj, "d") or _object_range(obj)
    if bad is not None:
        return bad
    ch, b = obj.get("ch"), obj.get("b")
    if not isinstance(ch, str) or not _B64URL43.match(ch) or not isinstance(b, str):
        return Reject("malformed", "bad chunk fields")
    try:
        data = base64.b64decode(b, validate=True)
    except ValueError:
        return Reject("malformed", "chunk is not base64")
    if not 0 < len(data) <= CHUNK_MAX or chunk_hash(data) != ch:
        return Reject("bad_hash", "chunk does not match its hash")
    return Chunk(obj["n"], obj["k"], obj["t"], obj["h"], obj["o"], data)


def decode_progress(obj: dict[str, Any]) -> Progress | Reject:
    bad = _header(obj, "p")
    if bad is not None:
        return bad
    ver, st, why = obj.get("ver"), obj.get("st"), obj.get("why")
    if not isinstance(ver, str) or not _VERSION.match(ver):
        return Reject("malformed", "bad version")
    if st not in PROGRESS_STATES:
        return Reject("malformed", "bad progress state")
    if not isinstance(why, str) or (why and why not in REASONS):
        return Reject("malformed", "bad reason")
    return Progress(obj["n"], obj["k"], obj["t"], ver, st, why)
