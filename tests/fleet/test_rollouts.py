"""Rollouts through the API, as the gateways see them (signed GET /gateway/ota): groups,
thresholds, automatic pause, operator actions, windows, late joiners, roles."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from fleet.models import AuditEvent
from tests.fleet.gwsim import API, World
from tests.fleet.ota_helpers import NEW, OLD, item, ota_get, ota_status, published, report_health

CANARY = [
    {"count": 2, "success": 1.0, "error": 0.0},
    {"percent": 100, "success": 1.0, "error": 0.5},
]


@pytest.fixture
def fleet(world: World) -> dict[str, Any]:
    """Six nodes on gw-a (centre-ville), two on gw-b (la-doutre), all running OLD."""
    a = [world.claim()["node_id"] for _ in range(6)]
    b = [world.claim(gateway="gw-b", zone=world.zone_b)["node_id"] for _ in range(2)]
    report_health(world, world.gw_a, dict.fromkeys(a, OLD))
    report_health(world, world.gw_b, dict.fromkeys(b, OLD))
    return {"a": a, "b": b, "release": published(world.client, world.admin)}


def start(world: World, who: dict[str, str], release_id: int, **body: Any) -> Any:
    payload = {"name": "test", "release_id": release_id, "groups": CANARY, **body}
    r = world.client.post(f"{API}/rollouts", json=payload, headers=who)
    assert r.status_code == 201, r.text
    return r.json()


def targets(world: World, gw: Any = None) -> dict[str, str]:
    r = ota_get(world.client, gw or world.gw_a)
    assert r.status_code == 200, r.text
    return {t["node_id"]: t["ver"] for t in r.json()["targets"]}


def group_of(rollout: dict[str, Any], index: int) -> list[str]:
    return [n["node_id"] for n in rollout["nodes"] if n["group"] == index]


def rollout(world: World, rid: int) -> Any:
    r = world.client.get(f"{API}/rollouts/{rid}", headers=world.admin)
    assert r.status_code == 200, r.text
    return r.json()


def test_start_offers_the_release_to_the_first_group_only(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    ro = start(world, operator, fleet["release"]["id"], target={"zones": [world.zone]})
    assert ro["members"] == 6, "only the targeted zone"
    assert [g["total"] for g in ro["groups"]] == [2, 4]
    assert set(targets(world)) == set(group_of(ro, 0))
    assert set(targets(world).values()) == {NEW}
    assert targets(world, world.gw_b) == {}, "la-doutre is not targeted"


def test_next_group_opens_once_the_canaries_confirm(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    ro = start(world, operator, fleet["release"]["id"])
    canaries = group_of(ro, 0)
    ours = [n for n in canaries if n in fleet["a"]]
    theirs = [n for n in canaries if n in fleet["b"]]
    if ours:
        assert ota_status(world.client, world.gw_a, [item(n, "confirmed") for n in ours]).json()[
            "applied"
        ] == len(ours)
    if theirs:  # confirmed through health: the node reports running the new version
        report_health(world, world.gw_b, dict.fromkeys(theirs, NEW))
    after = rollout(world, ro["id"])
    assert after["open_groups"] == 2
    assert after["groups"][0]["confirmed"] == 2
    offered = set(targets(world)) | set(targets(world, world.gw_b))
    assert offered == set(group_of(ro, 1))


def test_error_threshold_pauses_by_itself_and_the_second_group_never_gets_a_target(
    world: World, fleet: dict[str, Any], operator: dict[str, str], engine: Engine
) -> None:
    ro = start(world, operator, fleet["release"]["id"], target={"zones": [world.zone]})
    canary = group_of(ro, 0)[0]
    r = ota_status(world.client, world.gw_a, [item(canary, "rolled_back", why="trial_failed")])
    assert r.json()["applied"] == 1
    assert targets(world) == {}, "paused: no offers at all"
    after = rollout(world, ro["id"])
    assert after["status"] == "paused"
    assert after["paused_reason"] == "error_threshold:group1"
    assert after["groups"][0]["failed"] == 1
    assert after["open_groups"] == 1
    other = group_of(ro, 0)[1]
    ota_status(world.client, world.gw_a, [item(other, "confirmed")])
    assert targets(world) == {}
    assert rollout(world, ro["id"])["open_groups"] == 1, "a paused rollout never advances"
    with Session(engine) as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "rollout.progress")).all()
    assert [e.actor for e in ev] == ["system"]


def test_status_items_as_gateways_send_them_with_an_empty_reason_are_applied(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    """The node's progress message always carries ``why`` ("" unless refused) and the gateway
    forwards it as is: the fleet takes "" as no reason, not as a malformed batch."""
    ro = start(world, operator, fleet["release"]["id"], target={"zones": [world.zone]})
    canaries = group_of(ro, 0)
    r = ota_status(world.client, world.gw_a, [item(n, "confirmed", why="") for n in canaries])
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == 2
    after = rollout(world, ro["id"])
    assert after["groups"][0]["confirmed"] == 2
    assert {n["why"] for n in after["nodes"] if n["node_id"] in canaries} == {None}


def test_operator_pauses_resumes_and_aborts_and_each_is_audited(
    world: World, fleet: dict[str, Any], operator: dict[str, str], engine: Engine
) -> None:
    ro = start(world, operator, fleet["release"]["id"], target={"zones": [world.zone]})
    rid = ro["id"]
    post = world.client.post
    assert post(f"{API}/rollouts/{rid}/pause", headers=operator).json()["status"] == "paused"
    assert targets(world) == {}
    assert post(f"{API}/rollouts/{rid}/pause", headers=operator).status_code == 409
    assert post(f"{API}/rollouts/{rid}/resume", headers=operator).json()["status"] == "running"
    assert set(targets(world)) == set(group_of(ro, 0))
    assert post(f"{API}/rollouts/{rid}/abort", headers=operator).json()["status"] == "aborted"
    assert targets(world) == {}
    assert post(f"{API}/rollouts/{rid}/resume", headers=operator).status_code == 409
    with Session(engine) as s:
        actions = [
            e.action
            for e in s.exec(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "rollout")
                .order_by(AuditEvent.id)
            )
        ]  # type: ignore[arg-type]
    assert actions == ["rollout.start", "rollout.pause", "rollout.resume", "rollout.abort"]


def test_resume_after_an_automatic_pause_accepts_the_failures_seen(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    ro = start(world, operator, fleet["release"]["id"], target={"zones": [world.zone]})
    first, second = group_of(ro, 0)
    ota_status(world.client, world.gw_a, [item(first, "refused", why="wrong_hw")])
    assert rollout(world, ro["id"])["status"] == "paused"
    r = world.client.post(f"{API}/rollouts/{ro['id']}/resume", headers=operator)
    assert r.json()["status"] == "running"
    assert set(targets(world)) == {second}


def test_viewers_cannot_start_pause_or_tag(
    world: World, fleet: dict[str, Any], viewer: dict[str, str], operator: dict[str, str]
) -> None:
    body = {"name": "x", "release_id": fleet["release"]["id"], "groups": CANARY}
    assert world.client.post(f"{API}/rollouts", json=body, headers=viewer).status_code == 403
    ro = start(world, operator, fleet["release"]["id"])
    assert world.client.post(f"{API}/rollouts/{ro['id']}/pause", headers=viewer).status_code == 403
    assert world.client.get(f"{API}/rollouts/{ro['id']}", headers=viewer).status_code == 200
    node = fleet["a"][0]
    r = world.client.put(f"{API}/nodes/{node}/tags", json={"tags": ["pilot"]}, headers=viewer)
    assert r.status_code == 403
    assert world.client.post(f"{API}/rollouts", json=body).status_code == 401


def _paris_window(offset_start: int, offset_end: int) -> dict[str, str]:
    now = datetime.now(ZoneInfo("Europe/Paris"))
    m = now.hour * 60 + now.minute

    def hhmm(x: int) -> str:
        x %= 1440
        return f"{x // 60:02d}:{x % 60:02d}"

    return {"start": hhmm(m + offset_start), "end": hhmm(m + offset_end)}


def test_maintenance_window_is_honoured(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    closed = start(
        world,
        operator,
        fleet["release"]["id"],
        target={"zones": [world.zone]},
        window=_paris_window(120, 180),
    )
    assert targets(world) == {}
    assert rollout(world, closed["id"])["in_window"] is False
    world.client.post(f"{API}/rollouts/{closed['id']}/abort", headers=operator)
    opened = start(
        world,
        operator,
        fleet["release"]["id"],
        target={"zones": [world.zone]},
        window=_paris_window(-60, 60),
    )
    assert set(targets(world)) == set(group_of(opened, 0))


def test_node_registered_during_a_rollout_that_matches_is_included(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    groups = [{"percent": 50, "success": 0, "error": 1}, {"percent": 100, "success": 0, "error": 1}]
    ro = start(
        world, operator, fleet["release"]["id"], target={"zones": [world.zone]}, groups=groups
    )
    late = world.claim()["node_id"]
    elsewhere = world.claim(gateway="gw-b", zone=world.zone_b)["node_id"]
    after = rollout(world, ro["id"])
    joined = {n["node_id"]: n for n in after["nodes"]}
    assert late in joined
    assert joined[late]["late"] is True
    assert elsewhere not in joined
    assert late in targets(world), "success 0: both groups open, the newcomer is offered"


def test_tag_target_selects_tagged_nodes_only(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    tagged = fleet["a"][:3]
    for n in tagged:
        r = world.client.put(f"{API}/nodes/{n}/tags", json={"tags": ["pilot"]}, headers=operator)
        assert r.status_code == 200
    groups = [{"percent": 100, "success": 1, "error": 0}]
    ro = start(world, operator, fleet["release"]["id"], target={"tags": ["pilot"]}, groups=groups)
    assert sorted(n["node_id"] for n in ro["nodes"]) == sorted(tagged)


def test_shown_version_is_the_reported_one_never_the_wish(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    ro = start(world, operator, fleet["release"]["id"], target={"zones": [world.zone]})
    canary = group_of(ro, 0)[0]
    ota_status(world.client, world.gw_a, [item(canary, "switching")])
    node = next(n for n in rollout(world, ro["id"])["nodes"] if n["node_id"] == canary)
    assert (node["running"], node["outcome"]) == (OLD, "in_progress")
    report_health(world, world.gw_a, {canary: NEW})
    node = next(n for n in rollout(world, ro["id"])["nodes"] if n["node_id"] == canary)
    assert (node["running"], node["outcome"]) == (NEW, "trial")


def test_bad_rollout_definitions_are_refused_clearly(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    rid = fleet["release"]["id"]
    bad = [
        {"groups": [{"percent": 10, "count": 2, "success": 1, "error": 0}]},
        {"groups": [{"percent": 10, "success": 1.5, "error": 0}]},
        {"groups": [{"percent": 0, "success": 1, "error": 0}]},
        {"groups": []},
        {"target": {"percent": 120}},
        {"window": {"start": "25:00", "end": "03:00"}},
        {"window": {"start": "03:00", "end": "03:00"}},
    ]
    for extra in bad:
        body = {"name": "x", "release_id": rid, "groups": CANARY, **extra}
        r = world.client.post(f"{API}/rollouts", json=body, headers=operator)
        assert r.status_code == 422, extra
    body = {"name": "x", "release_id": 999999, "groups": CANARY}
    assert world.client.post(f"{API}/rollouts", json=body, headers=operator).status_code == 404


def test_rollout_started_before_any_node_matches_keeps_its_canaries(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    ro = start(world, operator, fleet["release"]["id"], target={"tags": ["new-district"]})
    assert ro["members"] == 0
    assert ro["open_groups"] == 1
    joined = []
    for _ in range(4):
        node = world.claim()["node_id"]
        r = world.client.put(
            f"{API}/nodes/{node}/tags", json={"tags": ["new-district"]}, headers=operator
        )
        assert r.status_code == 200
        joined.append(node)
        rollout(world, ro["id"])  # evaluated as each node arrives
    after = rollout(world, ro["id"])
    assert [g["total"] for g in after["groups"]] == [2, 2]
    canaries = group_of(after, 0)
    assert canaries == sorted(joined[:2])
    assert set(targets(world)) == set(canaries), "group 2 waits for the canaries"


def test_nodes_of_another_hardware_are_not_eligible_never_offered_never_failures(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    # the release is built for emu-x64; two boards say esp32, two say emu-x64, two never said
    a = fleet["a"]
    report_health(world, world.gw_a, dict.fromkeys(a[:2], OLD), hw="esp32")
    report_health(world, world.gw_a, dict.fromkeys(a[2:4], OLD), hw="emu-x64")
    groups = [{"percent": 100, "success": 1.0, "error": 0.0}]
    ro = start(world, operator, fleet["release"]["id"], target={"zones": [world.zone]},
               groups=groups)
    assert ro["members"] == 4, "unknown hardware stays eligible: the node checks it itself"
    assert ro["not_eligible"] == 2
    detail = rollout(world, ro["id"])
    assert detail["not_eligible_nodes"] == [
        {"node_id": n, "reason": "hardware", "hw": "esp32"} for n in sorted(a[:2])
    ]
    assert not set(a[:2]) & {n["node_id"] for n in detail["nodes"]}
    assert set(targets(world)) == set(a[2:]), "offered to the eligible ones only"
    assert detail["groups"][0]["failed"] == 0
    assert detail["status"] == "running"


def test_member_that_states_another_hardware_leaves_the_count_not_as_a_failure(
    world: World, fleet: dict[str, Any], operator: dict[str, str]
) -> None:
    groups = [{"percent": 100, "success": 1.0, "error": 0.0}]
    ro = start(world, operator, fleet["release"]["id"], target={"zones": [world.zone]},
               groups=groups)
    assert ro["members"] == 6
    board = fleet["a"][0]
    # its first state since the update of the gateway: it is an ESP32
    report_health(world, world.gw_a, {board: OLD}, hw="esp32")
    detail = rollout(world, ro["id"])
    assert detail["members"] == 5
    assert detail["not_eligible_nodes"] == [{"node_id": board, "reason": "hardware",
                                            "hw": "esp32"}]
    assert board not in targets(world)
    assert detail["groups"][0]["failed"] == 0, "an error threshold of 0 would have paused it"
    assert detail["status"] == "running"
    # a late joiner of another hardware does not join either
    late = world.claim()["node_id"]
    report_health(world, world.gw_a, {late: OLD}, hw="esp32")
    detail = rollout(world, ro["id"])
    assert late not in {n["node_id"] for n in detail["nodes"]}
    assert {n["node_id"] for n in detail["not_eligible_nodes"]} == {board, late}
