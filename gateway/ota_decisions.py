"""Over-the-air relay decisions (docs/ota.md, "Gateway cache and relay"). Pure functions of
values: what the fleet's OTA document says, which nodes are due an offer, whether a node's
request may be served. The disk cache is gateway/ota_cache.py, the I/O shell
gateway/ota_relay.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from gateway.ingest import NodeEntry
from protocol import manifest as mf
from protocol.codec import (
    MAX_MESSAGE_BYTES,
    Reject,
    mac_matches,
    parse_body,
    split_signed,
    valid_node_id,
)
from protocol.ota import CHUNK_MAX, Progress, Request

__all__ = [
    "TERMINAL",
    "Bucket",
    "OtaDocument",
    "Target",
    "authenticate",
    "due_offers",
    "judge_request",
    "parse_document",
    "progress_item",
    "release_objects",
]

TERMINAL = ("confirmed", "rolled_back", "refused")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True, slots=True)
class Target:
    """The release a node should run now (the fleet's rollout engine decided)."""

    node_id: str
    release_id: int
    ver: str
    hw: str
    mh: str
    ml: int


@dataclass(frozen=True, slots=True)
class OtaDocument:
    keys: Mapping[str, rsa.RSAPublicKey]
    targets: tuple[Target, ...]


def _key(item: Any) -> tuple[str, rsa.RSAPublicKey] | None:
    if not isinstance(item, dict):
        return None
    kid, pem = item.get("kid"), item.get("pem")
    if not isinstance(kid, str) or not _KID.match(kid) or not isinstance(pem, str):
        return None
    try:
        key = load_pem_public_key(pem.encode()[:8192])
    except (ValueError, TypeError):
        return None
    # the id is recomputed, never trusted: a key listed under another key's id is dropped
    if not isinstance(key, rsa.RSAPublicKey) or mf.key_id(key) != kid:
        return None
    return kid, key


def _target(item: Any) -> Target | None:
    if not isinstance(item, dict):
        return None
    node_id, rid, ver = item.get("node_id"), item.get("release_id"), item.get("ver")
    hw, mh, ml = item.get("hw"), item.get("mh"), item.get("ml")
    if not (
        valid_node_id(node_id)
        and type(rid) is int
        and rid > 0
        and isinstance(ver, str)
        and mf.parse_version(ver) is not None
        and hw in mf.HARDWARE
        and isinstance(mh, str)
        and _HEX64.match(mh)
        and type(ml) is int
        and 0 < ml <= mf.MAX_MANIFEST_BYTES
    ):
        return None
    return Target(str(node_id), rid, ver, str(hw), mh, ml)


def parse_document(raw: Any, max_targets: int) -> OtaDocument | Reject:
    """The fleet's ``GET /gateway/ota`` answer; bad keys and targets are dropped, not trusted."""
    if not isinstance(raw, dict):
        return Reject("malformed", "OTA document is not an object")
    keys_raw, targets_raw = raw.get("keys"), raw.get("targets")
    if not isinstance(keys_raw, list) or not isinstance(targets_raw, list):
        return Reject("malformed", "keys and targets must be lists")
    if len(targets_raw) > max_targets or len(keys_raw) > 64:
        return Reject("too_large", f"{len(targets_raw)} targets, {len(keys_raw)} keys")
    keys = dict(k for k in map(_key, keys_raw) if k is not None)
    targets = tuple(t for t in map(_target, targets_raw) if t is not None)
    return OtaDocument(keys, targets)


def release_objects(m: mf.Manifest, manifest_len: int) -> dict[str, int]:
    """{object hash: size} a node may fetch for a release: its manifest and its files."""
    objects = {f.sha256: f.size for f in m.files}
    objects[m.digest] = manifest_len
    return objects


def due_offers(
    targets: tuple[Target, ...],
    ready: Mapping[int, object],
    running: Mapping[str, str],
    outcome: Mapping[tuple[str, str], str],
    last_offer: Mapping[str, float],
    now: float,
    every_s: float,
) -> list[Target]:
    """Targets to offer now: the release is cached and verified, the node runs another
    version, has reported no terminal state for it, and was not offered it in ``every_s``."""
    due = []
    for t in targets:
        if t.release_id not in ready or running.get(t.node_id) == t.ver:
            continue
        if outcome.get((t.node_id, t.mh)) in TERMINAL:
            continue
        if now - last_offer.get(t.node_id, float("-inf")) < every_s:
            continue
        due.append(t)
    return due


@dataclass(frozen=True, slots=True)
class Bucket:
    """Token bucket of one node's requests: ``rate`` per second, at most ``burst`` saved."""

    tokens: float
    at: float

    def take(self, now: float, rate: float, burst: float) -> tuple[bool, Bucket]:
        tokens = min(burst, self.tokens + max(0.0, now - self.at) * rate)
        if tokens < 1:
            return False, replace(self, tokens=tokens, at=now)
        return True, Bucket(tokens - 1, now)


def judge_request(req: Request, allowed: Mapping[str, int]) -> str | None:
    """None when the request may be served, else the refusal reason (a metric label).
    ``allowed`` holds the objects of the release offered to this node, with their sizes: a
    node never reads anything else, whatever hash it names."""
    size = allowed.get(req.h)
    if size is None:
        return "not_offered"
    if req.length > CHUNK_MAX or req.o + req.length > size:
        return "out_of_range"
    return None


def progress_item(p: Progress, at: float) -> dict[str, Any]:
    """One item of ``POST /gateway/ota/status``."""
    return {"node_id": p.node_id, "ver": p.ver, "st": p.st, "why": p.why, "at": int(at)}


def authenticate(
    node_id: str, payload: bytes, nodes: Mapping[str, NodeEntry]
) -> tuple[dict[str, Any], int] | str:
    """A message on a node's ota topic: its body and key id, or the refusal reason."""
    if len(payload) > MAX_MESSAGE_BYTES:  # the protocol's bound, as for readings
        return "oversized"
    entry = nodes.get(node_id)
    if entry is None or entry.creds.revoked:
        return "unknown_node"
    parts = split_signed(payload)
    if isinstance(parts, Reject):
        return parts.reason
    body, mac = parts
    obj = parse_body(body)
    if isinstance(obj, Reject):
        return "malformed"
    kid = obj.get("k")
    if not isinstance(kid, int):
        return "malformed"
    secret = entry.creds.keys.get(kid)
    if secret is None or not mac_matches(secret, body, mac):
        return "bad_mac"
    if obj.get("n") != node_id:
        return "topic_mismatch"
    return obj, kid
