"""Claim-code pages through the dashboard's forms (SQLite and PostgreSQL): an operator creates
codes and gets their labels (QR and text, the codes that claim nodes), cancels one with the
CSRF token (audited); a viewer sees neither page nor link."""

from __future__ import annotations

import re
from typing import Any

import pytest
import segno
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from fleet.models import AuditEvent
from tests.fleet.gwsim import World


@pytest.fixture
def world(client: TestClient, admin: dict[str, str]) -> World:
    return World.build(client, admin)


CODE = re.compile(r'<code class="code">([0-9A-Z-]{24})</code>')


def create(op: Any, world: World, count: str = "2", **extra: str) -> Any:
    token = op.csrf("/dashboard/claim-codes")
    data = {"csrf_token": token, "zone_id": world.zone, "profile_id": world.profile,
            "gateway_id": "gw-a", "count": count, "ttl_days": "", **extra}
    return op.client.post("/dashboard/claim-codes", data=data, follow_redirects=False)


def test_operator_creates_codes_and_prints_labels_whose_codes_claim_nodes(
    browse: Any, world: World, client: TestClient
) -> None:
    op = browse("operator")
    r = create(op, world)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/dashboard/claim-codes/labels?ids=")
    sheet = op.client.get(r.headers["location"] + "&lang=en")
    assert sheet.status_code == 200
    assert "Labels to print" in sheet.text
    codes = CODE.findall(sheet.text)
    assert len(codes) == 2
    # each label's QR is the code printed on it (segno's own drawing of that code)
    for code in codes:
        path = segno.make(code, error="m").svg_inline(scale=4, border=4, omitsize=True)
        assert path in sheet.text
    claimed = client.post("/api/v1/claim", json={"code": codes[0]})
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["gateway_id"] == "gw-a"
    # a used code has no label any more; the page of all unused codes shows the other one
    assert CODE.findall(op.client.get("/dashboard/claim-codes/labels").text) == [codes[1]]


def test_operator_cancels_a_code_with_the_csrf_token_and_it_is_audited(
    browse: Any, world: World, engine: Engine
) -> None:
    op = browse("operator")
    create(op, world, count="1")
    listing = op.client.get("/dashboard/claim-codes?lang=fr").text
    code_id = re.search(r'<tr data-code="(\d+)">', listing)
    assert code_id is not None
    action = f"/dashboard/claim-codes/{code_id.group(1)}/cancel"
    assert f'action="{action}"' in listing
    refused = op.client.post(action, data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    r = op.client.post(action, data={"csrf_token": op.csrf("/dashboard/claim-codes")},
                       follow_redirects=False)
    assert r.status_code == 303
    page = op.client.get(r.headers["location"] + "&lang=fr").text
    assert "Code annulé." in page
    assert f'data-code="{code_id.group(1)}"' not in page
    with Session(engine) as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "claim_code.cancel")).one()
    assert ev.actor.startswith("operator:")


def test_a_bad_form_creates_nothing_and_says_why(browse: Any, world: World) -> None:
    op = browse("operator")
    r = create(op, world, count="0")
    assert r.status_code == 422
    assert "Codes non créés" in r.text
    r = create(op, world, count="1", zone_id="nowhere-at-all")
    assert r.status_code == 422
    assert "no such zone" in r.text
    assert '<tr data-code="' not in op.client.get("/dashboard/claim-codes").text


def test_a_viewer_gets_no_claim_code_page_nor_link(browse: Any, world: World) -> None:
    viewer = browse("viewer")
    assert "/dashboard/claim-codes" not in viewer.client.get("/dashboard").text
    assert viewer.client.get("/dashboard/claim-codes").status_code == 403
    assert viewer.client.get("/dashboard/claim-codes/labels").status_code == 403
    op = browse("operator")
    assert 'href="/dashboard/claim-codes"' in op.client.get("/dashboard").text
