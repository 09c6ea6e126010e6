"""The public records of trust through the real app (SQLite and PostgreSQL): the release log
(JSON and page) with the hashes anyone can check a bundle against, the key's fingerprint, the
release manager's notes shown as text, where each rollout stands by zone; the privacy report
page explaining a zone's day in plain words."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from fleet.crud.privacy_report import PrivacyReport
from fleet.crud.release_log import ReleaseLog
from fleet.models import Release, ZonePrivacyDay
from protocol.manifest import sign_body
from protocol.release_bundle import MAX_NOTES_CHARS, pack
from tests.fleet.gwsim import API, World
from tests.fleet.ota_helpers import (
    NEW,
    body_of,
    publish,
    register_key,
    release_key,
    report_health,
    rollout_on_gw_a,
)

NOTES = "Corrige la mesure du bruit.\n<script>alert('x')</script> & « été »"


def _bundle(version: str, notes: str | None) -> bytes:
    body, files = body_of(version)
    return pack(files=files, manifest=sign_body(body, release_key()), notes=notes)


def test_release_log_shows_hashes_key_fingerprint_and_notes_as_text(world: World) -> None:
    register_key(world.client, world.admin, release_key())
    data = _bundle("1.2.0", NOTES)
    assert publish(world.client, world.admin, data).status_code == 201
    r = world.client.get(f"{API}/public/releases")  # no login
    assert r.status_code == 200
    log = ReleaseLog.model_validate(r.json())
    [entry] = log.data
    _, files = body_of("1.2.0")
    assert entry.version == "1.2.0"
    assert entry.notes == NOTES
    assert entry.bundle_sha256 == hashlib.sha256(data).hexdigest()
    assert {f.path: f.sha256 for f in entry.files} == {
        p: hashlib.sha256(d).hexdigest() for p, d in files.items()
    }
    der = (
        release_key()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert entry.key_fingerprint == hashlib.sha256(der).hexdigest()
    assert entry.rollouts == []
    page = world.client.get("/releases?lang=en")
    assert page.status_code == 200
    assert "<script>alert" not in page.text  # the notes are text, never HTML
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; « été »" in page.text
    for digest in (entry.bundle_sha256, entry.manifest_sha256, entry.key_fingerprint):
        assert digest in page.text
    assert all(f.sha256 in page.text for f in entry.files)
    assert "sha256sum" in page.text


def test_a_release_without_notes_says_so_and_bad_notes_refuse_the_bundle_whole(
    world: World, engine: Engine
) -> None:
    register_key(world.client, world.admin, release_key())
    assert publish(world.client, world.admin, _bundle("1.0.0", None)).status_code == 201
    assert "No notes for this release." in world.client.get("/releases?lang=en").text
    for notes in ("x" * (MAX_NOTES_CHARS + 1), "bell\x07", "   "):
        r = publish(world.client, world.admin, _bundle("1.0.1", notes))
        assert r.status_code == 422, r.text
        assert "notes.txt" in r.json()["detail"]
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Release)).one() == 1


def test_each_rollout_stands_by_zone_as_the_nodes_report(world: World) -> None:
    made = rollout_on_gw_a(
        world,
        world.admin,
        nodes=3,
        groups=[{"percent": 100, "success": 1.0, "error": 1.0}],
        name="all",
    )
    report_health(world, world.gw_a, {made["nodes"][0]: NEW, made["nodes"][1]: NEW})
    log = ReleaseLog.model_validate(world.client.get(f"{API}/public/releases").json())
    [standing] = log.data[0].rollouts
    assert standing.id == made["rollout"]["id"]
    [zone] = standing.zones
    assert (zone.zone_id, zone.sensors, zone.running, zone.failed, zone.waiting) == (
        world.zone,
        3,
        2,
        0,
        1,
    )
    page = world.client.get("/releases?lang=en").text
    assert f"Rollout {standing.id} (running)" in page
    assert "Centre-ville" in page
    assert "@example.org" not in page  # who published or started it stays with the operators


def test_privacy_report_page_explains_a_zone_day_in_plain_words(
    world: World, engine: Engine
) -> None:
    with Session(engine) as s:
        s.add(
            ZonePrivacyDay(
                zone_id=world.zone,
                day="2026-11-02",
                epsilon_spent=6.0,
                cells_published=40,
                suppressed_too_few_nodes=3,
                suppressed_budget_exhausted=2,
                refused_conflicting_cell=1,
            )
        )
        s.commit()
    r = world.client.get(f"/privacy-report?zone={world.zone}&lang=en")
    assert r.status_code == 200
    for text in (
        "Centre-ville, 2026-11-02",
        "Budget spent: 6.00 of 8.00 (75%).",
        "40 figure(s) published.",
        "5 figure(s) withheld, not published:",
        "3 because fewer than three sensors contributed",
        "2 because the day&#39;s budget was spent",
        "1 because another figure was already published for the same cell",
    ):
        assert text in r.text, text
    fr = world.client.get(f"/privacy-report?zone={world.zone}&day=2026-11-02&lang=fr").text
    assert "Budget dépensé : 6,00 sur 8,00 (75 %)." in fr
    assert "since=2026-11-02" in fr  # the JSON link carries the same filter
    assert "Aucune journée" in world.client.get("/privacy-report?day=2020-01-01").text
    for bad in ("zone=..%2F", "day=yesterday"):
        page = world.client.get(f"/privacy-report?{bad}")
        assert page.status_code == 400
        assert "Traceback" not in page.text
    report = PrivacyReport.model_validate(
        world.client.get(f"{API}/public/privacy-report?zone={world.zone}").json()
    )
    assert report.data[0].cells_suppressed["too_few_nodes"] == 3
