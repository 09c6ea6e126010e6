"""OTA fleet benchmark (not a test): prints one JSON line per database backend.

- ``ota_get_ms``: median latency of a signed ``GET /gateway/ota`` for a gateway whose
  ``--nodes`` nodes are all in one running rollout (the engine evaluates on every call; the
  answer lists every node), and of the same call answered 304 (If-None-Match).
- ``status_500_ms``: median latency of a ``POST /gateway/ota/status`` with 500 items.
- ``rollout_start_ms``: starting the rollout over all the nodes.

In-process (FastAPI TestClient, one thread), SQLite in a temporary file and PostgreSQL at
127.0.0.1:5432 (TERRITOIRE_TEST_PG_URL), a database of its own created and dropped.
Usage: ``python -m bench.ota_rollout [--nodes 2000] [--rounds 9]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session

from fleet.app import create_app
from fleet.core.config import Settings
from fleet.migrations import upgrade
from fleet.models import Node, NodeHealth
from tests.fleet.conftest import drop_pg_database, fresh_pg_database, make_operator
from tests.fleet.gwsim import API, World
from tests.fleet.ota_helpers import OLD, item, ota_get, ota_status, published


def _median_ms(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1)


def run(url: str, nodes: int, rounds: int) -> dict[str, Any]:
    upgrade(url)
    settings = Settings(
        environment="test",
        database_url=url,
        migrate_on_start=False,
        master_key=SecretStr("A" * 43 + "="),
        maintenance_interval_s=3600,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        admin = make_operator(app.state.engine, "admin")
        world = World.build(client, admin)
        now = int(time.time())
        with Session(app.state.engine) as s:
            for i in range(nodes):
                nid = f"bench-{i:06d}"
                s.add(
                    Node(
                        id=nid,
                        zone_id=world.zone,
                        profile_id=world.profile,
                        gateway_id="gw-a",
                        installed_on=date.today(),
                    )
                )
            s.flush()
            for i in range(nodes):
                s.add(
                    NodeHealth(
                        node_id=f"bench-{i:06d}",
                        gateway_id="gw-a",
                        last_seen=now,
                        fw=OLD,
                        slot="a",
                        boot=1,
                        buffered=0,
                        received_at=now,
                    )
                )
            s.commit()
        rel = published(client, admin)
        body = {
            "name": "bench",
            "release_id": rel["id"],
            "groups": [{"percent": 100, "success": 1, "error": 1}],
        }
        t0 = time.perf_counter()
        r = client.post(f"{API}/rollouts", json=body, headers=admin)
        start_ms = round((time.perf_counter() - t0) * 1000, 1)
        assert r.status_code == 201, r.text
        first = ota_get(client, world.gw_a)
        assert len(first.json()["targets"]) == nodes
        etag = first.headers["etag"]
        get_ms = _median_ms(lambda: ota_get(client, world.gw_a), rounds)
        not_modified_ms = _median_ms(lambda: ota_get(client, world.gw_a, etag=etag), rounds)
        items = [item(f"bench-{i:06d}", "downloading") for i in range(min(500, nodes))]
        status_ms = _median_ms(lambda: ota_status(client, world.gw_a, items), rounds)
    app.state.engine.dispose()
    return {
        "nodes": nodes,
        "rollout_start_ms": start_ms,
        "ota_get_ms": get_ms,
        "ota_get_304_ms": not_modified_ms,
        "status_500_ms": status_ms,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.nodes, args.rounds)
    print(json.dumps({"backend": "sqlite", **sqlite}))
    pg = fresh_pg_database("otabench")
    try:
        print(json.dumps({"backend": "postgresql", **run(pg, args.nodes, args.rounds)}))
    finally:
        drop_pg_database(pg)


if __name__ == "__main__":
    main()
