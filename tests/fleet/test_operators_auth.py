"""Operators: roles on every route, cookie sessions with CSRF, API tokens, lockout, audit."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from fleet.admin import create_admin
from fleet.crud.errors import Conflict, WeakPassword
from fleet.models import Operator
from tests.fleet.conftest import PASSWORD, make_operator
from tests.fleet.gwsim import API

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Routes not guarded by an operator role, each for a stated reason.
NOT_OPERATOR_ROUTES = {
    f"{API}/auth/login": "creates the session it needs",
    f"{API}/auth/logout": "ends the caller's own session",
    f"{API}/auth/password": "a viewer may change its own password",
    f"{API}/claim": "the one-time claim code is the credential",
    f"{API}/gateway/enroll": "the one-time enrollment token and signature are the credential",
    f"{API}/gateway/ingest": "Ed25519 gateway signature",
    f"{API}/gateway/sync": "Ed25519 gateway signature",
    f"{API}/gateway/ota": "Ed25519 gateway signature",
    f"{API}/gateway/ota/status": "Ed25519 gateway signature",
    f"{API}/gateway/releases/{{release_id}}/manifest": "Ed25519 gateway signature",
    f"{API}/gateway/releases/{{release_id}}/files/{{sha256}}": "Ed25519 gateway signature",
}
PUBLIC_PREFIXES = (f"{API}/public/", f"{API}/utils/", f"{API}/openapi.json", f"{API}/docs")


def _fill(path: str) -> str:
    path = re.sub(r"\{[a-z_]*_id\}", "abc-1", path)
    return path.replace("{code_id}", "1").replace("{operator_id}", "1").replace("{token_id}", "1")


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, as its OpenAPI document lists them."""
    paths = app.openapi()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() for m in ops]


def test_viewer_cannot_change_anything(client: TestClient, app: FastAPI) -> None:
    viewer = make_operator(app.state.engine, "viewer")
    checked = 0
    for method, path in _routes(app):
        if method not in MUTATING or path in NOT_OPERATOR_ROUTES:
            continue
        r = client.request(method, _fill(path), json={}, headers=viewer)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        checked += 1
    assert checked >= 15


def test_every_private_route_needs_authentication(client: TestClient, app: FastAPI) -> None:
    checked = 0
    for method, path in _routes(app):
        if path in NOT_OPERATOR_ROUTES or path.startswith(PUBLIC_PREFIXES):
            continue
        r = client.request(method, _fill(path), json={})
        assert r.status_code == 401, (method, path, r.status_code)
        checked += 1
    assert checked >= 25


def test_operator_cannot_do_admin_things(client: TestClient, operator: dict[str, str]) -> None:
    assert client.get(f"{API}/operators", headers=operator).status_code == 403
    r = client.post(f"{API}/gateways", json={"id": "gw-x", "name": "X"}, headers=operator)
    assert r.status_code == 403
    assert (
        client.post(f"{API}/zones", json={"id": "zz1", "name": "Z"}, headers=operator).status_code
        == 201
    )


