"""The public register does not link a sensor across days: attacks on its pseudonyms, its
order and its dates (SQLite and PostgreSQL; day keys stored and forgotten in the database)."""

from __future__ import annotations

import math
import re
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from fleet.crud.register import day_keys, register_view
from fleet.models import PseudonymDayKey
from protocol.pseudonyms import pseudonym
from tests.fleet.gwsim import API, World
from tests.fleet.test_ingest import health
from tests.fleet.test_public import REGISTER_FIELDS

LINKABLE = {"type", "zone_id", "installed_month", "status"}  # and what the type determines
PER_TYPE = {
    "measures",
    "measures_labels",
    "purpose",
    "legal_basis",
    "operator",
    "contact",
    "personal_data",
    "personal_data_processing",
    "retention",
    "zone_name",  # the zone's
    "active_until_month",  # a month, shared here by every sensor
}
FIRST_DAY = date(2026, 11, 2)


def _sensors(world: World) -> list[str]:
    """12 sensors, two zones, some heard from (active), the others not yet (inactive)."""
    nodes = [world.claim(gateway="gw-a", zone=world.zone)["node_id"] for _ in range(8)]
    nodes += [world.claim(gateway="gw-b", zone=world.zone_b)["node_id"] for _ in range(4)]
    for i, sim in ((0, world.gw_a), (1, world.gw_a), (2, world.gw_a), (8, world.gw_b)):
        r = sim.ingest(world.client, {"batch_id": f"h{i}", "health": [health(nodes[i])]})
        assert r.status_code == 200, r.text
    return nodes


def _day(
    engine: Engine, world: World, day: date, nodes: list[str]
) -> tuple[list[Any], dict[str, str]]:
    """The register on ``day`` and, for the test only, which node each pseudonym is."""
    box = world.client.app.state.box  # type: ignore[attr-defined]
    with Session(engine) as s:
        keys = day_keys(s, box, today=day.isoformat(), keep_days=3)
        view = register_view(
            s, keys=keys, now=int(time.time()), offline_after_s=900, limit=100, offset=0
        )
    truth = {pseudonym(n, keys[0]): n for n in nodes}
    return [e.model_dump() for e in view.entries], truth


def _profile(entry: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(entry[k] for k in sorted(LINKABLE))


def test_after_a_rotation_only_type_zone_month_and_status_stay_the_same(
    world: World, engine: Engine
) -> None:
    nodes = _sensors(world)
    day1, truth1 = _day(engine, world, FIRST_DAY, nodes)
    day2, truth2 = _day(engine, world, FIRST_DAY + timedelta(days=1), nodes)
    assert set(day1[0]) == REGISTER_FIELDS
    assert len(day1) == len(day2) == 12
    by_node2 = {truth2[e["id"]]: e for e in day2}
    for e1 in day1:
        e2 = by_node2[truth1[e1["id"]]]
        same = {k for k in REGISTER_FIELDS if e1[k] == e2[k]}
        assert same == LINKABLE | PER_TYPE  # the pseudonym changed, nothing else can link
        assert re.fullmatch(r"[0-9]{4}-[0-9]{2}", e1["installed_month"])
    # sensors sharing (type, zone, month, status) are identical but for the pseudonym
    for day in (day1, day2):
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for e in day:
            groups.setdefault(_profile(e), []).append(e)
        for group in groups.values():
            assert all({**e, "id": ""} == {**group[0], "id": ""} for e in group)
    assert not set(truth1) & set(truth2)


def test_a_matching_attack_across_rotations_recovers_no_more_than_chance(
    world: World, engine: Engine
) -> None:
    """The attacker pairs each entry with the next day's entry that agrees on every public
    field and is nearest in position (row order was the old giveaway: 12 of 12)."""
    nodes = _sensors(world)
    days = 30
    correct = groups_total = 0
    before, truth_before = _day(engine, world, FIRST_DAY, nodes)
    for d in range(1, days + 1):
        after, truth_after = _day(engine, world, FIRST_DAY + timedelta(days=d), nodes)
        for i, e in enumerate(before):
            candidates = [
                (abs(j - i), j) for j, f in enumerate(after) if {**f, "id": ""} == {**e, "id": ""}
            ]
            _, guess = min(candidates)
            correct += truth_after[after[guess]["id"]] == truth_before[e["id"]]
        groups_total += len({_profile(e) for e in before})
        before, truth_before = after, truth_after
    # any fixed matching of a randomly permuted group of any size hits 1 on average,
    # variance 1: chance is one hit per group per day; slack four standard deviations
    chance = groups_total
    slack = 4 * math.sqrt(groups_total)
    assert correct <= chance + slack, (correct, chance, slack)
    assert groups_total == days * 4  # (zone, status): 2 x 2 groups, all installed this month


def test_day_keys_are_forgotten_after_the_kept_days_and_old_pseudonyms_stop_resolving(
    world: World, engine: Engine
) -> None:
    nodes = _sensors(world)
    box = world.client.app.state.box  # type: ignore[attr-defined]
    first, _ = _day(engine, world, FIRST_DAY, nodes)
    old_id = first[5]["id"]
    for d in range(1, 4):
        _day(engine, world, FIRST_DAY + timedelta(days=d), nodes)
        with Session(engine) as s:
            keys = day_keys(s, box, today=(FIRST_DAY + timedelta(days=d)).isoformat(), keep_days=3)
            found = register_view(
                s, keys=keys, now=0, offline_after_s=900, limit=1, offset=0, lookup=old_id
            )
            stored = s.exec(select(func.count()).select_from(PseudonymDayKey)).one()
        assert stored == min(d + 1, 3)
        if d < 3:  # still kept: found, and shown under the pseudonym asked, never today's
            [entry] = found.entries
            assert entry.id == old_id
        else:
            assert found.entries == []


def test_a_citizen_finds_a_sensor_by_todays_pseudonym_through_the_api(world: World) -> None:
    _sensors(world)
    listed = world.client.get(f"{API}/public/register?limit=5").json()
    assert len(listed["data"]) == 5
    rest = world.client.get(f"{API}/public/register?limit=50&offset={listed['next_cursor']}")
    ids = [e["id"] for e in listed["data"] + rest.json()["data"]]
    assert len(set(ids)) == 12
    assert ids == sorted(ids)  # the day's order: by pseudonym, a keyed shuffle of the nodes
    one = listed["data"][3]
    r = world.client.get(f"{API}/public/register/{one['id']}")
    assert r.status_code == 200
    assert r.json() == one
    assert world.client.get(f"{API}/public/register/p-{'0' * 20}").status_code == 404
    assert world.client.get(f"{API}/public/register/ang-0001").status_code == 422
