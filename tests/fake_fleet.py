"""A small real HTTP server playing the fleet's gateway API for gateway tests (in-process and
HIL): ingest idempotent by batch id, the gateway's Ed25519 signature checked, failures on
demand."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class FakeFleet:
    """A small real HTTP server playing the fleet's ingest API: idempotent by batch id,
    checking the gateway's Ed25519 signature, able to fail on demand."""

    def __init__(self) -> None:
        self.applied: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.fail_next = 0  # answer 503 to this many requests
        self.lose_response_next = 0  # apply, then answer 500 (a lost response)
        self.public_key: Ed25519PublicKey | None = None
        fleet = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                """Quiet: tests read the fleet's state, not its request log."""

            def do_GET(self) -> None:  # the registry sync: nothing changed
                self.send_response(304)
                self.end_headers()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fleet.requests += 1
                if fleet.public_key is not None:
                    msg = "\n".join([
                        "POST", self.path, self.headers["X-Timestamp"],
                        hashlib.sha256(body).hexdigest(),
                    ]).encode()
                    fleet.public_key.verify(base64.b64decode(self.headers["X-Signature"]), msg)
                if fleet.fail_next:
                    fleet.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                doc = json.loads(body)
                fleet.applied.setdefault(doc["batch_id"], doc)
                if fleet.lose_response_next:
                    fleet.lose_response_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def items(self, kind: str) -> list[dict[str, Any]]:
        return [item for doc in self.applied.values() for item in doc[kind]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
