"""Fleet service benchmark (not a test): prints one JSON line.

- ``sync_idle_ratio``: requests/s of an idle gateway sync (signed, If-None-Match, 304) over
  requests/s of the bare liveness endpoint of the same server, one uvicorn worker, measured
  in the same run with the same load generator (goal >= 0.5).
- ``health_node_updates_per_s``: node health rows applied per second through batched, signed
  ingest requests (goal >= 20 000).
- ``device_list_p95_ms``: p95 latency of device list pages (filters, keyset) with 100 000
  devices on PostgreSQL (goal < 100 ms).

Needs PostgreSQL at 127.0.0.1:5432 (TERRITOIRE_TEST_PG_URL overrides the admin URL); creates
and drops its own database. Usage: ``python -m bench.fleet_api [--seconds 4] [--nodes 100000]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlmodel import Session

from fleet.core.db import make_engine
from fleet.crud.gateways import create_gateway, enroll_gateway
from fleet.crud.operators import create_api_token
from fleet.crud.sync import note_node_change
from fleet.migrations import upgrade
from fleet.models import ApiTokenCreate, Gateway, GatewayCreate, Operator, Profile, Zone

PG_ADMIN_URL = os.environ.get("TERRITOIRE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
API = "/api/v1"
CONNECTIONS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- a minimal keep-alive HTTP/1.1 load generator (so the client costs little CPU) ----


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _worker(
    port: int, requests: list[bytes], deadline: float, counts: list[int], statuses: dict[int, int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while requests and time.perf_counter() < deadline:
            writer.write(requests.pop())
            status, _ = await _read_response(reader)
            statuses[status] = statuses.get(status, 0) + 1
            counts[0] += 1
    finally:
        writer.close()


def rate(
    port: int, requests: list[bytes], seconds: float, connections: int = CONNECTIONS
) -> tuple[float, dict[int, int]]:
    """Requests per second over ``seconds`` (or until the prepared requests run out)."""

    async def run() -> tuple[float, dict[int, int]]:
        counts: list[int] = [0]
        statuses: dict[int, int] = {}
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(
            *(_worker(port, requests, deadline, counts, statuses) for _ in range(connections))
        )
        return counts[0] / (time.perf_counter() - start), statuses

    return asyncio.run(run())


def http_get(path: str, headers: dict[str, str]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode()


def http_post(path: str, headers: dict[str, str], body: bytes) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def signed(
    key: Ed25519PrivateKey, gw: str, method: str, target: str, body: bytes = b""
) -> dict[str, str]:
    ts = f"{time.time():.6f}"
    msg = f"{method}\n{target}\n{ts}\n{hashlib.sha256(body).hexdigest()}".encode()
    return {
        "X-Gateway-Id": gw,
        "X-Timestamp": ts,
        "X-Signature": base64.b64encode(key.sign(msg)).decode(),
    }


# ---- the database: a fresh PostgreSQL database with many nodes ----


def seed(url: str, n_nodes: int) -> dict[str, Any]:
    upgrade(url)
    engine = make_engine(url)
    gws = {"gw-idle": Ed25519PrivateKey.generate(), "gw-ingest": Ed25519PrivateKey.generate()}
    zones = [f"zone-{i:02d}" for i in range(40)]
    day = timedelta(days=1)
    with Session(engine, expire_on_commit=False) as s:
        for z in zones:
            s.add(Zone(id=z, name=z))
        s.add(
            Profile(
                id="air",
                name="Air",
                measures=["temp_c"],
                purpose="p",
                legal_basis="l",
                operator_name="o",
                contact="c",
                retention="r",
            )
        )
        op = Operator(email="bench@example.org", role="operator", password_hash="-")
        s.add(op)
        s.flush()
        _, token = create_api_token(
            s,
            owner=op,
            data=ApiTokenCreate(name="bench"),
            default_ttl_days=1,
            max_ttl_days=1,
            actor="bench",
        )
        for gw_id, key in gws.items():
            _, enroll_token = create_gateway(
                s, data=GatewayCreate(id=gw_id, name=gw_id), token_ttl=day, actor="bench"
            )
            enroll_gateway(
                s,
                gateway_id=gw_id,
                token=enroll_token,
                ed25519_public_key=key.public_key().public_bytes_raw(),
                x25519_public_key=X25519PrivateKey.generate().public_key().public_bytes_raw(),
            )
        s.commit()
    # many nodes by COPY: the claim path is not what is measured here
    now = int(time.time())
    fws = ["0.1.0", "0.2.0", "0.3.0"]
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY node (id, label, zone_id, gateway_id, profile_id, installed_on, status, "
            "created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(n_nodes):
                gw = "gw-ingest" if i < 20_000 else ("gw-idle" if i < 20_500 else None)
                copy.write_row(
                    (
                        f"ang-{i + 1:06d}",
                        f"pole {i}",
                        zones[i % len(zones)],
                        gw,
                        "air",
                        date(2026, 1, 1),
                        "revoked" if i % 50 == 0 else "active",
                        "2026-01-01T00:00:00Z",
                        "2026-01-01T00:00:00Z",
                    )
                )
        with cur.copy(
            "COPY node_health (node_id, gateway_id, last_seen, fw, slot, boot, buffered, "
            "rejected, received_at) FROM STDIN"
        ) as copy:
            for i in range(n_nodes):
                if i % 7:
                    copy.write_row(
                        (
                            f"ang-{i + 1:06d}",
                            "gw-ingest",
                            now - (0 if i % 3 else 86400),
                            fws[i % 3],
                            "a",
                            1,
                            0,
                            "{}",
                            now,
                        )
                    )
        conn.commit()
        cur.execute("ANALYZE")
    # the idle gateway has synced everything already: its cursor is its sync_seq
    with Session(engine) as s:
        for i in range(20_000, min(20_500, n_nodes)):
            note_node_change(s, node_id=f"ang-{i + 1:06d}", gateway_ids=["gw-idle"])
        s.commit()
        gw_row = s.get(Gateway, "gw-idle")
        seq = gw_row.sync_seq if gw_row else 0
    engine.dispose()
    return {"keys": gws, "token": token, "idle_seq": seq, "zones": zones}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--nodes", type=int, default=100_000)
    args = ap.parse_args()

    name = f"territoire_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    server = None
    try:
        world = seed(url, args.nodes)
        port = free_port()
        env = {
            **os.environ,
            "TERRITOIRE_FLEET_DATABASE_URL": url,
            "TERRITOIRE_FLEET_ENVIRONMENT": "production",
            "TERRITOIRE_FLEET_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "TERRITOIRE_FLEET_MIGRATE_ON_START": "false",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "fleet.main:app_from_environment",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
        )
        _wait_ready(port)
        result = measure(port, world, args.seconds)
        print(json.dumps(result))
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_ready(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def measure(port: int, world: dict[str, Any], seconds: float) -> dict[str, Any]:
    idle_key = world["keys"]["gw-idle"]
    seq = world["idle_seq"]
    target = f"{API}/gateway/sync?cursor={seq}"
    etag = f'W/"gw-idle.{seq}.{seq}"'
    n_prepared = int(seconds * 6000) + 1000

    def sync_requests() -> list[bytes]:
        # fresh signatures: each request is unique (the server refuses replays)
        return [
            http_get(target, {**signed(idle_key, "gw-idle", "GET", target), "If-None-Match": etag})
            for _ in range(n_prepared)
        ]

    bare = http_get(f"{API}/utils/health-check", {})
    baseline, synced = [], []
    for _ in range(3):  # interleaved, best of three each: the machine is shared
        b, _ = rate(port, [bare] * n_prepared, seconds)
        s, statuses = rate(port, sync_requests(), seconds)
        if set(statuses) != {304}:
            raise RuntimeError(f"idle sync answered {statuses}")
        baseline.append(b)
        synced.append(s)

    # ingest: batches of 5 000 health items for the nodes of gw-ingest
    ingest_key = world["keys"]["gw-ingest"]
    batch_size, batches = 5000, 16
    now = int(time.time())
    bodies = []
    for b in range(batches):
        items = [
            {
                "node_id": f"ang-{(b * batch_size + i) % 20_000 + 1:06d}",
                "last_seen": now + b,
                "battery_v": 3.7,
                "rssi": -70,
                "fw": "0.3.0",
                "slot": "b",
                "boot": 2,
                "buffered": 0,
                "rejected": {"bad_mac": 1},
            }
            for i in range(batch_size)
        ]
        bodies.append(json.dumps({"batch_id": f"bench-{b}", "health": items}).encode())
    ingest_target = f"{API}/gateway/ingest"
    reqs = [
        http_post(ingest_target, signed(ingest_key, "gw-ingest", "POST", ingest_target, body), body)
        for body in bodies
    ]
    start = time.perf_counter()
    _, statuses = rate(port, list(reversed(reqs)), 600, connections=2)
    elapsed = time.perf_counter() - start
    if set(statuses) != {200}:
        raise RuntimeError(f"ingest answered {statuses}")
    updates_per_s = batch_size * batches / elapsed

    # device list latency: sequential requests, various filters and keyset positions
    auth = {"Authorization": f"Bearer {world['token']}"}
    rnd = random.Random(7)
    queries = []
    for _ in range(300):
        q = rnd.choice(
            [
                "",
                f"zone={rnd.choice(world['zones'])}",
                "status=online",
                "status=offline",
                "status=revoked",
                "firmware=0.2.0",
                "gateway=gw-ingest",
                "q=pole%204242",
                f"zone={rnd.choice(world['zones'])}&status=online&firmware=0.1.0",
            ]
        )
        after = f"&after=ang-{rnd.randrange(1, 100_000):06d}" if rnd.random() < 0.5 else ""
        queries.append(f"{API}/nodes?limit=50&{q}{after}")
    latencies = asyncio.run(_latencies(port, [http_get(q, auth) for q in queries]))
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000
    return {
        "sync_idle_ratio": round(max(synced) / max(baseline), 3),
        "sync_idle_req_per_s": round(max(synced)),
        "bare_req_per_s": round(max(baseline)),
        "health_node_updates_per_s": round(updates_per_s),
        "device_list_p95_ms": round(p95, 1),
        "device_list_median_ms": round(statistics.median(latencies) * 1000, 1),
        "devices": 100_000,
        "database": "postgresql",
        "workers": 1,
    }


async def _latencies(port: int, requests: list[bytes]) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    try:
        for req in requests:
            t = time.perf_counter()
            writer.write(req)
            status, body = await _read_response(reader)
            if status != 200:
                raise RuntimeError(f"device list answered {status}: {body[:200]!r}")
            out.append(time.perf_counter() - t)
    finally:
        writer.close()
    return out


if __name__ == "__main__":
    main()