def test_cookie_login_needs_csrf_token_for_changes(app: FastAPI, engine: Engine) -> None:
    make_operator(engine, "operator", email="ops@example.org")
    # secure cookies outside development: the browser sends them over HTTPS only
    client = TestClient(app, base_url="https://testserver")
    r = client.post(f"{API}/auth/login", json={"email": "OPS@example.org", "password": PASSWORD})
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf_token"]
    assert "territoire_session" in r.cookies or client.cookies.get("territoire_session")
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie
    assert "secure" in set_cookie
    assert client.get(f"{API}/zones").status_code == 200
    assert client.post(f"{API}/zones", json={"id": "zz1", "name": "Z"}).status_code == 403
    wrong = client.post(
        f"{API}/zones", json={"id": "zz1", "name": "Z"}, headers={"X-CSRF-Token": "0" * 64}
    )
    assert wrong.status_code == 403
    ok = client.post(
        f"{API}/zones", json={"id": "zz1", "name": "Z"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 201
    assert client.get(f"{API}/auth/csrf").json()["csrf_token"] == csrf
    assert client.post(f"{API}/auth/logout").status_code == 204
    assert client.get(f"{API}/zones").status_code == 401


def test_wrong_password_and_lockout(client: TestClient, engine: Engine) -> None:
    make_operator(engine, "viewer", email="v@example.org")
    # one address's failures block that address on this account (429), not the account for
    # everybody: tests/fleet/test_login_throttle.py shows the other side and the account lock
    limit = client.app.state.settings.login_pair_max_failures  # type: ignore[attr-defined]
    for _ in range(limit):
        r = client.post(f"{API}/auth/login", json={"email": "v@example.org", "password": "nope"})
        assert r.status_code == 401
    locked = client.post(f"{API}/auth/login", json={"email": "v@example.org", "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0


def test_no_default_account_exists(client: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        assert s.exec(select(Operator)).all() == []
    for email, pw in (("admin", "admin"), ("admin@example.org", "admin"), ("root", "changethis")):
        assert (
            client.post(f"{API}/auth/login", json={"email": email, "password": pw}).status_code
            == 401
        )


def test_create_admin_makes_the_first_admin(client: TestClient, database_url: str) -> None:
    made = create_admin(database_url=database_url, email="Chief@Example.org", password=PASSWORD)
    assert made.role == "admin"
    assert made.email == "chief@example.org"
    r = client.post(f"{API}/auth/login", json={"email": "chief@example.org", "password": PASSWORD})
    assert r.status_code == 200
    with pytest.raises(Conflict):
        create_admin(database_url=database_url, email="chief@example.org", password=PASSWORD)
    with pytest.raises(WeakPassword) as weak:
        create_admin(database_url=database_url, email="b@example.org", password="short")
    assert weak.value.reason == "too_short"
    with pytest.raises(ValidationError):
        create_admin(database_url=database_url, email="not an email", password=PASSWORD)


def test_token_carries_at_most_its_owners_role(
    client: TestClient, operator: dict[str, str], admin: dict[str, str]
) -> None:
    too_much = client.post(f"{API}/tokens", json={"name": "x", "role": "admin"}, headers=operator)
    assert too_much.status_code == 409
    r = client.post(f"{API}/tokens", json={"name": "ro", "role": "viewer"}, headers=operator)
    assert r.status_code == 201
    ro = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get(f"{API}/auth/me", headers=ro).json()["role"] == "viewer"
    assert (
        client.post(f"{API}/zones", json={"id": "zz2", "name": "Z"}, headers=ro).status_code == 403
    )
    listed = client.get(f"{API}/tokens", headers=operator).json()
    assert all("token" not in t for t in listed)


def test_revoked_token_stops_working(client: TestClient, operator: dict[str, str]) -> None:
    r = client.post(f"{API}/tokens", json={"name": "cli"}, headers=operator).json()
    headers = {"Authorization": f"Bearer {r['token']}"}
    assert client.get(f"{API}/zones", headers=headers).status_code == 200
    assert client.post(f"{API}/tokens/{r['id']}/revoke", headers=operator).status_code == 200
    assert client.get(f"{API}/zones", headers=headers).status_code == 401


def test_demoted_operator_tokens_lose_rights(
    client: TestClient, admin: dict[str, str], engine: Engine
) -> None:
    ops = make_operator(engine, "operator", email="demote@example.org")
    op_id = client.get(f"{API}/auth/me", headers=ops).json()["operator"]["id"]
    r = client.patch(f"{API}/operators/{op_id}", json={"role": "viewer"}, headers=admin)
    assert r.status_code == 200
    assert (
        client.post(f"{API}/zones", json={"id": "zz3", "name": "Z"}, headers=ops).status_code == 403
    )


def test_admin_manages_operators_and_audit_records_it(
    client: TestClient, admin: dict[str, str]
) -> None:
    r = client.post(
        f"{API}/operators",
        json={"email": "new@example.org", "password": PASSWORD, "role": "operator"},
        headers=admin,
    )
    assert r.status_code == 201
    assert "password" not in r.text
    assert "argon2" not in r.text
    dup = client.post(
        f"{API}/operators", json={"email": "NEW@example.org", "password": PASSWORD}, headers=admin
    )
    assert dup.status_code == 409
    events = client.get(f"{API}/audit?entity_type=operator", headers=admin).json()["data"]
    [created] = [e for e in events if e["action"] == "operator.create"]
    assert created["actor"].startswith("token:")
    assert created["after"]["email"] == "new@example.org"
    assert created["after"]["password_hash"] == "[redacted]"


def test_audit_log_has_before_and_after_of_a_change(
    client: TestClient, admin: dict[str, str]
) -> None:
    client.post(f"{API}/zones", json={"id": "zz4", "name": "Before"}, headers=admin)
    client.patch(f"{API}/zones/zz4", json={"name": "After"}, headers=admin)
    [update] = client.get(f"{API}/audit?entity_type=zone&entity_id=zz4", headers=admin).json()[
        "data"
    ][:1]
    assert update["action"] == "zone.update"
    assert update["before"]["name"] == "Before"
    assert update["after"]["name"] == "After"


def test_audit_log_pages_by_cursor(client: TestClient, admin: dict[str, str]) -> None:
    for i in range(5):
        client.post(f"{API}/zones", json={"id": f"zone-{i}", "name": "Z"}, headers=admin)
    first = client.get(f"{API}/audit?limit=2", headers=admin).json()
    second = client.get(f"{API}/audit?limit=2&before={first['next_cursor']}", headers=admin).json()
    ids = [e["id"] for e in first["data"] + second["data"]]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 4
