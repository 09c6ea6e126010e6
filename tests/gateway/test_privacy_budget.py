"""The per-zone daily privacy budget: days, calibration, accounting, persistence, enforcement."""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.aggregate import WindowStats
from gateway.allotment import Allotment
from gateway.anonymize import PrivacySettings, anonymize, plan_publication
from gateway.privacy_budget import (
    MICRO,
    PrivacyLedger,
    budget_day,
    day_span,
    plan_count,
    release_count,
    window_allowance_micro,
)


def ts(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp())


def test_budget_day_is_the_calendar_day_in_paris() -> None:
    assert budget_day(ts("2025-01-15T22:59:59")) == "2025-01-15"  # 23:59:59 in Paris (CET)
    assert budget_day(ts("2025-01-15T23:00:00")) == "2025-01-16"  # midnight in Paris
    assert budget_day(ts("2025-07-15T22:00:00")) == "2025-07-16"  # CEST: UTC+2


@pytest.mark.parametrize(
    ("day", "hours"), [("2025-03-30", 23), ("2025-10-26", 25), ("2025-06-15", 24)]
)
def test_daylight_saving_days_share_the_same_budget_over_their_true_length(
    day: str, hours: int
) -> None:
    start, end = day_span(day)
    assert end - start == hours * 3600
    shares = [window_allowance_micro(8.0, t, t + 3600) for t in range(start, end, 3600)]
    assert len(shares) == hours
    assert 8 * MICRO - hours <= sum(shares) <= 8 * MICRO


def test_calibration_charges_what_opendp_says_rounded_up_and_within_the_allowance() -> None:
    for allowance in (1, 7, 13_888, 166_666, 333_333, 8 * MICRO):
        for sensitivity in (1, 2, 5):
            plan = plan_count(100, sensitivity, allowance)
            assert plan is not None
            assert plan.charge_micro <= allowance
            assert plan.charge_micro >= sensitivity / plan.scale * MICRO
    assert plan_count(100, 2, 0) is None


def test_noise_is_discrete_laplace_of_the_planned_scale() -> None:
    plan = plan_count(500, 2, 200_000)  # scale 10
    assert plan is not None
    draws = [release_count(plan) for _ in range(4000)]
    assert all(isinstance(d, int) for d in draws)
    b = plan.scale
    q = math.exp(-1 / b)
    expected_var = 2 * q / (1 - q) ** 2  # variance of the discrete Laplace (two-sided geometric)
    assert statistics.fmean(draws) == pytest.approx(500, abs=1.5)
    assert statistics.pvariance(draws) == pytest.approx(expected_var, rel=0.2)


def test_ledger_round_trips_through_json() -> None:
    ledger = PrivacyLedger().try_charge("centre", "2025-06-15", 123, 1000)
    assert ledger is not None
    ledger = ledger.stop("doutre", "2025-06-15").mark_published("centre", 1_750_003_200)
    again = PrivacyLedger.from_dict(json.loads(json.dumps(ledger.to_dict())))
    assert again == ledger
    assert again.spent_micro("centre", "2025-06-15") == 123
    assert again.is_stopped("doutre", "2025-06-15")


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"version": 2, "spent_micro": {}, "stopped": {}, "published_until": {}, "floor_day": ""},
        {"version": 1, "spent_micro": {"z": {"2025-06-15": -5}}, "stopped": {},
         "published_until": {}, "floor_day": ""},
        {"version": 1, "spent_micro": {"z": {"15/06/2025": 5}}, "stopped": {},
         "published_until": {}, "floor_day": ""},
        {"version": 1, "spent_micro": {"z": {"2025-06-15": 1.5}}, "stopped": {},
         "published_until": {}, "floor_day": ""},
    ],
)  # fmt: skip
def test_malformed_ledger_is_refused_not_reset(broken: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"ledger|version|day|amount|isoformat"):
        PrivacyLedger.from_dict(broken)


