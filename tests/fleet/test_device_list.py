"""The device list: filters and keyset pagination over many devices."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from sqlalchemy import Engine, insert
from sqlmodel import Session

from fleet.models import Node, NodeHealth
from tests.fleet.gwsim import API, World


def _bulk_nodes(engine: Engine, world: World, n: int) -> None:
    """Many nodes at once, straight into the tables (the claim path is tested elsewhere)."""
    now = int(time.time())
    nodes: list[dict[str, Any]] = []
    health: list[dict[str, Any]] = []
    for i in range(n):
        node_id = f"bulk-{i:05d}"
        nodes.append(
            {
                "id": node_id,
                "label": f"pole {i}",
                "zone_id": world.zone if i % 2 else world.zone_b,
                "gateway_id": "gw-a" if i % 3 else "gw-b",
                "profile_id": world.profile,
                "installed_on": date(2026, 1, 1),
                "status": "revoked" if i % 10 == 0 else "active",
            }
        )
        if i % 4:
            health.append(
                {
                    "node_id": node_id,
                    "gateway_id": "gw-a",
                    "fw": "0.2.0" if i % 5 else "0.1.0",
                    "last_seen": now if i % 4 == 1 else now - 86400,
                    "slot": "a",
                    "boot": 1,
                    "buffered": 0,
                    "rejected": {},
                    "received_at": now,
                }
            )
    with Session(engine) as s:
        s.execute(insert(Node), nodes)
        s.execute(insert(NodeHealth), health)
        s.commit()


def test_keyset_pagination_walks_every_device_once(world: World, engine: Engine) -> None:
    _bulk_nodes(engine, world, 230)
    seen: list[str] = []
    after = None
    while True:
        url = f"{API}/nodes?limit=100" + (f"&after={after}" if after else "")
        page = world.client.get(url, headers=world.admin).json()
        seen += [n["id"] for n in page["data"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 230


def test_filters_combine(world: World, engine: Engine) -> None:
    _bulk_nodes(engine, world, 120)

    def ids(query: str) -> set[str]:
        r = world.client.get(f"{API}/nodes?limit=500&{query}", headers=world.admin)
        assert r.status_code == 200, r.text
        return {n["id"] for n in r.json()["data"]}

    def expect(pred) -> set[str]:  # type: ignore[no-untyped-def]
        return {f"bulk-{i:05d}" for i in range(120) if pred(i)}

    assert ids(f"zone={world.zone}") == expect(lambda i: i % 2)
    assert ids("gateway=gw-b") == expect(lambda i: i % 3 == 0)
    assert ids("status=revoked") == expect(lambda i: i % 10 == 0)
    assert ids("status=online") == expect(lambda i: i % 10 and i % 4 == 1)
    assert ids("status=offline") == expect(lambda i: i % 10 and i % 4 in (2, 3))
    assert ids("status=never_seen") == expect(lambda i: i % 10 and i % 4 == 0)
    assert ids("firmware=0.1.0") == expect(lambda i: i % 4 and i % 5 == 0)
    assert ids("q=pole 11") == expect(lambda i: str(i).startswith("11"))
    assert ids("q=BULK-0000") == expect(lambda i: i < 10)
    assert ids(f"zone={world.zone}&status=online&firmware=0.2.0") == expect(
        lambda i: i % 2 and i % 10 and i % 4 == 1 and i % 5
    )


def test_search_treats_wildcards_literally(world: World, engine: Engine) -> None:
    _bulk_nodes(engine, world, 20)
    r = world.client.get(f"{API}/nodes?q=%25", headers=world.admin)
    assert r.json()["data"] == []
