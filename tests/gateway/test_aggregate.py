"""Tumbling-window aggregation: windows, lateness, bounds, exact statistics, persistence."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.aggregate import (
    ADDED,
    LATE,
    OVERFLOW,
    Aggregator,
    AggregatorSettings,
    WindowStats,
)
from gateway.config import PlausibilitySettings
from protocol.codec import Reading

T0 = 1_750_000_200  # a multiple of 300 and of 3600: 2025-06-15T15:10:00Z is a window start
assert T0 % 300 == 0
# these tests are written for 5-minute windows (the default is hourly: docs/privacy.md)
FIVE_MIN = AggregatorSettings(window_s=300)


# these tests are about the window mechanics, with synthetic values no sensor would report
# (and plausibility depends on each node's order): tests/gateway/test_node_weight.py has it
MECHANICS = PlausibilitySettings(enabled=False)


def reading(node: str, t: int, counter: int = 1, **measures: float) -> Reading:
    return Reading(node, 1, counter, t, "1.0.0", dict(measures))


def by_key(cells: list[WindowStats]) -> dict[tuple[str, str, int], WindowStats]:
    return {(c.zone, c.metric, c.start): c for c in cells}


def test_reading_lands_in_the_window_of_its_own_timestamp() -> None:
    agg = Aggregator(FIVE_MIN)
    agg.add(reading("a", T0 + 310, temp_c=20.0), "centre")  # the current window
    # a node's offline backlog, measured 5 minutes earlier, arrives now: it goes to its window
    assert agg.add(reading("b", T0 + 10, temp_c=10.0), "centre") == ADDED
    cells = by_key(agg.close(T0 + 600 + 121))
    assert cells[("centre", "temp_c", T0)].mean == 10.0
    assert cells[("centre", "temp_c", T0 + 300)].mean == 20.0


def test_late_reading_within_grace_is_folded_in() -> None:
    agg = Aggregator(FIVE_MIN)
    agg.add(reading("a", T0 + 5, temp_c=20.0), "centre")
    assert agg.close(T0 + 300 + 120) == []  # now == end + grace: still open
    assert agg.add(reading("b", T0 + 299, temp_c=22.0), "centre") == ADDED
    (cell,) = agg.close(T0 + 300 + 121)
    assert (cell.n, cell.mean, cell.nodes) == (2, 21.0, 2)


def test_window_is_emitted_once_and_a_reading_for_it_afterwards_is_late() -> None:
    agg = Aggregator(FIVE_MIN)
    agg.add(reading("a", T0 + 5, temp_c=20.0), "centre")
    (cell,) = agg.close(T0 + 421)
    assert cell.start == T0
    assert cell.end == T0 + 300
    assert agg.close(T0 + 10_000) == []
    # too late: no aggregate changes, no cell reopens, the counter says why
    assert agg.add(reading("b", T0 + 6, temp_c=99.0), "centre") == LATE
    assert agg.add(reading("c", T0 + 7, temp_c=99.0), "doutre") == LATE
    assert agg.open_cells == 0
    assert agg.counters["late_dropped"] == 2
    assert agg.close(T0 + 20_000) == []


def test_clock_going_back_never_reopens_a_closed_window() -> None:
    agg = Aggregator(FIVE_MIN)
    agg.close(T0 + 1000)
    agg.close(T0)  # the caller's clock jumped back
    assert agg.add(reading("a", T0 + 5, temp_c=1.0), "centre") == LATE


def test_open_cells_are_capped_and_the_overflow_is_counted() -> None:
    agg = Aggregator(AggregatorSettings(window_s=300, max_open_cells=2), plausibility=MECHANICS)
    assert agg.add(reading("a", T0, temp_c=1.0, rh_pct=50.0), "centre") == ADDED
    assert agg.add(reading("a", T0 + 1, temp_c=2.0), "centre") == ADDED  # existing cell
    assert agg.add(reading("a", T0 + 2, p_hpa=1000.0, temp_c=3.0), "centre") == OVERFLOW
    assert agg.open_cells == 2
    assert agg.counters["overflow_dropped"] == 1
    cells = by_key(agg.close(T0 + 421))
    assert cells[("centre", "temp_c", T0)].n == 3  # the measure that fitted was kept
    assert ("centre", "p_hpa", T0) not in cells
    assert agg.add(reading("a", T0 + 300, p_hpa=1000.0), "centre") == ADDED  # room again


def test_unknown_metric_is_counted_not_aggregated() -> None:
    agg = Aggregator(FIVE_MIN)
    agg.add(reading("a", T0, temp_c=1.0, co2_ppm=400.0), "centre")
    assert agg.counters["unknown_metric"] == 1
    assert [c.metric for c in agg.close(T0 + 421)] == ["temp_c"]


def test_statistics_are_exact_and_p95_is_the_nearest_rank() -> None:
    rng = random.Random(7)
    values = [round(rng.uniform(-5, 30), 2) for _ in range(200)]
    agg = Aggregator(FIVE_MIN, plausibility=MECHANICS)
    for i, v in enumerate(values):
        agg.add(reading(f"n{i % 7}", T0 + i, counter=i + 1, temp_c=v), "centre")
    (cell,) = agg.close(T0 + 421)
    ordered = sorted(values)
    # nodes weigh equally (issue #13): mean, min and max are over the nodes' means
    node_means = [sum(values[k::7]) / len(values[k::7]) for k in range(7)]
    assert cell.n == 200
    assert cell.nodes == 7
    assert cell.min == pytest.approx(min(node_means), abs=1e-9)
    assert cell.max == pytest.approx(max(node_means), abs=1e-9)
    assert cell.mean == pytest.approx(sum(node_means) / 7, abs=1e-9)
    assert cell.p95 == ordered[math.ceil(0.95 * 200) - 1]


def test_p95_is_withheld_below_twenty_samples() -> None:
    agg = Aggregator(FIVE_MIN)
    for i in range(19):
        agg.add(reading("a", T0 + i, counter=i + 1, pm25_ugm3=float(i)), "centre")
        agg.add(reading("b", T0 + 300 + i, counter=i + 1, pm25_ugm3=float(i)), "centre")
    agg.add(reading("b", T0 + 320, counter=99, pm25_ugm3=100.0), "centre")
    small, twenty = agg.close(T0 + 721)
    assert small.n == 19
    assert small.p95 is None
    assert twenty.n == 20
    assert twenty.p95 == 18.0


def test_sound_level_mean_is_the_energy_mean() -> None:
    agg = Aggregator(FIVE_MIN)
    agg.add(reading("a", T0, laeq_db=50.0, lamax_db=60.0), "centre")
    agg.add(reading("b", T0 + 1, laeq_db=70.0, lamax_db=80.0), "centre")
    cells = by_key(agg.close(T0 + 421))
    assert cells[("centre", "laeq_db", T0)].mean == pytest.approx(10 * math.log10(50.5e5), 1e-6)
    assert cells[("centre", "lamax_db", T0)].max == 80.0


def test_people_peak_sum_adds_each_nodes_highest_count() -> None:
    agg = Aggregator(FIVE_MIN)
    for i, (node, count) in enumerate([("a", 3), ("a", 9), ("b", 4), ("b", 2), ("c", 0)]):
        agg.add(reading(node, T0 + i, counter=i + 1, people_n=count), "centre")
    (cell,) = agg.close(T0 + 421)
    assert (cell.peak_sum, cell.nodes, cell.n) == (9 + 4 + 0, 3, 5)
    agg.add(reading("a", T0 + 300, temp_c=1.0), "centre")
    (temp,) = agg.close(T0 + 721)
    assert temp.peak_sum is None


def test_state_round_trips_through_json_and_aggregation_continues() -> None:
    rng = random.Random(3)
    stream = [
        reading(
            f"n{rng.randrange(5)}", T0 + rng.randrange(900), i + 1,
            temp_c=rng.randrange(-400, 400) / 10, laeq_db=rng.randrange(300, 900) / 10,
            people_n=rng.randrange(40),
        )
        for i in range(300)
    ]  # fmt: skip
    straight, restarted = Aggregator(FIVE_MIN), Aggregator(FIVE_MIN)
    for r in stream[:150]:
        straight.add(r, "centre")
        restarted.add(r, "centre")
    first = straight.close(T0 + 421)
    assert restarted.close(T0 + 421) == first
    restarted = Aggregator.from_state(json.loads(json.dumps(restarted.to_state())), FIVE_MIN)
    for r in stream[150:]:
        assert straight.add(r, "centre") == restarted.add(r, "centre")
    assert restarted.close(T0 + 5000) == straight.close(T0 + 5000)
    assert restarted.counters == straight.counters


def test_state_of_another_window_length_or_malformed_is_refused() -> None:
    agg = Aggregator(FIVE_MIN)
    agg.add(reading("a", T0, temp_c=1.0), "centre")
    state = agg.to_state()
    with pytest.raises(ValueError, match="window"):
        Aggregator.from_state(state, AggregatorSettings(window_s=3600))
    broken = json.loads(json.dumps(state))
    broken["cells"][0]["n"] = 5  # the histogram holds 1 sample
    with pytest.raises(ValueError, match="inconsistent"):
        Aggregator.from_state(broken, FIVE_MIN)
    with pytest.raises(ValueError, match="malformed"):
        Aggregator.from_state({"version": 1, "window_s": 300}, FIVE_MIN)


# ------------------------------------------------------------------------------ properties
_METRIC_VALUES = {
    "temp_c": st.integers(-4000, 8500).map(lambda q: q / 100),
    "laeq_db": st.integers(200, 1400).map(lambda q: q / 10),
    "people_n": st.integers(0, 300).map(float),
    "pm25_ugm3": st.integers(0, 10000).map(lambda q: q / 10),
}
readings_strategy = st.lists(
    st.builds(
        lambda node, dt, zone, measures: (reading(node, T0 + dt, **measures), zone),
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 1199),
        st.sampled_from(["centre", "doutre"]),
        st.fixed_dictionaries({}, optional=_METRIC_VALUES),
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(readings_strategy, st.randoms(use_true_random=False), st.sampled_from([4, 256]))
def test_any_arrival_order_gives_the_aggregate_of_the_sorted_readings(
    items: list[tuple[Reading, str]], rnd: random.Random, max_bins: int
) -> None:
    # max_bins=4 forces the p95 histogram to coarsen: that too must not depend on the order
    conf = AggregatorSettings(window_s=300, max_bins=max_bins, p95_min_samples=1)
    shuffled = list(items)
    rnd.shuffle(shuffled)
    ordered = sorted(items, key=lambda it: (it[0].t, it[0].node_id, it[1]))
    results = []
    for seq in (shuffled, ordered):
        agg = Aggregator(conf, plausibility=MECHANICS)
        for r, zone in seq:
            agg.add(r, zone)
        results.append(agg.close(T0 + 10_000))
    assert results[0] == results[1]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-4000, 8500), min_size=1, max_size=300), st.integers(2, 64))
def test_coarsened_p95_stays_within_half_a_bin_of_the_exact_one(
    qs: list[int], max_bins: int
) -> None:
    agg = Aggregator(AggregatorSettings(window_s=300, max_bins=max_bins, p95_min_samples=1),
                     plausibility=MECHANICS)
    for i, q in enumerate(qs):
        agg.add(reading("a", T0, i + 1, temp_c=q / 100), "centre")
    (cell,) = agg.close(T0 + 421)
    exact = sorted(qs)[math.ceil(0.95 * len(qs)) - 1] / 100
    span = (max(qs) - min(qs)) / 100
    # the bin width that fits max_bins bins over the span, at most twice the minimal one
    width = 2 ** max(0, math.ceil(math.log2(max(1.0, span * 100 / (max_bins - 1)))) + 1) / 100
    assert cell.p95 is not None
    assert abs(cell.p95 - exact) <= width / 2 + 1e-9
    assert min(qs) / 100 <= cell.p95 <= max(qs) / 100
