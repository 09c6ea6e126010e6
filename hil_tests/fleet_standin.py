"""A small real HTTP server standing in for the fleet's gateway-facing OTA endpoints (tests and
bench/ota.py, until the fleet side is merged): the contract's four endpoints, plus the sync and
ingest endpoints the gateway also calls, answered minimally.

Requests are checked lightly: the gateway's Ed25519 signature over method, target, timestamp
and body hash (protocol/gateway_requests.py) must verify with the public key given at start. It
counts the bytes of release objects it sends, so a test can assert that a release crosses the
uplink once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocol.gateway_requests import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    decode_signature,
    verify_request,
)

__all__ = ["FleetStandIn", "Release"]


@dataclass
class Release:
    release_id: int
    version: str
    hardware: str
    manifest: bytes
    files: dict[str, bytes]  # sha256 hex -> content

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.manifest).hexdigest()


@dataclass
class _State:
    keys: list[dict[str, str]] = field(default_factory=list)
    releases: dict[int, Release] = field(default_factory=dict)
    targets: dict[str, int] = field(default_factory=dict)  # node id -> release id
    statuses: list[dict[str, Any]] = field(default_factory=list)
    batches: set[str] = field(default_factory=set)
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent_bytes: Counter[str] = field(default_factory=Counter)  # object -> bytes sent
    refused: int = 0
    status_answer: int = 200  # what POST /gateway/ota/status answers (a fleet that refuses)


class FleetStandIn:
    def __init__(
        self, gateway_key: Ed25519PublicKey, zone_epsilon: dict[str, float] | None = None
    ) -> None:
        # the daily epsilon per zone the fleet allots this gateway (gateway/allotment.py),
        # sent in every sync page; None: an older fleet that sends no privacy section
        self.zone_epsilon = zone_epsilon
        self.state = _State()
        self.lock = threading.Lock()
        self.gateway_key = gateway_key
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True, name="fleet-standin"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FleetStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -------------------------------------------------------------- what a test changes

    def add_key(self, kid: str, pem: str) -> None:
        with self.lock:
            self.state.keys.append({"kid": kid, "pem": pem})

    def target(self, release: Release, node_ids: list[str]) -> None:
        with self.lock:
            self.state.releases[release.release_id] = release
            for n in node_ids:
                self.state.targets[n] = release.release_id

    def statuses(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.state.statuses)

    def release_bytes_sent(self) -> int:
        with self.lock:
            return sum(self.state.sent_bytes.values())

    def _document(self) -> bytes:
        with self.lock:
            targets = []
            for node_id, rid in sorted(self.state.targets.items()):
                r = self.state.releases[rid]
                targets.append(
                    {
                        "node_id": node_id,
                        "release_id": rid,
                        "ver": r.version,
                        "hw": r.hardware,
                        "mh": r.digest,
                        "ml": len(r.manifest),
                    }
                )
            return json.dumps({"keys": self.state.keys, "targets": targets}).encode()

    # -------------------------------------------------------------- HTTP

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass  # quiet: the tests read the gateway's log

            def _signed(self, body: bytes) -> bool:
                ts = self.headers.get(TIMESTAMP_HEADER, "")
                try:
                    sig = decode_signature(self.headers.get(SIGNATURE_HEADER, ""))
                except ValueError:
                    return False
                return verify_request(outer.gateway_key, self.command, self.path, ts, body, sig)

            def _send(
                self,
                code: int,
                body: bytes = b"",
                ctype: str = "application/json",
                etag: str | None = None,
            ) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if not self._signed(b""):
                    outer.state.refused += 1
                    self._send(401, b'{"detail":"bad signature"}')
                    return
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:4] == ["api", "v1", "gateway", "ota"] and len(parts) == 4:
                    doc = outer._document()
                    etag = '"' + hashlib.sha256(doc).hexdigest()[:16] + '"'
                    if self.headers.get("If-None-Match") == etag:
                        self._send(304)
                    else:
                        self._send(200, doc, etag=etag)
                    return
                if parts[:4] == ["api", "v1", "gateway", "sync"]:
                    if outer.zone_epsilon is None:
                        self._send(304)
                        return
                    page = {"cursor": 1, "more": False, "reset": False, "nodes": [],
                            "privacy": {"zone_epsilon": outer.zone_epsilon}}
                    self._send(200, json.dumps(page).encode())
                    return
                if parts[:4] == ["api", "v1", "gateway", "releases"] and len(parts) >= 6:
                    with outer.lock:
                        r = outer.state.releases.get(int(parts[4]) if parts[4].isdigit() else 0)
                    data = None
                    if r is not None and parts[5] == "manifest" and len(parts) == 6:
                        data = r.manifest
                    elif r is not None and parts[5] == "files" and len(parts) == 7:
                        data = r.files.get(parts[6])
                    if data is None:
                        self._send(404, b'{"detail":"no such object"}')
                        return
                    with outer.lock:
                        outer.state.sent_bytes[hashlib.sha256(data).hexdigest()] += len(data)
                    self._send(200, data, "application/octet-stream")
                    return
                self._send(404, b'{"detail":"not here"}')

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                if not self._signed(body):
                    outer.state.refused += 1
                    self._send(401, b'{"detail":"bad signature"}')
                    return
                obj = json.loads(body)
                path = self.path.strip("/")
                with outer.lock:
                    if path == "api/v1/gateway/ota/status" and outer.state.status_answer != 200:
                        self._send(outer.state.status_answer, b'{"detail":"refused"}')
                        return
                    if path == "api/v1/gateway/ota/status":
                        if obj["batch_id"] not in outer.state.batches:  # idempotent
                            outer.state.batches.add(obj["batch_id"])
                            outer.state.statuses.extend(obj["items"])
                    elif path == "api/v1/gateway/ingest":
                        for h in obj.get("health", []):
                            outer.state.health[h["node_id"]] = h
                    else:
                        self._send(404, b'{"detail":"not here"}')
                        return
                self._send(200, b'{"ok":true}')

        return Handler
