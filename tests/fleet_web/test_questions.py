"""A resident's question about a sensor, through the real app (SQLite and PostgreSQL): asked
from a register entry without an account, bounded, rate-limited per address, a honeypot, the
form's double-submit token; stored; answered, published or dismissed by operators (audited,
viewers kept out); published under every entry of the sensor's group, without name or
e-mail; and the register still links nothing across days with answers published."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from fleet.crud import questions
from fleet.models import AuditEvent, LoginThrottle, Page, Profile, Question, QuestionPublic
from tests.fleet.gwsim import API, World
from tests.fleet.test_register_unlinkable import _day, _profile, _sensors
from tests.fleet_web.conftest import CSRF_FIELD
from tests.fleet_web.test_admin_pages import actor_of

HTML = "<script>alert(1)</script><b>bold</b>"


@pytest.fixture
def world(client: TestClient, admin: dict[str, str]) -> World:
    return World.build(client, admin)


@pytest.fixture
def resident(app: FastAPI) -> Iterator[TestClient]:
    """A visitor with no account, over HTTPS (the form's cookie is Secure)."""
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def _pseudonyms(client: TestClient) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = client.get(f"{API}/public/register?limit=100").json()["data"]
    return data


def _ask(c: TestClient, pseudonym: str, **fields: str) -> Any:
    page = c.get(f"/register/{pseudonym}")
    assert page.status_code == 200, page.text
    token = CSRF_FIELD.search(page.text)
    assert token
    form = {"kind": "question", "text": "Que mesure-t-il ?", "csrf_token": token.group(1)}
    return c.post(
        f"/register/{pseudonym}/questions", data={**form, **fields}, follow_redirects=False
    )


def _stored(engine: Engine) -> list[Question]:
    with Session(engine) as s:
        return list(s.exec(select(Question).order_by(col(Question.id))))


def test_a_resident_asks_without_an_account_and_operators_get_the_sensor(
    world: World, resident: TestClient, engine: Engine
) -> None:
    nodes = _sensors(world)
    entry = _pseudonyms(world.client)[0]
    r = _ask(resident, entry["id"], kind="problem", text="Le boîtier est tombé 🌧", name="Ana",
             email="ana@example.org")  # fmt: skip
    assert r.status_code == 303
    assert r.headers["location"] == f"/register/{entry['id']}?asked=1#qa-form"
    thanks = resident.get(f"/register/{entry['id']}?asked=1&lang=en")
    assert "Thank you: your message is recorded." in thanks.text
    [q] = _stored(engine)
    assert (q.kind, q.text, q.name, q.email, q.status) == (
        "problem", "Le boîtier est tombé 🌧", "Ana", "ana@example.org", "new",
    )  # fmt: skip
    assert q.node_id in nodes
    assert (q.zone_id, q.profile_id, q.pseudonym) == (entry["zone_id"], world.profile, entry["id"])


def test_bad_input_is_refused_explained_and_kept_and_nothing_is_stored(
    world: World, resident: TestClient, engine: Engine
) -> None:
    _sensors(world)
    p = _pseudonyms(world.client)[0]["id"]
    long_text = "é" * (questions.QUESTION_MAX_CHARS + 1)
    cases = [
        ({"text": long_text}, 400, "longer than 2000 characters"),
        ({"text": "  \x00\x07 "}, 400, "Write your message."),
        ({"kind": "rant"}, 400, "Choose question or problem."),
        ({"email": "not an address"}, 400, "This address is not valid."),
        ({"name": "n" * 101}, 400, "The name is too long."),
        ({"csrf_token": "forged"}, 403, "The form expired"),
    ]
    resident.get("/register?lang=en")  # the language cookie: English from now on
    for fields, status, words in cases:
        r = _ask(resident, p, **{"text": "kept text", **fields})
        assert r.status_code == status, (fields, r.text[:300])
        assert words in r.text, (fields, words)
        assert "Traceback" not in r.text
        shown = fields.get("text", "kept text")
        if shown.strip("\x00\x07 "):
            assert shown[: questions.QUESTION_MAX_CHARS] in r.text, "the text is kept to fix"
    assert _stored(engine) == []
    for bad in ("ang-0001", "p-" + "0" * 20, "p-ZZ"):
        r = resident.post(f"/register/{bad}/questions", data={"text": "x"})
        assert r.status_code == 404
        assert "text/html" in r.headers["content-type"]
    assert _stored(engine) == []


def test_html_and_script_payloads_are_stored_as_sent_and_shown_as_text(
    world: World, resident: TestClient, engine: Engine, browse: Any
) -> None:
    _sensors(world)
    p = _pseudonyms(world.client)[0]["id"]
    assert _ask(resident, p, text=HTML + "\r\nligne 2\x1b", name=HTML).status_code == 303
    [q] = _stored(engine)
    assert q.text == HTML + "\nligne 2"  # line breaks made \n, control characters dropped
    ops = browse("operator")
    page = ops.client.get("/dashboard/questions")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in page.text


def test_a_burst_from_one_address_is_limited_and_the_honeypot_stores_nothing(
    world: World, resident: TestClient, engine: Engine, settings: Any
) -> None:
    _sensors(world)
    p = _pseudonyms(world.client)[0]["id"]
    bait = _ask(resident, p, website="http://spam.example", text="buy now")
    assert bait.status_code == 303  # looks accepted to a robot
    assert _stored(engine) == []
    allowed = settings.questions_per_address_max
    codes = [_ask(resident, p, text=f"question {i}").status_code for i in range(allowed + 3)]
    assert codes == [303] * allowed + [429] * 3
    last = _ask(resident, p, text="still here?")
    assert int(last.headers["Retry-After"]) > 0
    assert "still here?" in last.text, "the refused text is shown back, not lost"
    assert [q.text for q in _stored(engine)] == [f"question {i}" for i in range(allowed)]
    with Session(engine) as s:
        keys = list(s.exec(select(LoginThrottle.key)))
    assert keys == ["q|testclient"], "counted in the login throttle's table, per address"


def test_operators_answer_publish_and_dismiss_audited_and_viewers_are_kept_out(
    world: World, resident: TestClient, engine: Engine, browse: Any
) -> None:
    _sensors(world)
    entries = _pseudonyms(world.client)
    same_group = [e for e in entries if e["zone_id"] == world.zone_b]
    assert _ask(resident, same_group[0]["id"], text="Pourquoi ici ?", name="Bob",
                email="bob@example.org").status_code == 303  # fmt: skip
    assert _ask(resident, same_group[0]["id"], text="spam").status_code == 303
    first, second = _stored(engine)
    viewer = browse("viewer")
    assert viewer.client.get("/dashboard/questions").status_code == 403
    token = viewer.csrf()
    r = viewer.client.post(f"/dashboard/questions/{first.id}/dismiss", data={"csrf_token": token})
    assert r.status_code == 403
    ops = browse("operator")
    listed = ops.client.get("/dashboard/questions?lang=en")
    assert "bob@example.org" in listed.text
    assert "Pourquoi ici ?" in listed.text
    token = ops.csrf("/dashboard/questions")
    r = ops.client.post(
        f"/dashboard/questions/{first.id}/answer",
        data={"answer": "", "action": "publish", "csrf_token": token},
    )
    assert r.status_code == 400, "an empty answer is refused"
    forged = ops.client.post(
        f"/dashboard/questions/{first.id}/answer",
        data={"answer": "x", "action": "publish", "csrf_token": "forged"},
    )
    assert forged.status_code == 403
    for qid, data in (
        (first.id, {"answer": "Pour mesurer l'air du quartier.", "action": "save"}),
        (first.id, {"answer": "Pour mesurer l'air de La Doutre.", "action": "publish"}),
    ):
        r = ops.client.post(f"/dashboard/questions/{qid}/answer",
                            data={**data, "csrf_token": token}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
    r = ops.client.post(f"/dashboard/questions/{second.id}/dismiss", data={"csrf_token": token},
                        follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert ops.client.post("/dashboard/questions/abc/dismiss",
                           data={"csrf_token": token}).status_code == 404  # fmt: skip
    with Session(engine) as s:
        events = list(s.exec(select(AuditEvent).where(AuditEvent.entity_type == "question")
                             .order_by(col(AuditEvent.id))))  # fmt: skip
    assert [e.action for e in events] == ["question.answer", "question.publish", "question.dismiss"]
    assert {e.actor for e in events} == {actor_of(ops, engine)}
    assert "bob@example.org" not in str([(e.before, e.after) for e in events])
    # public: under every entry of the group (another sensor too), without name or e-mail
    for e in same_group:
        page = resident.get(f"/register/{e['id']}?lang=en")
        assert "Pour mesurer l&#39;air de La Doutre." in page.text
        assert "Pourquoi ici ?" in page.text
        assert "Bob" not in page.text
        assert "bob@example.org" not in page.text
        assert "spam" not in page.text
    other = next(e for e in entries if e["zone_id"] == world.zone)
    assert "Pourquoi ici ?" not in resident.get(f"/register/{other['id']}").text
    listed = Page[QuestionPublic].model_validate(
        resident.get(f"{API}/public/questions?zone={world.zone_b}").json()
    )
    [qa] = listed.data
    assert (qa.question, qa.answer, qa.zone_id) == (
        "Pourquoi ici ?", "Pour mesurer l'air de La Doutre.", world.zone_b,
    )  # fmt: skip
    assert "bob" not in resident.get(f"{API}/public/questions").text.lower()
    assert resident.get(f"{API}/public/questions?zone=la-doutre&profile=nope").json()["data"] == []


def test_published_answers_link_no_entry_across_days(
    world: World, resident: TestClient, engine: Engine
) -> None:
    """The attack of test_register_unlinkable with every entry's published answers as one more
    feature: the answers belong to (type, zone), which every entry shows already, so the
    attacker still recovers no more than chance."""
    nodes = _sensors(world)
    for e in _pseudonyms(world.client)[:5]:
        assert _ask(resident, e["id"], text=f"about {e['id']}").status_code == 303
    with Session(engine) as s:
        for q in _stored(engine)[:3]:
            questions.save_answer(s, question_id=int(q.id or 0), answer="oui", publish=True,
                                  actor="op@example.org")  # fmt: skip
        s.commit()
        profile_of = {p.name: p.id for p in s.exec(select(Profile))}
        published = {
            key: tuple(a.id for a in questions.published(
                s, limit=50, offset=0, zone_id=key[1], profile_id=profile_of[key[0]]))
            for key in {(e["type"], e["zone_id"]) for e in _pseudonyms(world.client)}
        }  # fmt: skip
        assert sum(1 for v in published.values() if v) >= 1

    def features(day: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**e, "answers": published[(e["type"], e["zone_id"])]} for e in day]

    # the days after the app's own (its pages made today's key; the ratchet never goes back)
    first = date.today() + timedelta(days=2)
    days, correct, groups_total = 20, 0, 0
    before, truth_before = _day(engine, world, first, nodes)
    before = features(before)
    for d in range(1, days + 1):
        after, truth_after = _day(engine, world, first + timedelta(days=d), nodes)
        after = features(after)
        for i, e in enumerate(before):
            candidates = [
                (abs(j - i), j) for j, f in enumerate(after) if {**f, "id": ""} == {**e, "id": ""}
            ]
            _, guess = min(candidates)
            correct += truth_after[after[guess]["id"]] == truth_before[e["id"]]
        groups_total += len({_profile(e) for e in before})
        before, truth_before = after, truth_after
    assert correct <= groups_total + 4 * math.sqrt(groups_total), (correct, groups_total)
    # and through the app: two sensors of one group show the very same answers
    entries = [e for e in _pseudonyms(world.client) if e["zone_id"] == world.zone]
    sections = {
        re.sub(r"p-[0-9a-f]{20}", "", resident.get(f"/register/{e['id']}").text.split(
            'id="qa-title"')[1].split('id="qa-form-title"')[0])
        for e in entries[:3]
    }  # fmt: skip
    assert len(sections) == 1
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Question)).one() == 5
