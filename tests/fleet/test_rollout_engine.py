"""The rollout decision engine, pure: groups, thresholds, pause, window, late joiners."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.rollout_engine import MemberState, RolloutSpec, Window, decide, outcome
from fleet.rollout_targeting import (
    GroupSpec,
    NodeFacts,
    Target,
    assign_groups,
    bucket,
    group_of_late_joiner,
    group_sizes,
    groups_of_newcomers,
    matches,
    not_eligible,
)

PARIS = ZoneInfo("Europe/Paris")
VER = "1.4.0"
GRACE = 600
NOON = datetime(2026, 11, 27, 12, 0, tzinfo=PARIS).timestamp()
CANARY = (GroupSpec(None, 2, 1.0, 0.0), GroupSpec(50, None, 0.9, 0.2), GroupSpec(100, None, 1, 1))


def spec(**kw: object) -> RolloutSpec:
    base: dict[str, object] = {
        "rollout_id": 7,
        "version": VER,
        "status": "running",
        "groups": CANARY,
        "window": None,
        "tz": PARIS,
        "open_groups": 1,
    }
    base.update(kw)
    return RolloutSpec(**base)  # type: ignore[arg-type]


def members(groups: list[int], **states: MemberState) -> list[MemberState]:
    out = [MemberState(f"n{i:03d}", g) for i, g in enumerate(groups)]
    return [states.get(m.node_id, m) for m in out]


def confirmed(node_id: str, group: int) -> MemberState:
    return MemberState(node_id, group, running=VER, running_at=100, status="confirmed")


def failed(node_id: str, group: int) -> MemberState:
    return MemberState(node_id, group, running="1.3.0", status="rolled_back")


def test_only_the_first_group_is_offered_at_the_start() -> None:
    d = decide(spec(), members([0, 0, 1, 1, 2, 2]), NOON, trial_grace_s=GRACE)
    assert d.status == "running"
    assert d.open_groups == 1
    assert d.targets == {"n000", "n001"}


def test_next_group_opens_when_the_success_threshold_is_reached() -> None:
    ms = members([0, 0, 1, 1, 2, 2], n000=confirmed("n000", 0))
    d = decide(spec(), ms, NOON, trial_grace_s=GRACE)
    assert d.open_groups == 1, "1 of 2 confirmed is below a success threshold of 100 %"
    ms[1] = confirmed("n001", 0)
    d = decide(spec(), ms, NOON, trial_grace_s=GRACE)
    assert d.open_groups == 2
    assert d.targets == {"n002", "n003"}, "confirmed nodes get no offer; group 3 stays shut"


def test_error_threshold_pauses_the_rollout_and_the_next_group_gets_nothing() -> None:
    ms = members([0, 0, 1, 1, 2, 2])
    ms[0] = confirmed("n000", 0)
    ms[1] = failed("n001", 0)
    d = decide(spec(), ms, NOON, trial_grace_s=GRACE)
    assert d.status == "paused"
    assert d.paused_reason == "error_threshold:group1"
    assert d.open_groups == 1
    assert d.targets == frozenset()


def test_failures_within_the_threshold_do_not_pause() -> None:
    groups = (GroupSpec(None, 10, 0.5, 0.2), GroupSpec(100, None, 1, 1))
    ms = members([0] * 10 + [1] * 5)
    ms[0] = failed("n000", 0)
    ms[1] = failed("n001", 0)  # 2 of 10 = 20 %, not above 20 %
    d = decide(spec(groups=groups), ms, NOON, trial_grace_s=GRACE)
    assert d.status == "running"
    ms[2] = failed("n002", 0)
    assert decide(spec(groups=groups), ms, NOON, trial_grace_s=GRACE).status == "paused"


def test_resumed_rollout_accepts_the_failures_seen_before() -> None:
    ms = members([0, 0, 1, 1, 2, 2])
    ms[0] = confirmed("n000", 0)
    ms[1] = failed("n001", 0)
    d = decide(spec(accepted_failures=(1, 0, 0)), ms, NOON, trial_grace_s=GRACE)
    assert d.status == "running"
    assert d.open_groups == 1, "the failed canary still keeps group 1 below 100 % success"


def test_paused_and_aborted_rollouts_offer_nothing_and_do_not_advance() -> None:
    ms = members([0, 0, 1, 1], n000=confirmed("n000", 0), n001=confirmed("n001", 0))
    for status in ("paused", "aborted", "completed"):
        d = decide(spec(status=status), ms, NOON, trial_grace_s=GRACE)
        assert d.status == status
        assert d.open_groups == 1
        assert d.targets == frozenset()


def test_completed_when_every_group_is_open_and_every_node_is_done() -> None:
    groups = (GroupSpec(None, 1, 1, 0), GroupSpec(100, None, 1, 1))
    ms = [confirmed("a", 0), confirmed("b", 1), failed("c", 1)]
    d = decide(spec(groups=groups), ms, NOON, trial_grace_s=GRACE)
    assert d.status == "completed"
    assert d.open_groups == 2


def test_maintenance_window_closes_offers_and_crosses_midnight() -> None:
    night = Window(22 * 60, 5 * 60)
    ms = members([0, 0])
    assert decide(spec(window=night), ms, NOON, trial_grace_s=GRACE).targets == frozenset()
    at_23 = datetime(2026, 11, 27, 23, 30, tzinfo=PARIS).timestamp()
    at_4 = datetime(2026, 11, 28, 4, 59, tzinfo=PARIS).timestamp()
    at_5 = datetime(2026, 11, 28, 5, 0, tzinfo=PARIS).timestamp()
    assert decide(spec(window=night), ms, at_23, trial_grace_s=GRACE).targets == {"n000", "n001"}
    assert decide(spec(window=night), ms, at_4, trial_grace_s=GRACE).in_window
    assert not decide(spec(window=night), ms, at_5, trial_grace_s=GRACE).in_window


def test_window_is_in_paris_time_across_daylight_saving() -> None:
    window = Window(2 * 60, 3 * 60)
    summer = datetime(2026, 7, 1, 2, 30, tzinfo=PARIS).timestamp()  # 00:30 UTC
    winter = datetime(2026, 1, 15, 2, 30, tzinfo=PARIS).timestamp()  # 01:30 UTC
    assert window.contains(summer, PARIS)
    assert window.contains(winter, PARIS)
    assert not window.contains(summer + 3600, PARIS)


def test_outcome_is_what_the_node_reports_not_what_was_offered() -> None:
    assert outcome(MemberState("n", 0, running="1.3.0"), VER, trial_grace_s=GRACE) == "pending"
    assert outcome(MemberState("n", 0, running=VER), VER, trial_grace_s=GRACE) == "confirmed"
    switching = MemberState(
        "n", 0, running="1.3.0", running_at=1000, status="switching", status_at=1000
    )
    assert outcome(switching, VER, trial_grace_s=GRACE) == "in_progress"
    in_trial = MemberState("n", 0, running=VER, running_at=1100, status="switching", status_at=1000)
    assert outcome(in_trial, VER, trial_grace_s=GRACE) == "trial"
    back = MemberState(
        "n", 0, running="1.3.0", running_at=1000 + GRACE + 1, status="switching", status_at=1000
    )
    assert outcome(back, VER, trial_grace_s=GRACE) == "failed", "old version after a trial"
    refused = MemberState("n", 0, running="1.3.0", status="refused")
    assert outcome(refused, VER, trial_grace_s=GRACE) == "failed"


def test_a_rollout_with_no_member_yet_opens_no_group() -> None:
    d = decide(spec(), [], NOON, trial_grace_s=GRACE)
    assert (d.status, d.open_groups, d.targets) == ("running", 1, frozenset())


def test_rollout_started_empty_fills_its_canaries_first() -> None:
    sizes = group_sizes(CANARY, 0)
    first = groups_of_newcomers(7, CANARY, sizes, [0, 0, 0], ["a", "b"])
    assert sorted(first.values()) == [0, 0], "the first two nodes are the canaries"
    later = groups_of_newcomers(7, CANARY, sizes, [2, 0, 0], [f"n{i}" for i in range(8)])
    counts = [list(later.values()).count(g) for g in range(3)]
    assert counts == [0, 5, 3], "then as group_sizes of the ten members: 2, 5, 3"


def test_late_joiners_after_a_populated_start_follow_the_start_boundaries() -> None:
    sizes = group_sizes(CANARY, 10)
    placed = groups_of_newcomers(7, CANARY, sizes, [2, 5, 3], ["x1", "x2", "x3"])
    assert placed == {n: group_of_late_joiner(7, n, sizes) for n in ("x1", "x2", "x3")}


def test_group_sizes_cover_the_target_exactly() -> None:
    assert group_sizes(CANARY, 10) == [2, 5, 3]
    assert group_sizes(CANARY, 1) == [1, 0, 0]
    assert group_sizes(CANARY, 0) == [0, 0, 0]


def test_percent_target_is_deterministic_and_close_to_the_share() -> None:
    nodes = [NodeFacts(f"ang-{i:05d}", "centre", "air") for i in range(4000)]
    target = Target(percent=25)
    chosen = [n.node_id for n in nodes if matches(target, n, 3)]
    assert chosen == [n.node_id for n in nodes if matches(target, n, 3)]
    assert 900 < len(chosen) < 1100
    other = {n.node_id for n in nodes if matches(target, n, 4)}
    assert other != set(chosen), "another rollout draws another share"


def test_target_filters_zone_tag_profile_and_revoked() -> None:
    node = NodeFacts("ang-00001", "centre", "air", frozenset({"hw:esp32", "pilot"}))
    assert matches(Target(zones=frozenset({"centre"})), node, 1)
    assert not matches(Target(zones=frozenset({"doutre"})), node, 1)
    assert matches(Target(tags=frozenset({"pilot", "x"})), node, 1)
    assert not matches(Target(tags=frozenset({"x"})), node, 1)
    assert not matches(Target(profiles=frozenset({"noise"})), node, 1)
    revoked = NodeFacts("ang-00001", "centre", "air", active=False)
    assert not matches(Target(), revoked, 1)


ids = st.lists(st.from_regex(r"^[a-z0-9]{3,8}$", fullmatch=True), unique=True, max_size=60)
group_specs = st.lists(
    st.builds(
        GroupSpec,
        percent=st.one_of(st.none(), st.floats(1, 100)),
        count=st.none(),
        success=st.floats(0, 1),
        error=st.floats(0, 1),
    ).map(lambda g: g if g.percent is not None else GroupSpec(None, 3, g.success, g.error)),
    min_size=1,
    max_size=5,
)
reports = st.sampled_from([None, "downloading", "switching", "confirmed", "rolled_back", "refused"])


@settings(max_examples=300, deadline=None)
@given(ids, group_specs, st.data())
def test_engine_never_targets_outside_open_groups_nor_advances_when_not_running(
    node_ids: list[str], groups: list[GroupSpec], data: st.DataObject
) -> None:
    assigned = assign_groups(9, groups, node_ids)
    assert set(assigned) == set(node_ids), "every target node is in exactly one group"
    ms = [
        MemberState(
            n,
            g,
            running=data.draw(st.sampled_from([None, "1.3.0", VER])),
            running_at=data.draw(st.integers(0, 5000)),
            status=data.draw(reports),
            status_at=data.draw(st.integers(0, 5000)),
        )
        for n, g in assigned.items()
    ]
    status = data.draw(st.sampled_from(["running", "paused", "aborted", "completed"]))
    opened = data.draw(st.integers(1, len(groups)))
    s = spec(groups=tuple(groups), status=status, open_groups=opened)
    d = decide(s, ms, NOON, trial_grace_s=GRACE)
    by_id = {m.node_id: m for m in ms}
    assert all(by_id[n].group < d.open_groups for n in d.targets)
    assert all(d.outcomes[n] not in ("confirmed", "failed") for n in d.targets)
    assert d.open_groups >= opened, "groups never close again"
    if status != "running":
        assert d.status == status
        assert d.open_groups == opened
        assert d.targets == frozenset()
    if d.status == "paused" and status == "running":
        assert d.targets == frozenset()
        assert d.open_groups == opened, "a pause never opens a group"


@settings(max_examples=200, deadline=None)
@given(ids, group_specs)
def test_late_joiners_land_in_a_valid_group_deterministically(
    node_ids: list[str], groups: list[GroupSpec]
) -> None:
    sizes = group_sizes(groups, len(node_ids))
    assert sum(sizes) == len(node_ids)
    for n in node_ids:
        g = group_of_late_joiner(5, n, sizes)
        assert 0 <= g < len(groups)
        assert g == group_of_late_joiner(5, n, sizes)
        assert 0 <= bucket(n, 5) < 1


def test_a_node_of_another_known_hardware_is_not_eligible_an_unknown_one_is() -> None:
    def node(hw: str | None) -> NodeFacts:
        return NodeFacts("ang-0001", "centre", "air", hw=hw)

    assert not_eligible(node("esp32"), "emu-x64") == "hardware"
    assert not_eligible(node("emu-x64"), "emu-x64") is None
    assert not_eligible(node(None), "esp32") is None
