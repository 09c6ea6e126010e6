"""Fleet service fixtures: every test runs on SQLite and on PostgreSQL.

One migrated database per backend per test session (a fresh PostgreSQL database, dropped at
the end, so parallel sessions never collide); tables are emptied after each test.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

import fleet.models  # noqa: F401  (registers the tables)
from fleet.app import create_app
from fleet.core.config import Settings
from fleet.core.security import hash_password
from fleet.crud.operators import create_api_token
from fleet.migrations import upgrade
from fleet.models import ApiTokenCreate, Operator
from tests.fleet.gwsim import World

# the admin database on the shared server; each session creates its own database beside it
PG_ADMIN_URL = os.environ.get("TERRITOIRE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "correct horse battery staple"


def fresh_pg_database(tag: str) -> str:
    name = f"territoire_{tag}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database(backend: str, tmp: Path, tag: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / (tag + '.db')}"
    return fresh_pg_database(tag)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = fresh_database(backend, tmp_path_factory.mktemp("fleetdb"), "session")
    upgrade(url)
    yield url
    if backend == "postgresql":
        drop_pg_database(url)


@pytest.fixture(scope="session")
def master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


@pytest.fixture
def settings(database_url: str, master_key: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        master_key=SecretStr(master_key),
        migrate_on_start=False,
        maintenance_interval_s=3600,
    )


def _empty_tables(engine: Engine) -> None:
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    _empty_tables(application.state.engine)
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def engine(app: FastAPI) -> Engine:
    eng: Engine = app.state.engine
    return eng


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def make_operator(engine: Engine, role: str, email: str | None = None) -> dict[str, str]:
    """An operator of this role (password PASSWORD) and bearer headers for a token of theirs."""
    email = email or f"{role}-{secrets.token_hex(3)}@example.org"
    with Session(engine, expire_on_commit=False) as session:
        op = Operator(email=email, role=role, password_hash=password_hash())  # type: ignore[arg-type]
        session.add(op)
        session.flush()
        _row, token = create_api_token(
            session,
            owner=op,
            data=ApiTokenCreate(name="test"),
            default_ttl_days=1,
            max_ttl_days=1,
            actor="test",
        )
        session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(engine: Engine) -> dict[str, str]:
    return make_operator(engine, "admin")


@pytest.fixture
def operator(engine: Engine) -> dict[str, str]:
    return make_operator(engine, "operator")


@pytest.fixture
def viewer(engine: Engine) -> dict[str, str]:
    return make_operator(engine, "viewer")


@pytest.fixture
def world(client: TestClient, admin: dict[str, str]) -> World:
    """A zone, a profile and two enrolled gateways, through the API."""
    return World.build(client, admin)
