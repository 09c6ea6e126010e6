"""Housekeeping: keys past their grace period are purged and their gateway is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from fleet.crud.maintenance import sweep
from fleet.models import IngestBatch, NodeKey
from tests.fleet.gwsim import API, World


def test_sweep_purges_expired_keys_and_tells_the_gateway(world: World, engine: Engine) -> None:
    node = world.claim()["node_id"]
    world.client.post(f"{API}/nodes/{node}/rotate-key?grace_s=60", headers=world.admin)
    first = world.gw_a.sync(world.client)
    cursor, etag = first.json()["cursor"], first.headers["etag"]
    assert [k["key_id"] for k in first.json()["nodes"][0]["keys"]] == [1, 2]
    with Session(engine) as s:
        world.client.app.state.identity_cache.attach(s)  # type: ignore[attr-defined]
        swept = sweep(
            s, batch_retention=timedelta(days=30), now=datetime.now(UTC) + timedelta(seconds=61)
        )
        s.commit()
        assert swept.expired_keys == 1
        assert [k.key_id for k in s.exec(select(NodeKey))] == [2]
    after = world.gw_a.sync(world.client, cursor=cursor, etag=etag)
    assert after.status_code == 200
    assert [k["key_id"] for k in after.json()["nodes"][0]["keys"]] == [2]
    events = world.client.get(f"{API}/audit?entity_id={node}", headers=world.admin).json()["data"]
    assert events[0]["action"] == "node.key_expired"
    assert events[0]["actor"] == "system"


def test_sweep_forgets_old_batch_ids(world: World, engine: Engine) -> None:
    world.gw_a.ingest(world.client, {"batch_id": "old"})
    with Session(engine) as s:
        swept = sweep(
            s, batch_retention=timedelta(days=30), now=datetime.now(UTC) + timedelta(days=31)
        )
        s.commit()
        assert swept.old_batches == 1
        assert s.exec(select(IngestBatch)).all() == []
