"""Login throttling through the real API: per client address and per (account, address), so
one address cannot lock an operator out; an admin unlocks, audited."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from fleet.crud import login_throttle
from fleet.models import AuditEvent, LoginThrottle, Operator, utcnow
from tests.fleet.conftest import PASSWORD, make_operator

API = "/api/v1"


@contextmanager
def from_address(app: FastAPI, address: str) -> Iterator[TestClient]:
    with TestClient(app, client=(address, 40000)) as c:
        yield c


def login(c: TestClient, email: str, password: str, **headers: str) -> int:
    r = c.post(f"{API}/auth/login", json={"email": email, "password": password}, headers=headers)
    if r.status_code == 429:
        assert int(r.headers["Retry-After"]) >= 1
    return r.status_code


def test_one_address_cannot_lock_an_account_out_for_another_address(
    app: FastAPI, engine: Engine
) -> None:
    make_operator(engine, "viewer", email="v@example.org")
    pair_max = app.state.settings.login_pair_max_failures
    with from_address(app, "198.51.100.66") as attacker:
        codes = [login(attacker, "v@example.org", "wrong guess") for _ in range(pair_max + 3)]
        assert codes[:pair_max] == [401] * pair_max
        assert set(codes[pair_max:]) == {429}
        # the attacker's address is throttled even with the right password
        assert login(attacker, "v@example.org", PASSWORD) == 429
    with from_address(app, "203.0.113.10") as owner:
        assert login(owner, "v@example.org", PASSWORD) == 200
    with Session(engine) as s:
        op = s.exec(select(Operator).where(Operator.email == "v@example.org")).one()
        assert op.locked_until is None


def test_an_address_trying_many_accounts_gets_429_for_every_account(
    app: FastAPI, engine: Engine
) -> None:
    make_operator(engine, "operator", email="real@example.org")
    limit = app.state.settings.login_address_max_failures
    with from_address(app, "198.51.100.7") as sprayer:
        codes = [
            login(sprayer, f"user{i}@example.org", "Summer2024!Summer") for i in range(limit + 10)
        ]
        assert codes[:limit] == [401] * limit
        assert set(codes[limit:]) == {429}
        # every account, even one it never tried, and even with the right password
        assert login(sprayer, "real@example.org", PASSWORD) == 429
    with from_address(app, "198.51.100.8") as neighbour:
        assert login(neighbour, "real@example.org", PASSWORD) == 200


def test_an_ipv6_client_counts_as_its_64(app: FastAPI, engine: Engine) -> None:
    make_operator(engine, "viewer", email="v6@example.org")
    pair_max = app.state.settings.login_pair_max_failures
    for i in range(pair_max):
        with from_address(app, f"2001:db8:1:2::{i + 1:x}") as c:
            assert login(c, "v6@example.org", "nope nope nope") == 401
    with from_address(app, "2001:db8:1:2:ffff::1") as c:
        assert login(c, "v6@example.org", PASSWORD) == 429
    with from_address(app, "2001:db8:1:3::1") as c:
        assert login(c, "v6@example.org", PASSWORD) == 200


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    app: FastAPI, engine: Engine
) -> None:
    make_operator(engine, "viewer", email="p@example.org")
    pair_max = app.state.settings.login_pair_max_failures
    app.state.settings.trusted_proxies = ["10.0.0.0/8"]
    with from_address(app, "10.1.2.3") as proxy:
        for _ in range(pair_max):
            assert login(proxy, "p@example.org", "bad", **{"X-Forwarded-For": "192.0.2.1"}) == 401
        assert login(proxy, "p@example.org", PASSWORD, **{"X-Forwarded-For": "192.0.2.1"}) == 429
        # another client behind the same proxy is another address
        assert login(proxy, "p@example.org", PASSWORD, **{"X-Forwarded-For": "192.0.2.2"}) == 200
        # a client cannot hide behind a forged first hop: the proxy's own append is the client
        spoof = {"X-Forwarded-For": "192.0.2.99, 192.0.2.1"}
        assert login(proxy, "p@example.org", PASSWORD, **spoof) == 429
    with from_address(app, "198.51.100.20") as untrusted:
        for _ in range(pair_max):
            assert login(untrusted, "p@example.org", "bad", **{"X-Forwarded-For": "192.0.2.3"}) \
                == 401
        # the header of an untrusted peer is ignored: its own address is throttled
        assert login(untrusted, "p@example.org", PASSWORD, **{"X-Forwarded-For": "192.0.2.4"}) \
            == 429


def test_the_account_locks_for_everybody_only_after_failures_from_several_addresses(
    app: FastAPI, engine: Engine
) -> None:
    make_operator(engine, "viewer", email="w@example.org")
    settings = app.state.settings
    settings.login_max_failures = 12  # stands for 100, so the test stays short
    pair_max = settings.login_pair_max_failures
    addresses = [f"198.51.100.{i}" for i in range(100, 110)]
    refused = 0
    for address in addresses:
        with from_address(app, address) as c:
            while refused < settings.login_max_failures and login(c, "w@example.org", "x") == 401:
                refused += 1
                if refused % pair_max == 0:
                    break
    assert refused == settings.login_max_failures  # it took ceil(12 / 5) = 3 addresses
    with from_address(app, "203.0.113.50") as owner:
        assert login(owner, "w@example.org", PASSWORD) == 401  # locked for everybody now


def test_admin_unlocks_an_account_through_the_api_and_it_is_audited(
    app: FastAPI, client: TestClient, engine: Engine, admin: dict[str, str]
) -> None:
    make_operator(engine, "viewer", email="u@example.org")
    app.state.settings.login_max_failures = 3
    with from_address(app, "198.51.100.30") as a:
        for _ in range(3):
            assert login(a, "u@example.org", "wrong") == 401
        assert login(a, "u@example.org", PASSWORD) == 401  # account-wide lock
    with Session(engine) as s:
        op = s.exec(select(Operator).where(Operator.email == "u@example.org")).one()
        assert op.locked_until is not None
    listed = client.get(f"{API}/operators/{op.id}", headers=admin).json()
    assert listed["locked_until"] is not None
    r = client.post(f"{API}/operators/{op.id}/unlock", headers=admin)
    assert r.status_code == 200
    assert r.json()["locked_until"] is None
    with from_address(app, "198.51.100.30") as a:
        assert login(a, "u@example.org", PASSWORD) == 200  # its per-address count went too
    with Session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "operator.unlock")).one()
        assert event.entity_id == str(op.id)
        assert event.actor.startswith("token:")
        assert event.before is not None
        assert event.before["locked_until"] is not None
    viewer = make_operator(engine, "operator")
    assert client.post(f"{API}/operators/{op.id}/unlock", headers=viewer).status_code == 403
    assert client.post(f"{API}/operators/999999/unlock", headers=admin).status_code == 404


def test_throttle_rows_stay_under_their_bound(engine: Engine, app: FastAPI) -> None:
    limits = login_throttle.ThrottleLimits(
        address_max=20, pair_max=5, window=timedelta(seconds=60), block=timedelta(seconds=900),
        rows_max=100,
    )
    now = utcnow()
    with Session(engine) as s:
        blocked_key = "a|192.0.2.250"
        for _ in range(5):
            login_throttle.record_failure(s, key=blocked_key, limit=5, limits=limits, now=now)
        for i in range(400):
            login_throttle.record_failure(
                s, key=f"a|10.9.{i // 256}.{i % 256}", limit=20, limits=limits,
                now=now + timedelta(milliseconds=i),
            )
        s.commit()
        count = s.exec(select(func.count()).select_from(LoginThrottle)).one()
        assert count <= limits.rows_max
        # a flood of new addresses does not lift a block in force
        assert login_throttle.blocked_for(s, (blocked_key,), now=now) is not None
        # housekeeping drops what no longer counts, and keeps a block in force
        assert login_throttle.sweep(s, limits=limits, now=now + timedelta(seconds=61)) > 0
        s.commit()
        left = s.exec(select(LoginThrottle)).all()
        assert [r.key for r in left] == [blocked_key]
