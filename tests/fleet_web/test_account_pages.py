"""Dashboard: one's own password through the form (the policy's refusal shown next to the field)
and an admin's unlock of an operator (audited); login throttled per address in the form."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from fleet.models import AuditEvent, Operator
from fleet.models.common import utcnow
from tests.fleet.conftest import PASSWORD, make_operator
from tests.fleet_web.conftest import CSRF_FIELD, login_form

GOOD = "plum kettle orbit lantern"


def _change(browser: Any, current: str, new: str, confirm: str | None = None) -> Any:
    return browser.client.post(
        "/dashboard/account/password",
        data={"csrf_token": browser.csrf("/dashboard/account"), "current_password": current,
              "new_password": new, "confirm_password": new if confirm is None else confirm},
        follow_redirects=False,
    )


def test_a_weak_password_is_refused_in_the_form_with_the_rule_it_breaks(
    browse: Any, app: FastAPI
) -> None:
    viewer = browse("viewer")
    viewer.client.cookies.set("territoire_lang", "en")
    for weak, said in (
        ("            ", "Only spaces."),
        ("aaaaaaaaaaaa", "Too short: at least 15 characters"),
        ("password12345678", "A common or breached password"),
        ("viewer-0@example.org!", "Built on your address"),
    ):
        r = _change(viewer, PASSWORD, weak)
        assert r.status_code == 422
        assert said in r.text
        assert 'aria-invalid="true"' in r.text
    r = _change(viewer, PASSWORD, GOOD, confirm=GOOD + "x")
    assert r.status_code == 422
    assert "The two entries of the new password differ." in r.text
    r = _change(viewer, "not the password", GOOD)
    assert "The current password is wrong." in r.text
    r = _change(viewer, PASSWORD, GOOD)
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/account?done=password"
    with TestClient(app, base_url="https://testserver") as c:
        login_form(c, viewer.email, GOOD)


def test_the_refusal_is_in_french_for_a_french_visitor(browse: Any) -> None:
    op = browse("operator")
    op.client.cookies.set("territoire_lang", "fr")
    r = _change(op, PASSWORD, "azertyuiopqsdfgh")
    assert "Une suite de caractères consécutifs" in r.text


def test_admin_unlocks_a_locked_operator_from_the_dashboard_and_it_is_audited(
    browse: Any, engine: Engine, app: FastAPI
) -> None:
    make_operator(engine, "viewer", email="locked@example.org")
    with Session(engine) as s:
        op = s.exec(select(Operator).where(Operator.email == "locked@example.org")).one()
        op.locked_until = utcnow().replace(year=utcnow().year + 1)
        s.add(op)
        s.commit()
        op_id = op.id
    admin = browse("admin")
    admin.client.cookies.set("territoire_lang", "en")
    page = admin.client.get("/dashboard/operators")
    assert page.status_code == 200
    assert "locked@example.org" in page.text
    assert "locked until" in page.text
    r = admin.client.post(f"/dashboard/operators/{op_id}/unlock",
                          data={"csrf_token": admin.csrf("/dashboard/operators")},
                          follow_redirects=False)
    assert r.status_code == 303
    assert "Account unlocked" in admin.client.get(r.headers["location"]).text
    with TestClient(app, base_url="https://testserver") as c:
        login_form(c, "locked@example.org")
    with Session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "operator.unlock")).one()
        assert event.actor.startswith("operator:")
    # refused without the CSRF token, and to anyone but an admin
    assert admin.client.post(f"/dashboard/operators/{op_id}/unlock",
                             data={"csrf_token": "x"}).status_code == 403
    other = browse("operator")
    assert other.client.get("/dashboard/operators").status_code == 403
    assert 'href="/dashboard/operators"' not in other.client.get("/dashboard").text
    assert other.client.post(f"/dashboard/operators/{op_id}/unlock",
                             data={"csrf_token": other.csrf()}).status_code == 403


def test_the_login_form_throttles_one_address_with_429_and_retry_after(
    app: FastAPI, engine: Engine
) -> None:
    make_operator(engine, "viewer", email="form@example.org")
    pair_max = app.state.settings.login_pair_max_failures
    with TestClient(app, base_url="https://testserver", client=("198.51.100.99", 1)) as c:
        c.cookies.set("territoire_lang", "en")
        for _ in range(pair_max):
            token = CSRF_FIELD.search(c.get("/dashboard/login").text)
            assert token
            r = c.post("/dashboard/login", data={"email": "form@example.org", "password": "no",
                                                 "csrf_token": token.group(1)})
            assert r.status_code == 401
        token = CSRF_FIELD.search(c.get("/dashboard/login").text)
        assert token
        r = c.post("/dashboard/login", data={"email": "form@example.org", "password": PASSWORD,
                                             "csrf_token": token.group(1)})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0
        assert "Too many failed logins from this address" in r.text
    with TestClient(app, base_url="https://testserver", client=("203.0.113.99", 1)) as c:
        login_form(c, "form@example.org")
