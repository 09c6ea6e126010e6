"""Zones, sensor profiles, gateways and API tokens through the dashboard's forms (SQLite and
PostgreSQL): each page is shown to the roles the API allows and refused to others, each form
changes the database and writes the audit entry the API writes, a bad input says why and
changes nothing, and a form without the CSRF token is refused."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from fleet.core import security
from fleet.models import ApiToken, AuditEvent, Gateway, Profile, Zone
from tests.fleet.gwsim import API, GatewaySim

ROOT = Path(__file__).resolve().parents[2]
ANGERS = json.loads((ROOT / "data" / "zones" / "angers-quartiers.geojson").read_text("utf-8"))


def events(engine: Engine, action: str) -> list[AuditEvent]:
    """The audit entries of an action, but those of the fixtures (each operator's "test"
    token)."""
    with Session(engine) as s:
        q = (select(AuditEvent).where(AuditEvent.action == action, AuditEvent.actor != "test")
             .order_by(col(AuditEvent.id)))
        return list(s.exec(q))


def zone_ids(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return sorted(z.id for z in s.exec(select(Zone)))


def upload(op: Any, doc: Any, mode: str, csrf: str | None = None) -> Any:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    token = op.csrf("/dashboard/zones") if csrf is None else csrf
    return op.client.post(
        "/dashboard/zones/import?lang=en",
        data={"csrf_token": token, "mode": mode},
        files={"file": ("zones.geojson", body, "application/geo+json")},
    )


def actor_of(op: Any, engine: Engine) -> str:
    from fleet.models import Operator

    with Session(engine) as s:
        row = s.exec(select(Operator).where(Operator.email == op.email)).one()
    return f"operator:{row.id}"


# -- zones ------------------------------------------------------------------------------------

def test_operator_checks_then_imports_a_geojson_file_and_each_zone_is_audited(
    browse: Any, engine: Engine, client: TestClient, admin: dict[str, str]
) -> None:
    r = client.post(f"{API}/zones", json={"id": "centre", "name": "Old name"}, headers=admin)
    assert r.status_code == 201
    op = browse("operator")
    checked = upload(op, ANGERS, "check")
    assert checked.status_code == 200, checked.text
    assert "Preview: nothing imported yet" in checked.text
    assert 'data-outcome="centre"' in checked.text
    assert re.search(r'data-outcome="centre">.*?data-action="updated"', checked.text, re.S)
    assert re.search(r'data-outcome="doutre">.*?data-action="created"', checked.text, re.S)
    assert zone_ids(engine) == ["centre"]  # a check writes nothing
    assert events(engine, "zone.update") == []

    done = upload(op, ANGERS, "import")
    assert done.status_code == 200, done.text
    assert "Import done" in done.text
    ids = zone_ids(engine)
    assert len(ids) == 10
    assert "belle-beille" in ids
    with Session(engine) as s:
        centre = s.get(Zone, "centre")
        assert centre is not None
        assert centre.name == "Centre-ville - La Fayette - Éblé"
        assert (centre.lat, centre.lon) == (47.47, -0.551)
        assert centre.boundary is not None
        assert centre.boundary["type"] == "Polygon"
    # the same entries as POST and PATCH /api/v1/zones write, by this operator
    created, updated = events(engine, "zone.create"), events(engine, "zone.update")
    assert len(created) == 1 + 9
    assert len(updated) == 1
    assert {e.actor for e in created[1:]} | {updated[0].actor} == {actor_of(op, engine)}
    assert updated[0].entity_type == "zone"
    assert updated[0].entity_id == "centre"
    assert (updated[0].after or {})["name"] == "Centre-ville - La Fayette - Éblé"

    # the list shows each zone, its centroid and outline; a second import changes nothing
    listing = op.client.get("/dashboard/zones?lang=fr").text
    assert re.search(r'data-zone="centre">.*?47,47000 ; -0,55100.*?data-outline="1"', listing,
                     re.S)
    again = upload(op, ANGERS, "import")
    assert again.text.count('data-action="unchanged"') == 10
    assert len(events(engine, "zone.update")) == 1


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"", "choose a GeoJSON file"),
        ({"type": "FeatureCollection", "features": []}, "has no features"),
        ("bad-geometry", "feature 3 (belle-beille): geometry, ring 1: a ring must be closed"),
        ("bad-id", "feature 2: properties.id must be a slug"),
    ],
)
def test_a_bad_zones_file_shows_one_message_and_imports_nothing(
    browse: Any, engine: Engine, content: Any, says: str
) -> None:
    doc = copy.deepcopy(ANGERS)
    if content == "bad-geometry":
        doc["features"][2]["geometry"]["coordinates"][0].pop()
        content = doc
    elif content == "bad-id":
        doc["features"][1]["properties"]["id"] = "X"
        doc["features"][1].pop("id")
        content = doc
    op = browse("operator")
    r = upload(op, content, "import")
    assert r.status_code == 422
    errors = re.findall(r'<p class="field-error" role="alert">(.*?)</p>', r.text)
    assert len(errors) == 1, errors
    assert errors[0].startswith("Nothing imported: ")
    assert says in errors[0]
    assert zone_ids(engine) == []
    assert events(engine, "zone.create") == []


def test_zones_import_is_refused_to_a_viewer_and_without_the_csrf_token(
    browse: Any, engine: Engine
) -> None:
    viewer = browse("viewer")
    page = viewer.client.get("/dashboard/zones")
    assert page.status_code == 200  # viewers read zones, as GET /api/v1/zones
    assert 'action="/dashboard/zones/import"' not in page.text
    assert upload(viewer, ANGERS, "import").status_code == 403
    op = browse("operator")
    assert 'action="/dashboard/zones/import"' in op.client.get("/dashboard/zones").text
    assert upload(op, ANGERS, "import", csrf="forged").status_code == 403
    assert zone_ids(engine) == []


# -- sensor profiles --------------------------------------------------------------------------

PROFILE = {
    "id": "air-interieur", "name": "Qualité de l'air intérieur", "measures": ["temp_c", "rh_pct"],
    "purpose": "Aérer les écoles à temps", "legal_basis": "Mission d'intérêt public",
    "operator_name": "Ville d'Angers", "contact": "capteurs@angers.example",
    "personal_data": "", "personal_data_processing": "", "retention": "13 mois",
}


def test_operator_creates_and_edits_a_profile_both_audited(browse: Any, engine: Engine) -> None:
    op = browse("operator")
    form = {**PROFILE, "csrf_token": op.csrf("/dashboard/profiles/new")}
    r = op.client.post("/dashboard/profiles/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    listing = op.client.get(r.headers["location"] + "&lang=en").text
    assert "Profile air-interieur saved." in listing
    assert 'data-profile="air-interieur"' in listing
    with Session(engine) as s:
        p = s.get(Profile, "air-interieur")
        assert p is not None
        assert p.measures == ["temp_c", "rh_pct"]
        assert not p.personal_data
    edit = op.client.get("/dashboard/profiles/air-interieur/edit")
    assert edit.status_code == 200
    assert 'value="Ville d&#39;Angers"' in edit.text
    changed = {**{k: v for k, v in PROFILE.items() if k != "id"}, "retention": "6 mois",
               "personal_data": "on", "personal_data_processing": "Aucune donnée nominative",
               "csrf_token": op.csrf("/dashboard/profiles")}
    r = op.client.post("/dashboard/profiles/air-interieur/edit", data=changed,
                       follow_redirects=False)
    assert r.status_code == 303, r.text
    with Session(engine) as s:
        p = s.get(Profile, "air-interieur")
        assert p is not None
        assert p.retention == "6 mois"
        assert p.personal_data
    [created] = events(engine, "profile.create")
    [updated] = events(engine, "profile.update")
    assert created.actor == updated.actor == actor_of(op, engine)
    assert (updated.before or {})["retention"] == "13 mois"
    assert (updated.after or {})["retention"] == "6 mois"


def test_a_bad_profile_shows_each_error_next_to_its_field_and_saves_nothing(
    browse: Any, engine: Engine
) -> None:
    op = browse("operator")
    form = {**PROFILE, "id": "A", "purpose": "", "measures": ["temp_c", "no_such_metric"],
            "csrf_token": op.csrf("/dashboard/profiles/new")}
    r = op.client.post("/dashboard/profiles/new?lang=en", data=form)
    assert r.status_code == 422
    assert "Nothing saved: correct the fields marked below." in r.text
    assert re.search(r'id="pf-id-error">Too short: at least 3 characters.', r.text)
    assert re.search(r'id="pf-purpose-error">Required.', r.text)
    assert re.search(r'id="pf-measures-error">Value refused: unknown metric keys: '
                     r"no_such_metric", r.text)
    assert 'value="Qualité de l&#39;air intérieur"' in r.text  # what was typed stays
    with Session(engine) as s:
        assert s.exec(select(Profile)).all() == []
    assert events(engine, "profile.create") == []
    # an id that exists: said at the id, the first profile unchanged
    ok = {**PROFILE, "csrf_token": form["csrf_token"]}
    assert op.client.post("/dashboard/profiles/new", data=ok,
                          follow_redirects=False).status_code == 303
    again = op.client.post("/dashboard/profiles/new?lang=en", data={**ok, "name": "Autre"})
    assert again.status_code == 422
    assert 'id="pf-id-error">This id already exists.' in again.text
    # an edit that empties a required field saves nothing either
    bad_edit = {**ok, "retention": ""}
    r = op.client.post("/dashboard/profiles/air-interieur/edit?lang=en", data=bad_edit)
    assert r.status_code == 422
    assert 'id="pf-retention-error">Required.' in r.text
    with Session(engine) as s:
        p = s.get(Profile, "air-interieur")
        assert p is not None
        assert p.retention == "13 mois"
        assert p.name == PROFILE["name"]
    assert events(engine, "profile.update") == []


def test_profile_forms_are_refused_to_a_viewer_and_without_the_csrf_token(
    browse: Any, engine: Engine
) -> None:
    viewer = browse("viewer")
    listing = viewer.client.get("/dashboard/profiles")
    assert listing.status_code == 200
    assert "/dashboard/profiles/new" not in listing.text
    assert viewer.client.get("/dashboard/profiles/new").status_code == 403
    token = viewer.csrf("/dashboard/profiles")
    r = viewer.client.post("/dashboard/profiles/new", data={**PROFILE, "csrf_token": token})
    assert r.status_code == 403
    op = browse("operator")
    r = op.client.post("/dashboard/profiles/new", data={**PROFILE, "csrf_token": "forged"})
    assert r.status_code == 403
    r = op.client.post("/dashboard/profiles/new", data=PROFILE)
    assert r.status_code == 403
    with Session(engine) as s:
        assert s.exec(select(Profile)).all() == []


# -- gateways ---------------------------------------------------------------------------------

TOKEN_LINE = re.compile(
    r"territoire gateway enroll --config /etc/territoire/gateway.toml --token (\S+?)</code>"
)


def test_admin_creates_a_gateway_whose_token_enrolls_it_once(
    browse: Any, engine: Engine, client: TestClient
) -> None:
    admin = browse("admin")
    form = {"csrf_token": admin.csrf("/dashboard/gateways"), "id": "gw-mairie",
            "name": "Mairie, toit", "description": "Local technique"}
    r = admin.client.post("/dashboard/gateways?lang=en", data=form)
    assert r.status_code == 200, r.text
    assert "This token is shown this once" in r.text
    assert r.headers["cache-control"] == "no-store"
    found = TOKEN_LINE.search(r.text)
    assert found is not None
    token = found.group(1)
    assert f'<code id="enroll-token">{token}</code>' in r.text
    sim = GatewaySim("gw-mairie")
    assert sim.enroll(client, token).status_code == 200
    assert sim.enroll(client, token).status_code != 200  # one enrollment only
    [ev] = events(engine, "gateway.create")
    assert ev.actor == actor_of(admin, engine)
    assert ev.entity_id == "gw-mairie"
    assert token not in json.dumps(ev.after)  # the audit never holds the token
    # the list shows it, never the token again
    listing = admin.client.get("/dashboard/gateways").text
    assert 'data-gateway="gw-mairie"' in listing
    assert token not in listing

    # a new enrollment token: a fresh one, audited, that enrolls again
    r = admin.client.post("/dashboard/gateways/gw-mairie/enroll-token",
                          data={"csrf_token": admin.csrf("/dashboard/gateways")})
    assert r.status_code == 200
    found = TOKEN_LINE.search(r.text)
    assert found is not None
    assert found.group(1) != token
    assert GatewaySim("gw-mairie").enroll(client, found.group(1)).status_code == 200
    assert len(events(engine, "gateway.enroll_token")) == 1


def test_admin_revokes_a_gateway_after_typing_its_id(browse: Any, engine: Engine) -> None:
    admin = browse("admin")
    form = {"csrf_token": admin.csrf("/dashboard/gateways"), "id": "gw-gare", "name": "Gare"}
    assert admin.client.post("/dashboard/gateways", data=form).status_code == 200
    confirm_page = admin.client.get("/dashboard/gateways/gw-gare/revoke?lang=en")
    assert confirm_page.status_code == 200
    assert "To confirm, type the gateway&#39;s id (gw-gare)" in confirm_page.text
    csrf = admin.csrf("/dashboard/gateways/gw-gare/revoke")
    wrong = admin.client.post("/dashboard/gateways/gw-gare/revoke?lang=en",
                              data={"csrf_token": csrf, "confirm": "gw-gar"})
    assert wrong.status_code == 422
    assert "The id typed does not match: nothing revoked." in wrong.text
    with Session(engine) as s:
        gw = s.get(Gateway, "gw-gare")
        assert gw is not None
        assert gw.status == "pending"
    r = admin.client.post("/dashboard/gateways/gw-gare/revoke",
                          data={"csrf_token": csrf, "confirm": "gw-gare"}, follow_redirects=False)
    assert r.status_code == 303
    listing = admin.client.get(r.headers["location"] + "&lang=en").text
    assert "Gateway gw-gare is revoked." in listing
    with Session(engine) as s:
        gw = s.get(Gateway, "gw-gare")
        assert gw is not None
        assert gw.status == "revoked"
    [ev] = events(engine, "gateway.revoke")
    assert ev.actor == actor_of(admin, engine)
    # a revoked gateway gets no new token
    r = admin.client.post("/dashboard/gateways/gw-gare/enroll-token", data={"csrf_token": csrf})
    assert r.status_code == 409


def test_a_bad_gateway_form_says_why_and_creates_nothing(browse: Any, engine: Engine) -> None:
    admin = browse("admin")
    csrf = admin.csrf("/dashboard/gateways")
    r = admin.client.post("/dashboard/gateways?lang=en",
                          data={"csrf_token": csrf, "id": "Gw Centre", "name": ""})
    assert r.status_code == 422
    assert 'id="g-id-error">3 to 32 characters' in r.text
    assert 'id="g-name-error">Required.' in r.text
    assert 'value="Gw Centre"' in r.text
    ok = {"csrf_token": csrf, "id": "gw-centre", "name": "Centre"}
    assert admin.client.post("/dashboard/gateways", data=ok).status_code == 200
    dup = admin.client.post("/dashboard/gateways?lang=en", data={**ok, "name": "Autre"})
    assert dup.status_code == 422
    assert 'id="g-id-error">This id already exists.' in dup.text
    with Session(engine) as s:
        assert [g.name for g in s.exec(select(Gateway))] == ["Centre"]
    assert len(events(engine, "gateway.create")) == 1


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_gateway_changes_are_for_admins_only(browse: Any, engine: Engine, role: str) -> None:
    admin = browse("admin")
    made = {"csrf_token": admin.csrf("/dashboard/gateways"), "id": "gw-a1", "name": "A1"}
    assert admin.client.post("/dashboard/gateways", data=made).status_code == 200
    other = browse(role)
    listing = other.client.get("/dashboard/gateways")
    assert listing.status_code == 200
    assert 'action="/dashboard/gateways"' not in listing.text
    assert "enroll-token" not in listing.text
    assert "/revoke" not in listing.text
    csrf = other.csrf("/dashboard/gateways")
    for path, data in (
        ("/dashboard/gateways", {"id": "gw-b1", "name": "B1"}),
        ("/dashboard/gateways/gw-a1/enroll-token", {}),
        ("/dashboard/gateways/gw-a1/revoke", {"confirm": "gw-a1"}),
    ):
        assert other.client.post(path, data={"csrf_token": csrf, **data}).status_code == 403
    assert other.client.get("/dashboard/gateways/gw-a1/revoke").status_code == 403
    forged = admin.client.post("/dashboard/gateways/gw-a1/revoke",
                               data={"csrf_token": "forged", "confirm": "gw-a1"})
    assert forged.status_code == 403
    with Session(engine) as s:
        assert [(g.id, g.status) for g in s.exec(select(Gateway))] == [("gw-a1", "pending")]
    assert events(engine, "gateway.enroll_token") == events(engine, "gateway.revoke") == []


# -- API tokens -------------------------------------------------------------------------------

API_TOKEN = re.compile(r'<code id="api-token">(tfa_[^<]+)</code>')


def test_operator_creates_a_token_that_works_then_revokes_it(
    browse: Any, engine: Engine, client: TestClient
) -> None:
    op = browse("operator")
    form = {"csrf_token": op.csrf("/dashboard/tokens"), "name": "script nuit",
            "role": "viewer", "ttl_days": "7"}
    r = op.client.post("/dashboard/tokens?lang=en", data=form)
    assert r.status_code == 200, r.text
    assert "shown this once" in r.text
    found = API_TOKEN.search(r.text)
    assert found is not None
    token = found.group(1)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/zones", headers=bearer).status_code == 200
    # a viewer token, as chosen: the API refuses it an operator's change
    assert client.post(f"{API}/zones", json={"id": "z-1", "name": "Z"},
                       headers=bearer).status_code == 403
    with Session(engine) as s:
        row = s.exec(select(ApiToken).where(ApiToken.token_hash == security.hash_token(token))
                     ).one()
        assert row.role == "viewer"
        assert row.name == "script nuit"
        assert (row.expires_at - row.created_at).days == 7
    [created] = events(engine, "token.create")
    assert created.actor == actor_of(op, engine)
    listing = op.client.get("/dashboard/tokens").text
    assert f'data-token="{row.id}"' in listing
    assert token not in listing
    r = op.client.post(f"/dashboard/tokens/{row.id}/revoke",
                       data={"csrf_token": op.csrf("/dashboard/tokens")}, follow_redirects=False)
    assert r.status_code == 303
    after = op.client.get(r.headers["location"] + "&lang=en").text
    assert "Token revoked." in after
    assert re.search(rf'data-token="{row.id}">.*?data-state="revoked"', after, re.S)
    assert client.get(f"{API}/zones", headers=bearer).status_code == 401
    [revoked] = events(engine, "token.revoke")
    assert revoked.actor == actor_of(op, engine)


def test_a_token_above_ones_role_or_badly_filled_is_refused_and_nothing_made(
    browse: Any, engine: Engine
) -> None:
    op = browse("operator")
    page = op.client.get("/dashboard/tokens").text
    assert '<option value="admin"' not in page  # only roles up to one's own are offered
    csrf = op.csrf("/dashboard/tokens")
    r = op.client.post("/dashboard/tokens?lang=en",
                       data={"csrf_token": csrf, "name": "x", "role": "admin"})
    assert r.status_code == 422
    assert "a token cannot have more rights than its owner" in r.text
    r = op.client.post("/dashboard/tokens?lang=en",
                       data={"csrf_token": csrf, "name": "", "ttl_days": "0"})
    assert r.status_code == 422
    assert 'id="k-name-error">Required.' in r.text
    assert 'id="k-ttl_days-error">A whole number from 1 to 3650.' in r.text
    assert op.client.post("/dashboard/tokens", data={"name": "y"}).status_code == 403
    with Session(engine) as s:
        assert s.exec(select(ApiToken).where(ApiToken.name != "test")).all() == []
    assert events(engine, "token.create") == []


def test_tokens_of_others_are_for_admins_only(browse: Any, engine: Engine) -> None:
    op = browse("operator")
    made = op.client.post("/dashboard/tokens", data={"csrf_token": op.csrf("/dashboard/tokens"),
                                                     "name": "mine"})
    assert made.status_code == 200
    with Session(engine) as s:
        row = s.exec(select(ApiToken).where(ApiToken.name == "mine")).one()
    other = browse("operator")
    # another operator neither sees nor revokes it (404, as the API's NotFound)
    assert other.client.get(f"/dashboard/tokens?operator={row.operator_id}").status_code == 403
    r = other.client.post(f"/dashboard/tokens/{row.id}/revoke",
                          data={"csrf_token": other.csrf("/dashboard/tokens")})
    assert r.status_code == 404
    viewer = browse("viewer")
    assert "/dashboard/tokens" not in viewer.client.get("/dashboard").text
    assert viewer.client.get("/dashboard/tokens").status_code == 403
    # an admin sees that operator's tokens, revokes one, and may make one for them
    admin = browse("admin")
    page = admin.client.get(f"/dashboard/tokens?operator={row.operator_id}")
    assert page.status_code == 200
    assert f'data-token="{row.id}"' in page.text
    csrf = admin.csrf("/dashboard/tokens")
    r = admin.client.post("/dashboard/tokens", data={
        "csrf_token": csrf, "name": "pour lui", "operator_id": str(row.operator_id),
        "role": "admin"})
    assert r.status_code == 422  # not above that operator's role
    r = admin.client.post("/dashboard/tokens", data={
        "csrf_token": csrf, "name": "pour lui", "operator_id": str(row.operator_id)})
    assert r.status_code == 200
    r = admin.client.post(f"/dashboard/tokens/{row.id}/revoke", data={"csrf_token": csrf},
                          follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/dashboard/tokens?operator={row.operator_id}&done=revoked"
    with Session(engine) as s:
        rows = {t.name: t for t in s.exec(select(ApiToken).where(ApiToken.name != "test"))}
    assert rows["mine"].revoked_at is not None
    assert rows["pour lui"].operator_id == row.operator_id
    assert rows["pour lui"].role == "operator"
    assert [e.actor for e in events(engine, "token.revoke")] == [actor_of(admin, engine)]
