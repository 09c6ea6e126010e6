"""A node's measuring interval: given at the claim, kept on the node, changed by an operator,
and carried by its gateway's sync page (the gateway caps the node's readings from it)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from fleet.models import Node
from tests.fleet.gwsim import API, World


def _claim(world: World, **extra: Any) -> dict[str, Any]:
    r = world.client.post(f"{API}/claim", json={"code": world.claim_code(), **extra})
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def _synced(world: World, node_id: str, cursor: int = 0) -> tuple[dict[str, Any], int]:
    body = world.gw_a.sync(world.client, cursor=cursor).json()
    (node,) = [n for n in body["nodes"] if n["node_id"] == node_id]
    return node, int(body["cursor"])


def test_the_claim_stores_the_interval_and_the_sync_page_carries_it(
    world: World, engine: Engine
) -> None:
    a = _claim(world, interval_s=60)
    assert a["interval_s"] == 60
    with Session(engine) as session:
        node = session.get(Node, a["node_id"])
        assert node is not None
        assert node.interval_s == 60
    synced, _ = _synced(world, a["node_id"])
    assert synced["interval_s"] == 60
    assert (
        world.client.get(f"{API}/nodes/{a['node_id']}", headers=world.admin).json()["interval_s"]
        == 60
    )


def test_a_claim_without_an_interval_leaves_it_unknown_in_the_sync(world: World) -> None:
    a = _claim(world)
    assert a["interval_s"] is None
    synced, _ = _synced(world, a["node_id"])
    assert synced["interval_s"] is None


@pytest.mark.parametrize("bad", [0, 86401, 60.5, 60.0, "60", True, -1])
def test_a_claim_with_an_interval_out_of_bounds_or_not_whole_is_refused_and_spends_no_code(
    world: World, bad: object
) -> None:
    code = world.claim_code()
    r = world.client.post(f"{API}/claim", json={"code": code, "interval_s": bad})
    assert r.status_code == 422, r.text
    assert "interval_s" in r.text
    # refused before any side effect: the same code still claims
    ok = world.client.post(f"{API}/claim", json={"code": code, "interval_s": 300})
    assert ok.status_code == 201, ok.text
    assert ok.json()["interval_s"] == 300


def test_an_operator_changes_the_interval_and_the_gateway_gets_a_new_page(world: World) -> None:
    a = _claim(world, interval_s=60)
    node_id = a["node_id"]
    _, cursor = _synced(world, node_id)
    r = world.client.patch(f"{API}/nodes/{node_id}", json={"interval_s": 300}, headers=world.admin)
    assert r.status_code == 200, r.text
    assert r.json()["interval_s"] == 300
    changed, cursor = _synced(world, node_id, cursor)
    assert changed["interval_s"] == 300
    # an explicit null forgets it: the gateway falls back to its configured interval
    r = world.client.patch(f"{API}/nodes/{node_id}", json={"interval_s": None}, headers=world.admin)
    assert r.status_code == 200, r.text
    forgotten, _ = _synced(world, node_id, cursor)
    assert forgotten["interval_s"] is None
    bad = world.client.patch(f"{API}/nodes/{node_id}", json={"interval_s": 0}, headers=world.admin)
    assert bad.status_code == 422
    audit = world.client.get(f"{API}/audit", headers=world.admin).json()["data"]
    updates = [e for e in audit if e["action"] == "node.update" and e["entity_id"] == node_id]
    assert {(e["before"]["interval_s"], e["after"]["interval_s"]) for e in updates} == {
        (60, 300),
        (300, None),
    }