def test_exhausted_zone_stops_until_its_next_day() -> None:
    s = PrivacySettings(epsilon_per_zone_day=1.0)
    day = ts("2025-06-15T00:00:00") - 7200  # midnight in Paris (CEST)
    ledger = PrivacyLedger().try_charge("centre", "2025-06-15", 999_000, s.budget_micro)
    assert ledger is not None

    def window(start: int, length: int = 3600) -> list[WindowStats]:
        return [WindowStats("centre", m, start, start + length, 60, 3, 20.0, 19.0, 21.0, None,
                            people) for m, people in (("temp_c", None), ("people_n", 40))]

    pub = anonymize(window(day), ledger, s)
    assert [c.reason for c in pub.cells] == ["budget_exhausted"] * 2
    assert pub.outcomes["budget_exhausted"] == 2
    # a later, one-minute window of the same day would fit in what is left (694 of 1000
    # micro-epsilon): publication stays stopped, for every cell of the zone
    later = anonymize(window(day + 7200, 60), pub.ledger, s)
    assert [c.reason for c in later.cells] == ["budget_exhausted"] * 2
    # the next day in Paris starts afresh
    tomorrow = anonymize(window(day + 24 * 3600), pub.ledger, s)
    assert [c.metric for c in tomorrow.cells if c.reason is None] in (
        ["people_n", "temp_c"], ["temp_c"])  # the people count may fall below k once noisy
    assert pub.ledger.is_stopped("centre", "2025-06-15")


# ------------------------------------------------------------------------------ property
_DAY0 = ts("2025-10-24T22:00:00")  # midnight in Paris, two days before the 25-hour day
_step = st.tuples(
    st.lists(
        st.tuples(
            st.sampled_from(["centre", "doutre"]),
            st.integers(0, 3 * 24 * 4),  # start, in quarter hours over three days
            # lengths that cross days: a day's windows can then ask more than the day holds
            st.sampled_from([900, 3600, 6 * 3600, 12 * 3600, 20 * 3600]),
            st.sampled_from(["temp_c", "people_n", "pm25_ugm3", "laeq_db"]),
        ),
        max_size=10,
    ),
    st.booleans(),  # reload the ledger from JSON after this step
    st.sampled_from([None, 2.0, 4.0, 0.0]),  # the fleet's allotment for centre changes
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_step, max_size=12))
def test_budget_is_never_exceeded_across_any_publications_and_reloads(
    steps: list[tuple[list[tuple[str, int, int, str]], bool, float | None]],
) -> None:
    budget = PrivacySettings().budget_micro
    ledger = PrivacyLedger()
    charged: dict[tuple[str, str], int] = defaultdict(int)
    stopped_seen: set[tuple[str, str]] = set()
    for cells_spec, reload, centre_eps in steps:
        s = PrivacySettings(keep_days=7)
        allot = None if centre_eps is None else Allotment({"centre": centre_eps, "doutre": 8.0})
        cells = [
            WindowStats(zone, metric, _DAY0 + q * 900, _DAY0 + q * 900 + length, 50, 4,
                        20.0, 19.0, 21.0, None, 30 if metric == "people_n" else None)
            for zone, q, length, metric in cells_spec
        ]  # fmt: skip
        plan = plan_publication(cells, ledger, s, allot)
        for p in plan.cells:
            key = (p.zone, budget_day(p.start))
            if p.reason is None:
                assert key not in stopped_seen, "published after the zone's day was stopped"
            else:
                assert p.stats is None  # nothing of it is planned
                assert p.people is None
            charged[key] += p.people.charge_micro if p.people else 0
            if p.people is not None:  # a charge is allowed only within the cap of its moment
                cap = budget if allot is None else allot.cap_micro(p.zone, budget)
                assert plan.ledger.spent_micro(*key) <= cap
        ledger = plan.ledger
        for zone, days in ledger.stopped.items():
            stopped_seen.update((zone, d) for d in days)
        for (zone, day), micro in charged.items():
            assert micro <= budget
            assert ledger.spent_micro(zone, day) == micro  # the ledger accounts every release
        if reload:
            ledger = PrivacyLedger.from_dict(json.loads(json.dumps(ledger.to_dict())))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("ab"),
            st.sampled_from(["2025-06-15", "2025-06-16"]),
            st.integers(0, 400_000),
            st.booleans(),
        )
    )
)
def test_ledger_charges_never_exceed_the_budget(ops: list[tuple[str, str, int, bool]]) -> None:
    ledger = PrivacyLedger()
    for zone, day, micro, reload in ops:
        after = ledger.try_charge(zone, day, micro, 1_000_000)
        if after is None:
            assert ledger.spent_micro(zone, day) + micro > 1_000_000
        else:
            ledger = after
        assert all(m <= 1_000_000 for ds in ledger.spent.values() for m in ds.values())
        if reload:
            ledger = PrivacyLedger.from_dict(json.loads(json.dumps(ledger.to_dict())))
