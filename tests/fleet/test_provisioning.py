"""Claim codes, the claim, node identities, key rotation and revocation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from fleet.models import ClaimCode, NodeKey
from tests.fleet.gwsim import API, World


def test_claim_creates_node_with_generated_id_and_returns_secret_once(world: World) -> None:
    first = world.claim()
    second = world.claim()
    assert first["node_id"] == "ang-0001"
    assert second["node_id"] == "ang-0002"
    assert re.fullmatch(r"[0-9a-f]{64}", first["secret"])
    assert first["key_id"] == 1
    assert (first["zone_id"], first["gateway_id"]) == (world.zone, "gw-a")
    detail = world.client.get(f"{API}/nodes/ang-0001", headers=world.admin).json()
    assert "secret" not in str(detail).lower().replace("secret_", "")
    assert first["secret"] not in str(detail)
    assert detail["keys"][0]["key_id"] == 1


def test_claim_code_works_once(world: World) -> None:
    code = world.claim_code()
    assert world.client.post(f"{API}/claim", json={"code": code}).status_code == 201
    again = world.client.post(f"{API}/claim", json={"code": code})
    assert again.status_code == 403
    assert again.json()["detail"].startswith("claim refused")


def test_claim_code_is_forgiving_about_case_and_confusable_letters(world: World) -> None:
    code = world.claim_code()
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert world.client.post(f"{API}/claim", json={"code": typed}).status_code == 201


def test_expired_claim_code_is_refused(world: World, engine: Engine) -> None:
    code = world.claim_code()
    with Session(engine) as s:
        for row in s.exec(select(ClaimCode)):
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
            s.add(row)
        s.commit()
    assert world.client.post(f"{API}/claim", json={"code": code}).status_code == 403


def test_unknown_claim_code_is_refused(world: World) -> None:
    r = world.client.post(f"{API}/claim", json={"code": "AAAA-BBBB-CCCC-DDDD-EEEE"})
    assert r.status_code == 403


def test_claim_code_with_preset_node_id(world: World) -> None:
    assert world.claim(node_id="trelaze-007")["node_id"] == "trelaze-007"


def test_cancelled_claim_code_cannot_claim(world: World) -> None:
    code = world.claim_code()
    listed = world.client.get(f"{API}/claim-codes", headers=world.admin).json()["data"]
    cancel = world.client.post(f"{API}/claim-codes/{listed[0]['id']}/cancel", headers=world.admin)
    assert cancel.status_code == 200
    assert world.client.post(f"{API}/claim", json={"code": code}).status_code == 403


def test_claim_code_qr_svg_and_png(world: World) -> None:
    world.claim_code()
    code_id = world.client.get(f"{API}/claim-codes", headers=world.admin).json()["data"][0]["id"]
    svg = world.client.get(f"{API}/claim-codes/{code_id}/qr", headers=world.admin)
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    png = world.client.get(f"{API}/claim-codes/{code_id}/qr?format=png", headers=world.admin)
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")


def test_used_claim_code_has_no_qr_any_more(world: World) -> None:
    world.claim()
    code_id = world.client.get(f"{API}/claim-codes", headers=world.admin).json()["data"][0]["id"]
    r = world.client.get(f"{API}/claim-codes/{code_id}/qr", headers=world.admin)
    assert r.status_code == 409


def test_node_secret_is_encrypted_at_rest(world: World, engine: Engine) -> None:
    claimed = world.claim()
    secret = bytes.fromhex(claimed["secret"])
    with Session(engine) as s:
        key = s.exec(select(NodeKey)).one()
        assert secret not in key.secret_enc
        assert len(key.secret_enc) == 1 + 12 + 32 + 16
        dump = " ".join(str(row) for row in s.execute(text("SELECT * FROM node_key")).all())
    assert claimed["secret"] not in dump


def test_rotation_gives_new_key_and_keeps_previous_for_grace(world: World) -> None:
    node = world.claim()["node_id"]
    r = world.client.post(f"{API}/nodes/{node}/rotate-key?grace_s=3600", headers=world.admin)
    assert r.status_code == 200
    body = r.json()
    assert body["key_id"] == 2
    assert re.fullmatch(r"[0-9a-f]{64}", body["secret"])
    keys = world.client.get(f"{API}/nodes/{node}", headers=world.admin).json()["keys"]
    assert [k["key_id"] for k in keys] == [1, 2]
    assert keys[0]["expires_at"] is not None
    assert keys[1]["expires_at"] is None
    synced = world.gw_a.sync(world.client).json()["nodes"][0]
    assert [k["key_id"] for k in synced["keys"]] == [1, 2]
    assert world.gw_a.open_secret(synced["keys"][1]["sealed"], node, 2).hex() == body["secret"]


def test_rotation_without_grace_drops_previous_key_at_once(world: World) -> None:
    node = world.claim()["node_id"]
    world.client.post(f"{API}/nodes/{node}/rotate-key?grace_s=0", headers=world.admin)
    keys = world.client.get(f"{API}/nodes/{node}", headers=world.admin).json()["keys"]
    assert [k["key_id"] for k in keys] == [2]


def test_revoked_node_keeps_no_secret(world: World, engine: Engine) -> None:
    node = world.claim()["node_id"]
    r = world.client.post(f"{API}/nodes/{node}/revoke", headers=world.admin)
    assert r.status_code == 200
    assert r.json()["status"] == "revoked"
    with Session(engine) as s:
        assert s.exec(select(NodeKey)).all() == []
    again = world.client.post(f"{API}/nodes/{node}/rotate-key", headers=world.admin)
    assert again.status_code == 409


def test_claim_code_for_unknown_zone_is_refused(world: World) -> None:
    r = world.client.post(
        f"{API}/claim-codes",
        json={"zone_id": "nowhere", "profile_id": world.profile, "gateway_id": "gw-a"},
        headers=world.admin,
    )
    assert r.status_code == 422
    assert "zone" in r.json()["detail"]


def test_many_claim_codes_in_one_request(world: World, client: TestClient) -> None:
    r = client.post(
        f"{API}/claim-codes",
        json={"zone_id": world.zone, "profile_id": world.profile, "count": 5},
        headers=world.admin,
    )
    assert r.status_code == 201
    codes = [c["code"] for c in r.json()]
    assert len(set(codes)) == 5
