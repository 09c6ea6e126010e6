"""Rollout pages through the dashboard's forms (SQLite and PostgreSQL): progress per group and
per node, operators pause with the CSRF token, viewers see and cannot act."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from fleet.models import AuditEvent
from tests.fleet.gwsim import World
from tests.fleet.ota_helpers import (
    NEW,
    OLD,
    item,
    kid,
    ota_status,
    public_pem,
    release_key,
    report_health,
    rollout_on_gw_a,
)

GROUPS = [{"count": 2, "success": 1, "error": 0.5}, {"percent": 100, "success": 1, "error": 0.5}]


@pytest.fixture
def world(client: TestClient, admin: dict[str, str]) -> World:
    return World.build(client, admin)


@pytest.fixture
def rollout(world: World, operator: dict[str, str]) -> dict[str, Any]:
    ro = rollout_on_gw_a(world, operator, nodes=5, groups=GROUPS, name="Printemps")["rollout"]
    canaries = [n["node_id"] for n in ro["nodes"] if n["group"] == 0]
    ota_status(world.client, world.gw_a, [item(n, "confirmed") for n in canaries])
    report_health(world, world.gw_a, dict.fromkeys(canaries, NEW))
    return ro


def test_rollout_page_shows_progress_per_group_and_per_node(
    browse: Any, rollout: dict[str, Any]
) -> None:
    viewer = browse("viewer")
    r = viewer.client.get(f"/dashboard/rollouts/{rollout['id']}?lang=en")
    assert r.status_code == 200
    html = r.text
    assert "Progress per group" in html
    assert '<tr data-group="1">' in html
    assert '<tr data-group="2">' in html
    assert html.count('data-state="out_confirmed"') == 2
    assert html.count('data-state="out_pending"') == 3
    assert NEW in html
    assert OLD in html, "the per-node table shows the versions the nodes report"
    assert "/pause" not in html, "a viewer gets no action buttons"
    listing = viewer.client.get("/dashboard/rollouts?lang=fr")
    assert "Printemps" in listing.text
    assert "2 confirmés sur 5" in listing.text


def test_operator_pauses_with_the_button_and_it_is_audited(
    browse: Any, rollout: dict[str, Any], engine: Engine
) -> None:
    op = browse("operator")
    path = f"/dashboard/rollouts/{rollout['id']}"
    token = op.csrf(path)
    assert f'action="{path}/pause"' in op.client.get(path).text
    r = op.client.post(f"{path}/pause", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    page = op.client.get(r.headers["location"] + "&lang=en").text
    assert "Rollout paused." in page
    assert 'data-state="ro_paused"' in page
    assert f'action="{path}/resume"' in page
    with Session(engine) as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "rollout.pause")).one()
    assert ev.actor.startswith("operator:")
    again = op.client.post(f"{path}/pause", data={"csrf_token": token})
    assert again.status_code == 409


def test_forms_refuse_viewers_and_missing_csrf(browse: Any, rollout: dict[str, Any]) -> None:
    path = f"/dashboard/rollouts/{rollout['id']}"
    viewer = browse("viewer")
    r = viewer.client.post(f"{path}/pause", data={"csrf_token": viewer.csrf(path)})
    assert r.status_code == 403
    op = browse("operator")
    assert op.client.post(f"{path}/abort", data={"csrf_token": "forged"}).status_code == 403
    assert op.client.post(f"{path}/explode", data={"csrf_token": op.csrf(path)}).status_code == 404
    assert op.client.get("/dashboard/rollouts/999999").status_code == 404
    assert op.client.get("/dashboard/rollouts/abc").status_code == 404


def test_admin_registers_and_revokes_a_release_key_from_the_dashboard(
    browse: Any, engine: Engine
) -> None:
    admin = browse("admin")
    token = admin.csrf("/dashboard/rollouts")
    pem = public_pem(release_key())
    r = admin.client.post(
        "/dashboard/release-keys",
        data={"csrf_token": token, "name": "clé 2026", "pem": pem},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = admin.client.get(r.headers["location"] + "&lang=en").text
    assert "Release key registered." in page
    assert kid(release_key()) in page
    again = admin.client.post(
        "/dashboard/release-keys", data={"csrf_token": token, "name": "x", "pem": pem}
    )
    assert again.status_code == 422
    assert "already registered" in again.text
    junk = admin.client.post(
        "/dashboard/release-keys", data={"csrf_token": token, "name": "x", "pem": "not a key"}
    )
    assert junk.status_code == 422
    path = f"/dashboard/release-keys/{kid(release_key())}/revoke"
    r = admin.client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert r.headers["location"] == "/dashboard/rollouts?key=revoked"
    with Session(engine) as s:
        actions = [
            e.action
            for e in s.exec(select(AuditEvent).where(AuditEvent.entity_type == "release_key"))
        ]
    assert sorted(actions) == ["release_key.add", "release_key.revoke"]


def test_only_admins_manage_release_keys_from_the_dashboard(browse: Any) -> None:
    op = browse("operator")
    token = op.csrf("/dashboard/rollouts")
    assert 'action="/dashboard/release-keys"' not in op.client.get("/dashboard/rollouts").text
    r = op.client.post(
        "/dashboard/release-keys",
        data={"csrf_token": token, "name": "x", "pem": public_pem(release_key())},
    )
    assert r.status_code == 403
    admin = browse("admin")
    forged = admin.client.post(
        "/dashboard/release-keys",
        data={"csrf_token": "forged", "name": "x", "pem": public_pem(release_key())},
    )
    assert forged.status_code == 403


def test_abort_asks_for_confirmation_first_and_the_aborted_page_says_so(
    browse: Any, rollout: dict[str, Any], engine: Engine
) -> None:
    op = browse("operator")
    path = f"/dashboard/rollouts/{rollout['id']}"
    token = op.csrf(path)
    html = op.client.get(path + "?lang=en").text
    assert f'<form method="get" action="{path}/abort">' in html, "Abort leads to a question"
    assert f'<form method="post" action="{path}/abort">' not in html
    assert "Abort…" in html
    # a POST without the confirmation (an old form, a script) only leads to the question
    r = op.client.post(f"{path}/abort", data={"csrf_token": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"{path}/abort")
    assert 'data-state="ro_running"' in op.client.get(path).text, "nothing was aborted"

    ask = op.client.get(f"{path}/abort?lang=en")
    assert ask.status_code == 200
    assert f"Abort rollout #{rollout['id']}?" in ask.text
    assert "2 of 5 devices confirmed" in ask.text, "where the rollout stands"
    assert "cannot be resumed" in ask.text
    assert f'<a href="{path}">Cancel</a>' in ask.text
    assert '<input type="hidden" name="confirm" value="abort">' in ask.text
    assert "Abandonner le déploiement" in op.client.get(f"{path}/abort?lang=fr").text

    r = op.client.post(
        f"{path}/abort", data={"csrf_token": token, "confirm": "abort"}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, f"{path}?done=abort")
    en = op.client.get(r.headers["location"] + "&lang=en").text
    assert "Rollout aborted." in en
    assert 'data-state="ro_aborted"' in en
    assert "This rollout is aborted: no device gets version" in en
    assert op.email in en.split('data-testid="aborted-at"', 1)[1].split("</dd>", 1)[0]
    assert f"{path}/abort" not in en, "nothing left to abort"
    fr = op.client.get(f"{path}?lang=fr").text
    assert "Ce déploiement est abandonné" in fr
    assert "Abandonné le" in fr
    again = op.client.get(f"{path}/abort", follow_redirects=False)
    assert (again.status_code, again.headers["location"]) == (303, path)
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "rollout.abort")).all()
    assert len(events) == 1


def test_viewers_get_no_abort_question(browse: Any, rollout: dict[str, Any]) -> None:
    viewer = browse("viewer")
    path = f"/dashboard/rollouts/{rollout['id']}"
    assert viewer.client.get(f"{path}/abort").status_code == 403
    assert browse("operator").client.get("/dashboard/rollouts/999999/abort").status_code == 404
