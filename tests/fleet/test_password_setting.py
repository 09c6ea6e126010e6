"""Every place a password is set refuses weak ones with a reason: the API (422 + reason code),
the CLI (one line, exit 2); a good one is accepted. The CLI unlock is audited."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from fleet.models import AuditEvent, Operator
from tests.fleet.conftest import PASSWORD, make_operator
from tools.cli import app as cli

API = "/api/v1"
WEAK = [
    (" " * 12, "whitespace_only"),
    ("aaaaaaaaaaaa", "too_short"),
    ("password1234", "too_short"),
    ("a" * 16, "repeated_character"),
    ("password12345678", "common_password"),
    ("territoire-2025!", "context_word"),
    ("1234567890123456", "sequential"),
]
GOOD = "plum kettle orbit lantern"


@pytest.mark.parametrize(("password", "reason"), WEAK)
def test_api_refuses_a_weak_password_for_a_new_operator_with_its_reason(
    client: TestClient, admin: dict[str, str], engine: Engine, password: str, reason: str
) -> None:
    r = client.post(f"{API}/operators", headers=admin,
                    json={"email": "new@example.org", "password": password})
    assert r.status_code == 422
    assert r.json()["reason"] == reason
    assert password not in r.text
    with Session(engine) as s:
        assert s.exec(select(Operator).where(Operator.email == "new@example.org")).first() is None


def test_api_accepts_a_good_password_and_refuses_one_built_on_the_email(
    client: TestClient, admin: dict[str, str]
) -> None:
    r = client.post(f"{API}/operators", headers=admin,
                    json={"email": "jeanne.martin@example.org", "password": GOOD})
    assert r.status_code == 201
    op_id = r.json()["id"]
    assert client.post(f"{API}/auth/login", json={"email": "jeanne.martin@example.org",
                                                  "password": GOOD}).status_code == 200
    r = client.patch(f"{API}/operators/{op_id}", headers=admin,
                     json={"password": "jeanne.martin2025"})
    assert r.status_code == 422
    assert r.json()["reason"] == "context_word"
    r = client.patch(f"{API}/operators/{op_id}", headers=admin, json={"password": " " * 20})
    assert r.json()["reason"] == "whitespace_only"
    assert client.patch(f"{API}/operators/{op_id}", headers=admin,
                        json={"password": GOOD + " again"}).status_code == 200


def test_own_password_change_is_checked_by_the_policy(app: FastAPI, engine: Engine) -> None:
    make_operator(engine, "viewer", email="me@example.org")
    with TestClient(app, base_url="https://testserver") as c:
        r = c.post(f"{API}/auth/login", json={"email": "me@example.org", "password": PASSWORD})
        csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        weak = c.post(f"{API}/auth/password", headers=csrf,
                      json={"current_password": PASSWORD, "new_password": "password1234"})
        assert weak.status_code == 422
        assert weak.json()["reason"] == "too_short"
        wrong = c.post(f"{API}/auth/password", headers=csrf,
                       json={"current_password": "not it", "new_password": GOOD})
        assert wrong.status_code == 403
        ok = c.post(f"{API}/auth/password", headers=csrf,
                    json={"current_password": PASSWORD, "new_password": GOOD})
        assert ok.status_code == 204
    with TestClient(app, base_url="https://testserver") as c:
        assert c.post(f"{API}/auth/login", json={"email": "me@example.org",
                                                 "password": GOOD}).status_code == 200


@pytest.mark.parametrize(("password", "reason"), WEAK[:5])
def test_cli_admin_create_refuses_a_weak_password_in_one_line(
    database_url: str, engine: Engine, password: str, reason: str
) -> None:
    r = CliRunner().invoke(cli, ["fleet", "admin", "create", "--email", "chief@example.org",
                                 "--database-url", database_url, "--password", password])
    assert r.exit_code == 2, r.output
    assert f"password refused ({reason})" in r.output
    assert "Traceback" not in r.output
    with Session(engine) as s:
        assert s.exec(select(Operator)).all() == []


def test_cli_admin_create_accepts_a_good_password_and_unlock_is_audited(
    client: TestClient, database_url: str, engine: Engine
) -> None:
    r = CliRunner().invoke(cli, ["fleet", "admin", "create", "--email", "chief@example.org",
                                 "--database-url", database_url, "--password", GOOD])
    assert r.exit_code == 0, r.output
    with Session(engine) as s:
        op = s.exec(select(Operator).where(Operator.email == "chief@example.org")).one()
        op.failed_logins = 0
        op.locked_until = op.created_at.replace(year=op.created_at.year + 1)
        s.add(op)
        s.commit()
    assert client.post(f"{API}/auth/login", json={"email": "chief@example.org",
                                                  "password": GOOD}).status_code == 401
    r = CliRunner().invoke(cli, ["fleet", "admin", "unlock", "--email", "Chief@Example.org",
                                 "--database-url", database_url])
    assert r.exit_code == 0, r.output
    assert "unlocked" in r.output
    assert client.post(f"{API}/auth/login", json={"email": "chief@example.org",
                                                  "password": GOOD}).status_code == 200
    with Session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "operator.unlock")).one()
        assert event.actor == "cli"
    r = CliRunner().invoke(cli, ["fleet", "admin", "unlock", "--email", "nobody@example.org",
                                 "--database-url", database_url])
    assert r.exit_code == 2
    assert "no operator with the e-mail nobody@example.org" in r.output
