"""Dashboard fixtures: the fleet fixtures (SQLite and PostgreSQL), operators logged in
through the login form, and a seeded territory."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.fleet import conftest as fleet
from tests.fleet.conftest import PASSWORD, make_operator
from tests.fleet_web.seed import Territory, seed

# the fleet tests' fixtures (each test on SQLite and on PostgreSQL), shared by name
backend = fleet.backend
database_url = fleet.database_url
master_key = fleet.master_key
settings = fleet.settings
app = fleet.app
client = fleet.client
engine = fleet.engine
admin = fleet.admin
operator = fleet.operator
viewer = fleet.viewer

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Browser:
    """A TestClient with a dashboard session (HTTPS: the session cookie is Secure)."""

    client: TestClient
    email: str
    role: str

    def csrf(self, path: str = "/dashboard") -> str:
        r = self.client.get(path)
        assert r.status_code == 200, r.text
        found = CSRF_FIELD.search(r.text)
        assert found, "the page carries no CSRF token"
        return found.group(1)


def login_form(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    r = client.get("/dashboard/login")
    token = CSRF_FIELD.search(r.text)
    assert token, r.text
    r = client.post(
        "/dashboard/login",
        data={"email": email, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
def browse(app: FastAPI, engine: Engine):  # type: ignore[no-untyped-def]
    """``browse(role)``: a new client logged in through the form as a new operator."""
    clients: list[TestClient] = []

    def make(role: str) -> Browser:
        email = f"{role}-{len(clients)}@example.org"
        make_operator(engine, role, email)
        c = TestClient(app, base_url="https://testserver")
        c.__enter__()
        clients.append(c)
        return Browser(login_form(c, email), email, role)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def territory(client: TestClient, admin: dict[str, str]) -> Territory:
    return seed(client, admin)
