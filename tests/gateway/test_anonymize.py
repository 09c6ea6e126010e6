"""Anonymisation: primary suppression, secondary suppression (subtraction attacks), noise."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.aggregate import Aggregator, AggregatorSettings, WindowStats
from gateway.anonymize import (
    PrivacySettings,
    PublishedCell,
    anonymize,
    district_totals,
    plan_publication,
)
from gateway.privacy_budget import PrivacyLedger
from protocol.codec import Reading

T0 = 1_750_000_200  # 2025-06-15T15:10:00Z, a 5-minute boundary; T0 + 3000 is an hour boundary
HOUR = T0 + 3000
S = PrivacySettings()


def cell(
    zone: str = "centre",
    metric: str = "temp_c",
    start: int = HOUR,
    length: int = 3600,
    n: int = 60,
    nodes: int = 3,
    people: int | None = None,
    value: float = 20.0,
) -> WindowStats:
    if metric == "people_n" and people is None:
        people = 40
    return WindowStats(
        zone, metric, start, start + length, n, nodes, value, value - 1, value + 1, value, people
    )


def plan_view(cells: Iterable[WindowStats], ledger: PrivacyLedger | None = None) -> object:
    plan = plan_publication(cells, ledger or PrivacyLedger(), S)
    return plan.cells, plan.ledger.to_dict(), plan.skipped


def test_cell_from_fewer_than_three_nodes_is_suppressed() -> None:
    pub = anonymize([cell(nodes=2), cell(zone="doutre", nodes=3)], PrivacyLedger(), S)
    assert [c.zone for c in pub.cells if not c.suppressed] == ["doutre"]
    (hidden,) = [c for c in pub.cells if c.suppressed]
    # sent to the fleet as suppressed, with nothing of its values
    assert (hidden.zone, hidden.reason, hidden.n, hidden.mean, hidden.dp) == (
        "centre", "too_few_nodes", None, None, None)
    assert pub.outcomes["too_few_nodes"] == 1
    assert pub.outcomes["published"] == 1


def test_people_cell_publishes_only_a_noisy_count_at_least_k_and_the_exact_n() -> None:
    for _ in range(200):
        (c,) = anonymize([cell(metric="people_n", people=11, n=3)], PrivacyLedger(), S).cells
        assert (c.mean, c.p95) == (None, None)
        assert c.dp is not None  # noise was drawn whether or not the count is shown
        if c.suppressed:
            assert (c.reason, c.people, c.n) == ("below_threshold", None, None)
        else:
            assert c.people is not None
            assert c.people >= S.k_people
            assert c.n == 3  # exact: n is not about persons


def test_published_cell_carries_no_node_identity_position_or_extreme() -> None:
    names = {f.name for f in dataclasses.fields(PublishedCell)}
    assert names == {"zone", "metric", "start", "end", "n", "mean", "p95", "people", "reason",
                     "dp"}  # fmt: skip


def test_environmental_values_are_published_exactly_and_rounded_to_wire_precision() -> None:
    (c,) = anonymize([cell(value=20.123456)], PrivacyLedger(), S).cells
    assert (c.n, c.mean, c.p95, c.dp) == (60, 20.123, 20.12, None)


def test_the_window_share_of_the_daily_budget_goes_whole_to_the_people_count() -> None:
    plan = plan_publication([cell(metric="people_n"), cell(metric="temp_c")], PrivacyLedger(), S)
    hour_micro = 8_000_000 // 24  # a 24-hour day in June
    people, temp = sorted(plan.cells, key=lambda p: p.metric)
    assert people.people is not None
    assert people.people.scale == pytest.approx(2 / (hour_micro / 1e6), rel=1e-6)
    assert temp.people is None  # no noise on n, none on environmental values
    assert plan.ledger.spent_micro("centre", "2025-06-15") == people.people.charge_micro
    assert hour_micro - 1 <= people.people.charge_micro <= hour_micro


# ------------------------------------------------------------- secondary suppression attacks
def test_district_total_minus_published_zones_reveals_nothing_of_a_suppressed_zone() -> None:
    """The attack: publish zone cells and a district total, subtract the published zones from
    the total to get the suppressed one. Our totals are sums of published cells only, and the
    whole release is the same whatever the suppressed zone holds."""

    def world(hidden_people: int) -> list[WindowStats]:
        return [
            cell("centre", "people_n", people=120, nodes=4),
            cell("doutre", "people_n", people=80, nodes=3),
            # two counters: suppressed whatever they counted
            cell("monplaisir", "people_n", people=hidden_people, nodes=2),
        ]

    assert plan_view(world(2)) == plan_view(world(10))
    pub = anonymize(world(7), PrivacyLedger(), S)
    assert {c.zone for c in pub.cells if not c.suppressed} <= {"centre", "doutre"}
    total = district_totals(pub.cells)[("people_n", HOUR, HOUR + 3600)]
    assert total["zones"] == len([c for c in pub.cells if not c.suppressed])
    assert total["people"] - sum(c.people or 0 for c in pub.cells) == 0


def test_hourly_cell_over_published_five_minute_cells_is_refused() -> None:
    """The attack: publish 5-minute cells (one suppressed) and the hourly cell, subtract the
    published 5-minute cells from the hour. The hour overlaps decided windows: refused."""
    fives = [cell(start=HOUR + i * 300, length=300, nodes=3 if i else 2) for i in range(12)]
    first = anonymize(fives, PrivacyLedger(), S)
    assert first.outcomes["too_few_nodes"] == 1
    assert first.outcomes["published"] == 11
    second = anonymize([cell(start=HOUR, length=3600)], first.ledger, S)
    assert second.cells == ()
    assert second.outcomes["overlap"] == 1
    # the other way round: the hour first, then the 5-minute cells inside it
    hour = anonymize([cell(start=HOUR, length=3600)], PrivacyLedger(), S)
    again = anonymize(fives, hour.ledger, S)
    assert again.cells == ()
    assert again.outcomes["overlap"] == 12


def test_a_window_is_never_published_twice() -> None:
    first = anonymize([cell()], PrivacyLedger(), S)
    second = anonymize([cell()], first.ledger, S)
    assert len(first.cells) == 1
    assert second.cells == ()
    assert second.outcomes["overlap"] == 1


def test_two_versions_of_one_cell_in_one_call_publish_only_one() -> None:
    pub = anonymize([cell(value=20.0), cell(value=25.0, nodes=4)], PrivacyLedger(), S)
    assert len(pub.cells) == 1
    assert pub.outcomes["overlap"] == 1


def test_a_suppressed_window_is_decided_too_and_cannot_be_retried() -> None:
    first = anonymize([cell(nodes=1)], PrivacyLedger(), S)
    second = anonymize([cell(nodes=5)], first.ledger, S)  # same window, "better" data
    assert [c.reason for c in first.cells] == ["too_few_nodes"]
    assert second.cells == ()


def test_windows_of_forgotten_days_are_refused() -> None:
    later = anonymize([cell(start=HOUR + 5 * 86400)], PrivacyLedger(), S)
    assert later.ledger.floor_day == "2025-06-18"
    old = anonymize([cell(zone="doutre")], later.ledger, S)  # a zone never published
    assert old.cells == ()
    assert old.outcomes["expired_day"] == 1


_cells = st.builds(
    lambda zone, metric, slot, nodes, people, value: cell(
        zone, metric, HOUR + slot * 3600, 3600, 5 + nodes, nodes,
        people if metric == "people_n" else None, value,
    ),
    st.sampled_from(["centre", "doutre", "roseraie"]),
    st.sampled_from(["temp_c", "people_n", "pm10_ugm3"]),
    st.integers(0, 30),
    st.integers(1, 6),
    st.integers(0, 40),
    st.floats(-10, 40),
)  # fmt: skip


def _suppressed(c: WindowStats) -> bool:
    """Suppressed whatever the noise draws: too few nodes (the people threshold is noisy)."""
    return c.nodes < S.k_nodes


@settings(max_examples=150, deadline=None)
@given(st.lists(_cells, max_size=40), st.data())
def test_suppressed_cells_never_leak_into_any_release(
    cells: list[WindowStats], data: st.DataObject
) -> None:
    # one cell per (zone, metric, window), as an aggregator emits them
    unique = list({(c.zone, c.metric, c.start): c for c in cells}.values())
    altered = []
    for c in unique:
        if not _suppressed(c):
            altered.append(c)
            continue
        # change everything about it, keeping it suppressed
        nodes = data.draw(st.integers(1, 2))
        people = None if c.peak_sum is None else data.draw(st.integers(0, 10))
        n = data.draw(st.integers(1, 500))
        mean = data.draw(st.floats(-40, 85))
        altered.append(dataclasses.replace(c, n=n, nodes=nodes, peak_sum=people, mean=mean))
    assert plan_view(unique) == plan_view(altered)
    # and what leaves: published cells and every total built from them, only kept cells
    pub = anonymize(altered, PrivacyLedger(), S)
    published = {(c.zone, c.metric, c.start) for c in pub.cells if not c.suppressed}
    kept = {(c.zone, c.metric, c.start) for c in unique if not _suppressed(c)}
    assert published <= kept
    below = {(c.zone, c.metric, c.start) for c in pub.cells if c.reason == "below_threshold"}
    assert published | below == kept  # a kept people count may only fall below k once noisy
    totals = district_totals(pub.cells)
    assert sum(t["zones"] for t in totals.values()) == len(published)


def test_whole_pipeline_from_readings_publishes_only_safe_cells() -> None:
    agg = Aggregator(AggregatorSettings(window_s=300))
    for i in range(3):  # 3 nodes in centre, 1 in doutre
        for j in range(5):
            t = HOUR + j * 60 + i
            agg.add(
                Reading(f"c{i}", 1, j + 1, t, "1", {"temp_c": 20.0 + i, "people_n": 6.0}), "centre"
            )
            agg.add(Reading("d0", 1, 100 + j + i * 5, t, "1", {"temp_c": 25.0}), "doutre")
    pub = anonymize(agg.close(HOUR + 300 + 121), PrivacyLedger(), S)
    shown = [(c.zone, c.metric) for c in pub.cells if not c.suppressed]
    assert shown in ([("centre", "people_n"), ("centre", "temp_c")], [("centre", "temp_c")])
    assert pub.outcomes["too_few_nodes"] == 1
    assert {(c.zone, c.reason) for c in pub.cells if c.suppressed} <= {
        ("doutre", "too_few_nodes"), ("centre", "below_threshold")}
